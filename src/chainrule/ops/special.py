"""Special functions: the error function, which the exact GELU needs.

NumPy has no erf; ``math.erf`` is exact to double precision, applied element by element (a slow
loop, but the reference form; a faster kernel can register behind the seam of #19).
"""

import math

from chainrule.autograd.op import Op
from chainrule.backend import DEFAULT_FLOAT
from chainrule.ops.elementwise import exp

_TWO_OVER_ROOT_PI = 2.0 / math.sqrt(math.pi)


class Erf(Op):
    """erf(x) = 2/√π ∫₀ˣ e^(−t²) dt; its derivative is 2/√π · e^(−x²)."""

    def forward(self, a):
        host = a.get() if hasattr(a, "get") else a  # math.erf runs on the host
        values = [math.erf(v) for v in host.ravel().tolist()]
        dtype = a.dtype if a.dtype.kind == "f" else DEFAULT_FLOAT
        return self.xp.asarray(values, dtype=dtype).reshape(a.shape)

    def vjp(self, g):
        x = self.inputs[0]
        return (g * (_TWO_OVER_ROOT_PI * exp(-(x * x))),)

    def jvp(self, da):
        x = self.inputs[0]
        return da * (_TWO_OVER_ROOT_PI * exp(-(x * x)))


def erf(a):
    return Erf()(a)
