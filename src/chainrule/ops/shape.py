"""Primitives that move elements without changing them: reshape, transpose, broadcast, concatenate, pad.

Their derivatives are the same movements run backwards, so each vjp is one line.
"""

import builtins

from chainrule.autograd.names import named
from chainrule.autograd.op import Op, needs_grad
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ShapeError


class Reshape(Op):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, a):
        self.in_shape = a.shape
        try:
            return a.reshape(self.shape)
        except ValueError:
            raise ShapeError(f"reshape: cannot reshape a tensor of shape {a.shape} ({a.size} elements) "
                             f"into {self.shape}") from None

    def vjp(self, g):
        return (reshape(g, self.in_shape),)

    def jvp(self, da):
        return reshape(da, self.output.shape)


class Transpose(Op):
    def __init__(self, axes):
        self.axes = axes

    def forward(self, a):
        if self.axes is None:
            self.axes = tuple(reversed(range(a.ndim)))
        if sorted(ax % builtins.max(a.ndim, 1) for ax in self.axes) != list(range(a.ndim)):
            raise ShapeError(f"transpose: axes {self.axes} are not a permutation of the {a.ndim} axes "
                             f"of a tensor of shape {a.shape}")
        return a.transpose(self.axes)

    def vjp(self, g):
        inverse = [0] * len(self.axes)
        for i, ax in enumerate(self.axes):
            inverse[ax % len(self.axes)] = i
        return (transpose(g, tuple(inverse)),)

    def jvp(self, da):
        return transpose(da, self.axes)


class BroadcastTo(Op):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, a):
        self.in_shape = a.shape
        try:
            return self.xp.broadcast_to(a, self.shape)
        except ValueError:
            raise ShapeError(f"broadcast_to: a tensor of shape {a.shape} does not broadcast to "
                             f"{self.shape}") from None

    def vjp(self, g):
        return (sum_to(g, self.in_shape),)

    def jvp(self, da):
        return broadcast_to(da, self.shape)


