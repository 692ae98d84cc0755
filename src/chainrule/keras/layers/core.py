"""Keras's core layers over chainrule.nn: Dense, Activation, Dropout, Flatten, Reshape, Add, Concatenate.

Keras's keywords, defaults and saved configs; the engine's classes do the work. A Dense keeps its
weight as ``(units, in)`` (the engine's layout) and shows Keras's ``kernel (in, units)`` through
``get_weights``/``set_weights`` and ``kernel``.
"""

from chainrule import nn
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ShapeError
from chainrule.keras import activations, initializers
from chainrule.keras.layers.base import KerasLayer, check_keywords, keras_name, same
from chainrule.nn.module import Module
from chainrule.ops import elementwise
from chainrule.ops.shape import concatenate


def transposed(array):
    return array.T


class Dense(KerasLayer, nn.Dense):
    """``keras.layers.Dense(units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
    bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None)``.

    Acts on the last axis; ``input_shape=``/``input_dim=`` build it at once, else the first call does.

        >>> from chainrule import keras
        >>> layer = keras.layers.Dense(3, input_shape=(2,))
        >>> [w.shape for w in layer.get_weights()]
        [(2, 3), (3,)]
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, input_shape=None, input_dim=None, name=None, trainable=True,
                 **kwargs):
        check_keywords(type(self).__name__, kwargs)
        nn.Dense.__init__(self, units, None, use_bias, kernel_initializer, bias_initializer,
                          input_shape, input_dim, name)
        object.__setattr__(self, "activation", activations.get(activation))  # Keras's names and defaults
        self.activation_name = activations.serialize(activation)
        self._keras_options(kernel_regularizer, bias_regularizer, activity_regularizer, trainable)

    def reset_parameters(self):
        """Keras's initializers (``chainrule.keras.initializers``: "he_normal" is truncated, ...)."""
        if not self.built:
            return
        initializers.get(self.kernel_initializer)(self.weight)
        if self.bias is not None:
            initializers.get(self.bias_initializer)(self.bias)

    @property
    def kernel(self):
        """Keras's kernel ``(in, units)``: the transposed view of ``weight``."""
        return None if self.weight is None else self.weight.T

    def weight_layout(self):
        if not self.built:
            return []
        return [(self.weight, transposed, transposed)] + ([(self.bias, same, same)] if self.use_bias else [])

    def get_config(self):
        return {**nn.Dense.get_config(self), **self._regularizer_config()}


class Activation(KerasLayer, Module):
    """``keras.layers.Activation("relu")``: applies a named activation (or a function)."""

    def __init__(self, activation, name=None, **kwargs):
        check_keywords(type(self).__name__, kwargs)
        Module.__init__(self)
        self.name = keras_name(self, name)
        object.__setattr__(self, "activation", activations.get(activation))
        self.activation_name = activations.serialize(activation)

    def forward(self, x):
        return x if self.activation is None else self.activation(x)

    def get_config(self):
        return {"activation": self.activation_name, "name": self.name}


class Dropout(KerasLayer, nn.Dropout):
    """``keras.layers.Dropout(rate)``: in training, zeroes a fraction ``rate`` and scales the rest."""

    def __init__(self, rate, noise_shape=None, seed=None, name=None, **kwargs):
        check_keywords(type(self).__name__, {**kwargs, "noise_shape": noise_shape})
        nn.Dropout.__init__(self, rate, name=name)
        self.rate = float(rate)

    def get_config(self):
        return {"rate": self.rate, "name": self.name}


class Flatten(KerasLayer, nn.Flatten):
    """``keras.layers.Flatten()``: (batch, ...) -> (batch, product of the rest), in channels-last order."""

    def __init__(self, data_format=None, name=None, **kwargs):
        check_keywords(type(self).__name__, kwargs)
        nn.Flatten.__init__(self, name=name)

    def get_config(self):
        return {"name": self.name}


class Reshape(KerasLayer, nn.Reshape):
    """``keras.layers.Reshape(target_shape)``: each sample to ``target_shape`` (one entry may be -1)."""

    def __init__(self, target_shape, name=None, **kwargs):
        check_keywords(type(self).__name__, kwargs)
        nn.Reshape.__init__(self, target_shape, name=name)

    def get_config(self):
        return {"target_shape": list(self.shape), "name": self.name}


class _Merge(KerasLayer, Module):
    """A layer over a list of tensors of one shape: ``Add()([a, b])``."""

    def __init__(self, name=None, **kwargs):
        check_keywords(type(self).__name__, kwargs)
        Module.__init__(self)
        self.name = keras_name(self, name)

    def forward(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ShapeError(f"{type(self).__name__} '{self.name}': expects a list of two or more tensors, "
                             f"got {type(inputs).__name__}")
        return self.merge([x if isinstance(x, Tensor) else Tensor(x) for x in inputs])

    def get_config(self):
        return {"name": self.name}


class _Elementwise(_Merge):
    """Elementwise merges take tensors of one shape: nothing is broadcast silently."""

    def merge(self, inputs):
        shapes = [tuple(x.shape) for x in inputs]
        if len(set(shapes)) != 1:
            raise ShapeError(f"{type(self).__name__} '{self.name}': expects tensors of one shape, got "
                             f"{', '.join(str(s) for s in shapes)}")
        return self.combine(inputs)

    def combine(self, inputs):
        result = inputs[0]
        for x in inputs[1:]:
            result = self.pair(result, x)
        return result


class Add(_Elementwise):
    """``keras.layers.Add()([a, b, ...])``: the elementwise sum."""

    @staticmethod
    def pair(a, b):
        return a + b


class Subtract(_Elementwise):
    """``keras.layers.Subtract()([a, b])``: a − b (exactly two tensors, as in Keras)."""

    def combine(self, inputs):
        if len(inputs) != 2:
            raise ShapeError(f"Subtract '{self.name}': expects exactly two tensors, got {len(inputs)}")
        return inputs[0] - inputs[1]


class Multiply(_Elementwise):
    """``keras.layers.Multiply()([a, b, ...])``: the elementwise product."""

    @staticmethod
    def pair(a, b):
        return a * b


class Average(_Elementwise):
    """``keras.layers.Average()([a, b, ...])``: the elementwise mean."""

    pair = staticmethod(Add.pair)

    def combine(self, inputs):
        return _Elementwise.combine(self, inputs) * (1.0 / len(inputs))


class Maximum(_Elementwise):
    """``keras.layers.Maximum()([a, b, ...])``: the elementwise maximum."""

    pair = staticmethod(elementwise.maximum)


class Minimum(_Elementwise):
    """``keras.layers.Minimum()([a, b, ...])``: the elementwise minimum."""

    pair = staticmethod(elementwise.minimum)


class Concatenate(_Merge):
    """``keras.layers.Concatenate(axis=-1)([a, b, ...])``: joined along ``axis``."""

    def __init__(self, axis=-1, name=None, **kwargs):
        check_keywords(type(self).__name__, kwargs)
        super().__init__(name)
        self.axis = int(axis)

    def merge(self, inputs):
        return concatenate(inputs, axis=self.axis)

    def get_config(self):
        return {"axis": self.axis, "name": self.name}


def _functional(layer_class):
    def merge(inputs, **kwargs):
        return layer_class(**kwargs)(inputs)

    merge.__name__ = layer_class.__name__.lower()
    merge.__doc__ = f"``keras.layers.{merge.__name__}(inputs)``: ``{layer_class.__name__}()(inputs)``."
    return merge


add, subtract, multiply, average, maximum, minimum, concatenate_layers = (
    _functional(c) for c in (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate))
