"""The top-level functions whose PyTorch and NumPy meanings differ, with PyTorch's meaning.

``cr.max(x, 1)`` is a ``(values, indices)`` named tuple, ``cr.transpose(x, 0, 1)`` swaps two dims and
``cr.split(x, 2)`` cuts pieces of size 2, as in PyTorch. NumPy's keywords keep NumPy's meaning where
that is unambiguous: ``axis=``/``keepdims=`` (``cr.max(x, axis=1)`` is the values only), a permutation
given as one sequence (``cr.transpose(x, (2, 0, 1))``), ``split(x, indices_or_sections=...)``.
The Tensor methods of the same names call these. ``out=`` is PyTorch's (:mod:`chainrule.out_forms`).
"""

import builtins
import collections

import numpy

from chainrule import backend, ops
from chainrule.autograd.names import named
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ShapeError
from chainrule.gpu import move_array
from chainrule.out_forms import into_out

# what torch.max(x, dim) and friends return: a tuple that also has .values and .indices
_max_result = collections.namedtuple("max", ["values", "indices"])
_min_result = collections.namedtuple("min", ["values", "indices"])
_sort_result = collections.namedtuple("sort", ["values", "indices"])


def axis_of(dim, axis):
    """PyTorch's ``dim`` or NumPy's ``axis``, whichever was given (not both)."""
    if axis is None:
        return tuple(dim) if isinstance(dim, list) else dim
    if dim is not None:
        raise TypeError("give dim (PyTorch) or axis (NumPy), not both")
    return axis


def tensor_of(x):
    """An argument as a Tensor: a Tensor as it is, anything else (an array, a list, a number) wrapped.

    The door functions here and in :mod:`chainrule.maths`, :mod:`chainrule.shape_functions`,
    :mod:`chainrule.linalg` and the ``nn`` layers take PyTorch's arguments through it."""
    return x if isinstance(x, Tensor) else Tensor(x)


def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):  # noqa: A001, A002
    x = tensor_of(input) if dtype is None else tensor_of(input).astype(dtype)
    return ops.sum(x, axis=axis_of(dim, axis), keepdims=keepdim or keepdims)


def mean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):  # noqa: A002
    x = tensor_of(input) if dtype is None else tensor_of(input).astype(dtype)
    return ops.mean(x, axis=axis_of(dim, axis), keepdims=keepdim or keepdims)


def prod(input, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A002
    return ops.prod(tensor_of(input), axis=axis_of(dim, axis), keepdims=keepdim or keepdims)


def _correction(unbiased, correction, ddof, numpy_call):
    if ddof is not None:
        return ddof
    if correction is not None:
        return correction
    if unbiased is not None:
        return int(unbiased)
    return 0 if numpy_call else 1  # PyTorch's default is the unbiased estimate, NumPy's the biased


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, ddof=None,  # noqa: A002
        keepdims=False):
    """The variance; unbiased (correction 1) by default as in PyTorch, biased when called NumPy's way."""
    ddof = _correction(unbiased, correction, ddof, axis is not None)
    return ops.var(tensor_of(input), axis=axis_of(dim, axis), ddof=ddof, keepdims=keepdim or keepdims)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, ddof=None,  # noqa: A002
        keepdims=False):
    """The standard deviation; see :func:`var` for the correction."""
    ddof = _correction(unbiased, correction, ddof, axis is not None)
    return ops.std(tensor_of(input), axis=axis_of(dim, axis), ddof=ddof, keepdims=keepdim or keepdims)


def _extreme(input, dim, keepdim, axis, keepdims, reduce, elementwise, arg, result):  # noqa: A002
    x = tensor_of(input)
    if isinstance(dim, Tensor):  # torch.max(a, b): the elementwise maximum
        return elementwise(x, dim)
    if dim is None:  # the whole tensor, or NumPy's axis= (values only)
        return reduce(x, axis=axis, keepdims=keepdims or keepdim)
    if axis is not None:
        raise TypeError("give dim (PyTorch) or axis (NumPy), not both")
    return result(reduce(x, axis=dim, keepdims=keepdim), arg(x, axis=dim, keepdims=keepdim))


