"""Keras's convolutions in its channels-last layout: Conv1D (N, T, C) and Conv2D (N, H, W, C).

The engine convolves channels-first, so a call moves the channel axis in, convolves
(:func:`chainrule.ops.conv.conv2d`) and moves it back. The weight stays in the engine's layout
``(filters, in, kh, kw)``; ``get_weights`` gives Keras's ``kernel (kh, kw, in, filters)``.
Keras's padding="same" (output size ⌈in/stride⌉, the extra row or column at the end) is an
explicit pad before a "valid" convolution, so it holds for every stride.
"""

import math

import numpy

from chainrule.backend import DEFAULT_FLOAT
from chainrule.errors import ConfigError
from chainrule.keras import activations, initializers
from chainrule.keras.layers.base import KerasLayer, check_keywords, keras_name, same
from chainrule.nn.layers.linear import float_input
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops.conv import conv1d, conv2d
from chainrule.ops.shape import pad, transpose


def tuple_of(value, dims, what, layer):
    values = (value,) * dims if isinstance(value, int) else tuple(int(v) for v in value)
    if len(values) != dims or any(v < 1 for v in values):
        raise ConfigError(f"{layer}: {what} must be a positive int or {dims} of them, got {value!r}")
    return values


def same_padding(sizes, kernel, strides, dilation):
    """Keras's (TensorFlow's) "same": pad so the output is ⌈size/stride⌉, the odd pixel at the end."""
    pads = []
    for size, k, s, d in zip(sizes, kernel, strides, dilation, strict=True):
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def padding_name(padding, layer):
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise ConfigError(f"{layer}: padding must be 'valid' or 'same', got {padding!r}")
    return padding


class _Conv(KerasLayer, Module):
    dims = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, input_shape=None, name=None, trainable=True, **kwargs):
        check_keywords(type(self).__name__, kwargs)
        Module.__init__(self)
        layer = type(self).__name__
        if data_format not in (None, "channels_last"):
            raise ConfigError(f"{layer}: chainrule.keras is channels-last only, got data_format="
                              f"{data_format!r}; hint: chainrule.nn.Conv{self.dims}d is channels-first")
        self.name = keras_name(self, name)
        self.filters, self.groups, self.use_bias = int(filters), int(groups), bool(use_bias)
        self.kernel_size = tuple_of(kernel_size, self.dims, "kernel_size", layer)
        self.strides = tuple_of(strides, self.dims, "strides", layer)
        self.dilation_rate = tuple_of(dilation_rate, self.dims, "dilation_rate", layer)
        self.padding = padding_name(padding, layer)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        object.__setattr__(self, "activation", activations.get(activation))
        self.activation_name = activations.serialize(activation)
        self.in_channels = None
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)
        self._keras_options(kernel_regularizer, bias_regularizer, activity_regularizer, trainable)
        if input_shape is not None:
            self.build((None, *input_shape))

    @property
    def built(self):
        return self.weight is not None

    def build(self, input_shape):
        self.in_channels = int(input_shape[-1])
        shape = (self.filters, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(numpy.empty(shape, dtype=DEFAULT_FLOAT))
        initializers.get(self.kernel_initializer)(self.weight)
        if self.use_bias:
            self.bias = Parameter(numpy.zeros(self.filters, dtype=DEFAULT_FLOAT))
            initializers.get(self.bias_initializer)(self.bias)

    def reset_parameters(self):
        if self.built:
            self.build((None, self.in_channels))

    def forward(self, x):
        x = float_input(self, x)
        if not self.built:
            self.build(x.shape)
        first = transpose(x, (0, self.dims + 1, *range(1, self.dims + 1)))  # channels to axis 1
        if self.padding == "same":
            pads = same_padding(first.shape[2:], self.kernel_size, self.strides, self.dilation_rate)
            if any(p != (0, 0) for p in pads):
                first = pad(first, [(0, 0), (0, 0), *pads])
        y = self.convolve(first)
        y = transpose(y, (0, *range(2, self.dims + 2), 1))  # channels back to the end
        return y if self.activation is None else self.activation(y)

    def weight_layout(self):
        if not self.built:
            return []
        order = (*range(2, self.dims + 2), 1, 0)  # (filters, in, *k) -> (*k, in, filters)
        back = tuple(numpy.argsort(order))
        entries = [(self.weight, lambda w: w.transpose(order), lambda k: k.transpose(back))]
        return entries + ([(self.bias, same, same)] if self.use_bias else [])

    def get_config(self):
        return {"filters": self.filters, "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "dilation_rate": list(self.dilation_rate), "groups": self.groups,
                "activation": self.activation_name, "use_bias": self.use_bias,
                "kernel_initializer": self.kernel_initializer, "bias_initializer": self.bias_initializer,
                "input_shape": None if self.in_channels is None else [None] * self.dims + [self.in_channels],
                "name": self.name, **self._regularizer_config()}

    def extra_repr(self):
        return f"filters={self.filters}, kernel_size={self.kernel_size}, strides={self.strides}, " \
               f"padding={self.padding!r}"


class Conv2D(_Conv):
    """``keras.layers.Conv2D(filters, kernel_size, strides=(1, 1), padding="valid", activation=None, ...)``
    on (N, H, W, C).

        >>> from chainrule import keras
        >>> import numpy as np
        >>> keras.layers.Conv2D(8, 3, padding="same")(np.zeros((2, 5, 5, 3), "float32")).shape
        (2, 5, 5, 8)
    """

    dims = 2

    def convolve(self, x):
        return conv2d(x, self.weight, self.bias, self.strides, 0, self.dilation_rate, self.groups)


class Conv1D(_Conv):
    """``keras.layers.Conv1D(filters, kernel_size, strides=1, padding="valid", ...)`` on (N, T, C)."""

    dims = 1

    def convolve(self, x):
        return conv1d(x, self.weight, self.bias, self.strides[0], 0, self.dilation_rate[0], self.groups)
