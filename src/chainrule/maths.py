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
from chainrule.functions import tensor_of
from chainrule.ops import special, trigonometric


def _data(x):
    return x._data if isinstance(x, Tensor) else x


def _flat(array):
    return Tensor._from_op(array)


def _predicate(name):
    """A flat elementwise test of the array module (NumPy's, or CuPy's on a GPU)."""
    def test(input):  # noqa: A002
        x = tensor_of(input)
        return _flat(getattr(x.xp, name)(x._data))
    test.__name__ = test.__qualname__ = name
    test.__doc__ = f"Where the elements pass ``{name}``: a bool tensor."
    return test


def _on_tensor(op, doc=None):
    """``op`` (a function of :mod:`chainrule.ops`) taking PyTorch's arguments: arrays, lists, numbers."""
    def function(input):  # noqa: A002
        return op(tensor_of(input))
    function.__name__ = function.__qualname__ = op.__name__
    function.__doc__ = doc or op.__doc__
    return function


# ---------------------------------------------------------------- differentiable
tan, asin, acos, atan, sinh, cosh = (_on_tensor(op) for op in (
    trigonometric.tan, trigonometric.asin, trigonometric.acos, trigonometric.atan, trigonometric.sinh,
    trigonometric.cosh))
expm1 = _on_tensor(trigonometric.expm1, "eˣ − 1, exact near 0.")
erf = _on_tensor(special.erf)


def atan2(input, other):  # noqa: A002
    """The angle of the point (other, input), in (−π, π]."""
    return trigonometric.atan2(tensor_of(input), other)


arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2  # PyTorch's aliases


def erfc(input):  # noqa: A002
    """1 − erf(x)."""
    return named(1 - erf(input), "ErfcBackward0")


def log2(input):  # noqa: A002
    return named(ops.log(tensor_of(input)) * (1 / math.log(2)), "Log2Backward0")


def log10(input):  # noqa: A002
    return named(ops.log(tensor_of(input)) * (1 / math.log(10)), "Log10Backward0")


def exp2(input):  # noqa: A002
    return named(ops.exp(tensor_of(input) * math.log(2)), "Exp2Backward0")


def square(input):  # noqa: A002
    x = tensor_of(input)
    return named(x * x, "PowBackward0")


def reciprocal(input):  # noqa: A002
    return named(1.0 / tensor_of(input), "ReciprocalBackward0")


def rsqrt(input):  # noqa: A002
    return named(1.0 / ops.sqrt(tensor_of(input)), "RsqrtBackward0")


def lerp(input, end, weight):  # noqa: A002
    """``input + weight · (end − input)``: the straight line from input to end."""
    start = tensor_of(input)
    return named(start + weight * (end - start), "LerpBackward0")


def frac(input):  # noqa: A002
    """The fractional part, ``x − trunc(x)`` (the sign of x); its gradient is 1."""
    x = tensor_of(input)
    return named(x - trunc(x), "FracBackward0")


def fmod(input, other):  # noqa: A002
    """The remainder with the sign of the dividend (C's fmod); ``remainder`` has the divisor's sign."""
    x = tensor_of(input)
    quotient = _flat(x.xp.trunc(x._data / _data(other)).astype(x.dtype, copy=False))
    return named(x - quotient * other, "FmodBackward0")


def remainder(input, other):  # noqa: A002
    """The remainder with the sign of the divisor (Python's ``%``)."""
    return named(tensor_of(input).remainder(other), "RemainderBackward0")


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):  # noqa: A002
    """NaN by ``nan``, ±inf by ``posinf``/``neginf`` (the dtype's largest and smallest by default);
    the gradient flows where the input was finite."""
    x = tensor_of(input)
    finite = x.xp.nan_to_num(x._data, nan=nan, posinf=posinf, neginf=neginf)
    return named(ops.where(x.xp.isfinite(x._data), x, finite), "NanToNumBackward0")


def clamp_min(input, min):  # noqa: A001, A002
    return named(tensor_of(input).clamp(min=min), "ClampMinBackward0")


