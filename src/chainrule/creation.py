"""Constructors of tensors. Python numbers and lists of floats become float32 (the default float);
Python ints give int64 as in PyTorch; a NumPy array keeps its dtype; random draws come from the
generator that ``chainrule.manual_seed`` seeds.
"""

import numpy

from chainrule import backend, random
from chainrule.autograd.tensor import Tensor


def _dtype(dtype):
    return backend.DEFAULT_FLOAT if dtype is None else dtype


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def tensor(data, dtype=None, requires_grad=False):
    """A new tensor holding a copy of ``data``."""
    if isinstance(data, Tensor):
        data = data.data
    array = backend.asarray(data, dtype=dtype)
    if array is data:
        array = array.copy()
    return Tensor(array, requires_grad=requires_grad)


def zeros(*shape, dtype=None, requires_grad=False):
    return Tensor(numpy.zeros(_shape(shape), dtype=_dtype(dtype)), requires_grad=requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    return Tensor(numpy.ones(_shape(shape), dtype=_dtype(dtype)), requires_grad=requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return Tensor(numpy.full(shape, fill_value, dtype=_dtype(dtype)), requires_grad=requires_grad)


def zeros_like(x, dtype=None, requires_grad=False):
    data = x.data if isinstance(x, Tensor) else x
    xp = backend.array_module(data)
    return Tensor(xp.zeros_like(data, dtype=dtype), requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad=False):
    data = x.data if isinstance(x, Tensor) else x
    xp = backend.array_module(data)
    return Tensor(xp.ones_like(data, dtype=dtype), requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None):
    """Like ``numpy.arange``; integer arguments give int64, any float gives float32."""
    values = numpy.arange(start, stop, step) if stop is not None else numpy.arange(start)
    if dtype is None and values.dtype == numpy.float64:
        dtype = backend.DEFAULT_FLOAT
    return Tensor(values if dtype is None else values.astype(dtype))


def linspace(start, stop, num=50, dtype=None, requires_grad=False):
    return Tensor(numpy.linspace(start, stop, num, dtype=_dtype(dtype)), requires_grad=requires_grad)


def eye(n, m=None, dtype=None):
    return Tensor(numpy.eye(n, m, dtype=_dtype(dtype)))


def rand(*shape, dtype=None, requires_grad=False):
    """Uniform on [0, 1)."""
    values = random.generator().random(_shape(shape), dtype=numpy.dtype(_dtype(dtype)))
    return Tensor(values, requires_grad=requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    """Standard normal."""
    values = random.generator().standard_normal(_shape(shape), dtype=numpy.dtype(_dtype(dtype)))
    return Tensor(values, requires_grad=requires_grad)


def randint(low, high, size):
    """Integers drawn uniformly from [low, high)."""
    size = (size,) if isinstance(size, int) else tuple(size)
    return Tensor(random.generator().integers(low, high, size))
