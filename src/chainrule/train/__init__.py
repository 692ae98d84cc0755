"""Keras-style training: Model and Sequential (compile, fit, evaluate, predict), callbacks, metrics."""

from chainrule.train import callbacks, metrics
from chainrule.train.model import Model, Sequential

__all__ = ["Model", "Sequential", "callbacks", "metrics"]
