"""Constructors of tensors. Python numbers and lists of floats become float32 (the default float);
Python ints give int64 as in PyTorch; a NumPy array keeps its dtype; random draws come from the
generator that ``chainrule.manual_seed`` seeds. Every constructor takes PyTorch's ``dtype=``,
``device=`` and ``requires_grad=``.
"""

import numpy

from chainrule import backend, random
from chainrule import device as devices
from chainrule.autograd.tensor import Tensor


def _dtype(dtype):
    return backend.DEFAULT_FLOAT if dtype is None else devices.as_dtype(dtype)


def _shape(shape, size=None):
    if size is not None:  # PyTorch's keyword: zeros(size=(2, 3))
        if shape:
            raise TypeError("give the shape as arguments or as size=, not both")
        shape = (size,)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _made(array, device, requires_grad):
    return Tensor(array if device is None else devices.move(array, device), requires_grad=requires_grad)


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data``."""
    if isinstance(data, Tensor):
        data = data._data
    array = backend.asarray(data, dtype=None if dtype is None else devices.as_dtype(dtype))
    if array is data:
        array = array.copy()
    return _made(array, device, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing its memory where it already is an array of that dtype."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    data = data._data if isinstance(data, Tensor) else data
    dtype = None if dtype is None else devices.as_dtype(dtype)
    return _made(backend.asarray(data, dtype=dtype), device, False)


def from_numpy(array):
    """A tensor sharing ``array``'s memory (changes to one show in the other); the dtype is kept."""
    if not isinstance(array, numpy.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}: use cr.tensor")
    return Tensor(array)


def zeros(*shape, size=None, dtype=None, device=None, requires_grad=False):
    return _made(numpy.zeros(_shape(shape, size), dtype=_dtype(dtype)), device, requires_grad)


def ones(*shape, size=None, dtype=None, device=None, requires_grad=False):
    return _made(numpy.ones(_shape(shape, size), dtype=_dtype(dtype)), device, requires_grad)


def empty(*shape, size=None, dtype=None, device=None, requires_grad=False):
    """A tensor whose values are not set (zeros here: NumPy's uninitialised memory helps no one)."""
    return zeros(*shape, size=size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """Filled with ``fill_value``; without a dtype, a bool gives bool, an int int64, a float float32."""
    shape = (size,) if isinstance(size, int) else tuple(size)
    if dtype is None:
        dtype = backend.asarray(fill_value).dtype
    return _made(numpy.full(shape, fill_value, dtype=devices.as_dtype(dtype)), device, requires_grad)


def _like(x, dtype, device):
    data = x._data if isinstance(x, Tensor) else numpy.asarray(x)
    dtype = data.dtype if dtype is None else devices.as_dtype(dtype)
    return data.shape, dtype, devices.of_array(data) if device is None else device


def zeros_like(x, dtype=None, device=None, requires_grad=False):
    shape, dtype, device = _like(x, dtype, device)
    return zeros(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False):
    shape, dtype, device = _like(x, dtype, device)
    return ones(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False):
    return zeros_like(x, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    shape, dtype, device = _like(x, dtype, device)
    return full(shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def rand_like(x, dtype=None, device=None, requires_grad=False):
    shape, dtype, device = _like(x, dtype, device)
    return rand(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(x, dtype=None, device=None, requires_grad=False):
    shape, dtype, device = _like(x, dtype, device)
    return randn(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False, *, stop=None):
    """``arange(end)`` or ``arange(start, end, step)``, end excluded; ints give int64, floats float32."""
    end = stop if end is None else end
    values = numpy.arange(start, end, step) if end is not None else numpy.arange(start)
    if dtype is None:
        dtype = backend.DEFAULT_FLOAT if values.dtype.kind == "f" else numpy.int64
    return _made(values.astype(devices.as_dtype(dtype)), device, requires_grad)


def linspace(start, end, steps=None, dtype=None, device=None, requires_grad=False, *, num=None):
    """``steps`` evenly spaced values from ``start`` to ``end`` included (``num=`` is NumPy's name)."""
    steps = num if steps is None else steps
    if steps is None:
        raise TypeError("linspace: give the number of points, steps=")
    return _made(numpy.linspace(start, end, steps, dtype=_dtype(dtype)), device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _made(numpy.eye(n, m, dtype=_dtype(dtype)), device, requires_grad)


def rand(*shape, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform on [0, 1); ``generator=``: a :class:`chainrule.Generator` to draw from, not the library's."""
    draw = random.numpy_generator(generator)
    values = draw.random(_shape(shape, size), dtype=numpy.dtype(_dtype(dtype)))
    return _made(values, device, requires_grad)


def randn(*shape, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal; ``generator=`` as in :func:`rand`."""
    draw = random.numpy_generator(generator)
    values = draw.standard_normal(_shape(shape, size), dtype=numpy.dtype(_dtype(dtype)))
    return _made(values, device, requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers drawn uniformly from [low, high); ``randint(high, size)`` starts at 0 (PyTorch)."""
    if size is None:  # randint(low, high, size) written as randint(high, size)
        low, high, size = 0, low, high
    size = (size,) if isinstance(size, int) else tuple(size)
    values = random.numpy_generator(generator).integers(low, high, size)
    return _made(values if dtype is None else values.astype(devices.as_dtype(dtype)), device, requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0..n-1 (int64)."""
    values = random.numpy_generator(generator).permutation(n)
    return _made(values if dtype is None else values.astype(devices.as_dtype(dtype)), device, requires_grad)
