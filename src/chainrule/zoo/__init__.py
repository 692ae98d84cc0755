"""The course's models, by name: ``chainrule.zoo.get("xor").build()``; ``chainrule train NAME``.

Each family lives in its own module, imported only when one of its models is asked for, so that
listing the zoo costs nothing.
"""

import importlib

from chainrule.errors import ChainruleError
from chainrule.zoo.entry import TrainOptions, ZooModel

# name -> (module, attribute holding its ZooModel)
_REGISTRY = {
    "tlu": ("chainrule.zoo.tlu", "TLU"),
    "perceptron": ("chainrule.zoo.perceptron", "PERCEPTRON"),
    "xor": ("chainrule.zoo.xor", "XOR"),
    "backprop": ("chainrule.zoo.backprop", "BACKPROP"),
    "mlp": ("chainrule.zoo.mlp", "MLP"),
    "mlp_torch": ("chainrule.zoo.mlp", "MLP_TORCH"),
    "autoencoder": ("chainrule.zoo.autoencoder", "AUTOENCODER"),
    "deep_autoencoder": ("chainrule.zoo.autoencoder", "DEEP_AUTOENCODER"),
    "lenet5": ("chainrule.zoo.lenet", "LENET5"),
    "char_rnn": ("chainrule.zoo.char_rnn", "CHAR_RNN"),
    "gan": ("chainrule.zoo.gan", "GAN"),
}

# the models trained by Model.fit, which `chainrule train NAME --distributed` can train on many ranks
TRAINED_BY_FIT = ("xor", "mlp", "mlp_torch", "autoencoder", "deep_autoencoder", "lenet5", "char_rnn", "gan")


def names():
    """The names of every zoo model, in the course's order."""
    return list(_REGISTRY)


def get(name):
    """The :class:`ZooModel` called ``name``; raises ChainruleError for an unknown name."""
    if name not in _REGISTRY:
        raise ChainruleError(f"unknown zoo model {name!r}: choose one of {', '.join(_REGISTRY)}")
    module, attribute = _REGISTRY[name]
    return getattr(importlib.import_module(module), attribute)


def custom_objects():
    """The zoo's own model classes and loss functions by the names their files use, for
    ``cr.load_model(custom_objects=...)`` (a file names a loss function; the function comes from here)."""
    from chainrule.nn import functional
    from chainrule.zoo.char_rnn import CharRNN, next_character_loss
    from chainrule.zoo.mlp import MnistNet

    return {"zoo.CharRNN": CharRNN, "zoo.MnistNet": MnistNet, "nll_loss": functional.nll_loss,
            "next_character_loss": next_character_loss}


def build(name, **options):
    """The untrained model called ``name``."""
    return get(name).build(**options)


__all__ = ["TrainOptions", "ZooModel", "build", "custom_objects", "get", "names"]
