"""Keras's pooling in its channels-last layout: MaxPooling2D, AveragePooling2D (N, H, W, C) over the
engine's channels-first pooling ops, and the global poolings over (N, H, W, C) or (N, T, C)."""

import numpy

from chainrule.autograd.tensor import Tensor
from chainrule.errors import ConfigError
from chainrule.keras.layers.base import KerasLayer, check_keywords, keras_name
from chainrule.keras.layers.conv import padding_name, same_padding, tuple_of
from chainrule.nn.layers.linear import float_input
from chainrule.nn.layers.pooling import avg_pool2d, max_pool2d
from chainrule.nn.module import Module
from chainrule.ops.reduce import max as reduce_max
from chainrule.ops.reduce import mean
from chainrule.ops.shape import pad, reshape, transpose


class _Pooling2D(KerasLayer, Module):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        check_keywords(type(self).__name__, kwargs)
        Module.__init__(self)
        layer = type(self).__name__
        if data_format not in (None, "channels_last"):
            raise ConfigError(f"{layer}: chainrule.keras is channels-last only, got "
                              f"data_format={data_format!r}")
        self.name = keras_name(self, name)
        self.pool_size = tuple_of(pool_size, 2, "pool_size", layer)
        self.strides = self.pool_size if strides is None else tuple_of(strides, 2, "strides", layer)
        self.padding = padding_name(padding, layer)

    def forward(self, x):
        x = float_input(self, x)
        first = transpose(x, (0, 3, 1, 2))
        if self.padding == "same":
            pads = same_padding(first.shape[2:], self.pool_size, self.strides, (1, 1))
            first = self.pad_same(first, pads)
        y = self.pool(first)
        return transpose(y, (0, 2, 3, 1))

    def get_config(self):
        return {"pool_size": list(self.pool_size), "strides": list(self.strides), "padding": self.padding,
                "name": self.name}

    def extra_repr(self):
        return f"pool_size={self.pool_size}, strides={self.strides}, padding={self.padding!r}"


class MaxPooling2D(_Pooling2D):
    """``keras.layers.MaxPooling2D(pool_size=(2, 2), strides=None, padding="valid")`` on (N, H, W, C)."""

    def pool(self, x):
        return max_pool2d(x, self.pool_size, self.strides)

    def pad_same(self, x, pads):
        return pad(x, [(0, 0), (0, 0), *pads], constant_values=-numpy.inf)  # a pad never wins a max


class AveragePooling2D(_Pooling2D):
    """``keras.layers.AveragePooling2D(pool_size=(2, 2), strides=None, padding="valid")`` on (N, H, W, C).

    With ``padding="same"`` a window that overlaps the border averages only the pixels it covers, as
    Keras's does: the mean of the zero-padded image divided by the share of real pixels in the window.
    """

    def pool(self, x):
        return avg_pool2d(x, self.pool_size, self.strides)

    def pad_same(self, x, pads):
        return pad(x, [(0, 0), (0, 0), *pads])  # zeros: the sums are right, the counts are fixed below

    def forward(self, x):
        y = super().forward(x)
        if self.padding != "same":
            return y
        size = tuple(x.shape[1:3])
        pads = same_padding(size, self.pool_size, self.strides, (1, 1))
        if all(p == (0, 0) for p in pads):
            return y
        real = numpy.pad(numpy.ones((1, 1, *size), dtype=y.dtype), [(0, 0), (0, 0), *pads])
        share = avg_pool2d(Tensor(real), self.pool_size, self.strides).numpy().transpose(0, 2, 3, 1)
        return y / Tensor(share)  # the share of each window that lies on the image


class _Pooling1D:
    """The 1-D poolings of (N, T, C): the 2-D ones over (N, T, 1, C), with a (k, 1) window."""

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        pool = tuple_of(pool_size, 1, "pool_size", type(self).__name__)[0]
        stride = pool if strides is None else tuple_of(strides, 1, "strides", type(self).__name__)[0]
        super().__init__((pool, 1), (stride, 1), padding, data_format, name, **kwargs)

    def forward(self, x):
        x = float_input(self, x)
        n, t, c = x.shape
        y = super().forward(reshape(x, (n, t, 1, c)))
        return reshape(y, (n, y.shape[1], c))

    def get_config(self):
        return {"pool_size": [self.pool_size[0]], "strides": [self.strides[0]], "padding": self.padding,
                "name": self.name}


class MaxPooling1D(_Pooling1D, MaxPooling2D):
    """``keras.layers.MaxPooling1D(pool_size=2, strides=None, padding="valid")`` on (N, T, C)."""


class AveragePooling1D(_Pooling1D, AveragePooling2D):
    """``keras.layers.AveragePooling1D(pool_size=2, strides=None, padding="valid")`` on (N, T, C)."""


class _GlobalPooling(KerasLayer, Module):
    """Reduce over the spatial (or time) axes of channels-last input: (N, ..., C) -> (N, C)."""

    axes = (1, 2)
    reduce = staticmethod(mean)

    def __init__(self, data_format=None, keepdims=False, name=None, **kwargs):
        check_keywords(type(self).__name__, kwargs)
        Module.__init__(self)
        self.name = keras_name(self, name)
        self.keepdims = bool(keepdims)

    def forward(self, x):
        return type(self).reduce(float_input(self, x), axis=self.axes, keepdims=self.keepdims)

    def get_config(self):
        return {"keepdims": self.keepdims, "name": self.name}


class GlobalAveragePooling2D(_GlobalPooling):
    """``keras.layers.GlobalAveragePooling2D(keepdims=False)``: mean over H and W of (N, H, W, C)."""


class GlobalMaxPooling2D(_GlobalPooling):
    """``keras.layers.GlobalMaxPooling2D(keepdims=False)``: max over H and W of (N, H, W, C)."""

    reduce = staticmethod(reduce_max)


class GlobalAveragePooling1D(_GlobalPooling):
    """``keras.layers.GlobalAveragePooling1D()``: mean over the time axis of (N, T, C)."""

    axes = (1,)


class GlobalMaxPooling1D(_GlobalPooling):
    """``keras.layers.GlobalMaxPooling1D()``: max over the time axis of (N, T, C)."""

    axes = (1,)
    reduce = staticmethod(reduce_max)
