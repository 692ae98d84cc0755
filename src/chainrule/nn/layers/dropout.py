"""Inverted dropout: in training, zero each element with probability p and scale the rest by 1/(1 − p).

Scaling at training time keeps E[output] = input, so evaluation is the identity and needs no rescaling.
The mask is drawn in ONE call from the library's generator as 16 random bits per element (four per
64-bit word of its bit stream), ``keep = bits >= round(p · 2¹⁶)``: p is honoured to within 2⁻¹⁷, and a
128x512 mask costs ~50 µs against ~146 µs as float32 uniforms (measured), most of an mlp step's
dropout time.
"""

import math

import numpy

from chainrule import arguments, random
from chainrule.autograd.op import Op
from chainrule.backend import array_module
from chainrule.errors import ShapeError
from chainrule.nn.layers.linear import layer_name
from chainrule.nn.module import Module
from chainrule.ops.shape import expand_dims, squeeze

BIT_LEVELS = 1 << 16  # the draws are 16-bit integers


class ScaleByMask(Op):
    """x · mask for a constant mask array (no gradient for the mask, so none is computed)."""

    def __init__(self, mask):
        self.mask = mask

    def forward(self, a):
        return a * self.mask

    def vjp(self, g):
        return (g * self.mask,)

    def jvp(self, da):
        return da * self.mask


def dropout_mask(shape, p, dtype=numpy.float32, xp=numpy):
    """The scaled keep-mask: 1/(1 − p) with probability 1 − p, else 0, as an array of ``dtype`` on ``xp``."""
    size = math.prod(shape)
    if xp is not numpy:  # on a device: uniforms from its generator (CuPy's has no raw bits)
        from chainrule import gpu

        keep = gpu.generator(xp).random(shape, dtype=numpy.float32) >= numpy.float32(p)
        return keep.astype(dtype) * (1.0 / (1.0 - p))
    words = random.generator().bit_generator.random_raw(-(-size // 4))  # 4 x 16 bits per word
    keep = words.view(numpy.uint16)[:size].reshape(shape) >= round(p * BIT_LEVELS)
    if numpy.dtype(dtype) == numpy.float32:
        return numpy.multiply(keep, numpy.float32(1.0 / (1.0 - p)), out=numpy.empty(shape, numpy.float32))
    return keep.astype(dtype) * (1.0 / (1.0 - p))


def dropout(x, p=0.5, training=True, inplace=False):
    """Inverted dropout (identity when not ``training`` or when p = 0); p = 1 gives zeros."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must lie in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if inplace:
        return x._replace_by(lambda v: dropout(v, p, training), "dropout(inplace=True)")
    if p == 1.0:
        return ScaleByMask(x._data.dtype.type(0))(x)
    return ScaleByMask(dropout_mask(x.shape, p, x.dtype, array_module(x._data)))(x)


class Dropout(Module):
    """Inverted dropout with drop probability ``p``, active only in training mode (``model.train()``)."""

    def __init__(self, p=0.5, inplace=False, name=None):
        super().__init__()
        self.p = arguments.fraction(p, "p", type(self).__name__, upper_open=False)
        self.inplace = bool(inplace)
        self.name = layer_name(self, name)

    def forward(self, x):
        return dropout(x, self.p, self.training, self.inplace)

    def reset_parameters(self):
        """Nothing to initialise."""

    def get_config(self):
        return {"p": self.p, "name": self.name}

    def extra_repr(self):
        return f"p={self.p}"


def dropout2d(x, p=0.5, training=True, inplace=False):
    """Drop whole channels of (N, C, H, W) (or (C, H, W)): one keep-mask entry per channel."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: p must lie in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if inplace:
        return x._replace_by(lambda v: dropout2d(v, p, training), "dropout2d(inplace=True)")
    mask_shape = x.shape[:-2] + (1, 1)
    if p == 1.0:
        return ScaleByMask(x._data.dtype.type(0))(x)
    return ScaleByMask(dropout_mask(mask_shape, p, x.dtype, array_module(x._data)))(x)


class Dropout2d(Dropout):
    """Channel dropout: each channel of each sample is zeroed with probability ``p`` (PyTorch's)."""

    def forward(self, x):
        return dropout2d(x, self.p, self.training, self.inplace)


class Dropout1d(Dropout2d):
    """Whole channels of (N, C, L) dropped while training, as ``Dropout2d`` does for images."""

    def forward(self, x):
        if x.ndim != 3:
            raise ShapeError(f"Dropout1d: expects (N, C, L), got shape {tuple(x.shape)}")
        return squeeze(super().forward(expand_dims(x, -1)), -1)
