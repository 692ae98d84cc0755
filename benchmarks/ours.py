"""The workloads written with chainrule's public API, exactly as a user writes them."""

import numpy as np

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from benchmarks.workloads import EMBED, HIDDEN, SEQUENCE, VOCAB


def _mlp():
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 10))


def _autoencoder(sizes):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers += [nn.Linear(n_in, n_out), nn.Sigmoid() if i == len(sizes) - 2 else nn.ReLU()]
    return nn.Sequential(*layers)


def _lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def _cifar_cnn():
    def block(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]

    return nn.Sequential(*block(3, 32), *block(32, 32), nn.MaxPool2d(2), *block(32, 64), *block(64, 64),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.25), nn.Linear(4096, 512), nn.ReLU(),
                         nn.Linear(512, 10))


class CharLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, EMBED)
        self.lstm = nn.LSTM(EMBED, HIDDEN, batch_first=True)
        self.head = nn.Linear(HIDDEN, VOCAB)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        return self.head(out.reshape(-1, HIDDEN))


def build(name, rng, device=None):
    """(step function, model) for one workload on synthetic data of the right shapes.

    ``device="cuda"`` puts the model and the batch on the GPU (CuPy, the ``gpu`` extra).
    """
    cr.manual_seed(0)
    if name == "char_lstm":
        model = CharLSTM()
        x = rng.integers(0, VOCAB, (64, SEQUENCE))
        y = rng.integers(0, VOCAB, 64 * SEQUENCE)
        opt = cr.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = F.cross_entropy
    elif name == "lenet5":
        model = _lenet5()
        x = rng.random((128, 1, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, 128)
        opt = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = F.cross_entropy
    elif name == "cifar_cnn":
        model = _cifar_cnn()
        x = rng.random((64, 3, 32, 32), dtype=np.float32)
        y = rng.integers(0, 10, 64)
        opt = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = F.cross_entropy
    elif name == "mlp":
        model = _mlp()
        x = rng.random((128, 784), dtype=np.float32)
        y = rng.integers(0, 10, 128)
        opt = cr.optim.RMSprop(model.parameters(), lr=1e-3)
        loss_fn = F.cross_entropy
    else:
        sizes = [784, 32, 784] if name == "ae" else [784, 128, 64, 32, 64, 128, 784]
        model = _autoencoder(sizes)
        x = rng.random((256, 784), dtype=np.float32)
        y = x
        opt = cr.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = F.binary_cross_entropy
    x_t, y_t = cr.tensor(x), cr.tensor(y)
    if device == "cuda":  # benchmarks/gpu_bench.py: the optimiser keeps the same (moved) parameters
        import cupy

        from chainrule import gpu

        gpu.move_module(model, cupy)
        x_t, y_t = cr.Tensor(cupy.asarray(x)), cr.Tensor(cupy.asarray(y))
    model.train()

    def step():
        loss = loss_fn(model(x_t), y_t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def build_fit(rng, steps):
    """The mlp workload through the high-level loop: cr.Sequential + compile + fit, `steps` batches."""
    cr.manual_seed(0)
    model = cr.Sequential([
        nn.Dense(512, activation="relu", input_shape=(784,)), nn.Dropout(0.2),
        nn.Dense(512, activation="relu"), nn.Dropout(0.2), nn.Dense(10)])
    model.compile(loss="cross_entropy", optimizer=cr.optim.RMSprop(lr=1e-3))
    x = rng.random((128 * steps, 784), dtype=np.float32)
    y = rng.integers(0, 10, 128 * steps)

    def run():
        model.fit(x, y, batch_size=128, epochs=1, verbose=0, shuffle=False)

    return run