class SumTo(Op):
    """Sum a broadcast result back down to ``shape``: the adjoint of broadcasting."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, a):
        self.in_shape = a.shape
        lead = a.ndim - len(self.shape)
        if lead < 0:
            raise ShapeError(f"sum_to: cannot sum shape {a.shape} to the longer shape {self.shape}")
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(self.shape) if n == 1 and a.shape[lead + i] != 1)
        out = a.sum(axis=axes, keepdims=True) if axes else a
        if lead:
            out = out.reshape(out.shape[lead:])
        if out.shape != self.shape:
            raise ShapeError(f"sum_to: shape {a.shape} does not reduce to {self.shape}")
        return out

    def vjp(self, g):
        return (broadcast_to(g, self.in_shape),)

    def jvp(self, da):
        return sum_to(da, self.shape)


class Concatenate(Op):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *arrays):
        shapes = [a.shape for a in arrays]
        try:
            out = self.xp.concatenate(arrays, axis=self.axis)
        except ValueError:
            raise ShapeError(f"concatenate: shapes {shapes} do not fit together along axis "
                             f"{self.axis}") from None
        self.sizes = [a.shape[self.axis] for a in arrays]
        return out

    def _pieces(self, g):
        pieces, start = [], 0
        axis = self.axis % g.ndim
        for size, x in zip(self.sizes, self.inputs):
            index = (slice(None),) * axis + (slice(start, start + size),)
            pieces.append(g[index] if needs_grad(x) else None)
            start += size
        return pieces

    def vjp(self, g):
        return tuple(self._pieces(g))

    def jvp(self, *tangents):
        filled = [t if t is not None else Tensor._from_op(self.xp.zeros_like(x._data))
                  for t, x in zip(tangents, self.inputs)]
        return concatenate(filled, self.axis)


class Pad(Op):
    def __init__(self, pad_width, value):
        self.pad_width, self.value = pad_width, value

    def forward(self, a):
        width = self.xp.broadcast_to(self.xp.asarray(self.pad_width, dtype=int), (a.ndim, 2))
        self.inner = tuple(slice(int(lo), int(lo) + n) for (lo, _), n in zip(width.tolist(), a.shape))
        return self.xp.pad(a, width.tolist(), mode="constant", constant_values=self.value)

    def vjp(self, g):
        return (g[self.inner],)

    def jvp(self, da):
        return pad(da, self.pad_width)


# ---------------------------------------------------------------- the functions users call
def reshape(a, shape):
    if isinstance(shape, int):
        shape = (shape,)
    shape = tuple(shape)
    if a.shape == shape:
        return a
    return Reshape(shape)(a)


def transpose(a, axes=None):
    return Transpose(None if axes is None else tuple(axes))(a)


def swapaxes(a, axis1, axis2):
    axes = list(range(a.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return named(transpose(a, axes), "TransposeBackward0")


def squeeze(a, axis=None):
    if axis is None:
        return named(reshape(a, [n for n in a.shape if n != 1]), "SqueezeBackward0", a)
    axes = (axis,) if isinstance(axis, int) else axis
    axes = [ax % a.ndim for ax in axes]
    for ax in axes:
        if a.shape[ax] != 1:
            raise ShapeError(f"squeeze: axis {ax} of shape {a.shape} has size {a.shape[ax]}, not 1")
    return named(reshape(a, [n for i, n in enumerate(a.shape) if i not in axes]), "SqueezeBackward1", a)


def expand_dims(a, axis):
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    ndim = a.ndim + len(axes)
    axes = sorted(ax % ndim for ax in axes)
    shape = list(a.shape)
    for ax in axes:
        shape.insert(ax, 1)
    return named(reshape(a, shape), "UnsqueezeBackward0", a)


def flatten(a, start_axis=0, end_axis=-1):
    """Merge axes ``start_axis``..``end_axis`` (inclusive) into one, like ``torch.flatten``."""
    if a.ndim == 0:
        return reshape(a, (1,))
    start, end = start_axis % a.ndim, end_axis % a.ndim
    merged = 1
    for n in a.shape[start:end + 1]:
        merged *= n
    return reshape(a, a.shape[:start] + (merged,) + a.shape[end + 1:])


def broadcast_to(a, shape):
    if a.shape == tuple(shape):
        return a
    return BroadcastTo(shape)(a)


def sum_to(a, shape):
    if a.shape == tuple(shape):
        return a
    return SumTo(shape)(a)


def concatenate(tensors, axis=0):
    tensors = list(tensors)
    if not tensors:
        raise ShapeError("concatenate: needs at least one tensor")
    return Concatenate(axis)(*tensors)


def stack(tensors, axis=0):
    tensors = list(tensors)
    if not tensors:
        raise ShapeError("stack: needs at least one tensor")
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise ShapeError(f"stack: all tensors need one shape, got {sorted(shapes)}")
    return named(concatenate([expand_dims(t, axis) for t in tensors], axis), "StackBackward0")


def split(a, indices_or_sections, axis=0):
    """Split into a list of tensors, as ``numpy.split``."""
    from chainrule.ops.index import getitem

    size = a.shape[axis]
    if isinstance(indices_or_sections, int):
        if size % indices_or_sections:
            raise ShapeError(f"split: axis {axis} of size {size} does not split into "
                             f"{indices_or_sections} equal parts")
        step = size // indices_or_sections
        bounds = list(range(0, size + 1, step))
    else:
        bounds = [0, *indices_or_sections, size]
    axis = axis % a.ndim
    return [getitem(a, (slice(None),) * axis + (slice(lo, hi),)) for lo, hi in zip(bounds, bounds[1:])]


def pad(a, pad_width, constant_values=0):
    """Pad with a constant, as ``numpy.pad(mode="constant")``."""
    return Pad(pad_width, constant_values)(a)
