"""The rest of ``keras.ops``' NumPy functions (``top_k``, ``moments``, ``norm``, ``tril``, ``repeat``,
``isnan``, ``erf`` …) and its cross-entropies, re-exported by :mod:`chainrule.keras.ops`.

Keras's ops take NumPy's names and meanings, so these are NumPy's signatures (``axis=``, ``repeat``
as ``numpy.repeat``, ``median`` averaging the two middle values) over the differentiable functions of
the PyTorch door (:mod:`chainrule.maths`, :mod:`chainrule.shape_functions`), and take arrays, lists
and numbers wherever they take tensors, as Keras does.
"""

import builtins
import collections

import numpy

from chainrule import functions, linalg, maths, shape_functions
from chainrule import ops as _ops
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ShapeError
from chainrule.keras.tensors import convert_to_tensor as _t  # arrays, lists and numbers, as Keras takes them
from chainrule.nn import keras_losses


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in ((axis,) if isinstance(axis, int) else axis))


# ---------------------------------------------------------------- elementwise
def _unary(function):
    def op(x):
        return function(_t(x))

    op.__name__ = op.__qualname__ = function.__name__
    op.__doc__ = function.__doc__
    return op


ceil, floor, erf, expm1 = (_unary(f) for f in (maths.ceil, maths.floor, maths.erf, maths.expm1))
sinh, cosh, tan = (_unary(f) for f in (maths.sinh, maths.cosh, maths.tan))
arcsin, arccos, arctan = (_unary(f) for f in (maths.asin, maths.acos, maths.atan))
log2, log10, exp2 = (_unary(f) for f in (maths.log2, maths.log10, maths.exp2))
reciprocal, rsqrt = _unary(maths.reciprocal), _unary(maths.rsqrt)
isnan, isinf, isfinite = (_unary(f) for f in (maths.isnan, maths.isinf, maths.isfinite))
logical_not = _unary(maths.logical_not)


def round(x, decimals=0):  # noqa: A001 - Keras's name
    return maths.round(_t(x), decimals=decimals)


def arctan2(x1, x2):
    return maths.atan2(_t(x1), x2)


def floor_divide(x1, x2):
    return maths.floor_divide(_t(x1), x2)


def mod(x1, x2):
    """The remainder with the divisor's sign (NumPy's ``mod``)."""
    return maths.remainder(_t(x1), x2)


def logical_and(x1, x2):
    return maths.logical_and(_t(x1), _t(x2))


def logical_or(x1, x2):
    return maths.logical_or(_t(x1), _t(x2))


def logical_xor(x1, x2):
    return maths.logical_xor(_t(x1), _t(x2))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    return maths.nan_to_num(_t(x), nan, posinf, neginf)


def count_nonzero(x, axis=None):
    return maths.count_nonzero(_t(x), axis)


def hard_sigmoid(x):
    """relu6(x + 3) / 6, Keras 3's hard sigmoid."""
    return _ops.clip(_t(x) + 3.0, 0.0, 6.0) / 6.0


def softsign(x):
    """x / (1 + |x|)."""
    x = _t(x)
    return x / (_ops.abs(x) + 1.0)


def relu6(x):
    return _ops.clip(_t(x), 0.0, 6.0)


# ---------------------------------------------------------------- shapes and indices
def broadcast_to(x, shape):
    return _ops.broadcast_to(_t(x), tuple(shape))


def repeat(x, repeats, axis=None):
    """Each element repeated ``repeats`` times in a row (``numpy.repeat``), flattened without ``axis``."""
    return shape_functions.repeat_interleave(_t(x), repeats, axis)


def tile(x, repeats):
    return shape_functions.tile(_t(x), repeats)


def flip(x, axis=None):
    x = _t(x)
    return shape_functions.flip(x, _axes(axis, x.ndim))


def roll(x, shift, axis=None):
    return shape_functions.roll(_t(x), shift, axis)


def tril(x, k=0):
    return shape_functions.tril(_t(x), k)


