"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay; and plain ``GD``."""

from chainrule.backend import array_module
from chainrule.errors import ConfigError
from chainrule.optim.optimizer import Optimizer


class SGD(Optimizer):
    r"""Stochastic gradient descent (PyTorch's ``torch.optim.SGD`` rule and keywords).

    With gradient :math:`g_t`, learning rate :math:`\eta`, momentum :math:`\mu`, dampening
    :math:`\tau` and weight decay :math:`\lambda` (an L2 penalty ½λ‖θ‖² added to the loss)::

        g  ← g + λ θ
        v  ← g                       at the first step
        v  ← μ v + (1 − τ) g         afterwards
        d  ← g + μ v   (Nesterov)    or   d ← v   (classical momentum)   or   d ← g   (μ = 0)
        θ  ← θ − η d

    In place, through one scratch buffer: four passes over memory with momentum, two without.

    Args:
        params: tensors or parameter groups (or None, then :meth:`bind` later).
        lr: learning rate η. momentum: μ. dampening: τ. weight_decay: λ.
        nesterov: look ahead along the velocity (needs momentum > 0 and dampening 0).

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = cr.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> (w * w).sum().backward(); opt.step()
    >>> w.tolist()
    [0.800000011920929, -1.600000023841858]
    """

    def __init__(self, params=None, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                         nesterov=nesterov)

    def check_group(self, group):
        super().check_group(group)
        if group["momentum"] < 0.0:
            raise ConfigError(f"{type(self).__name__}: momentum must be >= 0, got {group['momentum']}")
        if group["nesterov"] and (group["momentum"] <= 0.0 or group["dampening"] != 0.0):
            raise ConfigError(f"{type(self).__name__}: nesterov needs momentum > 0 and dampening 0, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")

    def state_arrays(self, group):
        return ("momentum_buffer",) if group["momentum"] != 0.0 else ()

    def update(self, p, g, state, group):
        xp = array_module(p)
        lr, momentum = group["lr"], group["momentum"]
        scratch = self.scratch(p)
        g = self.coupled_weight_decay(p, g, group)  # g + λθ, in the scratch buffer when λ ≠ 0
        if momentum == 0.0:
            _descend(xp, p, g, lr, scratch)
            return
        velocity = state["momentum_buffer"]
        if state["step"] == 1:
            xp.copyto(velocity, g)
        else:
            velocity *= momentum
            if group["dampening"] == 0.0:
                velocity += g
            else:
                xp.multiply(g, 1.0 - group["dampening"], out=scratch)
                velocity += scratch
        if group["nesterov"]:  # θ −= η g, then θ −= η μ v: the same as θ −= η (g + μ v)
            _descend(xp, p, g, lr, scratch)
            _descend(xp, p, velocity, lr * momentum, scratch)
        else:
            _descend(xp, p, velocity, lr, scratch)


def _descend(xp, p, direction, lr, scratch):
    """θ −= lr · direction, through the scratch buffer (which may already hold ``direction``)."""
    if direction is scratch:
        scratch *= lr
    else:
        xp.multiply(direction, lr, out=scratch)
    p -= scratch


class GD(SGD):
    r"""Plain gradient descent, θ ← θ − η (g + λθ): ``SGD`` without momentum, named for the course.

    >>> import chainrule as cr
    >>> w = cr.tensor([3.0], requires_grad=True)
    >>> opt = cr.optim.GD([w], lr=0.25)
    >>> (w * w).sum().backward(); opt.step()
    >>> w.tolist()
    [1.5]
    """

    def __init__(self, params=None, lr=1e-3, weight_decay=0.0):
        Optimizer.__init__(self, params, lr=lr, momentum=0.0, dampening=0.0, weight_decay=weight_decay,
                           nesterov=False)

    def get_config(self):
        return {"lr": self.defaults["lr"], "weight_decay": self.defaults["weight_decay"]}
