"""The search space of each zoo model that ``chainrule search NAME`` tunes.

Every model searches the learning rate, the batch size and the optimiser; the MLPs also their width
and dropout, the autoencoders their code size, LeNet-5 the width of its first dense layer and a
dropout before it, the character LSTM its hidden size. Each parameter has a range for TPE and random
search and a short list of values for grid search (the grid is every combination of those lists).

- mlp, mlp_torch: units 128, 256, 512 (both hidden layers), dropout 0 to 0.5;
- autoencoder, deep_autoencoder: units (the code size) 16, 32, 64;
- lenet5: units 84, 120, 168 (the first dense layer), dropout 0 to 0.5 (before it);
- char_rnn: units 64, 128, 256 (the LSTM's hidden size); its data are sequences of 64 characters of
  the corpus (``--data``, default the Python standard library's source; ``--limit`` characters);
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


def _mlp(p, context=None):
    return cr.Sequential([
        nn.Dense(p["units"], activation="relu", input_shape=(784,)), nn.Dropout(p["dropout"]),
        nn.Dense(p["units"], activation="relu"), nn.Dropout(p["dropout"]),
        nn.Dense(10, activation="softmax"),
    ]), "sparse_categorical_crossentropy", ["accuracy"]


def _autoencoder(p, context=None):
    return cr.Sequential([
        nn.Dense(p["units"], activation="relu", input_shape=(784,)),
        nn.Dense(784, activation="sigmoid"),
    ]), "binary_crossentropy", []


def _deep_autoencoder(p, context=None):
    return cr.Sequential([
        nn.Dense(128, activation="relu", input_shape=(784,)), nn.Dense(64, activation="relu"),
        nn.Dense(p["units"], activation="relu"),
        nn.Dense(64, activation="relu"), nn.Dense(128, activation="relu"),
        nn.Dense(784, activation="sigmoid"),
    ]), "binary_crossentropy", []


def _lenet5(p, context=None):
    return cr.Sequential([
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(p["dropout"]),
        nn.Dense(p["units"], activation="relu", input_shape=(400,)),
        nn.Dense(84, activation="relu"),
        nn.Dense(10, activation="softmax"),
    ]), "sparse_categorical_crossentropy", ["accuracy"]


class _TorchStyleMLP(nn.Module):
    """mlp_torch's network with its width and dropout chosen: log-softmax outputs for nll_loss."""

    def __init__(self, units, dropout):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, units), nn.Linear(units, units), nn.Linear(units, 10)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        from chainrule.nn import functional as F

        x = self.dropout(F.relu(self.fc1(x)))
        x = self.dropout(F.relu(self.fc2(x)))
        return F.log_softmax(self.fc3(x), axis=1)


def _mlp_torch(p, context=None):
    from chainrule.nn import functional as F

    return cr.Model(_TorchStyleMLP(p["units"], p["dropout"])), F.nll_loss, ["sparse_categorical_accuracy"]


def _char_rnn(p, vocabulary):
    from chainrule.zoo.char_rnn import build, next_character_loss

    return build(vocabulary, hidden_size=p["units"]), next_character_loss, []


def _digits(space, directory, limit):
    from chainrule.zoo.mnist_data import load_digits

    (x, y), _ = load_digits(directory, limit, shape="image" if space.image else "flat")
    return (x, x if space.autoencoder else y), None


def _text(space, source, limit):
    from chainrule.zoo.char_rnn import DEFAULT_CORPUS_CHARS, sequences

    text = cr.data.text.load(source, max_chars=limit or DEFAULT_CORPUS_CHARS)
    vocabulary = cr.data.CharVocab(text)
    return sequences(vocabulary.encode(text)), vocabulary.chars


@dataclass(frozen=True)
class Space:
    """A zoo model's search: its builder from the chosen values, its parameters, its data."""

    architecture: object  # (values, context) -> (model, loss, metrics)
    parameters: dict
    autoencoder: bool = False  # the target is the input
    image: bool = False  # (N, 1, 28, 28) digits instead of flat 784
    loader: object = _digits  # (space, data, limit) -> ((x, y), context)

    def builder(self, context=None):
        """``build(trial)``: the compiled model for the trial's values (drawn with ``trial.suggest_*``);
        ``context`` is what the data fixed (char_rnn's vocabulary)."""
        def build(trial):
            values = {name: parameter.suggest(trial, name) for name, parameter in self.parameters.items()}
            return self._compiled(values, context)

        return build

    def _compiled(self, values, context):
        model, loss, metrics = self.architecture(values, context)
        from chainrule.train.compiled import keras_optimizer

        model.compile(loss=loss, optimizer=keras_optimizer(values["optimizer"], lr=values["lr"]),
                      metrics=metrics)
        return model

    def grid(self):
        return {name: list(parameter.grid) for name, parameter in self.parameters.items()}

    def data(self, source=None, limit=None):
        """``((x, y), context)``: the training data for fit (digits, or char_rnn's sequences) and
        what the model needs from it (None, or char_rnn's vocabulary)."""
        return self.loader(self, source, limit)


def _units(*choices):
    return Parameter("choice", choices, choices[:2])


SPACES = {
    "mlp": Space(_mlp, {"units": _units(128, 256, 512), "dropout": DROPOUT, **COMMON}),
    "mlp_torch": Space(_mlp_torch, {"units": _units(128, 256, 512), "dropout": DROPOUT, **COMMON}),
    "autoencoder": Space(_autoencoder, {"units": _units(16, 32, 64), **COMMON}, autoencoder=True),
    "deep_autoencoder": Space(_deep_autoencoder, {"units": _units(16, 32, 64), **COMMON}, autoencoder=True),
    "lenet5": Space(_lenet5, {"units": _units(84, 120, 168), "dropout": DROPOUT, **COMMON}, image=True),
    "char_rnn": Space(_char_rnn, {"units": _units(64, 128, 256), **COMMON}, loader=_text),
}


def get(name):
    """The search space of zoo model ``name``; a ConfigError names the searchable ones."""
    if name not in SPACES:
        raise ConfigError(f"no search space for {name!r}: chainrule search takes {', '.join(SPACES)}")
    return SPACES[name]
