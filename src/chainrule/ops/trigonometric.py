"""The rest of the elementary functions: tan, the inverse trigonometric and the hyperbolic functions,
atan2 and eˣ − 1; each op's forward, reverse rule (vjp) and forward rule (jvp) together.

    tan' = 1 + tan²        asin' = 1/√(1 − x²)      acos' = −1/√(1 − x²)     atan' = 1/(1 + x²)
    sinh' = cosh           cosh' = sinh             expm1' = eˣ
    atan2(y, x): ∂/∂y = x/(x² + y²),  ∂/∂x = −y/(x² + y²)

sin, cos, tanh, exp and log are in ``elementwise.py``.
"""

from chainrule.autograd.op import Op, needs_grad
from chainrule.ops.elementwise import _plus, _promoted, exp, sqrt


class _Unary(Op):
    """A NumPy ufunc forward, in PyTorch's float dtype (an integer input gives the default float)."""

    ufunc = None  # the NumPy function's name

    def forward(self, a):
        return _promoted(getattr(self.xp, self.ufunc)(a), a)

    def vjp(self, g):
        return (g * self.slope(),)

    def jvp(self, da):
        return da * self.slope()


class Tan(_Unary):
    ufunc = "tan"

    def slope(self):
        return 1 + self.output * self.output


class Asin(_Unary):
    ufunc = "arcsin"

    def slope(self):
        x = self.inputs[0]
        return 1 / sqrt(1 - x * x)


class Acos(_Unary):
    ufunc = "arccos"

    def slope(self):
        x = self.inputs[0]
        return -1 / sqrt(1 - x * x)


class Atan(_Unary):
    ufunc = "arctan"

    def slope(self):
        x = self.inputs[0]
        return 1 / (1 + x * x)


class Sinh(_Unary):
    ufunc = "sinh"

    def slope(self):
        return cosh(self.inputs[0])


class Cosh(_Unary):
    ufunc = "cosh"

    def slope(self):
        return sinh(self.inputs[0])


class Expm1(_Unary):
    """eˣ − 1, exact near 0 where exp(x) − 1 loses every digit."""

    ufunc = "expm1"

    def slope(self):
        return exp(self.inputs[0])


class Atan2(Op):
    """The angle of the point (x, y): atan2(y, x), in (−π, π]."""

    def forward(self, y, x):
        return _promoted(self.xp.arctan2(y, x), y, x)

    def _slopes(self):
        y, x = self.inputs
        radius2 = x * x + y * y
        return x / radius2, -y / radius2

    def vjp(self, g):
        slope_y, slope_x = self._slopes()
        y, x = self.inputs
        return (g * slope_y if needs_grad(y) else None), (g * slope_x if needs_grad(x) else None)

    def jvp(self, dy, dx):
        slope_y, slope_x = self._slopes()
        return _plus(None if dy is None else dy * slope_y, None if dx is None else dx * slope_x)


def tan(a):
    return Tan()(a)


def asin(a):
    return Asin()(a)


def acos(a):
    return Acos()(a)


def atan(a):
    return Atan()(a)


def sinh(a):
    return Sinh()(a)


def cosh(a):
    return Cosh()(a)


def expm1(a):
    return Expm1()(a)


def atan2(y, x):
    return Atan2()(y, x)
