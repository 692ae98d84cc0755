"""More of Keras 3's layers: ``MultiHeadAttention`` (its transformer examples), ``Normalization`` with
``adapt`` (its regression tutorial), ``RepeatVector`` and ``TimeDistributed`` (sequence autoencoders),
``Permute``, ``Identity``, ``Cropping2D``, ``UnitNormalization``, ``ELU``, ``PReLU``, ``GaussianNoise``
and ``SpatialDropout1D``. Composed of the engine's ops, so their gradients are theirs; weights are
kept in Keras's own shapes, so ``get_weights``/``set_weights`` move them across as they are.
"""

import math

import numpy

from chainrule import ops, random
from chainrule.autograd.tensor import Tensor
from chainrule.backend import DEFAULT_FLOAT
from chainrule.errors import ConfigError, ShapeError
from chainrule.keras import activations, initializers
from chainrule.keras.layers.base import same
from chainrule.keras.layers.shaping import _pair, _Simple
from chainrule.nn.layers.dropout import dropout
from chainrule.nn.layers.linear import float_input
from chainrule.nn.parameter import Parameter
from chainrule.shape_functions import einsum


def _weight(shape, initializer, trainable=True):
    weight = Parameter(numpy.empty(tuple(shape), dtype=DEFAULT_FLOAT), requires_grad=trainable)
    initializers.get(initializer)(weight)
    return weight


class MultiHeadAttention(_Simple):
    """``MultiHeadAttention(num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True)``:
    ``layer(query, value, key=None, attention_mask=None, return_attention_scores=False,
    use_causal_mask=False)``. Per head h: softmax(Qₕ Kₕᵀ / √key_dim) Vₕ, then the heads projected back
    to the query's width. ``attention_mask`` (B, T, S) is True (or 1) where a query may attend."""

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 name=None, **kwargs):
        super().__init__(name, **kwargs)
        if output_shape is not None or attention_axes is not None:
            raise ConfigError("MultiHeadAttention: output_shape and attention_axes are not supported by "
                              "chainrule.keras (only their defaults)")
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim is not None else self.key_dim
        self.dropout, self.use_bias = float(dropout), bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.built = False

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        h, k, v = self.num_heads, self.key_dim, self.value_dim
        shapes = {"query": (query_shape[-1], h, k), "key": (key_shape[-1], h, k),
                  "value": (value_shape[-1], h, v)}
        for part, shape in shapes.items():
            bias = _weight(shape[1:], self.bias_initializer) if self.use_bias else None
            setattr(self, f"{part}_kernel", _weight(shape, self.kernel_initializer))
            setattr(self, f"{part}_bias", bias)
        self.output_kernel = _weight((h, v, query_shape[-1]), self.kernel_initializer)
        self.output_bias = _weight((query_shape[-1],), self.bias_initializer) if self.use_bias else None
        self.built = True

    def forward(self, query, value, key=None, attention_mask=None, return_attention_scores=False,
                training=False, use_causal_mask=False):
        query, value = float_input(self, query), float_input(self, value)
        key = value if key is None else float_input(self, key)
        if not self.built:
            self.build(query.shape, value.shape, key.shape)
        q, k, v = (self._project(x, part) for x, part in ((query, "query"), (key, "key"), (value, "value")))
        scores = einsum("bthk,bshk->bhts", q, k) * (1.0 / math.sqrt(self.key_dim))
        allowed = self._allowed(attention_mask, use_causal_mask, scores.shape, query.xp)
        if allowed is not None:  # Keras adds a large negative number where attention is not allowed
            scores = ops.where(allowed, scores, query.xp.asarray(-1e9, dtype=scores.dtype))
        weights = ops.softmax(scores, -1)
        attended = einsum("bhts,bshv->bthv", dropout(weights, self.dropout, bool(training)), v)
        output = einsum("bthv,hvo->bto", attended, self.output_kernel)
        if self.output_bias is not None:
            output = output + self.output_bias
        return (output, weights) if return_attention_scores else output

    def _project(self, x, part):
        projected = einsum("bsd,dhk->bshk", x, getattr(self, f"{part}_kernel"))
        bias = getattr(self, f"{part}_bias")
        return projected if bias is None else projected + bias

    @staticmethod
    def _allowed(mask, causal, shape, xp):
        allowed = None
        if mask is not None:
            data = mask._data if isinstance(mask, Tensor) else xp.asarray(mask)
            allowed = (data != 0)[:, None]  # (B, 1, T, S): the same for every head
        if causal:
            lower = xp.tril(xp.ones(shape[-2:], dtype=bool))
            allowed = lower if allowed is None else allowed & lower
        return allowed

    def weight_layout(self):
        parts = []
        for part in ("query", "key", "value", "output"):
            parts.append(getattr(self, f"{part}_kernel"))
            if self.use_bias:
                parts.append(getattr(self, f"{part}_bias"))
        return [(t, same, same) for t in parts if t is not None]

    def settings(self):
        return {"num_heads": self.num_heads, "key_dim": self.key_dim, "value_dim": self.value_dim,
                "dropout": self.dropout, "use_bias": self.use_bias}


class Normalization(_Simple):
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


