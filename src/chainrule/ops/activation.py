"""Activation primitives: sigmoid, softplus, relu and leaky_relu, each op's forward, vjp and jvp together.

Written in their stable forms (sigmoid and softplus finite with finite gradients at ±1000). Convention
at the kink: relu'(0) = 0.
"""

from chainrule.autograd.op import Op
from chainrule.ops.elementwise import _float_of, quiet_overflow


class Sigmoid(Op):
    """σ(x) = 1/(1+e^(−x)), in place in one array: four passes, no select.

    For x → −∞, e^(−x) overflows to inf and 1/(1 + inf) = 0, the right limit; for moderate negative x
    the quotient keeps full relative precision (σ(−20) ≈ 2.06e−9 exactly); only results below the
    smallest normal number (x < −88.7 in float32) come out as 0 instead of subnormal. A select between two
    branches (``where(x >= 0, ...)``) costs ten times the arithmetic on random signs, and e^(−|x|)
    underflowing to subnormals is slow too, so neither is used.
    """

    def forward(self, a):
        xp = self.xp
        out = xp.negative(a, out=xp.empty_like(a, dtype=_float_of(a)))  # out=: a 0-d array stays one
        with quiet_overflow(xp):
            xp.exp(out, out=out)
        out += 1
        return xp.divide(1, out, out=out)

    def vjp(self, g):
        y = self.output
        return (g * (y * (1 - y)),)

    def jvp(self, da):
        y = self.output
        return da * (y * (1 - y))


class Softplus(Op):
    """softplus(x) = log(1 + e^x), computed as logaddexp(0, x): finite at ±1000."""

    def forward(self, a):
        return self.xp.logaddexp(0, a).astype(a.dtype, copy=False)

    def vjp(self, g):
        return (g * sigmoid(self.inputs[0]),)

    def jvp(self, da):
        return da * sigmoid(self.inputs[0])


class Relu(Op):
    """max(x, 0); its derivative at 0 is taken to be 0."""

    def forward(self, a):
        return self.xp.maximum(a, 0)

    def vjp(self, g):
        return (g * (self.inputs[0]._data > 0),)

    def jvp(self, da):
        return da * (self.inputs[0]._data > 0)


class LeakyRelu(Op):
    def __init__(self, slope):
        self.slope = slope

    def forward(self, a):
        self.factor = self.xp.where(a > 0, 1, self.slope).astype(a.dtype)
        return a * self.factor

    def vjp(self, g):
        return (g * self.factor,)

    def jvp(self, da):
        return da * self.factor


# ---------------------------------------------------------------- the functions users call
def sigmoid(a):
    return Sigmoid()(a)


def softplus(a):
    return Softplus()(a)


def relu(a):
    return Relu()(a)


def leaky_relu(a, negative_slope=0.01):
    return LeakyRelu(negative_slope)(a)
