"""Run under ``mpiexec -n N python mpi_cases.py CASE OUT_DIR``: what tests/distributed checks.

``train``: each rank trains with distributed.Optimizer and a DistributedSampler, by hand and by
``Model.fit``, and writes its weights (and what else the tests compare) to OUT_DIR/rank<r>.npz.
The failure cases (``raise``, ``kill``, ``exit``, ``stall``, ``sizes``) make one rank misbehave.
"""

import os
import signal
import sys
import time

import numpy

import chainrule as cr
from chainrule import distributed as dist
from chainrule.data import DataLoader, DistributedSampler, TensorDataset

STEPS, PER_RANK = 20, 4


def data(n, dtype, seed=1):
    rng = numpy.random.default_rng(seed)
    return rng.normal(size=(n, 5)).astype(dtype), rng.normal(size=(n, 2)).astype(dtype)


def net(dtype, batch_norm=False):
    cr.manual_seed(7)
    middle = [cr.nn.BatchNorm1d(8, sync=True)] if batch_norm else []
    model = cr.nn.Sequential(cr.nn.Linear(5, 8), *middle, cr.nn.Tanh(), cr.nn.Linear(8, 2))
    return model.to(dtype) if dtype != numpy.float32 else model


def manual(optimizer_name, dtype, out, batch_norm=False):
    """STEPS steps of batch PER_RANK on each rank; the weights go to ``out``."""
    x, y = data(STEPS * PER_RANK * dist.size(), dtype)
    model = net(dtype, batch_norm)
    if dist.rank() != 0:  # different starting weights: the first step must broadcast rank 0's
        for p in model.parameters():
            p.data += 1.0
    inner = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if optimizer_name == "sgd" \
        else cr.optim.Adam(model.parameters(), lr=0.01)
    optimizer = dist.Optimizer(inner)
    loader = DataLoader(TensorDataset(x, y), batch_size=PER_RANK,
                        sampler=DistributedSampler(x, shuffle=False))
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = cr.nn.functional.mse_loss(model(cr.tensor(xb)), cr.tensor(yb))
        loss.backward()
        optimizer.step()
    key = f"{optimizer_name}_{numpy.dtype(dtype).name}" + ("_bn" if batch_norm else "")
    for i, t in enumerate(model.state_dict().values()):
        out[f"{key}_{i}"] = t.numpy()


def dropout_masks(out):
    cr.manual_seed(3)
    dist_fit_model = cr.Model(cr.nn.Sequential(cr.nn.Linear(4, 4), cr.nn.Dropout(0.5)))
    dist_fit_model.compile(loss="mse", optimizer="sgd")
    dist_fit_model.fit(numpy.ones((8, 4), "float32"), numpy.zeros((8, 4), "float32"), batch_size=4,
                       epochs=1, verbose=0)
    out["dropout_draw"] = cr.random.generator().random(8)


def fit(out, tmp):
    x, y = data(30 * dist.size() + 1, numpy.float32, seed=2)  # uneven: the sampler pads
    cr.manual_seed(11 + dist.rank())  # different seeds: init and the split must still agree
    model = cr.Sequential([cr.nn.Dense(8, activation="relu", input_shape=(5,)), cr.nn.Dropout(0.2),
                           cr.nn.Dense(2)])
    model.compile(loss="mse", optimizer="adam", metrics=["mae"])
    log = os.path.join(tmp, f"log{dist.rank()}.csv")
    checkpoint = os.path.join(tmp, "ckpt.chainrule")
    history = model.fit(x, y, batch_size=4, epochs=3, validation_split=0.2, verbose=0,
                        callbacks=[cr.callbacks.CSVLogger(log), cr.callbacks.ModelCheckpoint(checkpoint)])
    for i, w in enumerate(model.get_weights()):
        out[f"fit_{i}"] = w
    out["fit_val_loss"] = numpy.array(history.history["val_loss"])
    out["fit_loss"] = numpy.array(history.history["loss"])
    out["fit_log_written"] = numpy.array(os.path.exists(log))
    resumed = model.fit(x, y, batch_size=4, epochs=4, validation_split=0.2, verbose=0,
                        resume_from=checkpoint)
    out["resumed_epochs"] = numpy.array(resumed.epoch)
    for i, w in enumerate(model.get_weights()):
        out[f"resumed_{i}"] = w


