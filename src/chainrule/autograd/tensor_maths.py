"""The Tensor's maths methods with PyTorch's names: products, powers, comparisons, rounding, logic.

Differentiable ones go through the ops; rounding (``floor``, ``ceil``, ``sign``), integer division
and the logical operators are flat or not differentiable, so they return tensors outside the graph,
as PyTorch's zero or absent gradient.
"""

import collections

F = None  # chainrule.functions and chainrule.ops, bound by tensor.py once the ops exist
ops = None

_topk_result = collections.namedtuple("topk", ["values", "indices"])


def _data(value):
    return value._data if isinstance(value, TorchMaths) else value


class TorchMaths:
    """Mixed into Tensor (through ``TorchMethods``)."""

    __slots__ = ()

    def mm(self, other):
        return F.mm(self, other)

    def bmm(self, other):
        return F.bmm(self, other)

    def matmul(self, other):
        return ops.matmul(self, other)

    def pow(self, exponent):
        return ops.pow(self, exponent)

    def clamp(self, min=None, max=None):  # noqa: A002
        """Clip to [min, max]; a bound may be a tensor (elementwise bounds, as PyTorch's)."""
        if isinstance(min, TorchMaths) or isinstance(max, TorchMaths):
            out = self if min is None else ops.maximum(self, min)
            return out if max is None else ops.minimum(out, max)
        return ops.clip(self, min, max)

    clip = clamp

    def sign(self):
        return F.sign(self)

    def neg(self):
        return ops.neg(self)

    def add(self, other, alpha=1):
        return ops.add(self, other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        return ops.sub(self, other if alpha == 1 else other * alpha)

    def mul(self, other):
        return ops.mul(self, other)

    def div(self, other, *, rounding_mode=None):
        """True division; ``rounding_mode="floor"`` or ``"trunc"`` rounds the quotient (no gradient)."""
        if rounding_mode is None:
            return ops.div(self, other)
        if rounding_mode == "floor":
            return self.floor_divide(other)
        if rounding_mode == "trunc":
            quotient = self.xp.trunc(self._data / _data(other))
            return self._flat(quotient.astype(self.dtype) if self.dtype.kind in "iu" else quotient)
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def equal(self, other):
        """True when both have one shape and equal elements (a Python bool)."""
        return self.shape == other.shape and bool((self._data == other._data).all())

    def sin(self):
        return ops.sin(self)

    def cos(self):
        return ops.cos(self)

    def log1p(self):
        return ops.log1p(self)

    def softplus(self):
        return ops.softplus(self)

    def reciprocal(self):
        return ops.div(1.0, self)

    def square(self):
        return ops.mul(self, self)

    def rsqrt(self):
        return ops.div(1.0, ops.sqrt(self))

    def _flat(self, result):
        return type(self)._from_op(result)

    def floor(self):
        """Round down; flat, so no gradient flows (PyTorch's zero gradient)."""
        return self._flat(self.xp.floor(self._data))

    def ceil(self):
        return self._flat(self.xp.ceil(self._data))

    def trunc(self):
        return self._flat(self.xp.trunc(self._data))

    def floor_divide(self, other):
        """``self // other``, rounded down (PyTorch's and Python's rule); not differentiable."""
        return self._flat(self.xp.floor_divide(self._data, _data(other)))

    __floordiv__ = floor_divide

    def __rfloordiv__(self, other):
        return self._flat(self.xp.floor_divide(_data(other), self._data))

    def remainder(self, other):
        """``self % other`` with the sign of ``other`` (Python's rule); the gradient to self is 1."""
        quotient = self.xp.floor_divide(self._data, _data(other))
        return ops.sub(self, ops.mul(type(self)._from_op(quotient), other))

    __mod__ = remainder

    # logical and bitwise operators: on bool tensors the logical ones, on integers bitwise
    def __and__(self, other):
        return self._flat(self._data & _data(other))

    __rand__ = __and__

    def __or__(self, other):
        return self._flat(self._data | _data(other))

    __ror__ = __or__

    def __xor__(self, other):
        return self._flat(self._data ^ _data(other))

    __rxor__ = __xor__

    def __invert__(self):
        return self._flat(~self._data)

    def logical_not(self):
        return self._flat(self.xp.logical_not(self._data))

    def logical_and(self, other):
        return self._flat(self.xp.logical_and(self._data, _data(other)))

    def logical_or(self, other):
        return self._flat(self.xp.logical_or(self._data, _data(other)))

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - PyTorch's keyword
        """The ``k`` largest (or smallest) along ``dim``: ``(values, indices)``; values carry the gradient."""
        ordered = F.sort(self, dim, descending=largest)
        dim = dim % self.ndim
        window = (slice(None),) * dim + (slice(0, k),)
        return _topk_result(ordered.values[window], ordered.indices[window])
