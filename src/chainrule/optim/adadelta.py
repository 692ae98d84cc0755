"""Adadelta: steps in the units of the parameter, from running averages of squared gradients and steps."""

from chainrule.backend import array_module
from chainrule.errors import ConfigError
from chainrule.optim.optimizer import Optimizer


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), with PyTorch's keywords and defaults.

    With decay ρ and gradient g (plus λθ with weight decay)::

        E[g²]  ← ρ E[g²] + (1 − ρ) g²
        Δθ     ← √(E[Δθ²] + ε) / √(E[g²] + ε) · g
        E[Δθ²] ← ρ E[Δθ²] + (1 − ρ) Δθ²
        θ      ← θ − η Δθ

    Args:
        lr: η, a scale on the step (1.0). rho: ρ (0.9). eps: ε (1e-6). weight_decay: λ.
    """

    scratch_buffers = 3

    def __init__(self, params=None, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
        super().__init__(params, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)

    def check_group(self, group):
        super().check_group(group)
        if not 0.0 <= group["rho"] <= 1.0:
            raise ConfigError(f"Adadelta: rho must be in [0, 1], got {group['rho']}")

    def state_arrays(self, group):
        return ("square_avg", "acc_delta")

    def update(self, p, g, state, group):
        xp = array_module(p)
        rho, eps = group["rho"], group["eps"]
        work, delta = self.scratch(p, 1), self.scratch(p, 2)
        g = self.coupled_weight_decay(p, g, group)
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        xp.multiply(g, g, out=work)
        work *= 1.0 - rho
        square_avg += work
        xp.add(square_avg, eps, out=work)
        xp.sqrt(work, out=work)                 # √(E[g²] + ε)
        xp.add(acc_delta, eps, out=delta)
        xp.sqrt(delta, out=delta)
        delta /= work
        delta *= g                              # Δθ
        acc_delta *= rho
        xp.multiply(delta, delta, out=work)
        work *= 1.0 - rho
        acc_delta += work
        delta *= group["lr"]
        p -= delta
