"""``keras.activations``: Keras 3's activation functions, with its names and defaults.

Each is composed of the engine's functions and primitives (so its gradients are theirs); the names
are those ``Dense(activation="...")``, ``Conv2D``, ``Activation`` and model files use. Where Keras's
defaults differ from PyTorch's they are Keras's: ``leaky_relu`` has slope 0.2, ``gelu`` is exact
(erf), ``hard_sigmoid`` is relu6(x + 3)/6, ``selu`` uses Klambauer et al.'s constants.

    >>> from chainrule import keras
    >>> import numpy as np
    >>> keras.activations.relu6(np.array([-1.0, 3.0, 8.0])).numpy()
    array([0., 3., 6.])
"""

from chainrule.autograd.tensor import Tensor
from chainrule.errors import ConfigError
from chainrule.nn.layers import activation as engine
from chainrule.nn.layers import smooth_activations as smooth
from chainrule.ops import elementwise as ew


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0); with Keras's options: slope below ``threshold``, capped at ``max_value``."""
    x = _tensor(x)
    if negative_slope == 0.0 and threshold == 0.0:
        y = engine.relu(x)
    else:
        y = ew.where(x._data >= threshold, x, (x - threshold) * negative_slope)
    return y if max_value is None else ew.minimum(y, float(max_value))


def relu6(x):
    return ew.clip(_tensor(x), 0.0, 6.0)


def leaky_relu(x, negative_slope=0.2):
    return engine.leaky_relu(_tensor(x), negative_slope)


def elu(x, alpha=1.0):
    return smooth.elu(_tensor(x), alpha)


def selu(x):
    return smooth.selu(_tensor(x))


def gelu(x, approximate=False):
    return smooth.gelu(_tensor(x), "tanh" if approximate else "none")


def silu(x):
    return smooth.silu(_tensor(x))


swish = silu


def sigmoid(x):
    return engine.sigmoid(_tensor(x))


def hard_sigmoid(x):
    return relu6(_tensor(x) + 3.0) * (1.0 / 6.0)


def hard_silu(x):
    x = _tensor(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def tanh(x):
    return engine.tanh(_tensor(x))


def softmax(x, axis=-1):
    return engine.softmax(_tensor(x), axis)


def log_softmax(x, axis=-1):
    return engine.log_softmax(_tensor(x), axis)


def softplus(x):
    return engine.softplus(_tensor(x))


def softsign(x):
    x = _tensor(x)
    return x / (ew.abs(x) + 1.0)


def exponential(x):
    return ew.exp(_tensor(x))


def mish(x):
    x = _tensor(x)
    return x * ew.tanh(softplus(x))


def linear(x):
    return _tensor(x)


_BY_NAME = {f.__name__: f for f in (relu, relu6, leaky_relu, elu, selu, gelu, silu, sigmoid, hard_sigmoid,
                                     hard_silu, tanh, softmax, log_softmax, softplus, softsign, exponential,
                                     mish, linear)}
_BY_NAME.update(swish=silu, hard_swish=hard_silu)


# names whose Keras meaning an engine activation layer has: get() gives the layer, which the ONNX export
# and the engine's fused losses know (a softmax output keeps its logits)
_AS_ENGINE_LAYER = {"relu": engine.ReLU, "sigmoid": engine.Sigmoid, "tanh": engine.Tanh,
                    "softmax": engine.Softmax, "log_softmax": engine.LogSoftmax, "softplus": engine.Softplus,
                    "leaky_relu": lambda: engine.LeakyReLU(negative_slope=0.2)}


def get(identifier):
    """The activation for a name (or one of these functions); another callable as it is; None and
    "linear" mean no activation (None)."""
    if identifier is None:
        return None
    for name, function in _BY_NAME.items():
        if identifier is function:
            identifier = name
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            known = ", ".join(sorted(_BY_NAME))
            raise ConfigError(f"unknown activation {identifier!r}: known names are {known}")
        if key in _AS_ENGINE_LAYER:
            return _AS_ENGINE_LAYER[key]()
        return None if key == "linear" else _BY_NAME[key]
    if callable(identifier):
        return identifier
    raise TypeError(f"activation must be a name or a function, got {type(identifier).__name__}")


def serialize(identifier):
    """The name a config saves: Keras's name of one of these functions (or of a name), else None."""
    if identifier is None:
        return "linear"
    if isinstance(identifier, str):
        get(identifier)
        return identifier.lower()
    for name, function in _BY_NAME.items():
        if function is identifier:
            return name
    if type(identifier) is engine.LeakyReLU and identifier.negative_slope == 0.2:
        return "leaky_relu"
    return engine.name_of(identifier)  # an engine activation layer (cr.nn.ReLU()) keeps its name