class RepeatVector(_Simple):
    """``RepeatVector(n)``: (batch, features) → (batch, n, features)."""

    def __init__(self, n, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.n = int(n)

    def forward(self, x):
        x = float_input(self, x)
        if x.ndim != 2:
            raise ShapeError(f"RepeatVector '{self.name}': expects (batch, features), got {tuple(x.shape)}")
        return ops.broadcast_to(ops.expand_dims(x, 1), (x.shape[0], self.n, x.shape[1]))

    def settings(self):
        return {"n": self.n}


class TimeDistributed(_Simple):
    """``TimeDistributed(layer)``: ``layer`` applied to every time step of (batch, time, ...) alike."""

    def __init__(self, layer, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.layer = layer

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        batch, time = x.shape[:2]
        out = self.layer(ops.reshape(x, (batch * time,) + tuple(x.shape[2:])))
        return ops.reshape(out, (batch, time) + tuple(out.shape[1:]))

    def get_config(self):
        raise ConfigError(f"TimeDistributed '{self.name}': a model file keeps it with save_weights; rebuild "
                          "the model in code")


class Permute(_Simple):
    """``Permute(dims)``: the axes after the batch reordered, ``dims`` counted from 1."""

    def __init__(self, dims, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ConfigError(f"Permute: dims must order 1 … {len(self.dims)}, got {self.dims}")

    def forward(self, x):
        return ops.transpose(x if isinstance(x, Tensor) else Tensor(x), (0, *self.dims))

    def settings(self):
        return {"dims": list(self.dims)}


class Identity(_Simple):
    """Passes its input through."""

    def forward(self, x):
        return x

    def settings(self):
        return {}


class Cropping2D(_Simple):
    """``Cropping2D(cropping=((0, 0), (0, 0)))`` on (N, H, W, C): rows off the top and bottom,
    columns off the left and right."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, name=None, **kwargs):
        super().__init__(name, **kwargs)
        if data_format not in (None, "channels_last"):
            raise ConfigError(f"Cropping2D: chainrule.keras is channels-last only, got {data_format!r}")
        rows, columns = _pair(cropping, "cropping", "Cropping2D")
        self.cropping = tuple(_pair(c, "cropping", "Cropping2D") for c in (rows, columns))

    def forward(self, x):
        x = float_input(self, x)
        (top, bottom), (left, right) = self.cropping
        return x[:, top:x.shape[1] - bottom, left:x.shape[2] - right]

    def settings(self):
        return {"cropping": [list(c) for c in self.cropping]}


class UnitNormalization(_Simple):
    """``UnitNormalization(axis=-1)``: each vector along ``axis`` scaled to length 1."""

    def __init__(self, axis=-1, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.axis = axis

    def forward(self, x):
        x = float_input(self, x)
        return x / ops.sqrt(ops.maximum(ops.sum(x * x, self.axis, keepdims=True), 1e-12))

    def settings(self):
        return {"axis": self.axis}


class ELU(_Simple):
    """``ELU(alpha=1.0)``."""

    def __init__(self, alpha=1.0, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.alpha = float(alpha)

    def forward(self, x):
        return activations.elu(x, self.alpha)

    def settings(self):
        return {"alpha": self.alpha}


class PReLU(_Simple):
    """``PReLU(alpha_initializer="zeros", shared_axes=None)``: max(x, 0) + α·min(x, 0), α learnt per
    element of a sample (shared along ``shared_axes``, counted from 1)."""

    def __init__(self, alpha_initializer="zeros", shared_axes=None, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.alpha_initializer = alpha_initializer
        self.shared_axes = None if shared_axes is None else tuple(
            (shared_axes,) if isinstance(shared_axes, int) else shared_axes)
        self.alpha = None

    def forward(self, x):
        x = float_input(self, x)
        if self.alpha is None:
            shared = self.shared_axes or ()
            shape = [1 if i + 1 in shared else n for i, n in enumerate(x.shape[1:])]
            self.alpha = _weight(shape, self.alpha_initializer)
        return ops.relu(x) + self.alpha * ops.minimum(x, 0.0)

    def weight_layout(self):
        return [] if self.alpha is None else [(self.alpha, same, same)]

    def settings(self):
        return {"shared_axes": None if self.shared_axes is None else list(self.shared_axes)}


class GaussianNoise(_Simple):
    """``GaussianNoise(stddev)``: adds N(0, stddev²) noise while training (a denoising autoencoder's
    input)."""

    def __init__(self, stddev, seed=None, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.stddev = float(stddev)

    def forward(self, x, training=False):
        x = float_input(self, x)
        if not training or self.stddev == 0:
            return x
        return x + random.generator().normal(0.0, self.stddev, x.shape).astype(x.dtype)

    def settings(self):
        return {"stddev": self.stddev}


class SpatialDropout1D(_Simple):
    """``SpatialDropout1D(rate)`` on (batch, time, channels): whole channels dropped while training."""

    def __init__(self, rate, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.rate = float(rate)

    def forward(self, x, training=False):
        x = float_input(self, x)
        if not training or self.rate == 0:
            return x
        keep = random.generator().random((x.shape[0], 1, x.shape[2])) >= self.rate
        return x * (keep / (1 - self.rate)).astype(x.dtype)

    def settings(self):
        return {"rate": self.rate}
