"""PyTorch's other shape, index and matrix functions at the top level: ``flip``, ``roll``, ``tril``,
``diag``, ``index_select``, ``masked_fill``, ``nonzero``, ``meshgrid``, ``outer``, ``addmm``, ``median``
and their company. The Tensor methods of the same names call these.

Each differentiable one is a composition of the ops (an index, a ``where``, a product), so its
gradient is theirs, and its graph node carries PyTorch's name. ``nonzero``, ``argsort``, ``unique`` and
``bincount`` return indices or counts: flat, outside the graph, as in PyTorch.
"""

import builtins
import collections

from chainrule import functions, ops
from chainrule.autograd.names import named
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ShapeError
from chainrule.functions import tensor_of
from chainrule.ops import einsum as _einsum
from chainrule.ops.index import ScatterAdd

_median_result = collections.namedtuple("median", ["values", "indices"])



def _data(x):
    return x._data if isinstance(x, Tensor) else x


def _dims(dims, ndim):
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return tuple(d % ndim for d in dims)


def _along(dim, index):
    """An index tuple taking ``index`` along ``dim`` (and everything along the dims before it)."""
    return (slice(None),) * dim + (index,)


# ---------------------------------------------------------------- rearranging
def flip(input, dims):  # noqa: A002 - PyTorch's names
    """Reverse the order of the elements along ``dims``."""
    x = tensor_of(input)
    turned = _dims(dims, x.ndim)
    index = tuple(slice(None, None, -1) if d in turned else slice(None) for d in range(x.ndim))
    return named(ops.getitem(x, index), "FlipBackward0")


def fliplr(input):  # noqa: A002
    return flip(input, 1)


def flipud(input):  # noqa: A002
    return flip(input, 0)


def roll(input, shifts, dims=None):  # noqa: A002
    """Shift the elements along ``dims`` by ``shifts``, those past the end coming round to the start
    (without ``dims``: of the flattened tensor, in its shape)."""
    x = tensor_of(input)
    if dims is None:
        return named(ops.reshape(roll(ops.reshape(x, (-1,)), shifts, 0), x.shape), "RollBackward0")
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = _dims(dims, x.ndim)
    if len(shifts) != len(dims):
        raise ShapeError(f"roll: {len(shifts)} shifts for {len(dims)} dims; give one shift per dim")
    out = x
    for shift, dim in zip(shifts, dims):
        size = x.shape[dim]
        out = ops.getitem(out, _along(dim, (x.xp.arange(size) - shift) % builtins.max(size, 1)))
    return named(out, "RollBackward0", x)


def _triangle(input, diagonal, keep, name):  # noqa: A002
    x = tensor_of(input)
    if x.ndim < 2:
        raise ShapeError(f"{name.lower()}: expects a matrix or a batch of them, got shape {tuple(x.shape)}")
    mask = keep(x.xp.ones(x.shape[-2:], dtype=bool), diagonal)
    return named(ops.where(mask, x, x.xp.zeros((), x.dtype)), name + "Backward0")


def tril(input, diagonal=0):  # noqa: A002
    """The lower triangle of the last two dims (on and below ``diagonal``); zeros above it."""
    return _triangle(input, diagonal, tensor_of(input).xp.tril, "Tril")


def triu(input, diagonal=0):  # noqa: A002
    """The upper triangle of the last two dims (on and above ``diagonal``); zeros below it."""
    return _triangle(input, diagonal, tensor_of(input).xp.triu, "Triu")


def diag(input, diagonal=0):  # noqa: A002
    """A vector on the ``diagonal`` of a square matrix of zeros, or a matrix's ``diagonal`` as a vector."""
    x = tensor_of(input)
    xp = x.xp
    if x.ndim == 1:
        n = x.shape[0]
        square = ops.reshape(x, (n, 1)) * xp.eye(n, dtype=x.dtype)
        k = builtins.abs(diagonal)
        rows, cols = ((0, k), (k, 0)) if diagonal >= 0 else ((k, 0), (0, k))
        return named(ops.pad(square, (rows, cols)), "DiagEmbedBackward0")
    if x.ndim != 2:
        raise ShapeError(f"diag: expects a vector or a matrix, got shape {tuple(x.shape)}")
    rows = xp.arange(builtins.max(0, -diagonal), x.shape[0])
    rows = rows[rows + diagonal < x.shape[1]]
    return named(ops.getitem(x, (rows, rows + diagonal)), "DiagonalBackward0_copy")


