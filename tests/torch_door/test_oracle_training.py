"""save/load, optimisers, param_groups, lr schedulers and data as PyTorch code uses them, against torch (#12).

See ``torch_oracle``: each idiom is written once; ``m.T`` is ``torch`` or ``chainrule``.
"""

import io
import os
import tempfile

import numpy as np
import pytest
from torch_oracle import A, B, idiom_test, registry

from chainrule.kernels import threads

IDIOMS, idiom = registry()


# ---------------------------------------------------------------- save and load
@idiom
def save_and_load_a_state_dict_and_a_checkpoint(m):
    with tempfile.TemporaryDirectory() as folder:
        return _save_and_load(m, folder)


def _save_and_load(m, folder):
    net = m.nn.Sequential(m.nn.Linear(3, 2), m.nn.ReLU(), m.nn.Linear(2, 1))
    m.T.save(net.state_dict(), os.path.join(folder, "model.pt"))
    copy = m.nn.Sequential(m.nn.Linear(3, 2), m.nn.ReLU(), m.nn.Linear(2, 1))
    copy.load_state_dict(m.T.load(os.path.join(folder, "model.pt")))
    loaded = [bool((a == b).all()) for a, b in zip(copy.parameters(), net.parameters())]
    optimizer = m.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(m.T.tensor(A[:, :3])).sum().backward()
    optimizer.step()
    checkpoint = {
        "epoch": 3,
        "model_state_dict": net.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(),
        "loss": 0.5,
        "name": "x",
        "history": [1.0, 2.0],
    }
    m.T.save(checkpoint, os.path.join(folder, "checkpoint.pt"))
    checkpoint = m.T.load(os.path.join(folder, "checkpoint.pt"), map_location="cpu", weights_only=False)
    resumed = m.optim.SGD(m.nn.Linear(3, 2).parameters(), lr=0.5)
    resumed.load_state_dict(checkpoint["optimizer_state_dict"])
    buffer = io.BytesIO()  # a file object instead of a path
    m.T.save({"a": m.T.tensor(A), "b": [m.T.tensor(B), (1, 2.5, "s")]}, buffer)
    buffer.seek(0)
    group = resumed.param_groups[0]
    return (
        loaded,
        checkpoint["epoch"],
        checkpoint["loss"],
        checkpoint["name"],
        checkpoint["history"],
        sorted(checkpoint["model_state_dict"]),
        group["lr"],
        group["momentum"],
        m.T.load(buffer, map_location=m.T.device("cpu")),
    )


# ---------------------------------------------------------------- optimisers, param_groups and schedulers
def _optimise(m, make, steps=5, change_at=None):
    net = m.nn.Linear(4, 2)
    with m.T.no_grad():  # the same start in both libraries
        net.weight.copy_(m.T.tensor(A[:2]))
        net.bias.copy_(m.T.tensor([0.1, -0.2]))
    optimizer = make(m.optim, net.parameters())
    x = m.T.tensor(B)
    for step in range(steps):
        optimizer.zero_grad()
        (net(x) ** 2).mean().backward()
        optimizer.step()
        if step == change_at:
            for group in optimizer.param_groups:
                group["lr"] = group["lr"] * 0.1  # takes effect at the next step
    return [p.detach() for p in net.parameters()]


OPTIMISERS = {
    "SGD_momentum_lr_changed": (lambda o, p: o.SGD(p, lr=0.1, momentum=0.5), 1),
    "SGD_nesterov_weight_decay": (
        lambda o, p: o.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        None,
    ),
    "Adam_lr_changed": (lambda o, p: o.Adam(p, lr=0.01), 2),
    "Adam_amsgrad_weight_decay": (
        lambda o, p: o.Adam(p, lr=0.01, weight_decay=0.1, amsgrad=True, betas=(0.8, 0.9)),
        None,
    ),
    "AdamW": (lambda o, p: o.AdamW(p, lr=0.01, weight_decay=0.1), None),
    "RMSprop": (lambda o, p: o.RMSprop(p, lr=0.01, momentum=0.1, alpha=0.9), 3),
    "Adagrad": (lambda o, p: o.Adagrad(p, lr=0.1), None),
}
for _name, (_make, _change) in OPTIMISERS.items():
    IDIOMS[f"optimiser_{_name}"] = lambda m, make=_make, change=_change: _optimise(m, make, change_at=change)


@idiom
def param_groups(m):
    net = m.nn.Sequential(m.nn.Linear(2, 2), m.nn.Linear(2, 1))
    optimizer = m.optim.SGD(
        [{"params": net[0].parameters()}, {"params": net[1].parameters(), "lr": 0.5}], lr=0.1, momentum=0.9
    )
    optimizer.add_param_group({"params": [m.T.zeros(2, requires_grad=True)], "lr": 0.01})
    return (
        [
            (g["lr"], g["momentum"], float(g["weight_decay"]), g["nesterov"], len(g["params"]))
            for g in optimizer.param_groups
        ],
        sorted(optimizer.state_dict()),
        optimizer.defaults["lr"],
    )


