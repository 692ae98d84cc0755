"""Elementwise primitives: each op's forward, reverse rule (vjp) and forward rule (jvp) together.

Broadcasting is NumPy's; the engine sums gradients back to each input's shape. The activations
(sigmoid, softplus, relu, leaky_relu) are in ``activation.py``. Conventions at kinks: abs'(0) = 0,
and where ``maximum``/``minimum`` tie, each input gets half the gradient.
"""

import contextlib

from chainrule.autograd.op import Op, needs_grad
from chainrule.autograd.tensor import Tensor
from chainrule.backend import DEFAULT_FLOAT, array_module, asarray, is_floating

_FLOAT64 = asarray(0.0, dtype="float64").dtype  # the float64 dtype (a singleton: compared by identity)


def quiet_overflow(xp):
    """Silence overflow warnings where inf is the intended result (NumPy; a no-op elsewhere)."""
    errstate = getattr(xp, "errstate", None)
    return errstate(over="ignore") if errstate is not None else contextlib.nullcontext()


def _float_of(a):
    """The dtype a transcendental of ``a`` computes in: its own if floating, else the default float."""
    dtype = getattr(a, "dtype", None)
    return dtype if dtype is not None and is_floating(dtype) else DEFAULT_FLOAT


def _promoted(result, *inputs):
    """``result`` in PyTorch's float dtype where NumPy's rules gave float64 without a float64 input.

    NumPy computes int + Python float, int / int, int32 + float32 and exp(int) in float64; PyTorch
    gives the widest floating input's dtype, or the default float (float32) when no input is a
    floating array. Results that are not float64 (the float32 hot path) pass with one identity test.
    """
    if result.dtype is not _FLOAT64:  # NumPy's float64 dtype is a singleton
        return result
    widest = None
    for x in inputs:
        dtype = getattr(x, "dtype", None)
        if dtype is not None and dtype.kind == "f":
            if dtype == _FLOAT64:
                return result  # a float64 input: float64 is right
            widest = dtype if widest is None or dtype.itemsize > widest.itemsize else widest
    return result.astype(DEFAULT_FLOAT if widest is None else widest)


def _plus(a, b):
    """a + b where either may be None (a zero tangent)."""
    if a is None:
        return b
    return a if b is None else a + b


class Add(Op):
    def forward(self, a, b):
        out = a + b
        return out if out.dtype is not _FLOAT64 else _promoted(out, a, b)

    def vjp(self, g):
        return g, g

    def jvp(self, da, db):
        return _plus(da, db)


class Sub(Op):
    def forward(self, a, b):
        out = a - b
        return out if out.dtype is not _FLOAT64 else _promoted(out, a, b)

    def vjp(self, g):
        return g, (-g if needs_grad(self.inputs[1]) else None)

    def jvp(self, da, db):
        return da if db is None else (-db if da is None else da - db)


class Mul(Op):
    def forward(self, a, b):
        out = a * b
        return out if out.dtype is not _FLOAT64 else _promoted(out, a, b)

    def vjp(self, g):
        a, b = self.inputs
        return g * b if needs_grad(a) else None, g * a if needs_grad(b) else None

    def jvp(self, da, db):
        a, b = self.inputs
        return _plus(None if da is None else da * b, None if db is None else a * db)


class Div(Op):
    def forward(self, a, b):
        out = a / b  # int / int is true division, in the default float (by _promoted)
        return out if out.dtype is not _FLOAT64 else _promoted(out, a, b)

    def vjp(self, g):
        a, b = self.inputs
        grad_a = g / b
        return (grad_a if needs_grad(a) else None), (-grad_a * self.output if needs_grad(b) else None)

    def jvp(self, da, db):
        b = self.inputs[1]
        return _plus(None if da is None else da / b, None if db is None else -db * self.output / b)


class Pow(Op):
    def forward(self, a, b):
        return _promoted(a ** b, a, b)

    def vjp(self, g):
        a, b = self.inputs
        grad_a = g * b * a ** (b - 1) if needs_grad(a) else None
        grad_b = g * self.output * log(a) if needs_grad(b) else None
        return grad_a, grad_b

    def jvp(self, da, db):
        a, b = self.inputs
        return _plus(None if da is None else da * b * a ** (b - 1),
                     None if db is None else db * self.output * log(a))


class Neg(Op):
    def forward(self, a):
        return -a

    def vjp(self, g):
        return (-g,)

    def jvp(self, da):
        return -da


class Abs(Op):
    def forward(self, a):
        return self.xp.abs(a)

    def vjp(self, g):
        return (g * self.xp.sign(self.inputs[0]._data),)

    def jvp(self, da):
        return da * self.xp.sign(self.inputs[0]._data)


class Exp(Op):
    def forward(self, a):
        out = self.xp.exp(a)
        return out if out.dtype is not _FLOAT64 else _promoted(out, a)

    def vjp(self, g):
        return (g * self.output,)

    def jvp(self, da):
        return da * self.output


class Log(Op):
    def forward(self, a):
        out = self.xp.log(a)
        return out if out.dtype is not _FLOAT64 else _promoted(out, a)

    def vjp(self, g):
        return (g / self.inputs[0],)

    def jvp(self, da):
        return da / self.inputs[0]


class Log1p(Op):
    def forward(self, a):
        out = self.xp.log1p(a)
        return out if out.dtype is not _FLOAT64 else _promoted(out, a)

    def vjp(self, g):
        return (g / (1 + self.inputs[0]),)

    def jvp(self, da):
        return da / (1 + self.inputs[0])


