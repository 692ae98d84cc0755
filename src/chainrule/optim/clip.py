"""Gradient clipping: rescale the gradients when their joint norm is too large, or clamp each entry."""

import math

from chainrule.autograd.tensor import Tensor
from chainrule.backend import array_module


def _with_grad(params):
    params = [params] if isinstance(params, Tensor) else list(params)
    return [p for p in params if p.grad is not None]


def clip_grad_norm_(params, max_norm, norm_type=2.0):
    r"""Scale all gradients by min(1, max_norm / (‖g‖ + 1e-6)), ‖g‖ the norm of all of them joined.

    ``norm_type`` is p of the p-norm (``math.inf`` for the largest magnitude). Returns ‖g‖ before
    clipping, as a Python float. The gradients are replaced by new arrays rather than scaled in
    place, because the engine may share one gradient array between parameters.
    """
    params = _with_grad(params)
    if not params:
        return 0.0
    norm_type = float(norm_type)
    norms = []
    for p in params:
        g = p.grad._data
        xp = array_module(g)
        if norm_type == math.inf:
            norms.append(float(xp.abs(g).max()) if g.size else 0.0)
        elif norm_type == 2.0:
            flat = g.ravel()
            norms.append(math.sqrt(float(flat @ flat)))
        else:
            norms.append(float((xp.abs(g) ** norm_type).sum()) ** (1.0 / norm_type))
    if norm_type == math.inf:
        total = max(norms)
    else:
        total = sum(n**norm_type for n in norms) ** (1.0 / norm_type)
    coefficient = max_norm / (total + 1e-6)
    if coefficient < 1.0:
        for p in params:
            p.grad = Tensor._from_op(p.grad._data * coefficient)
    return total


def clip_grad_value_(params, clip_value):
    """Clamp every gradient entry to [−clip_value, clip_value] (new arrays, for the reason above)."""
    clip_value = float(clip_value)
    for p in _with_grad(params):
        g = p.grad._data
        p.grad = Tensor._from_op(array_module(g).clip(g, -clip_value, clip_value))
