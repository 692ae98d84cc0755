"""The same workloads in PyTorch, layer for layer, for the side-by-side timing."""

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from benchmarks.workloads import EMBED, HIDDEN, SEQUENCE, VOCAB


class CharLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, EMBED)
        self.lstm = nn.LSTM(EMBED, HIDDEN, batch_first=True)
        self.head = nn.Linear(HIDDEN, VOCAB)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        return self.head(out.reshape(-1, HIDDEN))


def _autoencoder(sizes):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers += [nn.Linear(n_in, n_out), nn.Sigmoid() if i == len(sizes) - 2 else nn.ReLU()]
    return nn.Sequential(*layers)


def _cifar_cnn():
    def block(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]

    return nn.Sequential(*block(3, 32), *block(32, 32), nn.MaxPool2d(2), *block(32, 64), *block(64, 64),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.25), nn.Linear(4096, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def build(name, rng, device=None):
    torch.manual_seed(0)
    if name == "char_lstm":
        model = CharLSTM()
        x = torch.from_numpy(rng.integers(0, VOCAB, (64, SEQUENCE)))
        y = torch.from_numpy(rng.integers(0, VOCAB, 64 * SEQUENCE))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = F.cross_entropy
    elif name == "lenet5":
        model = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
        x = torch.from_numpy(rng.random((128, 1, 28, 28), dtype=np.float32))
        y = torch.from_numpy(rng.integers(0, 10, 128))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = F.cross_entropy
    elif name == "cifar_cnn":
        model = _cifar_cnn()
        x = torch.from_numpy(rng.random((64, 3, 32, 32), dtype=np.float32))
        y = torch.from_numpy(rng.integers(0, 10, 64))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = F.cross_entropy
    elif name == "mlp":
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2),
                              nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 10))
        x = torch.from_numpy(rng.random((128, 784), dtype=np.float32))
        y = torch.from_numpy(rng.integers(0, 10, 128))
        opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)
        loss_fn = F.cross_entropy
    else:
        sizes = [784, 32, 784] if name == "ae" else [784, 128, 64, 32, 64, 128, 784]
        model = _autoencoder(sizes)
        x = torch.from_numpy(rng.random((256, 784), dtype=np.float32))
        y = x
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = F.binary_cross_entropy
    model.train()
    if device is not None:  # benchmarks/gpu_bench.py: model.to keeps the optimiser's parameters
        model.to(device)
        x, y = x.to(device), (None if y is x else y.to(device))
        y = x if y is None else y

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step
