"""``keras.ops``: Keras 3's operations (``from keras import ops``) on chainrule's engine, differentiable.

Keras's ops take NumPy's names and meanings (``axis=``, ``keepdims=``, ``std`` over the population,
``transpose`` reversing the axes), which are :mod:`chainrule.ops`' own; this module gives them
Keras's names and defaults (``gelu`` approximate, ``leaky_relu`` slope 0.2, ``one_hot`` float32)
and, as Keras does, takes NumPy arrays, lists and numbers wherever it takes tensors. What a
custom layer's ``call`` writes (``ops.matmul(inputs, self.w) + self.b``) runs as it is.
"""

import numpy

from chainrule import creation
from chainrule import functions as _functions
from chainrule import ops as _ops
from chainrule.autograd.tensor import Tensor
from chainrule.backend import DEFAULT_FLOAT
from chainrule.keras.tensors import convert_to_numpy, convert_to_tensor
from chainrule.nn import functional as _F


def _t(x):
    return x if isinstance(x, Tensor) else convert_to_tensor(x)


def _ts(xs):
    return [_t(x) for x in xs]


# ---------------------------------------------------------------- creation and types
def ones(shape, dtype=None):
    return creation.ones(*_shape(shape), dtype=dtype)


def zeros(shape, dtype=None):
    return creation.zeros(*_shape(shape), dtype=dtype)


def full(shape, fill_value, dtype=None):
    return creation.full(_shape(shape), fill_value, dtype=dtype or DEFAULT_FLOAT)


def full_like(x, fill_value, dtype=None):
    return creation.full_like(_t(x), fill_value, dtype=dtype)


def ones_like(x, dtype=None):
    return full_like(x, 1, dtype)


def zeros_like(x, dtype=None):
    return full_like(x, 0, dtype)


def arange(start, stop=None, step=1, dtype=None):
    return creation.arange(start, stop, step, dtype=dtype)


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - Keras's names
    return Tensor(numpy.eye(N, M, k, dtype=dtype or DEFAULT_FLOAT))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def linspace(start, stop, num=50, endpoint=True, dtype=None):
    return Tensor(numpy.linspace(start, stop, num, endpoint=endpoint, dtype=dtype or DEFAULT_FLOAT))


def _shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


def cast(x, dtype):
    return _ops.astype(_t(x), numpy.dtype(dtype))


def shape(x):
    return tuple(_t(x).shape)


def ndim(x):
    return _t(x).ndim


def size(x):
    return int(numpy.prod(shape(x)))


def stop_gradient(variable):
    return _t(variable).detach()


# ---------------------------------------------------------------- elementwise
def add(x1, x2):
    return _t(x1) + x2


def subtract(x1, x2):
    return _t(x1) - x2


def multiply(x1, x2):
    return _t(x1) * x2


def divide(x1, x2):
    return _t(x1) / x2


true_divide = divide


def power(x1, x2):
    return _t(x1) ** x2


def negative(x):
    return -_t(x)


def square(x):
    return _t(x).square()


def abs(x):  # noqa: A001 - Keras's name
    return _ops.abs(_t(x))


absolute = abs


def maximum(x1, x2):
    return _ops.maximum(_t(x1), _t(x2))


def minimum(x1, x2):
    return _ops.minimum(_t(x1), _t(x2))


def clip(x, x_min, x_max):
    return _ops.clip(_t(x), x_min, x_max)


def _unary(op):
    return lambda x: op(_t(x))


sqrt, exp, log, log1p = _unary(_ops.sqrt), _unary(_ops.exp), _unary(_ops.log), _unary(_ops.log1p)
sin, cos, tanh = _unary(_ops.sin), _unary(_ops.cos), _unary(_ops.tanh)
relu, sigmoid, softplus = _unary(_ops.relu), _unary(_ops.sigmoid), _unary(_ops.softplus)
silu, selu = _unary(_F.silu), _unary(_F.selu)
swish = silu


sign = _unary(_functions.sign)  # flat: no gradient, as Keras's


def equal(x1, x2):
    return _t(x1) == _t(x2)


def not_equal(x1, x2):
    return _t(x1) != _t(x2)


def greater(x1, x2):
    return _t(x1) > _t(x2)


def greater_equal(x1, x2):
    return _t(x1) >= _t(x2)


def less(x1, x2):
    return _t(x1) < _t(x2)


def less_equal(x1, x2):
    return _t(x1) <= _t(x2)


# ---------------------------------------------------------------- activations with Keras's defaults
def softmax(x, axis=-1):
    return _ops.softmax(_t(x), axis)


def log_softmax(x, axis=-1):
    return _ops.log_softmax(_t(x), axis)


def leaky_relu(x, negative_slope=0.2):
    return _ops.leaky_relu(_t(x), negative_slope)


def gelu(x, approximate=True):
    return _F.gelu(_t(x), approximate="tanh" if approximate else "none")


