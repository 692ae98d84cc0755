"""``keras.datasets``: ``mnist.load_data()``."""

from chainrule.keras.datasets import mnist

__all__ = ["mnist"]
