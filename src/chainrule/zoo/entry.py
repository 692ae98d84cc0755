"""What every zoo model offers: a builder, a CLI name, a smoke test and a way to train it."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ZooModel:
    """One of the course's models.

    ``build(**options)`` returns the untrained model; ``smoke_test()`` trains it for a few steps on
    tiny data and returns ``(loss_before, loss_after)``; ``train(options, log)`` is what
    ``chainrule train NAME`` runs (``log`` receives one line of text at a time) and returns a dict
    of results; ``explain(log)``, where present, is ``chainrule explain NAME``; ``input_shape`` (no
    batch axis) lets ``summary`` run its dry forward pass on an untrained model.
    """

    name: str
    summary: str
    build: Callable
    smoke_test: Callable
    train: Callable
    explain: Callable | None = None
    input_shape: tuple | None = None  # for summary() when the first layer does not know it


@dataclass
class TrainOptions:
    """The options of ``chainrule train`` (None means: the model's own default)."""

    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    optimizer: str | None = None
    seed: int = 0
    out: str = "."
    data: str | None = None
    limit: int | None = None  # use only the first N training samples (tests, quick looks)
    verbose: int = 1
    tensorboard: str | None = None  # a log directory for TensorBoard event files

    def get(self, name, default):
        """The option's value, or the model's default where the user gave none."""
        value = getattr(self, name)
        return default if value is None else value