def elu(x, alpha=1.0):
    return _F.elu(_t(x), alpha)


# ---------------------------------------------------------------- reductions
def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    return _ops.sum(_t(x), axis, keepdims)


def mean(x, axis=None, keepdims=False):
    return _ops.mean(_t(x), axis, keepdims)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    result = _ops.max(_t(x), axis, keepdims)
    return result if initial is None else _ops.maximum(result, convert_to_tensor(initial, result.dtype))


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    result = _ops.min(_t(x), axis, keepdims)
    return result if initial is None else _ops.minimum(result, convert_to_tensor(initial, result.dtype))


def prod(x, axis=None, keepdims=False, dtype=None):
    return _ops.prod(_t(x) if dtype is None else cast(x, dtype), axis, keepdims)


def std(x, axis=None, keepdims=False):
    return _ops.std(_t(x), axis, 0, keepdims)  # over the population, as NumPy and Keras


def var(x, axis=None, keepdims=False):
    return _ops.var(_t(x), axis, 0, keepdims)


def argmax(x, axis=None, keepdims=False):
    return _ops.argmax(_t(x), axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _ops.argmin(_t(x), axis, keepdims)


def logsumexp(x, axis=None, keepdims=False):
    return _ops.logsumexp(_t(x), axis, keepdims)


def cumsum(x, axis=None, dtype=None):
    return _ops.cumsum(_t(x) if dtype is None else cast(x, dtype), axis)


def all(x, axis=None, keepdims=False):  # noqa: A001
    return _t(x).all(axis=axis, keepdims=keepdims)


def any(x, axis=None, keepdims=False):  # noqa: A001
    return _t(x).any(axis=axis, keepdims=keepdims)


# ---------------------------------------------------------------- products and shapes
def matmul(x1, x2):
    return _ops.matmul(_t(x1), _t(x2))


def dot(x1, x2):
    return _ops.dot(_t(x1), _t(x2))


def transpose(x, axes=None):
    return _ops.transpose(_t(x), axes)


def reshape(x, newshape):
    return _ops.reshape(_t(x), _shape(newshape))


def expand_dims(x, axis):
    return _ops.expand_dims(_t(x), axis)


def squeeze(x, axis=None):
    return _ops.squeeze(_t(x), axis)


def swapaxes(x, axis1, axis2):
    return _ops.swapaxes(_t(x), axis1, axis2)


def concatenate(xs, axis=0):
    return _ops.concatenate(_ts(xs), axis)


def stack(x, axis=0):
    return _ops.stack(_ts(x), axis)


def split(x, indices_or_sections, axis=0):
    return _ops.split(_t(x), indices_or_sections, axis)


def take(x, indices, axis=None):
    return _ops.take(_t(x), numpy.asarray(convert_to_numpy(indices)), axis)


def where(condition, x1=None, x2=None):
    if x1 is None and x2 is None:
        return _functions.where(condition)  # the indices where it holds
    return _ops.where(convert_to_numpy(condition), _t(x1), _t(x2))


def one_hot(x, num_classes, axis=-1, dtype=None):
    encoded = _ops.one_hot(convert_to_numpy(x), num_classes, dtype or DEFAULT_FLOAT)
    if axis in (-1, encoded.ndim - 1):
        return encoded
    return _ops.transpose(encoded, _moved(encoded.ndim, axis))


def _moved(rank, axis):
    """The axes of a one-hot (classes last) with the classes moved to ``axis``."""
    order = list(range(rank - 1))
    order.insert(axis % rank, rank - 1)
    return tuple(order)


def pad(x, pad_width, mode="constant", constant_values=None):
    if mode != "constant":
        raise ValueError(f"ops.pad: mode={mode!r} is not supported; only 'constant'")
    return _ops.pad(_t(x), pad_width, constant_values or 0)


from chainrule.keras.numpy_ops import (  # noqa: E402, F401 - the rest of Keras's NumPy functions
    arccos,
    arcsin,
    arctan,
    arctan2,
    argsort,
    average,
    binary_crossentropy,
    broadcast_to,
    categorical_crossentropy,
    ceil,
    cholesky,
    cosh,
    count_nonzero,
    det,
    diag,
    diagonal,
    diff,
    eigh,
    einsum,
    erf,
    exp2,
    expm1,
    flip,
    floor,
    floor_divide,
    hard_sigmoid,
    hstack,
    inv,
    isfinite,
    isinf,
    isnan,
    log2,
    log10,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lstsq,
    median,
    meshgrid,
    mod,
    moments,
    moveaxis,
    nan_to_num,
    nonzero,
    norm,
    normalize,
    outer,
    qr,
    ravel,
    reciprocal,
    relu6,
    repeat,
    roll,
    round,
    rsqrt,
    sinh,
    slice,
    softsign,
    solve,
    sort,
    sparse_categorical_crossentropy,
    svd,
    tan,
    tile,
    top_k,
    trace,
    tril,
    triu,
    vstack,
)