def triu(x, k=0):
    return shape_functions.triu(_t(x), k)


def diag(x, k=0):
    return shape_functions.diag(_t(x), k)


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal of the (axis1, axis2) planes, last (``numpy.diagonal``)."""
    x = _t(x)
    rest = [a for a in range(x.ndim) if a not in (axis1 % x.ndim, axis2 % x.ndim)]
    planes = _ops.transpose(x, rest + [axis1 % x.ndim, axis2 % x.ndim])
    rows = numpy.arange(builtins.max(0, -offset), planes.shape[-2])
    rows = rows[rows + offset < planes.shape[-1]]
    return _ops.getitem(planes, (Ellipsis, rows, rows + offset))


def trace(x, offset=0, axis1=0, axis2=1):
    return _ops.sum(diagonal(x, offset, axis1, axis2), axis=-1)


def moveaxis(x, source, destination):
    """The axes ``source`` moved to ``destination``, the others keeping their order (``numpy.moveaxis``)."""
    x = _t(x)
    sources, targets = _axes(source, x.ndim), _axes(destination, x.ndim)
    order = [a for a in range(x.ndim) if a not in sources]
    for target, axis in sorted(zip(targets, sources)):
        order.insert(target, axis)
    return _ops.transpose(x, order)


def ravel(x):
    return _ops.reshape(_t(x), (-1,))


def hstack(xs):
    return shape_functions.hstack([_t(x) for x in xs])


def vstack(xs):
    return shape_functions.vstack([_t(x) for x in xs])


def meshgrid(*x, indexing="xy"):
    """Coordinate grids, 'xy' by default as NumPy's and Keras's (PyTorch's default is 'ij')."""
    return list(shape_functions.meshgrid(*[_t(v) for v in x], indexing=indexing))


def einsum(subscripts, *operands):
    return shape_functions.einsum(subscripts, *[_t(x) for x in operands])


def outer(x1, x2):
    return shape_functions.outer(_ops.reshape(_t(x1), (-1,)), _ops.reshape(_t(x2), (-1,)))


def diff(a, n=1, axis=-1):
    return shape_functions.diff(_t(a), n, axis)


def sort(x, axis=-1):
    return functions.sort(_t(x), axis).values


def argsort(x, axis=-1):
    return shape_functions.argsort(_t(x), axis)


_top_k_result = collections.namedtuple("top_k", ["values", "indices"])


def top_k(x, k, sorted=True):  # noqa: A002 - Keras's keyword
    """The ``k`` largest along the last axis: ``(values, indices)``, largest first."""
    values, indices = _t(x).topk(k, -1)
    return _top_k_result(values, indices)


def nonzero(x):
    return shape_functions.nonzero(_t(x), as_tuple=True)


def slice(inputs, start_indices, shape):  # noqa: A001 - Keras's name
    """The block of ``shape`` starting at ``start_indices``."""
    index = tuple(builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape))
    return _ops.getitem(_t(inputs), index)


