"""``keras.initializers``: Keras 3's initializers, by name or class, with Keras's defaults.

They differ from ``chainrule.nn.init``'s (PyTorch's) on purpose: "uniform"/"random_uniform" is
U(−0.05, 0.05) and "normal"/"random_normal" N(0, 0.05²) (PyTorch: U(0, 1), N(0, 1)); the
"*_normal" variance-scaling initializers draw from a normal truncated at two standard deviations,
rescaled (÷ 0.8796) so the variance is the intended one:

    glorot_*  variance 2 / (fan_in + fan_out)     he_*  2 / fan_in     lecun_*  1 / fan_in
    *_uniform U(−√(3·variance), √(3·variance))

Fans are Keras's: the engine stores a Dense weight as (units, in) and a Conv2D weight as
(filters, in, kh, kw), whose fans (:func:`chainrule.nn.init.fans`) equal those of Keras's kernels.
"""

import math

import numpy

from chainrule import random as cr_random
from chainrule.autograd.tensor import mark_changed
from chainrule.errors import ConfigError
from chainrule.nn.init import fans

TRUNCATED_STD = 0.87962566103423978  # the standard deviation of N(0, 1) truncated to [−2, 2]


def _fill(tensor, values):
    tensor._data[...] = values.astype(tensor.dtype, copy=False)
    mark_changed(tensor)
    return tensor


def _truncated_normal(shape, std):
    generator = cr_random.generator()
    values = generator.standard_normal(shape)
    outside = numpy.abs(values) > 2.0
    while outside.any():  # redraw the tails, as a truncated normal does
        values[outside] = generator.standard_normal(int(outside.sum()))
        outside = numpy.abs(values) > 2.0
    return values * std


class Initializer:
    def __call__(self, tensor):
        return _fill(tensor, self.sample(tuple(tensor.shape)))

    def get_config(self):
        return {}


class Zeros(Initializer):
    def sample(self, shape):
        return numpy.zeros(shape)


class Ones(Initializer):
    def sample(self, shape):
        return numpy.ones(shape)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = float(value)

    def sample(self, shape):
        return numpy.full(shape, self.value)


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval = float(minval), float(maxval)

    def sample(self, shape):
        return cr_random.generator().uniform(self.minval, self.maxval, shape)


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev = float(mean), float(stddev)

    def sample(self, shape):
        return self.mean + self.stddev * cr_random.generator().standard_normal(shape)


class TruncatedNormal(RandomNormal):
    def sample(self, shape):
        return self.mean + _truncated_normal(shape, self.stddev)


class VarianceScaling(Initializer):
    """Variance ``scale / n``, n the fan_in, the fan_out or their mean (``mode``)."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ConfigError(f"VarianceScaling: mode must be fan_in, fan_out or fan_avg, got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ConfigError("VarianceScaling: distribution must be truncated_normal, untruncated_normal or "
                              f"uniform, got {distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def sample(self, shape):
        fan_in, fan_out = fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return cr_random.generator().uniform(-limit, limit, shape)
        if self.distribution == "untruncated_normal":
            return math.sqrt(variance) * cr_random.generator().standard_normal(shape)
        return _truncated_normal(shape, math.sqrt(variance) / TRUNCATED_STD)


def _scaling(scale, mode, distribution):
    class Scaled(VarianceScaling):
        def __init__(self, seed=None):
            super().__init__(scale, mode, distribution, seed)

    return Scaled


GlorotUniform = _scaling(1.0, "fan_avg", "uniform")
GlorotNormal = _scaling(1.0, "fan_avg", "truncated_normal")
HeUniform = _scaling(2.0, "fan_in", "uniform")
HeNormal = _scaling(2.0, "fan_in", "truncated_normal")
LecunUniform = _scaling(1.0, "fan_in", "uniform")
LecunNormal = _scaling(1.0, "fan_in", "truncated_normal")
for _cls, _name in ((GlorotUniform, "GlorotUniform"), (GlorotNormal, "GlorotNormal"),
                    (HeUniform, "HeUniform"), (HeNormal, "HeNormal"), (LecunUniform, "LecunUniform"),
                    (LecunNormal, "LecunNormal")):
    _cls.__name__ = _cls.__qualname__ = _name


class Orthogonal(Initializer):
    """Orthonormal rows (or columns) of a 2-D weight, from the QR of a normal matrix, times ``gain``."""

    def __init__(self, gain=1.0, seed=None):
        self.gain = float(gain)

    def sample(self, shape):
        rows, cols = shape[0], int(numpy.prod(shape[1:]))
        a = cr_random.generator().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = numpy.linalg.qr(a)
        q *= numpy.sign(numpy.diag(r))
        return self.gain * (q.T if rows < cols else q).reshape(shape)


_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "uniform": RandomUniform, "random_uniform": RandomUniform,
    "normal": RandomNormal, "random_normal": RandomNormal, "truncated_normal": TruncatedNormal,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_uniform": HeUniform,
    "he_normal": HeNormal, "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal,
}


def get(identifier):
    """An initializer from a Keras name ("he_normal"), an Initializer, or a function ``fn(tensor)``."""
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            raise ConfigError(f"unknown initializer {identifier!r}; known: {', '.join(sorted(_BY_NAME))}")
        return _BY_NAME[key]()
    if callable(identifier):
        return identifier
    raise ConfigError(f"an initializer is a name, a keras.initializers object or a function, got "
                      f"{type(identifier).__name__}")
