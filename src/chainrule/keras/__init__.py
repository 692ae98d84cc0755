"""``chainrule.keras``: the Keras-shaped door, following Keras 3's names, signatures, defaults and formulas.

Code written for Keras runs with its imports changed::

    from chainrule import keras
    from chainrule.keras import layers

    model = keras.Sequential([keras.Input(shape=(28, 28, 1)),
                              layers.Conv2D(32, kernel_size=(3, 3), activation="relu"), ...])

Every class is a thin layer over the engine (``chainrule.nn`` layers, ``chainrule.train.Model``'s
one training loop); where Keras and PyTorch differ (channels-last images, a Dense kernel
``(in, units)``, RMSprop's ε inside the square root, BatchNormalization's momentum 0.99), this
namespace follows Keras. Importing it stays NumPy-only.
"""

from chainrule.keras import (
    activations,
    backend,
    callbacks,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    random,
    regularizers,
    saving,  # noqa: F401 - registers the door's classes for model files
    utils,
)
from chainrule.keras.layers import Input
from chainrule.keras.models import Model, Sequential
from chainrule.keras.variables import Variable

__all__ = ["Input", "Model", "Sequential", "Variable", "activations", "backend", "callbacks", "datasets",
           "initializers", "layers", "losses", "metrics", "models", "ops", "optimizers", "random",
           "regularizers", "utils"]
