"""Keras's BatchNormalization (over the last axis, momentum 0.99, ε 1e-3), Embedding, Normalization
(the data's statistics, from ``adapt``) and UnitNormalization."""

import numpy

from chainrule import ops
from chainrule.autograd.mode import no_grad
from chainrule.autograd.tensor import Tensor, mark_changed
from chainrule.backend import DEFAULT_FLOAT
from chainrule.errors import ConfigError, ShapeError
from chainrule.keras import initializers
from chainrule.keras.layers.base import KerasLayer, SimpleLayer, check_keywords, keras_name, same
from chainrule.nn.layers.embedding import Embedding as _Embedding
from chainrule.nn.layers.linear import float_input
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops import elementwise, reduce


def scale_and_center(layer, input_shape):
    """A normalisation's γ (ones, with ``scale``) and β (zeros, with ``center``) over the last axis."""
    layer.features = int(input_shape[-1])
    if layer.scale:
        layer.gamma = Parameter(numpy.ones(layer.features, dtype=DEFAULT_FLOAT))
    if layer.center:
        layer.beta = Parameter(numpy.zeros(layer.features, dtype=DEFAULT_FLOAT))


class BatchNormalization(KerasLayer, Module):
    """``keras.layers.BatchNormalization(axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True)``.

    Training: y = γ (x − μ_B) / √(σ²_B + ε) + β with the batch's mean and (biased) variance over
    every axis but the last; the moving statistics follow m ← momentum·m + (1 − momentum)·batch
    (Keras's convention: momentum is the weight of the old value, PyTorch's is the new one's).
    Inference, and ``trainable = False`` (Keras 3), use the moving statistics.
    Weights, in Keras's order: gamma, beta, moving_mean, moving_variance.
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True, name=None,
                 trainable=True, **kwargs):
        check_keywords(type(self).__name__, kwargs)
        Module.__init__(self)
        if axis not in (-1,):
            raise ConfigError("BatchNormalization: chainrule.keras normalises the last axis (channels-last), "
                              f"got axis={axis}")
        self.name = keras_name(self, name)
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.features = None
        self.register_parameter("gamma", None)
        self.register_parameter("beta", None)
        self.register_buffer("moving_mean", None)
        self.register_buffer("moving_variance", None)
        self._keras_options(trainable=trainable)

    @property
    def built(self):
        return self.moving_mean is not None

    def build(self, input_shape):
        scale_and_center(self, input_shape)
        self.register_buffer("moving_mean", Tensor(numpy.zeros(self.features, dtype=DEFAULT_FLOAT)))
        self.register_buffer("moving_variance", Tensor(numpy.ones(self.features, dtype=DEFAULT_FLOAT)))

    def reset_parameters(self):
        if self.built:
            self.build((self.features,))

    def forward(self, x):
        x = float_input(self, x)
        if not self.built:
            self.build(x.shape)
        axes = tuple(range(x.ndim - 1))
        if self.training and self.trainable:
            mean = reduce.mean(x, axis=axes)
            variance = reduce.var(x, axis=axes)
            with no_grad():
                for moving, batch in ((self.moving_mean, mean), (self.moving_variance, variance)):
                    moving._data *= self.momentum
                    moving._data += (1.0 - self.momentum) * batch._data.astype(moving.dtype)
                    mark_changed(moving)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        y = (x - mean) / elementwise.sqrt(variance + self.epsilon)
        if self.gamma is not None:
            y = y * self.gamma
        if self.beta is not None:
            y = y + self.beta
        return y

    def weight_layout(self):
        tensors = [self.gamma, self.beta, self.moving_mean, self.moving_variance]
        return [(t, same, same) for t in tensors if t is not None]

    def get_config(self):
        return {"axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "name": self.name, **self._regularizer_config()}


class Embedding(KerasLayer, _Embedding):
    """``keras.layers.Embedding(input_dim, output_dim, embeddings_initializer="uniform")``: integer ids
    (N, T) to vectors (N, T, output_dim); "uniform" is Keras's U(−0.05, 0.05)."""

    _input_dim_is_shape = False  # input_dim is the vocabulary's size; Keras 2's input_length the shape

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 input_length=None, name=None, trainable=True, **kwargs):
        check_keywords(type(self).__name__, kwargs)
        if input_length is not None:
            object.__setattr__(self, "_input_shape_arg", (int(input_length),))
        _Embedding.__init__(self, input_dim, output_dim)
        self.name = keras_name(self, name)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = embeddings_initializer
        initializers.get(embeddings_initializer)(self.weight)  # "uniform" is Keras's U(−0.05, 0.05)
        self._keras_options(kernel_regularizer=embeddings_regularizer, trainable=trainable)

    def forward(self, indices):
        if getattr(indices, "dtype", None) is not None and indices.dtype.kind == "f":
            indices = indices.astype("int64")  # as Keras casts them (a float dry run, ids kept as floats)
        return _Embedding.forward(self, indices)

    @property
    def embeddings(self):
        return self.weight

    def get_config(self):
        config = {"input_dim": self.input_dim, "output_dim": self.output_dim,
                  "embeddings_initializer": self.embeddings_initializer, "name": self.name}
        regularizer = self._regularizer_config().pop("kernel_regularizer", None)
        if regularizer is not None:
            config["embeddings_regularizer"] = regularizer
        return config


