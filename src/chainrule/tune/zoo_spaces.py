"""The search space of each zoo model that ``chainrule search NAME`` tunes.

Every model searches the learning rate, the batch size and the optimiser; the MLP also its width
and dropout, the autoencoders their code size, LeNet-5 the width of its first dense layer and a
dropout before it. Each parameter has a range for TPE and random search and a short list of values
for grid search (the grid is every combination of those lists).

- mlp: units 128, 256, 512 (both hidden layers), dropout 0 to 0.5;
- autoencoder, deep_autoencoder: units (the code size) 16, 32, 64;
- lenet5: units 84, 120, 168 (the first dense layer), dropout 0 to 0.5 (before it);
- every one: lr 1e-4 to 1e-1 (log scale), batch_size 32, 64, 128, 256, optimizer sgd, rmsprop, adam.

Grid values: lr 1e-3, 1e-2; batch_size 64, 128; optimizer rmsprop, adam; units the first two;
dropout 0, 0.2.
"""

from dataclasses import dataclass

import chainrule as cr
from chainrule import nn
from chainrule.errors import ConfigError

OPTIMIZERS = ["sgd", "rmsprop", "adam"]


@dataclass(frozen=True)
class Parameter:
    """One hyperparameter: how ``trial.suggest_*`` draws it, and its values on a grid."""

    kind: str  # "log" (float on a log scale), "float", or "choice"
    values: tuple  # (low, high) for "log" and "float"; the choices for "choice"
    grid: tuple

    def suggest(self, trial, name):
        if self.kind == "choice":
            return trial.suggest_categorical(name, list(self.values))
        low, high = self.values
        return trial.suggest_float(name, low, high, log=self.kind == "log")


COMMON = {
    "lr": Parameter("log", (1e-4, 1e-1), (1e-3, 1e-2)),
    "batch_size": Parameter("choice", (32, 64, 128, 256), (64, 128)),
    "optimizer": Parameter("choice", tuple(OPTIMIZERS), ("rmsprop", "adam")),
}
DROPOUT = Parameter("float", (0.0, 0.5), (0.0, 0.2))


def _mlp(p):
    return cr.Sequential([
        nn.Dense(p["units"], activation="relu", input_shape=(784,)), nn.Dropout(p["dropout"]),
        nn.Dense(p["units"], activation="relu"), nn.Dropout(p["dropout"]),
        nn.Dense(10, activation="softmax"),
    ]), "sparse_categorical_crossentropy", ["accuracy"]


def _autoencoder(p):
    return cr.Sequential([
        nn.Dense(p["units"], activation="relu", input_shape=(784,)),
        nn.Dense(784, activation="sigmoid"),
    ]), "binary_crossentropy", []


def _deep_autoencoder(p):
    return cr.Sequential([
        nn.Dense(128, activation="relu", input_shape=(784,)), nn.Dense(64, activation="relu"),
        nn.Dense(p["units"], activation="relu"),
        nn.Dense(64, activation="relu"), nn.Dense(128, activation="relu"),
        nn.Dense(784, activation="sigmoid"),
    ]), "binary_crossentropy", []


def _lenet5(p):
    return cr.Sequential([
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(p["dropout"]),
        nn.Dense(p["units"], activation="relu", input_shape=(400,)),
        nn.Dense(84, activation="relu"),
        nn.Dense(10, activation="softmax"),
    ]), "sparse_categorical_crossentropy", ["accuracy"]


@dataclass(frozen=True)
class Space:
    """A zoo model's search: its builder from the chosen values, its parameters, its data."""

    architecture: object  # values -> (model, loss, metrics)
    parameters: dict
    autoencoder: bool = False  # the target is the input
    image: bool = False  # (N, 1, 28, 28) digits instead of flat 784

    def build(self, trial):
        """The compiled model for this trial's values (drawn here, with ``trial.suggest_*``)."""
        values = {name: parameter.suggest(trial, name) for name, parameter in self.parameters.items()}
        model, loss, metrics = self.architecture(values)
        from chainrule.train.compiled import keras_optimizer

        model.compile(loss=loss, optimizer=keras_optimizer(values["optimizer"], lr=values["lr"]),
                      metrics=metrics)
        return model

    def grid(self):
        return {name: list(parameter.grid) for name, parameter in self.parameters.items()}

    def data(self, directory=None, limit=None):
        """The training digits as (x, y) for fit: y the labels, or the inputs for an autoencoder."""
        from chainrule.zoo.mnist_data import load_digits

        (x, y), _ = load_digits(directory, limit, shape="image" if self.image else "flat")
        return (x, x) if self.autoencoder else (x, y)


def _units(*choices):
    return Parameter("choice", choices, choices[:2])


SPACES = {
    "mlp": Space(_mlp, {"units": _units(128, 256, 512), "dropout": DROPOUT, **COMMON}),
    "autoencoder": Space(_autoencoder, {"units": _units(16, 32, 64), **COMMON}, autoencoder=True),
    "deep_autoencoder": Space(_deep_autoencoder, {"units": _units(16, 32, 64), **COMMON}, autoencoder=True),
    "lenet5": Space(_lenet5, {"units": _units(84, 120, 168), "dropout": DROPOUT, **COMMON}, image=True),
}


def get(name):
    """The search space of zoo model ``name``; a ConfigError names the searchable ones."""
    if name not in SPACES:
        raise ConfigError(f"no search space for {name!r}: chainrule search takes {', '.join(SPACES)}")
    return SPACES[name]