def t(input):  # noqa: A002
    return tensor_of(input).t()


def hstack(tensors):
    """Side by side: along dim 1, or dim 0 for vectors."""
    tensors = [tensor_of(t) for t in tensors]
    return ops.concatenate(tensors, 0 if builtins.all(t.ndim == 1 for t in tensors) else 1)


def vstack(tensors):
    """One above the other along dim 0, vectors as rows."""
    tensors = [tensor_of(t) for t in tensors]
    return ops.concatenate([ops.reshape(t, (1, -1)) if t.ndim < 2 else t for t in tensors], 0)


row_stack = vstack


def tile(input, dims):  # noqa: A002
    """``input`` repeated ``dims`` times along each dim (leading 1s where ``dims`` is shorter)."""
    x = tensor_of(input)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return named(x.repeat(*((1,) * (x.ndim - len(dims)) + dims)), "RepeatBackward0")


def repeat_interleave(input, repeats, dim=None):  # noqa: A002
    """Each element (each slice along ``dim``) ``repeats`` times in a row; flattened without ``dim``."""
    x = tensor_of(input)
    if dim is None:
        x, dim = ops.reshape(x, (-1,)), 0
    dim %= x.ndim
    index = x.xp.repeat(x.xp.arange(x.shape[dim]), _data(repeats))
    return named(ops.getitem(x, _along(dim, index)), "ViewBackward0")


def narrow(input, dim, start, length):  # noqa: A002
    """``length`` elements from ``start`` along ``dim`` (a view in PyTorch)."""
    x = tensor_of(input)
    dim %= x.ndim
    start %= builtins.max(x.shape[dim], 1)
    if start + length > x.shape[dim]:
        raise ShapeError(f"narrow: start {start} + length {length} is past the size {x.shape[dim]} of "
                         f"dim {dim}")
    return ops.getitem(x, _along(dim, slice(start, start + length)))


def unbind(input, dim=0):  # noqa: A002
    """The slices along ``dim``, as a tuple."""
    x = tensor_of(input)
    dim %= x.ndim
    return tuple(named(ops.getitem(x, _along(dim, i)), "UnbindBackward0") for i in range(x.shape[dim]))


def index_select(input, dim, index):  # noqa: A002
    """The slices at ``index`` (integers, a vector) along ``dim``."""
    x = tensor_of(input)
    index = _data(index)
    if getattr(index, "ndim", 1) != 1:
        raise ShapeError(f"index_select: the index must be a vector, got shape {tuple(index.shape)}")
    return named(ops.getitem(x, _along(dim % x.ndim, index)), "IndexSelectBackward0")


def masked_fill(input, mask, value):  # noqa: A002
    """``value`` where ``mask`` (broadcast to input's shape) is True, input elsewhere."""
    x = tensor_of(input)
    mask = _data(mask)
    if x.xp.broadcast_shapes(mask.shape, x.shape) != tuple(x.shape):
        raise ShapeError(f"masked_fill: a mask of shape {tuple(mask.shape)} does not broadcast to the "
                         f"input's shape {tuple(x.shape)}")
    fill = value if isinstance(value, Tensor) else x.xp.asarray(value, dtype=x.dtype)
    return named(ops.where(mask, fill, x), "MaskedFillBackward0")


def masked_select(input, mask):  # noqa: A002
    """The elements where ``mask`` is True (both broadcast to one shape), as a vector."""
    x, mask = tensor_of(input), _data(mask)
    shape = x.xp.broadcast_shapes(mask.shape, x.shape)
    selected = ops.getitem(ops.broadcast_to(x, shape), x.xp.broadcast_to(mask, shape))
    return named(selected, "MaskedSelectBackward0")