def _rates(m, make_scheduler, steps, metrics=None):
    optimizer = m.optim.SGD([m.T.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    scheduler = make_scheduler(m.optim.lr_scheduler, optimizer)
    seen = []
    for step in range(steps):
        seen.append((optimizer.param_groups[0]["lr"], optimizer.param_groups[0]["momentum"]))
        optimizer.step()
        scheduler.step() if metrics is None else scheduler.step(metrics[step])
    return seen, scheduler.get_last_lr() if metrics is None else None


SCHEDULERS = {
    "StepLR": (lambda s, o: s.StepLR(o, step_size=2, gamma=0.1), 6, None),
    "MultiStepLR": (lambda s, o: s.MultiStepLR(o, [2, 4], 0.5), 6, None),
    "ExponentialLR": (lambda s, o: s.ExponentialLR(o, gamma=0.5), 4, None),
    "CosineAnnealingLR": (lambda s, o: s.CosineAnnealingLR(o, T_max=4), 10, None),
    "LambdaLR": (lambda s, o: s.LambdaLR(o, lambda epoch: 1 / (epoch + 1)), 5, None),
    "OneCycleLR": (lambda s, o: s.OneCycleLR(o, max_lr=1.0, epochs=2, steps_per_epoch=5), 9, None),
    "ReduceLROnPlateau": (
        lambda s, o: s.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=1),
        9,
        [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7, 0.8],
    ),
}
for _name, (_make, _steps, _metrics) in SCHEDULERS.items():
    IDIOMS[f"scheduler_{_name}"] = lambda m, make=_make, steps=_steps, metrics=_metrics: _rates(
        m, make, steps, metrics
    )


@idiom
def scheduler_state_round_trips(m):
    optimizer = m.optim.SGD([m.T.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = m.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    state = scheduler.state_dict()
    other = m.optim.SGD([m.T.zeros(1, requires_grad=True)], lr=0.1)
    resumed = m.optim.lr_scheduler.ExponentialLR(other, gamma=0.5)
    resumed.load_state_dict(state)
    other.step()
    resumed.step()
    return resumed.get_last_lr(), state["last_epoch"]


# ---------------------------------------------------------------- data
@idiom
def tensor_dataset_and_loader(m):
    x, y = m.T.tensor(np.arange(20, dtype=np.float32).reshape(10, 2)), m.T.arange(10)
    data = m.data.TensorDataset(x, y)
    loader = m.data.DataLoader(data, batch_size=4)
    sample = data[1]
    return (
        len(data),
        type(sample).__name__,
        sample,
        data.tensors,
        len(loader),
        len(loader.dataset),
        [(bx, by) for bx, by in loader],
        loader.batch_size,
        len(m.data.DataLoader(data, batch_size=4, drop_last=True)),
        m.data.Subset(data, [1, 3, 5])[1],
    )


@idiom
def custom_datasets_and_collation(m):
    class Pairs(m.data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return m.T.tensor([float(i), 2.0 * i]), i

    class Dicts(m.data.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return {"x": np.full(2, i, dtype=np.float32), "y": i}

    return (
        [b for b in m.data.DataLoader(Pairs(), batch_size=2)],
        [b for b in m.data.DataLoader(Dicts(), batch_size=2)],
        [b for b in m.data.DataLoader(list(range(5)), batch_size=2)],
        [b for b in m.data.DataLoader(np.arange(6.0).reshape(3, 2), batch_size=2)],
        [
            len(p)
            for p in m.data.random_split(range(11), [0.7, 0.2, 0.1], generator=m.T.Generator().manual_seed(0))
        ],
    )


@idiom
def concatenated_and_split_datasets(m):
    joined = m.data.ConcatDataset(
        [m.data.TensorDataset(m.T.arange(3)), m.data.TensorDataset(m.T.arange(4) * 10)]
    )
    train, val = m.data.random_split(joined, [5, 2], generator=m.T.Generator().manual_seed(0))
    return len(joined), joined[4], joined[-1], joined[0], len(train), len(val), type(train[0][0]).__name__


@pytest.fixture(autouse=True)
def _thread_count_unset():
    """set_num_threads below acts on the whole process: the suite goes on as if it had not run."""
    yield
    threads.requested = None


@idiom
def threads_set_and_read_back(m):
    """torch.set_num_threads as cluster scripts call it (one rank per core), then as it was."""
    before = m.T.get_num_threads()
    m.T.set_num_threads(1)
    one = m.T.get_num_threads()
    m.T.set_num_threads(before)
    return one, m.T.get_num_threads() == before, isinstance(before, int) and before >= 1


test_idiom_agrees_with_torch = idiom_test(IDIOMS)
