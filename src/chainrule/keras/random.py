"""``keras.random``: Keras 3's random draws (``normal``, ``uniform``, ``randint``, ``dropout``, ...).

``seed`` is Keras's: an integer gives the same draw at every call, a :class:`SeedGenerator` (what a
layer keeps, ``self.seed_generator = keras.random.SeedGenerator(1337)``) a new one at each call from
its own stream, and None the library's stream (``cr.manual_seed``). Draws are NumPy's generators;
``dropout`` is differentiable in its input.
"""

import numpy

from chainrule import random as _random
from chainrule.autograd.tensor import Tensor
from chainrule.backend import DEFAULT_FLOAT
from chainrule.errors import ConfigError


class SeedGenerator:
    """A stream of random draws of its own, started from ``seed`` (an int; None: from the library's)."""

    def __init__(self, seed=None, **kwargs):
        start = seed if seed is not None else int(_random.numpy_generator().integers(2**63 - 1))
        self.generator = numpy.random.default_rng(start)


def _rng(seed):
    if seed is None:
        return _random.numpy_generator()
    if isinstance(seed, SeedGenerator):
        return seed.generator
    if isinstance(seed, (int, numpy.integer)):
        return numpy.random.default_rng(int(seed))
    raise ConfigError(f"keras.random: seed must be an int, a keras.random.SeedGenerator or None, got "
                      f"{type(seed).__name__}")


def _shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    draw = _rng(seed).normal(mean, stddev, _shape(shape))
    return Tensor(draw.astype(dtype or DEFAULT_FLOAT))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal draws kept within two standard deviations of the mean (the others drawn again)."""
    rng, shape = _rng(seed), _shape(shape)
    draw = rng.standard_normal(shape)
    outside = numpy.abs(draw) > 2
    while outside.any():
        draw[outside] = rng.standard_normal(int(outside.sum()))
        outside = numpy.abs(draw) > 2
    return Tensor((mean + stddev * draw).astype(dtype or DEFAULT_FLOAT))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    draw = _rng(seed).uniform(minval, maxval, _shape(shape))
    return Tensor(draw.astype(dtype or DEFAULT_FLOAT))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    return Tensor(_rng(seed).integers(minval, maxval, _shape(shape)).astype(dtype))


def shuffle(x, axis=0, seed=None):
    """``x`` with its entries along ``axis`` in a random order (differentiable: a gather)."""
    from chainrule.keras import ops

    x = ops.convert_to_tensor(x)
    order = _rng(seed).permutation(x.shape[axis])
    return ops.take(x, order, axis=axis)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero each entry with probability ``rate`` and scale the rest by 1 / (1 − rate), as Keras's."""
    from chainrule.keras import ops

    if not 0 <= rate < 1:
        raise ConfigError(f"keras.random.dropout: rate must be in [0, 1), got {rate}")
    x = ops.convert_to_tensor(inputs)
    shape = tuple(x.shape) if noise_shape is None else tuple(
        n if n is not None else size for n, size in zip(noise_shape, x.shape))
    keep = _rng(seed).random(shape) >= rate
    return x * Tensor((keep / (1 - rate)).astype(x.dtype))
