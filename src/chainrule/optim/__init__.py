"""Optimisers, learning-rate schedules and gradient clipping.

``get("adam")`` turns a name into a new optimiser (not yet bound to parameters), as ``compile`` does.
"""

from chainrule.errors import ConfigError
from chainrule.optim import lr_scheduler, schedules
from chainrule.optim.adadelta import Adadelta
from chainrule.optim.adagrad import Adagrad
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.clip import clip_grad_norm_, clip_grad_value_
from chainrule.optim.lbfgs import LBFGS
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.schedules import ReduceLROnPlateau, Scheduler
from chainrule.optim.sgd import GD, SGD

_BY_NAME = {
    "gd": GD,
    "sgd": SGD,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
    "adadelta": Adadelta,
    "adam": Adam,
    "adamw": AdamW,
    "lbfgs": LBFGS,
}


def get(identifier, **kwargs):
    """An optimiser from a name (``"adam"``, any case), a class, or an instance (returned as it is).

    ``kwargs`` go to the constructor: ``get("sgd", lr=0.1, momentum=0.9)``.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier(**kwargs)
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is not None:
            return cls(**kwargs)
        raise ConfigError(f"unknown optimiser {identifier!r}: known names are {', '.join(sorted(_BY_NAME))}")
    raise TypeError("optim.get expects a name, an Optimizer class or instance, got "
                    f"{type(identifier).__name__}")


__all__ = ["GD", "LBFGS", "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop",
           "ReduceLROnPlateau", "Scheduler", "clip_grad_norm_", "clip_grad_value_", "get", "schedules"]
