"""PyTorch's other elementwise maths at the top level: ``torch.erf``, ``torch.floor``, ``torch.isnan``,
``torch.allclose``, ``torch.lerp`` and their company. The Tensor methods of the same names call these.

Differentiable ones are ops (their rules in :mod:`chainrule.ops.trigonometric` and
:mod:`chainrule.ops.special`) or short compositions of ops (``log2(x) = ln x / ln 2``), and their graph
nodes carry PyTorch's names. Rounding, the predicates and logic are flat: tensors outside the graph,
as PyTorch's zero or absent gradient.
"""

import math

from chainrule import ops
from chainrule.autograd.names import named
from chainrule.autograd.tensor import Tensor
from chainrule.ops import special, trigonometric


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _data(x):
    return x._data if isinstance(x, Tensor) else x


def _flat(array):
    return Tensor._from_op(array)


def _predicate(name):
    """A flat elementwise test of the array module (NumPy's, or CuPy's on a GPU)."""
    def test(input):  # noqa: A002
        x = _tensor(input)
        return _flat(getattr(x.xp, name)(x._data))
    test.__name__ = test.__qualname__ = name
    test.__doc__ = f"Where the elements pass ``{name}``: a bool tensor."
    return test


# ---------------------------------------------------------------- differentiable
def tan(input):  # noqa: A002 - PyTorch's names
    return trigonometric.tan(_tensor(input))


def asin(input):  # noqa: A002
    return trigonometric.asin(_tensor(input))


def acos(input):  # noqa: A002
    return trigonometric.acos(_tensor(input))


def atan(input):  # noqa: A002
    return trigonometric.atan(_tensor(input))


def atan2(input, other):  # noqa: A002
    """The angle of the point (other, input), in (−π, π]."""
    return trigonometric.atan2(_tensor(input), other)


def sinh(input):  # noqa: A002
    return trigonometric.sinh(_tensor(input))


def cosh(input):  # noqa: A002
    return trigonometric.cosh(_tensor(input))


def expm1(input):  # noqa: A002
    """eˣ − 1, exact near 0."""
    return trigonometric.expm1(_tensor(input))


arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2  # PyTorch's aliases


def erf(input):  # noqa: A002
    return special.erf(_tensor(input))


def erfc(input):  # noqa: A002
    """1 − erf(x)."""
    return named(1 - erf(input), "ErfcBackward0")


def log2(input):  # noqa: A002
    return named(ops.log(_tensor(input)) * (1 / math.log(2)), "Log2Backward0")


def log10(input):  # noqa: A002
    return named(ops.log(_tensor(input)) * (1 / math.log(10)), "Log10Backward0")


def exp2(input):  # noqa: A002
    return named(ops.exp(_tensor(input) * math.log(2)), "Exp2Backward0")


def square(input):  # noqa: A002
    x = _tensor(input)
    return named(x * x, "PowBackward0")


def reciprocal(input):  # noqa: A002
    return named(1.0 / _tensor(input), "ReciprocalBackward0")


def rsqrt(input):  # noqa: A002
    return named(1.0 / ops.sqrt(_tensor(input)), "RsqrtBackward0")


def lerp(input, end, weight):  # noqa: A002
    """``input + weight · (end − input)``: the straight line from input to end."""
    start = _tensor(input)
    return named(start + weight * (end - start), "LerpBackward0")


def frac(input):  # noqa: A002
    """The fractional part, ``x − trunc(x)`` (the sign of x); its gradient is 1."""
    x = _tensor(input)
    return named(x - trunc(x), "FracBackward0")


def fmod(input, other):  # noqa: A002
    """The remainder with the sign of the dividend (C's fmod); ``remainder`` has the divisor's sign."""
    x = _tensor(input)
    quotient = _flat(x.xp.trunc(x._data / _data(other)).astype(x.dtype, copy=False))
    return named(x - quotient * other, "FmodBackward0")


def remainder(input, other):  # noqa: A002
    """The remainder with the sign of the divisor (Python's ``%``)."""
    return named(_tensor(input).remainder(other), "RemainderBackward0")


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):  # noqa: A002
    """NaN by ``nan``, ±inf by ``posinf``/``neginf`` (the dtype's largest and smallest by default);
    the gradient flows where the input was finite."""
    x = _tensor(input)
    finite = x.xp.nan_to_num(x._data, nan=nan, posinf=posinf, neginf=neginf)
    return named(ops.where(x.xp.isfinite(x._data), x, finite), "NanToNumBackward0")