class Sqrt(Op):
    def forward(self, a):
        out = self.xp.sqrt(a)
        return out if out.dtype is not _FLOAT64 else _promoted(out, a)

    def vjp(self, g):
        return (g * 0.5 / self.output,)

    def jvp(self, da):
        return da * 0.5 / self.output


class Sin(Op):
    def forward(self, a):
        out = self.xp.sin(a)
        return out if out.dtype is not _FLOAT64 else _promoted(out, a)

    def vjp(self, g):
        return (g * cos(self.inputs[0]),)

    def jvp(self, da):
        return da * cos(self.inputs[0])


class Cos(Op):
    def forward(self, a):
        out = self.xp.cos(a)
        return out if out.dtype is not _FLOAT64 else _promoted(out, a)

    def vjp(self, g):
        return (-g * sin(self.inputs[0]),)

    def jvp(self, da):
        return -da * sin(self.inputs[0])


class Tanh(Op):
    def forward(self, a):
        out = self.xp.tanh(a)
        return out if out.dtype is not _FLOAT64 else _promoted(out, a)

    def vjp(self, g):
        return (g * (1 - self.output * self.output),)

    def jvp(self, da):
        return da * (1 - self.output * self.output)


class _Extremum(Op):
    """Elementwise maximum or minimum; ties send half of the gradient to each side."""

    def forward(self, a, b):
        xp = self.xp
        out = _promoted(self.choose(a, b), a, b)
        share = xp.where(a == b, 0.5, 1.0).astype(out.dtype)
        self.share_a = xp.where(out == a, share, 0).astype(out.dtype)
        self.share_b = xp.where(out == b, share, 0).astype(out.dtype)
        return out

    def vjp(self, g):
        a, b = self.inputs
        return (g * self.share_a if needs_grad(a) else None), (g * self.share_b if needs_grad(b) else None)

    def jvp(self, da, db):
        return _plus(None if da is None else da * self.share_a,
                     None if db is None else db * self.share_b)


class Maximum(_Extremum):
    def choose(self, a, b):
        return self.xp.maximum(a, b)


class Minimum(_Extremum):
    def choose(self, a, b):
        return self.xp.minimum(a, b)


class Clip(Op):
    """Clamp to [low, high]; the gradient passes where low <= x <= high."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, a):
        xp = self.xp
        inside = xp.ones(a.shape, dtype=bool)
        if self.low is not None:
            inside &= a >= self.low
        if self.high is not None:
            inside &= a <= self.high
        self.inside = inside
        return xp.clip(a, self.low, self.high)

    def vjp(self, g):
        return (g * self.inside,)

    def jvp(self, da):
        return da * self.inside


class Where(Op):
    """``condition ? a : b`` elementwise; the condition gets no gradient."""

    def forward(self, condition, a, b):
        self.condition = condition
        return _promoted(self.xp.where(condition, a, b), a, b)

    def vjp(self, g):
        zero = self.xp.zeros((), dtype=g.dtype)
        _, a, b = self.inputs
        return (None, where(self.condition, g, zero) if needs_grad(a) else None,
                where(self.condition, zero, g) if needs_grad(b) else None)

    def jvp(self, dcondition, da, db):
        zero = self.xp.zeros((), dtype=self.output.dtype)
        return where(self.condition, zero if da is None else da, zero if db is None else db)


class Clone(Op):
    """A copy of the data that stays in the graph (PyTorch's ``clone``): the gradient passes through."""

    def forward(self, a):
        return a.copy()

    def vjp(self, g):
        return (g,)

    def jvp(self, da):
        return da


class Cast(Op):
    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, a):
        self.source = a.dtype
        return a.astype(self.dtype)

    def vjp(self, g):
        return (g.astype(self.source),)

    def jvp(self, da):
        return da.astype(self.dtype)


# ---------------------------------------------------------------- the functions users call
def add(a, b):
    return Add()(a, b)


def sub(a, b):
    return Sub()(a, b)


def mul(a, b):
    return Mul()(a, b)


def div(a, b):
    return Div()(a, b)


def pow(a, b):  # noqa: A001 - NumPy's name
    if not isinstance(a, Tensor):  # 2 ** x: the base must be an array of x's dtype for log(a)
        a = Tensor._from_op(array_module(b._data).asarray(a, dtype=b.dtype))
    return Pow()(a, b)


def neg(a):
    return Neg()(a)


def abs(a):  # noqa: A001
    return Abs()(a)


def exp(a):
    return Exp()(a)


def log(a):
    return Log()(a)


def log1p(a):
    return Log1p()(a)


def sqrt(a):
    return Sqrt()(a)


def sin(a):
    return Sin()(a)


def cos(a):
    return Cos()(a)


def tanh(a):
    return Tanh()(a)


def maximum(a, b):
    return Maximum()(a, b)


def minimum(a, b):
    return Minimum()(a, b)


def clip(a, a_min=None, a_max=None):
    return Clip(a_min, a_max)(a)


def where(condition, a, b):
    condition = condition._data if isinstance(condition, Tensor) else condition
    return Where()(condition, a, b)


def clone(a):
    """A differentiable copy of ``a``: new memory, same values, gradient passed through unchanged."""
    return Clone()(a)


def astype(a, dtype):
    if not is_floating(dtype) or not is_floating(a.dtype):
        return Tensor._from_op(a._data.astype(dtype))  # integer results carry no gradient
    return Cast(dtype)(a)