class LearningRates(cr.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_begin(self, epoch, logs=None):
        self.seen.append(self.model.optimizer.lr)


def linear_rule(out):
    """init(scale_lr="linear"): fit trains with lr x ranks and leaves the optimiser's lr as it was."""
    dist.init(scale_lr="linear")
    model = cr.Sequential([cr.nn.Dense(2, input_shape=(5,))])
    model.compile(loss="mse", optimizer=cr.optim.SGD(lr=0.1))
    rates = LearningRates()
    x, y = data(8, numpy.float32)
    model.fit(x, y, batch_size=2, epochs=2, verbose=0, callbacks=[rates])
    out["linear_rule"] = numpy.array([*rates.seen, model.optimizer.lr])
    dist.init()  # back to no scaling


class StepCounter(cr.callbacks.Callback):
    steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1


def fit_averages_and_loaders(out):
    """Validation logs are means over the whole validation set; a loader sharded by the user
    (drop_last=True on uneven data) is kept as it is."""
    x, y = data(23, numpy.float32, seed=3)
    cr.manual_seed(5)
    model = cr.Sequential([cr.nn.Dense(3, input_shape=(5,)), cr.nn.Dense(2)])
    model.compile(loss="mse", optimizer="sgd", metrics=["mae"])
    history = model.fit(x[:16], y[:16], batch_size=3, epochs=1, validation_data=(x[16:], y[16:]), verbose=0)
    full = model.evaluate(x[16:], y[16:], return_dict=True)  # not sharded: every rank sees all 7
    out["val_logged"] = numpy.array([history.history["val_loss"][-1], history.history["val_mae"][-1]])
    out["val_full"] = numpy.array([full["loss"], full["mae"]])
    dataset = TensorDataset(x, y)
    sampler = DistributedSampler(dataset, shuffle=True, seed=1, drop_last=True)
    counter = StepCounter()
    model.fit(DataLoader(dataset, batch_size=2, sampler=sampler), epochs=2, verbose=0, callbacks=[counter])
    out["loader_steps"] = numpy.array([len(sampler), counter.steps])
    for i, w in enumerate(model.get_weights()):
        out[f"fit_loader_{i}"] = w
    cr.manual_seed(dist.rank())  # lazy layers, built differently on each rank if nothing intervened
    lazy = cr.Sequential([cr.nn.Dense(4), cr.nn.Dense(2)])
    lazy.compile(loss="mse", optimizer="adam")
    lazy.fit(x, y, batch_size=4, epochs=1, verbose=0)
    for i, w in enumerate(lazy.get_weights()):
        out[f"fit_loader_lazy_{i}"] = w


def broadcasts(out):
    """broadcast_parameters and broadcast_optimizer_state from a given root, onto different values."""
    cr.manual_seed(20 + dist.rank())
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.BatchNorm1d(4))
    model(cr.tensor(numpy.full((2, 3), dist.rank(), "float32")))  # running statistics differ too
    dist.broadcast_parameters(model, root=0)
    for i, t in enumerate(model.state_dict().values()):
        out[f"broadcast_{i}"] = t.numpy()
    optimizer = cr.optim.Adam(model.parameters(), lr=0.1 * (dist.rank() + 1))
    dist.broadcast_optimizer_state(optimizer, root=dist.size() - 1)
    out["broadcast_lr"] = numpy.array(optimizer.param_groups[0]["lr"])


def samplers(out):
    for n in (10, 11, 13):
        for drop_last in (False, True):
            sampler = DistributedSampler(numpy.arange(n), shuffle=True, seed=5, drop_last=drop_last)
            sampler.set_epoch(2)
            indices = sampler.indices()
            length = numpy.array([len(indices)], dtype=numpy.int64)
            out[f"sampler_{n}_{drop_last}"] = indices
            out[f"sampler_{n}_{drop_last}_max_len"] = dist.allreduce(length, op="max")
            out[f"sampler_{n}_{drop_last}_min_len"] = dist.allreduce(length, op="min")


def resumable(dtype, optimizer, seed):
    """A model with dropout (each rank its own random stream) and a data set that shuffles unevenly."""
    cr.manual_seed(seed)
    model = cr.Sequential([cr.nn.Dense(8, activation="tanh", input_shape=(5,)), cr.nn.Dropout(0.3),
                           cr.nn.Dense(2)]).to(dtype)
    model.compile(loss="mse", optimizer=cr.optim.SGD(lr=0.05, momentum=0.9) if optimizer == "sgd"
                  else cr.optim.Adam(lr=0.01))
    return model