# ---------------------------------------------------------------- indices and counts (flat)
def nonzero(input, *, as_tuple=False):  # noqa: A002
    """The indices of the non-zero elements: (count, ndim) int64, or one vector per dim with ``as_tuple``."""
    x = tensor_of(input)
    if as_tuple:
        return tuple(Tensor._from_op(i.astype(x.xp.int64)) for i in x.xp.nonzero(x._data))
    return Tensor._from_op(x.xp.argwhere(x._data).astype(x.xp.int64))


def argwhere(input):  # noqa: A002
    return nonzero(input)


def argsort(input, dim=-1, descending=False, stable=False):  # noqa: A002
    """The indices that sort ``input`` along ``dim`` (ties in their order)."""
    return functions.sort(input, dim, descending).indices


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """The distinct elements, sorted; with ``return_inverse`` where each element went, with
    ``return_counts`` how many of each (a tuple then, as PyTorch)."""
    x = tensor_of(input)
    found = x.xp.unique(x._data, return_inverse=return_inverse, return_counts=return_counts, axis=dim)
    if not (return_inverse or return_counts):
        return Tensor._from_op(found)
    values, *extras = found
    extras = [Tensor._from_op(e.reshape(x.shape) if return_inverse and i == 0 and dim is None
                              else e).long() for i, e in enumerate(extras)]
    return (Tensor._from_op(values), *extras)


def bincount(input, weights=None, minlength=0):  # noqa: A002
    """How often each value 0, 1, ... occurs in a vector of non-negative ints (or their summed weights)."""
    x = tensor_of(input)
    if x.ndim != 1 or x.dtype.kind not in "iu":
        raise ShapeError(f"bincount: expects a vector of non-negative integers, got {x.dtype} of shape "
                         f"{tuple(x.shape)}")
    if weights is None:
        return Tensor._from_op(x.xp.bincount(x._data, minlength=minlength))
    weights = _data(weights)  # NumPy sums in float64; PyTorch keeps the weights' dtype
    return Tensor._from_op(x.xp.bincount(x._data, weights, minlength).astype(weights.dtype, copy=False))


# ---------------------------------------------------------------- grids and products
def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from vectors: 'ij' (PyTorch's default) indexes by the first vector's axis
    first, 'xy' (NumPy's and matplotlib's) by the second's."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing is 'ij' or 'xy', got {indexing!r}")
    vectors = [tensor_of(t) for t in tensors]
    sizes = [v.shape[0] if v.ndim else 1 for v in vectors]
    if indexing == "xy" and len(vectors) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for k, v in enumerate(vectors):
        axis = {0: 1, 1: 0}.get(k, k) if indexing == "xy" and len(vectors) >= 2 else k
        shape = [1] * len(vectors)
        shape[axis] = sizes[axis]
        grids.append(named(ops.broadcast_to(ops.reshape(v, shape), sizes), "ExpandBackward0"))
    return tuple(grids)


def broadcast_tensors(*tensors):
    """Every tensor broadcast to their common shape."""
    tensors = [tensor_of(t) for t in tensors]
    shape = tensors[0].xp.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(named(ops.broadcast_to(t, shape), "ExpandBackward0", t) for t in tensors)


def outer(input, vec2):  # noqa: A002
    """The outer product of two vectors: ``out[i, j] = input[i] · vec2[j]``."""
    a, b = tensor_of(input), tensor_of(vec2)
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"outer: expects two vectors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return ops.reshape(a, (-1, 1)) * ops.reshape(b, (1, -1))


ger = outer


def mv(input, vec):  # noqa: A002
    """A matrix times a vector."""
    a, v = tensor_of(input), tensor_of(vec)
    if a.ndim != 2 or v.ndim != 1:
        raise ShapeError(f"mv: expects a matrix and a vector, got shapes {tuple(a.shape)} and "
                         f"{tuple(v.shape)}")
    return ops.matmul(a, v)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):  # noqa: A002
    """``beta · input + alpha · (mat1 @ mat2)``."""
    product = functions.mm(mat1, mat2)
    product = product if alpha == 1 else product * alpha
    return named(product + (input if beta == 1 else tensor_of(input) * beta), "AddmmBackward0")


def trace(input):  # noqa: A002
    """The sum of a matrix's diagonal."""
    return named(ops.sum(diag(input)), "TraceBackward0")