def clamp_min(input, min):  # noqa: A001, A002
    return named(_tensor(input).clamp(min=min), "ClampMinBackward0")


def clamp_max(input, max):  # noqa: A001, A002
    return named(_tensor(input).clamp(max=max), "ClampMaxBackward0")


# ---------------------------------------------------------------- flat: rounding and division
def floor(input):  # noqa: A002
    return _tensor(input).floor()


def ceil(input):  # noqa: A002
    return _tensor(input).ceil()


def trunc(input):  # noqa: A002
    return _tensor(input).trunc()


fix = trunc


def round(input, *, decimals=0):  # noqa: A001, A002
    """To the nearest integer (or ``decimals`` places), halves to even, as PyTorch and NumPy."""
    return _tensor(input).round(decimals=decimals)


def floor_divide(input, other):  # noqa: A002
    return _tensor(input).floor_divide(other)


def true_divide(input, other):  # noqa: A002
    return ops.div(_tensor(input), other)


# ---------------------------------------------------------------- flat: predicates and logic
isnan, isinf, isposinf, isneginf, isfinite = (_predicate(name) for name in
                                               ("isnan", "isinf", "isposinf", "isneginf", "isfinite"))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """``|input − other| ≤ atol + rtol·|other|`` elementwise (PyTorch's and NumPy's test)."""
    x = _tensor(input)
    return _flat(x.xp.isclose(x._data, _data(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """True when every element is close (:func:`isclose`): a Python bool."""
    x = _tensor(input)
    return bool(x.xp.allclose(x._data, _data(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def logical_not(input):  # noqa: A002
    return _tensor(input).logical_not()


def logical_and(input, other):  # noqa: A002
    return _tensor(input).logical_and(other)


def logical_or(input, other):  # noqa: A002
    return _tensor(input).logical_or(other)


def logical_xor(input, other):  # noqa: A002
    x = _tensor(input)
    return _flat(x.xp.logical_xor(x._data, _data(other)))


def any(input, dim=None, keepdim=False):  # noqa: A001, A002
    return _tensor(input).any(dim, keepdim)


def all(input, dim=None, keepdim=False):  # noqa: A001, A002
    return _tensor(input).all(dim, keepdim)


def addcmul(input, tensor1, tensor2, *, value=1):  # noqa: A002
    """``input + value · tensor1 · tensor2``."""
    return named(_tensor(input) + _tensor(tensor1) * tensor2 * value, "AddcmulBackward0")


def addcdiv(input, tensor1, tensor2, *, value=1):  # noqa: A002
    """``input + value · tensor1 / tensor2``."""
    return named(_tensor(input) + _tensor(tensor1) / tensor2 * value, "AddcdivBackward0")


def nansum(input, dim=None, keepdim=False):  # noqa: A002
    """The sum with NaNs counted as zero (their gradient is zero)."""
    x = _tensor(input)
    return named(ops.sum(ops.where(x.xp.isnan(x._data), x.xp.zeros((), x.dtype), x), dim, keepdim),
                 "NansumBackward0")


def nanmean(input, dim=None, keepdim=False):  # noqa: A002
    """The mean of the elements that are not NaN."""
    x = _tensor(input)
    kept = x.xp.sum(~x.xp.isnan(x._data), axis=dim, keepdims=keepdim).astype(x.dtype)
    return named(nansum(x, dim, keepdim) / kept, "DivBackward0")


def std_mean(input, dim=None, *, correction=1, keepdim=False):  # noqa: A002
    """(standard deviation, mean), the deviation with ``correction`` (1: unbiased, PyTorch's default)."""
    x = _tensor(input)
    return ops.std(x, dim, correction, keepdim), ops.mean(x, dim, keepdim)


def var_mean(input, dim=None, *, correction=1, keepdim=False):  # noqa: A002
    x = _tensor(input)
    return ops.var(x, dim, correction, keepdim), ops.mean(x, dim, keepdim)


def count_nonzero(input, dim=None):  # noqa: A002
    """The number of non-zero elements (over ``dim``), an int64 tensor."""
    x = _tensor(input)
    return _flat(x.xp.asarray(x.xp.count_nonzero(x._data, axis=dim), dtype=x.xp.int64))
