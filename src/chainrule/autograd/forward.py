"""Forward mode: tangents pushed through each op's own ``jvp`` rule as the function runs.

While :func:`jvp` runs ``f``, every tensor may carry a tangent; ``Op.__call__`` computes the output's
tangent from the inputs' tangents as soon as the output exists, so no backward pass is involved.
"""

from chainrule.autograd.mode import forward_mode
from chainrule.autograd.op import Op
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ShapeError


class Alias(Op):
    """The identity; gives the primals fresh tensors to carry tangents, still linked to the graph."""

    def forward(self, a):
        return a.view()

    def vjp(self, g):
        return (g,)

    def jvp(self, da):
        return da


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def jvp(f, primals, tangents):
    """Evaluate ``f(*primals)`` and its directional derivative along ``tangents`` in one pass.

    Returns ``(outputs, output_tangents)`` with the structure of ``f``'s result (a tensor or a
    tuple of tensors).
    """
    primals, tangents = _as_tuple(primals), _as_tuple(tangents)
    if len(primals) != len(tangents):
        raise ShapeError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    carriers = []
    for i, (x, t) in enumerate(zip(primals, tangents)):
        x = x if isinstance(x, Tensor) else Tensor(x)
        t = t if isinstance(t, Tensor) else Tensor(t)
        if t.shape != x.shape:
            raise ShapeError(f"jvp: tangent {i} has shape {t.shape}, its primal {x.shape}")
        carrier = Alias()(x)
        carrier._tangent = t.astype(x.dtype) if t.dtype != x.dtype else t
        carriers.append(carrier)
    with forward_mode():
        result = f(*carriers)
    outputs = _as_tuple(result)
    out_tangents = []
    for out in outputs:
        tangent = out._tangent
        if tangent is None:
            tangent = Tensor._from_op(out._data * 0)
        out_tangents.append(tangent)
    for t in (*carriers, *outputs):
        t._tangent = None
    if isinstance(result, (tuple, list)):
        return tuple(outputs), tuple(out_tangents)
    return result, out_tangents[0]