def diff(input, n=1, dim=-1, prepend=None, append=None):  # noqa: A002
    """The ``n``-th forward difference along ``dim``: ``out[i] = x[i + 1] − x[i]``."""
    x = tensor_of(input)
    dim %= x.ndim
    parts = [p for p in (prepend, x, append) if p is not None]
    out = ops.concatenate([tensor_of(p) for p in parts], dim) if len(parts) > 1 else x
    for _ in range(n):
        out = ops.getitem(out, _along(dim, slice(1, None))) - ops.getitem(out, _along(dim, slice(None, -1)))
    return out


def einsum(equation, *operands):
    """A sum of products over named axes: ``einsum("bij,bjk->bik", a, b)`` (operands may come as one list)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return named(_einsum.einsum(equation, *[tensor_of(x) for x in operands]), "EinsumBackward0")


# ---------------------------------------------------------------- reductions
def amax(input, dim=(), keepdim=False):  # noqa: A002
    """The maximum over ``dim`` (all dims by default); ties share the gradient, as PyTorch's amax."""
    x = tensor_of(input)
    return named(ops.max(x, axis=dim if dim != () else None, keepdims=keepdim), "AmaxBackward0")


def amin(input, dim=(), keepdim=False):  # noqa: A002
    x = tensor_of(input)
    return named(ops.min(x, axis=dim if dim != () else None, keepdims=keepdim), "AminBackward0")


def median(input, dim=None, keepdim=False):  # noqa: A002
    """The lower median (of an even count, the smaller middle value, as PyTorch): of all elements, or
    ``(values, indices)`` along ``dim``."""
    x = tensor_of(input)
    if dim is None:
        flat = ops.reshape(x, (-1,))
        if flat.shape[0] == 0:
            raise ShapeError("median: of an empty tensor; it has no middle element")
        ordered = functions.sort(flat, 0)
        return named(ordered.values[(flat.shape[0] - 1) // 2], "MedianBackward0")
    dim %= x.ndim
    ordered = functions.sort(x, dim)
    middle = _along(dim, (x.shape[dim] - 1) // 2)
    values, indices = ordered.values[middle], ordered.indices[middle]
    if keepdim:
        values, indices = ops.expand_dims(values, dim), ops.expand_dims(indices, dim)
    return _median_result(named(values, "MedianBackward1"), indices)


# ---------------------------------------------------------------- adding at indices, and statistics
def index_add(input, dim, index, source, *, alpha=1):  # noqa: A002
    """``input`` with ``alpha · source``'s slices added at ``index`` along ``dim`` (repeats add up)."""
    x = tensor_of(input)
    dim %= x.ndim
    spread = ScatterAdd(_along(dim, x.xp.asarray(_data(index))), False, x.shape)(
        source if alpha == 1 else tensor_of(source) * alpha)
    return named(x + spread, "IndexAddBackward0")


def scatter_add(input, dim, index, src):  # noqa: A002
    """``input`` with ``out[index[i][j]][j] += src[i][j]`` along ``dim`` (PyTorch's scatter_add)."""
    x = tensor_of(input)
    index = x.xp.asarray(_data(index))
    dim %= x.ndim
    corner = tuple(slice(0, n) for n in index.shape)
    picked = ops.getitem(tensor_of(src), corner)  # the part of src the index covers
    spread = ScatterAdd(functions.along(x.xp, index, dim), False, x.shape)(picked)
    return named(x + spread, "ScatterAddBackward0")


def kthvalue(input, k, dim=-1, keepdim=False):  # noqa: A002
    """``(values, indices)`` of the ``k``-th smallest along ``dim`` (k counts from 1)."""
    x = tensor_of(input)
    dim %= x.ndim
    if not 1 <= k <= x.shape[dim]:
        raise ShapeError(f"kthvalue: k must be in 1 … {x.shape[dim]} for dim {dim}, got {k}")
    ordered = functions.sort(x, dim)
    pick = _along(dim, slice(k - 1, k) if keepdim else k - 1)
    return _kth_result(named(ordered.values[pick], "KthvalueBackward0"), ordered.indices[pick])


_kth_result = collections.namedtuple("kthvalue", ["values", "indices"])
