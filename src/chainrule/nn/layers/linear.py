"""Fully connected layers: PyTorch's ``Linear`` and Keras's ``Dense`` (same layout, input size inferred).

Both compute y = x Wᵀ + b over the last axis of x with one fused primitive
(:func:`chainrule.ops.fused_linear.linear`); the weight is stored (out_features, in_features) as in
PyTorch, so state dicts move across by name.
"""

import math
import re
from collections import defaultdict

import numpy

from chainrule import arguments
from chainrule.autograd.tensor import Tensor
from chainrule.backend import DEFAULT_FLOAT, array_module, is_floating, on_host
from chainrule.errors import DTypeError, ShapeError
from chainrule.nn import init
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops.fused_linear import linear

_name_counts = defaultdict(int)


def layer_name(layer, name=None):
    """``name`` if given, else a Keras-style automatic name: dense, dense_1, dense_2, ...

    The counter is per snake_case class name and per process, as in Keras.
    """
    if name is not None:
        return str(name)
    base = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", type(layer).__name__).lower()
    count = _name_counts[base]
    _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


def require_floating(x, layer):
    """Integer input (uint8 pixels, counts) would silently run in float64: ask for the conversion instead."""
    if not is_floating(x.dtype):
        raise DTypeError(f"{layer} takes floating-point input, got {x.dtype}: convert it first, e.g. "
                         f"x.astype('float32') / 255 for pixels")


def float_input(layer, x):
    """``x`` as a floating Tensor or array; array-likes (lists, numbers) become tensors by the tensor rules.

    Integer or boolean input would otherwise run silently in float64 (or float32 for bools) where
    PyTorch raises: raise a DTypeError naming the layer and the conversion instead.
    """
    if not isinstance(x, (Tensor, numpy.ndarray)):
        if not hasattr(x, "__array__") and not isinstance(x, (list, tuple, int, float, bool)):
            raise TypeError(f"{type(layer).__name__} '{layer.name}' takes a Tensor or an array, got "
                            f"{type(x).__name__}")
        x = Tensor(x)  # Python floats become float32, as for chainrule.tensor
    require_floating(x, f"{type(layer).__name__} '{layer.name}'")
    return x


def check_width(layer, x, in_features):
    """Raise a ShapeError naming the layer when the last axis of ``x`` is not ``in_features`` wide."""
    if x.ndim >= 1 and x.shape[-1] == in_features:
        return
    got = tuple(x.shape)
    if x.ndim > 2:
        hint = f"is a Flatten missing? (Flatten gives (batch, {math.prod(got[1:])}))"
    else:
        hint = "does the layer before it give that many features?"
    raise ShapeError(f"{type(layer).__name__} '{layer.name}' expects (batch, {in_features}), got {got}: "
                     f"{hint}")


class Linear(Module):
    """y = x Wᵀ + b, PyTorch's layer: weight (out_features, in_features), bias (out_features,).

    Initialised as PyTorch does: W from kaiming_uniform(a=√5), i.e. U(−1/√in, 1/√in), and b from
    U(−1/√in, 1/√in).

    Shapes: (..., in_features) -> (..., out_features).

        >>> import chainrule as cr
        >>> layer = cr.nn.Linear(3, 2)
        >>> layer(cr.ones((4, 3))).shape
        (4, 2)
    """

    def __init__(self, in_features, out_features, bias=True, name=None):
        super().__init__()
        self.in_features = arguments.integer(in_features, "in_features", "Linear")
        self.out_features = arguments.integer(out_features, "out_features", "Linear")
        self.name = layer_name(self, name)
        self.weight = Parameter(numpy.empty((self.out_features, self.in_features), dtype=DEFAULT_FLOAT))
        if bias:
            self.bias = Parameter(numpy.empty(self.out_features, dtype=DEFAULT_FLOAT))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.pytorch_default_(self.weight, self.bias)

    def forward(self, x):
        x = float_input(self, x)
        check_width(self, x, self.in_features)
        return linear(x, self.weight, self.bias)

    def get_config(self):
        return {"in_features": self.in_features, "out_features": self.out_features,
                "bias": self.bias is not None, "name": self.name}

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, " \
               f"bias={self.bias is not None}"


class Dense(Module):
    """Keras's fully connected layer with PyTorch's layout; the input size is found at the first call.

    y = activation(x Wᵀ + b) with weight (units, in) and bias (units,). Until the first call (or
    ``build(input_shape)``, or an ``input_shape``/``input_dim`` given here) the layer has no parameters
    and ``built`` is False. ``input_shape`` leaves out the batch axis, as in Keras.

        >>> import chainrule as cr
        >>> layer = cr.nn.Dense(2, activation="relu")
        >>> layer.built
        False
        >>> layer(cr.ones((4, 3))).shape, layer.weight.shape
        ((4, 2), (2, 3))
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", input_shape=None, input_dim=None, name=None):
        from chainrule.nn.layers import activation as activations

        super().__init__()
        self.units = arguments.integer(units, "units", "Dense")
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.name = layer_name(self, name)
        # an activation is a function here, not a sub-layer: keep it out of the module tree
        object.__setattr__(self, "activation", activations.get(activation))
        self.activation_name = activations.name_of(activation)
        self.in_features = None
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)
        if input_dim is not None:
            input_shape = (input_dim,)
        if input_shape is not None:
            self.build((None, *tuple(input_shape)))

    @property
    def built(self):
        return self.weight is not None

    def build(self, input_shape):
        """Create weight (units, input_shape[-1]) and bias; ``input_shape`` includes the batch axis."""
        self.in_features = arguments.integer(input_shape[-1], "the input's last dimension", "Dense.build")
        self.weight = Parameter(numpy.empty((self.units, self.in_features), dtype=DEFAULT_FLOAT))
        if self.use_bias:
            self.bias = Parameter(numpy.empty(self.units, dtype=DEFAULT_FLOAT))
        self.reset_parameters()

    def reset_parameters(self):
        if not self.built:
            return
        init.get(self.kernel_initializer)(self.weight)
        if self.bias is not None:
            init.get(self.bias_initializer)(self.bias)

    def forward(self, x):
        x = float_input(self, x)
        if not self.built:
            self.build(x.shape)
            data = x._data if isinstance(x, Tensor) else x  # an array is taken as it is
            if not on_host(data):  # built at its first call: on the device of what it is given
                from chainrule import gpu

                gpu.move_module(self, array_module(data))
        check_width(self, x, self.in_features)
        y = linear(x, self.weight, self.bias)
        return y if self.activation is None else self.activation(y)

    def get_config(self):
        if self.activation is not None and self.activation_name is None:
            raise ValueError(f"Dense '{self.name}': its activation {self.activation!r} has no registered "
                             "name, so the layer cannot be saved as a config; pass a name such as 'relu'")
        return {"units": self.units, "activation": self.activation_name, "use_bias": self.use_bias,
                "kernel_initializer": _initializer_name(self.kernel_initializer),
                "bias_initializer": _initializer_name(self.bias_initializer),
                "input_dim": self.in_features, "name": self.name}

    def extra_repr(self):
        size = "?" if self.in_features is None else self.in_features
        text = f"in_features={size}, units={self.units}"
        if self.activation_name not in (None, "linear"):
            text += f", activation={self.activation_name}"
        return text + ("" if self.use_bias else ", use_bias=False")


def _initializer_name(initializer):
    if isinstance(initializer, str):
        return initializer
    raise ValueError(f"initialiser {initializer!r} is not a name: pass names such as 'glorot_uniform' for "
                     "a layer that is saved as a config")