class Normalization(SimpleLayer):
    """``Normalization(axis=-1, mean=None, variance=None, invert=False)``: (x − mean) / √variance per
    feature of the last axis, the statistics given or learnt from data by ``adapt(data)``."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, name=None, **kwargs):
        super().__init__(name, **kwargs)
        if axis not in (-1, [-1], (-1,)):
            raise ConfigError(f"Normalization: chainrule.keras normalises along the last axis, got "
                              f"axis={axis}")
        if (mean is None) != (variance is None):
            raise ConfigError("Normalization: give both mean and variance, or neither (then adapt to data)")
        self.invert = bool(invert)
        self.mean = self.variance = None
        if mean is not None:
            self._set(numpy.asarray(mean, dtype=DEFAULT_FLOAT), numpy.asarray(variance, dtype=DEFAULT_FLOAT))

    def _set(self, mean, variance):
        self.mean = Parameter(numpy.atleast_1d(mean).astype(DEFAULT_FLOAT), requires_grad=False)
        self.variance = Parameter(numpy.atleast_1d(variance).astype(DEFAULT_FLOAT), requires_grad=False)
        self.count = Parameter(numpy.zeros((), dtype=numpy.int32), requires_grad=False)

    def adapt(self, data, batch_size=None, steps=None):
        """Learn each feature's mean and variance (over the population) from ``data``."""
        values = numpy.asarray(data.numpy() if isinstance(data, Tensor) else data, dtype=numpy.float64)
        if values.ndim < 1:
            raise ShapeError("Normalization.adapt: expects samples of features, got a number")
        flat = values.reshape(-1, values.shape[-1]) if values.ndim > 1 else values.reshape(-1, 1)
        self._set(flat.mean(axis=0), flat.var(axis=0))

    def forward(self, x):
        if self.mean is None:
            raise ConfigError(f"Normalization '{self.name}': call adapt(data) first, or give mean and "
                              "variance")
        x = float_input(self, x)
        scale = ops.maximum(ops.sqrt(self.variance), 1e-7)  # Keras's epsilon
        return x * scale + self.mean if self.invert else (x - self.mean) / scale

    def weight_layout(self):
        return [] if self.mean is None else [(t, same, same) for t in (self.mean, self.variance, self.count)]

    def settings(self):
        stats = {} if self.mean is None else {"mean": self.mean.numpy().tolist(),
                                              "variance": self.variance.numpy().tolist()}
        return {"axis": -1, "invert": self.invert, **stats}

class UnitNormalization(SimpleLayer):
    """``UnitNormalization(axis=-1)``: each vector along ``axis`` scaled to length 1."""

    def __init__(self, axis=-1, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.axis = axis

    def forward(self, x):
        x = float_input(self, x)
        return x / ops.sqrt(ops.maximum(ops.sum(x * x, self.axis, keepdims=True), 1e-12))

    def settings(self):
        return {"axis": self.axis}