def resume(out, tmp):
    """Four epochs in one go, and two epochs then a resume from rank 0's checkpoint for two more,
    in a process whose random state is another (as a new job's would be)."""
    for dtype, optimizer in ((numpy.float64, "sgd"), (numpy.float32, "adam")):
        key = f"{optimizer}_{numpy.dtype(dtype).name}"
        x, y = data(41, dtype, seed=4)
        settings = {"batch_size": 4, "validation_split": 0.2, "verbose": 0}
        whole = resumable(dtype, optimizer, 9)
        whole.fit(x, y, epochs=4, **settings)
        checkpoint = os.path.join(tmp, f"resume_{key}.chainrule")
        first = resumable(dtype, optimizer, 9)
        first.fit(x, y, epochs=2, callbacks=[cr.callbacks.ModelCheckpoint(checkpoint)], **settings)
        second = resumable(dtype, optimizer, 50 + dist.rank())
        cr.manual_seed(70 + 3 * dist.rank())
        second.fit(x, y, epochs=4, resume_from=checkpoint, **settings)
        for i, (a, b) in enumerate(zip(whole.get_weights(), second.get_weights())):
            out[f"whole_{key}_{i}"], out[f"resumed_{key}_{i}"] = a, b


class WeightsPerBatch(cr.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append([w.copy() for w in self.model.get_weights()])


class ReportsNaN(cr.Sequential):
    """A custom train_step (its step taken) whose returned loss is NaN on rank 1 at its 6th batch."""

    calls = 0

    def train_step(self, x, y):
        value = super().train_step(x, y)
        self.calls += 1
        return {"loss": float("nan") if dist.rank() == 1 and self.calls == 6 else value}


def nan_on_one_rank(out, where):
    """The loss (or only a gradient) of every rank but 0, or what a custom train_step returns on
    rank 1, turns non-finite at the rank's 6th batch of the first epoch."""
    calls = []

    def loss(output, target):
        calls.append(1)
        value = cr.nn.functional.mse_loss(output, target)
        if dist.rank() >= 1 and len(calls) == 6 and where != "step":
            if where == "loss":
                return value * float("nan")
            return value + 0 * cr.sqrt((output - output).abs()).sum()  # 0 forward, nan backward
        return value

    x, y = data(40 * dist.size(), numpy.float32, seed=5)
    cr.manual_seed(2)
    layers = [cr.nn.Dense(4, activation="tanh", input_shape=(5,)), cr.nn.Dense(2)]
    model = ReportsNaN(layers) if where == "step" else cr.Sequential(layers)
    model.compile(loss=loss, optimizer=cr.optim.SGD(lr=0.05, momentum=0.9))
    seen = WeightsPerBatch()
    history = model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[seen])
    out["nan_steps"] = numpy.array(len(seen.seen))
    out["nan_epochs"] = numpy.array(len(history.epoch))
    out["nan_loss_logged"] = numpy.array(history.history["loss"])
    for i, (w, last_finite) in enumerate(zip(model.get_weights(), seen.seen[-1])):
        out[f"nan_weights_{i}"], out[f"nan_last_finite_{i}"] = w, last_finite


class KillAtBatch(cr.callbacks.Callback):
    """SIGKILL the last rank at its third batch (as the kernel's out-of-memory killer would)."""

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 2 and dist.rank() == dist.size() - 1:
            os.kill(os.getpid(), signal.SIGKILL)


def killed_in_fit():
    x, y = data(64, numpy.float32)
    model = cr.Sequential([cr.nn.Dense(3, input_shape=(5,)), cr.nn.Dense(2)])
    model.compile(loss="mse", optimizer="sgd")
    model.fit(x, y, batch_size=4, epochs=50, verbose=0, callbacks=[KillAtBatch()])


def main():
    case, tmp = sys.argv[1], sys.argv[2]
    dist.init()
    me = dist.rank()
    if case == "train":
        out = {}
        for dtype in (numpy.float32, numpy.float64):
            for name in ("sgd", "adam"):
                manual(name, dtype, out)
            manual("sgd", dtype, out, batch_norm=True)
        dropout_masks(out)
        fit(out, tmp)
        fit_averages_and_loaders(out)
        linear_rule(out)
        broadcasts(out)
        samplers(out)
        numpy.savez(os.path.join(tmp, f"rank{me}.npz"), **out)
        return
    if case in ("resume", "nan_loss", "nan_gradient", "nan_step"):
        out = {}
        resume(out, tmp) if case == "resume" else nan_on_one_rank(out, case[4:])
        numpy.savez(os.path.join(tmp, f"rank{me}.npz"), **out)
        return
    if case == "kill_fit":
        killed_in_fit()
    dist.allreduce(numpy.ones(3))
    if me == dist.size() - 1:  # the last rank misbehaves
        if case == "raise":
            raise RuntimeError("this rank fails on purpose")
        if case == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if case == "exit":
            sys.exit(0)
        if case == "stall":
            time.sleep(600)
    if case == "sizes":
        dist.allreduce(numpy.ones(3 + me))
    for _ in range(3):
        dist.allreduce(numpy.ones(3))
        time.sleep(0.2)
    time.sleep(600)  # the healthy ranks would wait here: only the job's end stops them


if __name__ == "__main__":
    main()
