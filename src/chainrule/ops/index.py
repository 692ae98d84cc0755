"""Indexing: ``x[index]`` with basic and advanced indices, and its adjoint, a scatter-add.

The gradient of an indexing scatters back into a zero tensor of the input's shape; indices that
repeat (``x[[0, 0, 1]]``) accumulate, which is why the adjoint adds instead of assigning.
"""

from chainrule.autograd.names import named
from chainrule.autograd.op import Op
from chainrule.autograd.tensor import Tensor
from chainrule.errors import DTypeError, ShapeError

_BASIC = (int, slice, type(None), type(Ellipsis))


def _normalize(index):
    """Tensors in an index become arrays; tells whether the index is basic (no arrays in it)."""
    parts = index if isinstance(index, tuple) else (index,)
    parts = tuple(p._data if isinstance(p, Tensor) else p for p in parts)
    for part in parts:
        kind = getattr(getattr(part, "dtype", None), "kind", "i")
        if kind not in "iub":  # NumPy says IndexError; a float index is a dtype mistake
            raise DTypeError(f"getitem: index arrays must hold integers or booleans, got {part.dtype}: "
                             f"convert them with .astype('int64')")
    basic = all(isinstance(p, _BASIC) for p in parts)
    return (parts if isinstance(index, tuple) else parts[0]), basic


def _describe(index):
    """The index for an error message: arrays by dtype and shape (a large mask would flood it)."""
    parts = index if isinstance(index, tuple) else (index,)
    text = ", ".join(f"<{p.dtype} array of shape {p.shape}>" if hasattr(p, "shape") else repr(p)
                     for p in parts)
    return f"[{text}]"


class GetItem(Op):
    def __init__(self, index, basic):
        self.index, self.basic = index, basic

    def forward(self, a):
        self.in_shape = a.shape
        try:
            return a[self.index]
        except IndexError as error:
            raise ShapeError(f"getitem: index {_describe(self.index)} does not fit shape {a.shape}: "
                             f"{error}") from None

    def vjp(self, g):
        return (ScatterAdd(self.index, self.basic, self.in_shape)(g),)

    def jvp(self, da):
        return GetItem(self.index, self.basic)(da)


class ScatterAdd(Op):
    """Zeros of ``shape`` with ``values`` added at ``index``: the adjoint of ``GetItem``."""

    def __init__(self, index, basic, shape):
        self.index, self.basic, self.shape = index, basic, shape

    def forward(self, values):
        out = self.xp.zeros(self.shape, dtype=values.dtype)
        if self.basic:  # a basic index never repeats an element: plain assignment is exact
            out[self.index] = values
        else:
            self.xp.add.at(out, self.index, values)
        return out

    def vjp(self, g):
        return (GetItem(self.index, self.basic)(g),)

    def jvp(self, dvalues):
        return ScatterAdd(self.index, self.basic, self.shape)(dvalues)


class Scatter(Op):
    """x with ``values`` written at ``index`` (an index tuple of arrays): PyTorch's ``scatter``. Where
    the index repeats a position the last write wins (PyTorch leaves it unspecified); the gradient
    is PyTorch's: g with the written positions zeroed for x, g read at them for the values."""

    def __init__(self, index):
        self.index = index

    def forward(self, x, values):
        out = x.copy()
        out[self.index] = values
        return out

    def vjp(self, g):
        values = self.inputs[1]
        return (Scatter(self.index)(g, Tensor(self.xp.zeros(values.shape, g.dtype))),
                GetItem(self.index, False)(g))

    def jvp(self, dx, dvalues):
        x, values = self.inputs
        dx = Tensor(self.xp.zeros(x.shape, x.dtype)) if dx is None else dx
        dvalues = Tensor(self.xp.zeros(values.shape, values.dtype)) if dvalues is None else dvalues
        return Scatter(self.index)(dx, dvalues)


def getitem(a, index):
    out = GetItem(*_normalize(index))(a)
    return named(out, _pytorch_name(index)) if out._node is not None else out


def _pytorch_name(index):
    """PyTorch's node for an index: ``x[0]`` and ``x[:, 0]`` select, ``x[1:]`` slices, the rest index."""
    parts = index if isinstance(index, tuple) else (index,)
    if any(isinstance(p, int) and not isinstance(p, bool) for p in parts):
        return "SelectBackward0"
    if all(isinstance(p, slice) or p is None or p is Ellipsis for p in parts):
        return "SliceBackward0"
    return "IndexBackward0"


def take(a, indices, axis=None):
    """Elements at ``indices`` along ``axis`` (of the flattened tensor when axis is None)."""
    from chainrule.ops.shape import reshape

    indices = indices._data if isinstance(indices, Tensor) else indices
    if axis is None:
        return getitem(reshape(a, (-1,)), indices)
    axis = axis % a.ndim
    return getitem(a, (slice(None),) * axis + (indices,))


def one_hot(indices, num_classes, dtype=None):
    """Rows of the identity: ``one_hot([2, 0], 3)`` is ``[[0, 0, 1], [1, 0, 0]]`` (float32)."""
    from chainrule.backend import DEFAULT_FLOAT, array_module, asarray

    labels = indices._data if isinstance(indices, Tensor) else asarray(indices)
    xp = array_module(labels)
    whole_floats = labels.dtype.kind == "f" and bool((labels == xp.round(labels)).all())
    if labels.dtype.kind not in "iu" and not whole_floats:
        raise DTypeError(f"one_hot: labels must be integers (or whole-valued floats), got {labels.dtype}"
                         f"{' with fractions' if labels.dtype.kind == 'f' else ''}: class labels index "
                         "the rows of the identity")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ShapeError(f"one_hot: labels must lie in [0, {num_classes}), got values from "
                         f"{labels.min()} to {labels.max()}")
    eye = xp.eye(num_classes, dtype=dtype or DEFAULT_FLOAT)
    return Tensor._from_op(eye[labels.astype(int)])
