"""Keras-style training: Model and Sequential (compile, fit, evaluate, predict), callbacks, metrics."""

from chainrule.io import registry
from chainrule.train import callbacks, metrics
from chainrule.train.model import Model, Sequential

registry.register_model("Model", Model)  # io saves and loads them without importing train
registry.register_model("Sequential", Sequential)

__all__ = ["Model", "Sequential", "callbacks", "metrics"]
