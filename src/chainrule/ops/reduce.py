"""Reductions (sum, prod, max, min, logsumexp), cumsum, and the softmax family, in stable forms.

``softmax``, ``log_softmax`` and ``logsumexp`` subtract the maximum first: they stay finite for
logits of 1e8 and for rows that contain ``-inf``. Where several elements tie for ``max``/``min``,
they share the gradient equally.
"""

import builtins

from chainrule.autograd.names import named
from chainrule.autograd.op import Op
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ShapeError
from chainrule.ops.elementwise import exp, sqrt, where
from chainrule.ops.index import getitem
from chainrule.ops.shape import broadcast_to, reshape


def normalize_axes(axis, ndim, op="reduction"):
    """``axis`` (None, an int or a tuple) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    result = []
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ShapeError(f"{op}: axis {a} is out of range for a tensor of {ndim} dimensions")
        result.append(a % builtins.max(ndim, 1))
    return tuple(sorted(result))


def kept_shape(shape, axes):
    """The shape a reduction over ``axes`` has with keepdims=True."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


_ALL_AXES = [tuple(range(n)) for n in range(8)]


class _Reduction(Op):
    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.in_shape = a.shape
        if self.axis is None:  # the common full reduction, kept cheap: it is on the hot path
            self.axes = _ALL_AXES[a.ndim] if a.ndim < len(_ALL_AXES) else tuple(range(a.ndim))
            self.reduce_axis = None
        else:
            self.axes = normalize_axes(self.axis, a.ndim, self.label)
            # NumPy reduces fastest with axis=None; an explicit tuple only for a partial reduction
            self.reduce_axis = None if len(self.axes) == a.ndim else self.axes
        return self.reduce(a)

    def expand(self, g):
        """A gradient of the reduced shape, reshaped so that it broadcasts over the input."""
        return g if self.keepdims else reshape(g, kept_shape(self.in_shape, self.axes))


class Sum(_Reduction):
    def reduce(self, a):
        return a.sum(axis=self.reduce_axis, keepdims=self.keepdims)

    def vjp(self, g):
        return (broadcast_to(self.expand(g), self.in_shape),)

    def jvp(self, da):
        return sum(da, self.axes, self.keepdims)


class Prod(_Reduction):
    """Π of the elements over axes. ∂/∂aᵢ is the product of the OTHER elements, exact with zeros.

    With P the product of the slice's non-zero elements and Z the sum of its zero elements (0 in
    value, but it carries the derivative with respect to each zero), the product of the others is

        no zero:   P / aᵢ
        one zero:  P at the zero, Z·P / aᵢ elsewhere
        two zeros: (Z − aᵢ)·P at each zero, 0 elsewhere
        more:      0

    Every form is built from Tensor ops, so the rule differentiates again, exactly to second order
    (what gradgradcheck checks) also where elements are zero.
    """

    def reduce(self, a):
        return a.prod(axis=self.reduce_axis, keepdims=self.keepdims)

    def others(self):
        """∂ prod / ∂aᵢ for every element, shaped like the input."""
        a = self.inputs[0]
        zero = a._data == 0
        if not zero.any():
            return self.expand(self.output) / a
        count = zero.sum(axis=self.axes, keepdims=True)
        nonzero = where(zero, 1.0, a)
        product = prod(nonzero, self.axes, keepdims=True)
        zeros = sum(where(zero, a, 0.0), self.axes, keepdims=True)
        at_zero = where(count == 1, product, where(count == 2, (zeros - a) * product, 0.0))
        elsewhere = where(count == 0, product / nonzero, where(count == 1, zeros * product / nonzero, 0.0))
        return where(zero, at_zero, elsewhere)

    def vjp(self, g):
        return (self.expand(g) * self.others(),)

    def jvp(self, da):
        return sum(da * self.others(), self.axes, self.keepdims)


