"""Keras's ``convert_to_tensor`` and ``convert_to_numpy``: arrays, lists and numbers as Tensors (Python
floats as Keras's floatx, float32), shared by :mod:`chainrule.keras.ops` and its NumPy functions."""

import numpy

from chainrule import ops as _ops
from chainrule.autograd.tensor import Tensor
from chainrule.backend import DEFAULT_FLOAT


def convert_to_tensor(x, dtype=None, sparse=None):
    """A Tensor of ``x`` (a Tensor stays itself unless ``dtype`` asks for another)."""
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == numpy.dtype(dtype) else _ops.astype(x, numpy.dtype(dtype))
    array = numpy.asarray(x, dtype=dtype)
    if dtype is None and array.dtype == numpy.float64 and not isinstance(x, numpy.ndarray):
        array = array.astype(DEFAULT_FLOAT)  # Python floats become float32, Keras's floatx
    return Tensor(array)


def convert_to_numpy(x):
    return x.numpy() if isinstance(x, Tensor) else numpy.asarray(x)
