"""PyTorch's other activations: ELU, SELU, GELU, SiLU, PReLU, Hardtanh, as functions and layers.

Each is composed of the engine's primitives (``where``, ``exp``, ``tanh``, ``erf``, ``clip``), so its
gradients, and gradients of gradients, come from theirs. Defaults are PyTorch's.
"""

import math

import numpy

from chainrule.autograd.names import named
from chainrule.nn.layers.activation import _Activation
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops import activation
from chainrule.ops import elementwise as ew
from chainrule.ops.special import erf

# SELU's constants, from Klambauer et al. (2017), as PyTorch states them
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def elu(x, alpha=1.0, inplace=False):
    """x where x > 0, α(eˣ − 1) elsewhere."""
    if inplace:
        return x._replace_by(lambda v: elu(v, alpha), "elu(inplace=True)")
    negative = ew.exp(ew.minimum(x, 0.0)) - 1.0  # exp of the clipped input: no overflow where x > 0
    return named(ew.where(x._data > 0, x, negative * alpha), "EluBackward0")


def selu(x, inplace=False):
    """scale · elu(x, α) with the self-normalising constants."""
    if inplace:
        return x._replace_by(selu, "selu(inplace=True)")
    return elu(x, SELU_ALPHA) * SELU_SCALE


def gelu(x, approximate="none"):
    """x·Φ(x), Φ the standard normal CDF; ``approximate="tanh"`` is the tanh formula."""
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return named(x * (ew.tanh(inner) + 1.0) * 0.5, "GeluBackward0")
    if approximate != "none":
        raise ValueError(f"gelu: approximate is 'none' or 'tanh', got {approximate!r}")
    return named(x * (erf(x * (1.0 / math.sqrt(2.0))) + 1.0) * 0.5, "GeluBackward0")


def silu(x, inplace=False):
    """x·σ(x) (also called swish)."""
    if inplace:
        return x._replace_by(silu, "silu(inplace=True)")
    return x * activation.sigmoid(x)


def hardtanh(x, min_val=-1.0, max_val=1.0, inplace=False):
    """x clipped to [min_val, max_val]."""
    if inplace:
        return x._replace_by(lambda v: hardtanh(v, min_val, max_val), "hardtanh(inplace=True)")
    return ew.clip(x, min_val, max_val)


def prelu(x, weight):
    """x where x > 0, weight·x elsewhere; one weight, or one per channel (dim 1)."""
    if weight.ndim == 1 and weight.shape[0] > 1 and x.ndim >= 2:
        weight = weight.reshape((1, -1) + (1,) * (x.ndim - 2))
    return ew.where(x._data > 0, x, x * weight)


class ELU(_Activation):
    def __init__(self, alpha=1.0, inplace=False, name=None):
        super().__init__(name)
        self.alpha, self.inplace = float(alpha), bool(inplace)

    def forward(self, x):
        return elu(x, self.alpha, self.inplace)

    def get_config(self):
        return {"alpha": self.alpha, "name": self.name}

    def extra_repr(self):
        return f"alpha={self.alpha}"


class SELU(_Activation):
    def __init__(self, inplace=False, name=None):
        super().__init__(name)
        self.inplace = bool(inplace)

    def forward(self, x):
        return selu(x, self.inplace)


class GELU(_Activation):
    def __init__(self, approximate="none", name=None):
        super().__init__(name)
        self.approximate = approximate

    def forward(self, x):
        return gelu(x, self.approximate)

    def get_config(self):
        return {"approximate": self.approximate, "name": self.name}

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(_Activation):
    def __init__(self, inplace=False, name=None):
        super().__init__(name)
        self.inplace = bool(inplace)

    def forward(self, x):
        return silu(x, self.inplace)


class Hardtanh(_Activation):
    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False, name=None):
        super().__init__(name)
        if max_val <= min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val, self.max_val, self.inplace = float(min_val), float(max_val), bool(inplace)

    def forward(self, x):
        return hardtanh(x, self.min_val, self.max_val, self.inplace)

    def get_config(self):
        return {"min_val": self.min_val, "max_val": self.max_val, "name": self.name}

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class PReLU(Module):
    """LeakyReLU whose slope is learnt: ``num_parameters`` slopes (1, or one per channel), from ``init``."""

    def __init__(self, num_parameters=1, init=0.25):
        super().__init__()
        self.num_parameters, self.init = int(num_parameters), float(init)
        self.weight = Parameter(numpy.full(self.num_parameters, init, numpy.float32))

    def forward(self, x):
        return prelu(x, self.weight)

    def get_config(self):
        return {"num_parameters": self.num_parameters, "init": self.init}

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"