class CumSum(Op):
    """Running sum along one axis; its vjp is the running sum of g taken from the end (reversed)."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, a):
        self.axis = normalize_axes(self.axis, a.ndim, "cumsum")[0] if a.ndim else 0
        return self.xp.cumsum(a, axis=self.axis) if a.ndim else a.copy()

    def flip(self, t):
        """``t`` reversed along the axis, as a differentiable view."""
        return getitem(t, (slice(None),) * self.axis + (slice(None, None, -1),))

    def vjp(self, g):
        if g.ndim == 0:
            return (g,)
        return (self.flip(cumsum(self.flip(g), self.axis)),)

    def jvp(self, da):
        return cumsum(da, self.axis)


class _Extreme(_Reduction):
    """max or min over axes; tied elements share the gradient equally."""

    def reduce(self, a):
        if a.size == 0:
            raise ShapeError(f"{self.label} of an empty tensor of shape {a.shape}")
        kept = self.pick(a, axis=self.axes, keepdims=True)
        hits = a == kept
        self.share = hits / hits.sum(axis=self.axes, keepdims=True).astype(a.dtype)
        return kept if self.keepdims else kept.reshape([n for i, n in enumerate(a.shape)
                                                        if i not in self.axes])

    def vjp(self, g):
        return (self.expand(g) * self.share,)

    def jvp(self, da):
        return sum(da * self.share, self.axes, self.keepdims)


class Max(_Extreme):
    def pick(self, a, **kwargs):
        return a.max(**kwargs)


class Min(_Extreme):
    def pick(self, a, **kwargs):
        return a.min(**kwargs)


def _shift(xp, a, axes):
    """The stop-gradient shift of the stable forms: the max, or 0 where the max is not finite."""
    shift = a.max(axis=axes, keepdims=True)
    return xp.where(xp.isfinite(shift), shift, 0).astype(a.dtype, copy=False)


class LogSumExp(_Reduction):
    """log Σ exp(x), shifted by the max."""

    def reduce(self, a):
        xp = self.xp
        shift = _shift(xp, a, self.axes)
        total = xp.exp(a - shift).sum(axis=self.axes, keepdims=True)
        # all -inf: the sum is 0 and the answer is -inf, without log(0)'s warning
        out = xp.where(total > 0, xp.log(xp.where(total > 0, total, 1)), -xp.inf).astype(a.dtype) + shift
        return out if self.keepdims else out.reshape([n for i, n in enumerate(a.shape)
                                                      if i not in self.axes])

    def weights(self):
        """softmax of the input over the reduced axes, as a differentiable tensor."""
        return exp(self.inputs[0] - self.expand(self.output))

    def vjp(self, g):
        return (self.expand(g) * self.weights(),)

    def jvp(self, da):
        return sum(da * self.weights(), self.axes, self.keepdims)


class Softmax(Op):
    """exp(x − max) / Σ exp(x − max) along one axis."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, a):
        xp = self.xp
        e = xp.exp(a - _shift(xp, a, self.axis))
        e /= e.sum(axis=self.axis, keepdims=True)
        return e

    def vjp(self, g):
        y = self.output
        return (y * (g - sum(g * y, self.axis, keepdims=True)),)

    def jvp(self, da):
        y = self.output
        return y * (da - sum(da * y, self.axis, keepdims=True))


class LogSoftmax(Op):
    """x − max − log Σ exp(x − max) along one axis."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, a):
        xp = self.xp
        shifted = a - _shift(xp, a, self.axis)
        shifted -= xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))
        return shifted

    def vjp(self, g):
        return (g - exp(self.output) * sum(g, self.axis, keepdims=True),)

    def jvp(self, da):
        return da - sum(exp(self.output) * da, self.axis, keepdims=True)


# ---------------------------------------------------------------- the functions users call
def sum(a, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    out = Sum(axis, keepdims)(a)
    return out if axis is None else named(out, "SumBackward1")


def max(a, axis=None, keepdims=False):  # noqa: A001
    out = Max(axis, keepdims)(a)
    return out if axis is None else named(out, "MaxBackward0")


def min(a, axis=None, keepdims=False):  # noqa: A001
    out = Min(axis, keepdims)(a)
    return out if axis is None else named(out, "MinBackward0")


def prod(a, axis=None, keepdims=False):
    """The product over ``axis`` (all axes by default); see :class:`Prod` for the gradient at zeros."""
    return Prod(axis, keepdims)(a)


def cumsum(a, axis=None):
    """The running sum along ``axis``; ``axis=None`` runs over the flattened input (NumPy's rule)."""
    if axis is None:
        return CumSum(0)(reshape(a, (-1,)))
    return CumSum(axis)(a)


def logsumexp(a, axis=None, keepdims=False):
    return LogSumExp(axis, keepdims)(a)


def softmax(a, axis=-1):
    return Softmax(axis)(a)


def log_softmax(a, axis=-1):
    return LogSoftmax(axis)(a)


def _count(shape, axis):
    n = 1
    for i in normalize_axes(axis, len(shape)):
        n *= shape[i]
    return n


def mean(a, axis=None, keepdims=False):
    n = _count(a.shape, axis)
    out = sum(a, axis, keepdims) * (1.0 / n if n else float("nan"))
    return named(out, "MeanBackward0" if axis is None else "MeanBackward1")


def var(a, axis=None, ddof=0, keepdims=False):
    """Mean squared deviation from the mean; ``ddof=1`` gives the unbiased estimate."""
    n = _count(a.shape, axis)
    deviation = a - mean(a, axis, keepdims=True)
    scale = 1.0 / (n - ddof) if n > ddof else float("nan")
    return named(sum(deviation * deviation, axis, keepdims) * scale, "VarBackward0")


def std(a, axis=None, ddof=0, keepdims=False):
    return named(sqrt(var(a, axis, ddof, keepdims)), "StdBackward0")


def argmax(a, axis=None, keepdims=False):
    data = a._data if isinstance(a, Tensor) else a
    return Tensor._from_op(data.argmax(axis=axis, keepdims=keepdims))


def argmin(a, axis=None, keepdims=False):
    data = a._data if isinstance(a, Tensor) else a
    return Tensor._from_op(data.argmin(axis=axis, keepdims=keepdims))