# ---------------------------------------------------------------- statistics and norms
def median(x, axis=None, keepdims=False):
    """The median, the mean of the two middle values for an even count (NumPy's and Keras's, not
    PyTorch's lower median)."""
    x = _t(x)
    axes = _axes(axis, x.ndim)
    rest = [a for a in range(x.ndim) if a not in axes]
    merged = _ops.reshape(_ops.transpose(x, rest + list(axes)), [x.shape[a] for a in rest] + [-1])
    ordered = functions.sort(merged, -1).values
    n = merged.shape[-1]
    middle = (ordered[..., (n - 1) // 2] + ordered[..., n // 2]) * 0.5
    if keepdims:
        middle = _ops.reshape(middle, [1 if a in axes else x.shape[a] for a in range(x.ndim)])
    return middle


def average(x, axis=None, weights=None):
    x = _t(x)
    if weights is None:
        return _ops.mean(x, axis)
    weights = _t(weights)
    if weights.shape != x.shape:
        if axis is None or weights.ndim != 1:
            raise ShapeError(f"average: weights of shape {tuple(weights.shape)} for x of shape "
                             f"{tuple(x.shape)}: give weights of x's shape, or a vector along axis")
        shape = [1] * x.ndim
        shape[axis] = -1
        weights = _ops.reshape(weights, shape)
    return _ops.sum(x * weights, axis) / _ops.sum(_ops.broadcast_to(weights, x.shape), axis)


def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) over ``axes``, the variance over the population."""
    x = _t(x)
    axes = _axes(axes, x.ndim)
    return _ops.mean(x, axes, keepdims), _ops.var(x, axes, 0, keepdims)


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - NumPy's keyword
    """The 2-norm (Frobenius for all elements of a matrix), or ``ord`` 1, inf and other p of vectors."""
    x = _t(x)
    p = 2 if ord in (None, "fro", 2) else ord
    if p == numpy.inf:
        return _ops.max(_ops.abs(x), axis, keepdims)
    if p == 1:
        return _ops.sum(_ops.abs(x), axis, keepdims)
    if p == 2:
        return _ops.sqrt(_ops.sum(x * x, axis, keepdims))
    return _ops.sum(_ops.abs(x) ** p, axis, keepdims) ** (1.0 / p)


def normalize(x, axis=-1, order=2, epsilon=None):
    """x divided by its ``order``-norm along ``axis`` (at least ``epsilon``, 1e-12 by default)."""
    x = _t(x)
    size = norm(x, order, axis, keepdims=True)
    return x / _ops.maximum(size, 1e-12 if epsilon is None else epsilon)


# ---------------------------------------------------------------- linear algebra (keras.ops.linalg's)
def inv(x):
    return linalg.inv(_t(x))


def det(x):
    return linalg.det(_t(x))


def solve(a, b):
    return linalg.solve(_t(a), _t(b))


def svd(x, full_matrices=True, compute_uv=True):
    """(u, s, v) with x = u diag(s) v (v is NumPy's vh); the singular values alone without ``compute_uv``."""
    if not compute_uv:
        return linalg.svdvals(_t(x))
    return tuple(linalg.svd(_t(x), full_matrices))


def eigh(x):
    return tuple(linalg.eigh(_t(x)))


def qr(x, mode="reduced"):
    return tuple(linalg.qr(_t(x), mode))


def cholesky(x):
    return linalg.cholesky(_t(x))


def lstsq(a, b, rcond=None):
    """The least-squares solution of a x ≈ b."""
    return linalg.lstsq(_t(a), _t(b), rcond).solution


# ---------------------------------------------------------------- cross-entropies, per element
def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy (``keras.losses`` then averages over the last axis)."""
    output = _t(output)
    target = _t(target)
    if from_logits:
        return keras_losses.fused.sigmoid_binary_cross_entropy(output, target, "none")
    clipped = _ops.clip(output, keras_losses.EPSILON, 1.0 - keras_losses.EPSILON)
    return -(_ops.log(clipped) * target + _ops.log(1.0 - clipped) * (1.0 - target))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """−Σ target · log(output) along ``axis`` (a softmax first ``from_logits``)."""
    output = _t(output)
    if from_logits:
        output = _ops.softmax(output, axis)
    else:  # Keras scales the probabilities to sum to 1 along the axis first
        output = output / _ops.sum(output, axis, keepdims=True)
    clipped = _ops.clip(output, keras_losses.EPSILON, 1.0 - keras_losses.EPSILON)
    return -_ops.sum(_t(target) * _ops.log(clipped), axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """The categorical cross-entropy at integer labels ``target``."""
    output = _t(output)
    labels = numpy.asarray(target.numpy() if isinstance(target, Tensor) else target).astype(numpy.int64)
    if labels.ndim == output.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    one_hot = numpy.moveaxis(numpy.eye(output.shape[axis], dtype=output.dtype)[labels], -1, axis)
    return categorical_crossentropy(one_hot, output, from_logits, axis)