def clamp_max(input, max):  # noqa: A001, A002
    return named(tensor_of(input).clamp(max=max), "ClampMaxBackward0")


# ---------------------------------------------------------------- flat: rounding and division
def floor(input):  # noqa: A002
    return tensor_of(input).floor()


def ceil(input):  # noqa: A002
    return tensor_of(input).ceil()


def trunc(input):  # noqa: A002
    return tensor_of(input).trunc()


fix = trunc


def round(input, *, decimals=0):  # noqa: A001, A002
    """To the nearest integer (or ``decimals`` places), halves to even, as PyTorch and NumPy."""
    return tensor_of(input).round(decimals=decimals)


def floor_divide(input, other):  # noqa: A002
    return tensor_of(input).floor_divide(other)


def true_divide(input, other):  # noqa: A002
    return ops.div(tensor_of(input), other)


# ---------------------------------------------------------------- flat: predicates and logic
isnan, isinf, isposinf, isneginf, isfinite = (_predicate(name) for name in
                                               ("isnan", "isinf", "isposinf", "isneginf", "isfinite"))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """``|input − other| ≤ atol + rtol·|other|`` elementwise (PyTorch's and NumPy's test)."""
    x = tensor_of(input)
    return _flat(x.xp.isclose(x._data, _data(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """True when every element is close (:func:`isclose`): a Python bool."""
    x = tensor_of(input)
    return bool(x.xp.allclose(x._data, _data(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def logical_not(input):  # noqa: A002
    return tensor_of(input).logical_not()


def logical_and(input, other):  # noqa: A002
    return tensor_of(input).logical_and(other)


def logical_or(input, other):  # noqa: A002
    return tensor_of(input).logical_or(other)


def logical_xor(input, other):  # noqa: A002
    x = tensor_of(input)
    return _flat(x.xp.logical_xor(x._data, _data(other)))


def any(input, dim=None, keepdim=False):  # noqa: A001, A002
    return tensor_of(input).any(dim, keepdim)


def all(input, dim=None, keepdim=False):  # noqa: A001, A002
    return tensor_of(input).all(dim, keepdim)


def addcmul(input, tensor1, tensor2, *, value=1):  # noqa: A002
    """``input + value · tensor1 · tensor2``."""
    return named(tensor_of(input) + tensor_of(tensor1) * tensor2 * value, "AddcmulBackward0")


def addcdiv(input, tensor1, tensor2, *, value=1):  # noqa: A002
    """``input + value · tensor1 / tensor2``."""
    return named(tensor_of(input) + tensor_of(tensor1) / tensor2 * value, "AddcdivBackward0")


def nansum(input, dim=None, keepdim=False):  # noqa: A002
    """The sum with NaNs counted as zero (their gradient is zero)."""
    x = tensor_of(input)
    return named(ops.sum(ops.where(x.xp.isnan(x._data), x.xp.zeros((), x.dtype), x), dim, keepdim),
                 "NansumBackward0")


def nanmean(input, dim=None, keepdim=False):  # noqa: A002
    """The mean of the elements that are not NaN."""
    x = tensor_of(input)
    kept = x.xp.sum(~x.xp.isnan(x._data), axis=dim, keepdims=keepdim).astype(x.dtype)
    return named(nansum(x, dim, keepdim) / kept, "DivBackward0")


def std_mean(input, dim=None, *, correction=1, keepdim=False):  # noqa: A002
    """(standard deviation, mean), the deviation with ``correction`` (1: unbiased, PyTorch's default)."""
    x = tensor_of(input)
    return ops.std(x, dim, correction, keepdim), ops.mean(x, dim, keepdim)


def var_mean(input, dim=None, *, correction=1, keepdim=False):  # noqa: A002
    x = tensor_of(input)
    return ops.var(x, dim, correction, keepdim), ops.mean(x, dim, keepdim)


def count_nonzero(input, dim=None):  # noqa: A002
    """The number of non-zero elements (over ``dim``), an int64 tensor."""
    x = tensor_of(input)
    return _flat(x.xp.asarray(x.xp.count_nonzero(x._data, axis=dim), dtype=x.xp.int64))