def max(input, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001, A002
    """The maximum: of all elements; ``(values, indices)`` along ``dim``; elementwise with a tensor."""
    return _extreme(input, dim, keepdim, axis, keepdims, ops.max, ops.maximum, ops.argmax, _max_result)


def min(input, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001, A002
    """The minimum: of all elements; ``(values, indices)`` along ``dim``; elementwise with a tensor."""
    return _extreme(input, dim, keepdim, axis, keepdims, ops.min, ops.minimum, ops.argmin, _min_result)


def argmax(input, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A002
    return ops.argmax(tensor_of(input), axis=axis_of(dim, axis), keepdims=keepdim or keepdims)


def argmin(input, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A002
    return ops.argmin(tensor_of(input), axis=axis_of(dim, axis), keepdims=keepdim or keepdims)


def gather(input, dim, index):  # noqa: A002
    """``out[i][j] = input[index[i][j]][j]`` along ``dim`` (PyTorch's gather); differentiable."""
    x = tensor_of(input)
    index = move_array(index._data if isinstance(index, Tensor) else index, x.xp)
    return ops.getitem(x, along(x.xp, index, dim % x.ndim))


def along(xp, index, dim):
    """The index tuple of gather and scatter: ``index`` along ``dim``, and along every other dim the
    position itself (an open grid)."""
    grids = [xp.arange(n).reshape((1,) * k + (n,) + (1,) * (index.ndim - k - 1))
             for k, n in enumerate(index.shape)]
    grids[dim] = index
    return tuple(grids)


def scatter(input, dim, index, src=None, *, value=None, reduce=None):  # noqa: A002
    """``input`` with ``out[index[i][j]][j] = src[i][j]`` along ``dim`` (PyTorch's scatter), or a number
    (``src`` or ``value=``) written wherever the index points; differentiable in both tensors.

    The transforms tutorial's one-hot: ``cr.zeros(10).scatter_(0, cr.tensor(y), value=1)``.
    """
    if reduce is not None:
        raise ValueError(f"scatter: reduce={reduce!r} is not supported; write the values (no reduce=), or "
                         "add them with x.index_put_/cr.Tensor arithmetic")
    x = tensor_of(input)
    xp = x.xp
    index = move_array(index._data if isinstance(index, Tensor) else backend.asarray(index), xp)
    if index.dtype.kind not in "iu":
        raise TypeError(f"scatter: the index must hold integers, got {index.dtype}")
    if index.ndim == 0 and x.ndim == 1:
        index = index.reshape(1)
    if index.ndim != x.ndim:
        raise ShapeError(f"scatter: the index has {index.ndim} dims and the tensor {x.ndim}; they must "
                         "have as many")
    dim = dim % x.ndim
    if any(i > n for k, (i, n) in enumerate(zip(index.shape, x.shape)) if k != dim):
        raise ShapeError(f"scatter: index of shape {index.shape} is larger than the tensor {x.shape} "
                         f"along a dim other than {dim}")
    if index.size and (int(index.min()) < -x.shape[dim] or int(index.max()) >= x.shape[dim]):
        raise ShapeError(f"scatter: index values from {int(index.min())} to {int(index.max())} do not fit "
                         f"dim {dim} of size {x.shape[dim]}")
    if src is not None and not isinstance(src, (Tensor, numpy.ndarray)):
        value, src = src, None  # x.scatter_(0, index, 2.0): the number is the value
    if src is None:
        if value is None:
            raise TypeError("scatter: give the values, as src (a tensor) or value (a number)")
        values = Tensor._from_op(xp.full(index.shape, value, dtype=x.dtype))
    else:
        src = tensor_of(src)
        if src.ndim != index.ndim or any(i > n for i, n in zip(index.shape, src.shape)):
            raise ShapeError(f"scatter: src of shape {src.shape} does not cover the index's {index.shape}")
        values = ops.getitem(src, tuple(slice(0, n) for n in index.shape))
    return ops.Scatter(along(xp, index, dim))(x, values)


def sort(input, dim=-1, descending=False):  # noqa: A002
    """``(values, indices)`` sorted along ``dim``; the values carry the gradient."""
    x = tensor_of(input)
    key = x._data
    if descending:  # a stable sort of the negated values keeps ties in their order, as PyTorch's
        key = -(key.astype(numpy.int64) if key.dtype.kind in "bu" else key)
    order = x.xp.argsort(key, axis=dim, kind="stable")
    return _sort_result(gather(x, dim, order), Tensor._from_op(order))


def transpose(input, dim0=None, dim1=None, *, axes=None):  # noqa: A002
    """PyTorch's ``transpose(x, dim0, dim1)`` swaps two dims; one sequence is NumPy's permutation."""
    x = tensor_of(input)
    if dim1 is not None:
        return ops.swapaxes(x, dim0, dim1)
    if axes is None and isinstance(dim0, int):
        raise TypeError(f"transpose(x, {dim0}): give two dims to swap, or a full permutation as a tuple")
    return ops.transpose(x, axes if axes is not None else dim0)


def permute(input, *dims):  # noqa: A002
    dims = dims[0] if len(dims) == 1 and not isinstance(dims[0], int) else dims
    return ops.transpose(tensor_of(input), tuple(dims))


def cat(tensors, dim=None, *, axis=None, out=None):
    return into_out(ops.concatenate([tensor_of(t) for t in tensors], axis_of(dim, axis) or 0), out, "cat")


concat = cat


def stack(tensors, dim=None, *, axis=None, out=None):
    return into_out(ops.stack([tensor_of(t) for t in tensors], axis_of(dim, axis) or 0), out, "stack")


def split(tensor, split_size_or_sections=None, dim=0, *, indices_or_sections=None, axis=None):
    """PyTorch's split: pieces of ``split_size`` (the last may be smaller), or of the listed sizes.

    ``indices_or_sections=`` (NumPy's keyword) keeps NumPy's meaning: a number of equal sections, or
    the indices to cut at.
    """
    x = tensor_of(tensor)
    if indices_or_sections is not None:
        return ops.split(x, indices_or_sections, axis=axis_of(None, axis) if axis is not None else dim)
    dim = axis_of(dim if axis is None else None, axis) % x.ndim
    size = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step < 1:
            raise ShapeError(f"split: the split size must be positive, got {step}")
        sizes = [builtins.min(step, size - start) for start in range(0, size, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != size:
            raise ShapeError(f"split: sizes {sizes} add up to {builtins.sum(sizes)}, but dim {dim} has "
                             f"size {size}")
    bounds = numpy.cumsum([0, *sizes])
    return tuple(named(ops.getitem(x, (slice(None),) * dim + (slice(int(lo), int(hi)),)), "SplitBackward0")
                 for lo, hi in zip(bounds, bounds[1:]))


def chunk(input, chunks, dim=0):  # noqa: A002
    """Cut into ``chunks`` pieces of ``ceil(size / chunks)`` (fewer when it does not divide, as PyTorch)."""
    x = tensor_of(input)
    size = x.shape[dim]
    return split(x, builtins.max(1, -(-size // chunks)), dim)


def where(condition, input=None, other=None):  # noqa: A002
    """``input`` where ``condition`` holds, else ``other``; with the condition only, its indices."""
    if input is None and other is None:
        condition = condition._data if isinstance(condition, Tensor) else backend.asarray(condition)
        return tuple(Tensor._from_op(i) for i in backend.array_module(condition).nonzero(condition))
    return ops.where(condition, input, other)


def mm(input, mat2, *, out=None):  # noqa: A002
    """The product of two matrices (2-D only, as PyTorch; ``matmul`` broadcasts)."""
    a, b = tensor_of(input), tensor_of(mat2)
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(f"mm: expected two matrices, got shapes {a.shape} and {b.shape}; use matmul "
                         "for vectors and batches")
    return into_out(ops.matmul(a, b), out, "mm")


def bmm(input, mat2, *, out=None):  # noqa: A002
    """The products of two batches of matrices, (b, n, m) @ (b, m, p)."""
    a, b = tensor_of(input), tensor_of(mat2)
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ShapeError(f"bmm: expected two batches of matrices of one batch size, got shapes "
                         f"{a.shape} and {b.shape}")
    return into_out(ops.matmul(a, b), out, "bmm")


def softmax(input, dim=None, *, axis=None):  # noqa: A002
    return ops.softmax(tensor_of(input), _dim_or_last(dim, axis))


def log_softmax(input, dim=None, *, axis=None):  # noqa: A002
    return ops.log_softmax(tensor_of(input), _dim_or_last(dim, axis))


def _dim_or_last(dim, axis):
    # PyTorch warns and guesses when dim is left out; for the tensors it is given (N, C) that guess
    # is the last dim, which is also NumPy-style code's habit
    dim = axis_of(dim, axis)
    return -1 if dim is None else dim


def cumsum(input, dim=None, *, axis=None):  # noqa: A002
    return ops.cumsum(tensor_of(input), axis=axis_of(dim, axis))


def norm(input, p="fro", dim=None, keepdim=False):  # noqa: A002
    """The vector p-norm over ``dim`` (all elements by default; 'fro' is the 2-norm)."""
    return named(_norm(tensor_of(input), p, dim, keepdim), "LinalgVectorNormBackward0")


def _norm(x, p, dim, keepdim):
    p = 2 if p in ("fro", None) else p
    if p == numpy.inf:
        return ops.max(ops.abs(x), axis=dim, keepdims=keepdim)
    if p == 2:
        return ops.sqrt(ops.sum(x * x, axis=dim, keepdims=keepdim))
    if p == 1:
        return ops.sum(ops.abs(x), axis=dim, keepdims=keepdim)
    return ops.sum(ops.abs(x) ** p, axis=dim, keepdims=keepdim) ** (1.0 / p)


def clamp(input, min=None, max=None, *, out=None):  # noqa: A001, A002
    return into_out(tensor_of(input).clamp(min, max), out, "clamp")


def sign(input):  # noqa: A002
    """-1, 0 or 1; flat, so no gradient flows (as PyTorch's zero gradient)."""
    x = tensor_of(input)
    return Tensor._from_op(x.xp.sign(x._data).astype(x.dtype))


def flatten(input, start_dim=0, end_dim=-1):  # noqa: A002
    return ops.flatten(tensor_of(input), start_dim, end_dim)


def unsqueeze(input, dim):  # noqa: A002
    return ops.expand_dims(tensor_of(input), dim)


def squeeze(input, dim=None, *, axis=None):  # noqa: A002
    """Drop size-1 dims; a given dim that is not of size 1 is left as it is (PyTorch's rule)."""
    x = tensor_of(input)
    dim = axis_of(dim, axis)
    if axis is not None:  # NumPy's call raises on a dim that is not of size 1
        return ops.squeeze(x, axis)
    if dim is None:
        return ops.squeeze(x)
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    dims = tuple(d for d in dims if x.shape[d] == 1)
    return ops.squeeze(x, dims) if dims else x


def numel(input):  # noqa: A002
    return int(numpy.prod(tensor_of(input).shape))


def _comparison(name):
    def compare(input, other):  # noqa: A002
        return getattr(tensor_of(input), name)(other)
    compare.__name__ = compare.__qualname__ = name
    compare.__doc__ = f"``input.{name}(other)``: elementwise, a bool tensor."
    return compare


eq, ne, lt, le, gt, ge = (_comparison(name) for name in ("eq", "ne", "lt", "le", "gt", "ge"))


def equal(input, other):  # noqa: A002
    """True when both have one shape and equal elements (a Python bool)."""
    return tensor_of(input).equal(tensor_of(other))


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """``(values, indices)`` of the ``k`` largest (or smallest) along ``dim``."""
    return tensor_of(input).topk(k, dim, largest, sorted)


def is_tensor(obj):
    return isinstance(obj, Tensor)
