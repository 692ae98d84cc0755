"""Weight penalties to add to a loss: ``loss = criterion(y, t) + lam * l2_penalty(model.parameters())``.

    l2_penalty(θ) = ½·Σ θ²      ∂/∂θ = θ
    l1_penalty(θ) = Σ |θ|        ∂/∂θ = sign(θ)   (0 at θ = 0)

The ½ in the L2 penalty makes its gradient θ itself, so ``lam * l2_penalty(params)`` adds exactly
``lam·θ`` to each gradient: the same update as an optimiser's ``weight_decay=lam`` (PyTorch's coupled
L2), and the form of the lecture's regularised error E + (λ/2)‖w‖².
"""

from chainrule.autograd.tensor import Tensor
from chainrule.ops import elementwise, reduce


def _tensors(params):
    if isinstance(params, Tensor):
        return [params]
    tensors = list(params)
    if not tensors:
        raise ValueError("penalty of no parameters: pass model.parameters() or a list of tensors")
    return tensors


def _summed(params, term):
    """Σ over the tensors in ``params`` of the sum of ``term(p)``."""
    total = None
    for p in _tensors(params):
        value = reduce.sum(term(p))
        total = value if total is None else total + value
    return total


def l2_penalty(params):
    """½·Σ θ² over every tensor in ``params``; its gradient is θ."""
    return _summed(params, lambda p: p * p) * 0.5


def l1_penalty(params):
    """Σ |θ| over every tensor in ``params``; its gradient is sign(θ)."""
    return _summed(params, elementwise.abs)
