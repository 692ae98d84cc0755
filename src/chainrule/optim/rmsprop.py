"""RMSprop: divide the step by a running root-mean-square of the gradient (Hinton's lecture 6e)."""

from chainrule.backend import array_module
from chainrule.errors import ConfigError
from chainrule.optim.optimizer import Optimizer


class RMSprop(Optimizer):
    r"""RMSprop, with PyTorch's keywords and its placement of ε (outside the square root).

    With decay α, learning rate η, gradient g (plus λθ with weight decay)::

        s ← α s + (1 − α) g²                         running mean of the squared gradient
        m ← α m + (1 − α) g,   s̃ = s − m²            (centered: the variance instead)
        δ ← g / (√s + ε)
        b ← μ b + δ,   θ ← θ − η b                    (momentum μ > 0)
        θ ← θ − η δ                                   (μ = 0)

    The update runs in place through one scratch buffer: nine passes over the parameter's memory
    in the plain case, no allocation.

    The default learning rate is Keras's 1e-3, not PyTorch's 1e-2: ``RMSprop()`` without arguments is
    what the Keras-style lecture code writes, and 1e-2 makes the lecture's MNIST MLP diverge at first.

    Args:
        lr: η (default 1e-3). alpha: α (0.99). eps: ε (1e-8). weight_decay: λ. momentum: μ.
        centered: normalise by the gradient's estimated variance rather than its second moment.
    """

    scratch_buffers = 2

    def __init__(self, params=None, lr=1e-3, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                         centered=centered)

    def check_group(self, group):
        super().check_group(group)
        if not 0.0 <= group["alpha"] <= 1.0:
            raise ConfigError(f"RMSprop: alpha must be in [0, 1], got {group['alpha']}")
        if group["momentum"] < 0.0:
            raise ConfigError(f"RMSprop: momentum must be >= 0, got {group['momentum']}")

    def state_arrays(self, group):
        return (("square_avg",) + (("momentum_buffer",) if group["momentum"] > 0.0 else ())
                + (("grad_avg",) if group["centered"] else ()))

    def update(self, p, g, state, group):
        xp = array_module(p)
        alpha, eps = group["alpha"], group["eps"]
        scratch = self.scratch(p, 1)
        g = self.coupled_weight_decay(p, g, group)
        square_avg = state["square_avg"]
        square_avg *= alpha
        xp.multiply(g, g, out=scratch)
        scratch *= 1.0 - alpha
        square_avg += scratch
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            xp.multiply(g, 1.0 - alpha, out=scratch)
            grad_avg += scratch
            xp.multiply(grad_avg, grad_avg, out=scratch)
            xp.subtract(square_avg, scratch, out=scratch)
            xp.sqrt(scratch, out=scratch)
        else:
            xp.sqrt(square_avg, out=scratch)
        scratch += eps
        xp.divide(g, scratch, out=scratch)  # δ = g / (√s + ε)
        if group["momentum"] > 0.0:
            buffer = state["momentum_buffer"]
            buffer *= group["momentum"]
            buffer += scratch
            xp.multiply(buffer, group["lr"], out=scratch)
        else:
            scratch *= group["lr"]
        p -= scratch
