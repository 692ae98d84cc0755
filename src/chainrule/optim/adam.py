"""Adam (with the AMSGrad variant) and AdamW (decoupled weight decay)."""

import math

from chainrule.backend import array_module
from chainrule.errors import ConfigError
from chainrule.optim.optimizer import Optimizer


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, 2015), with PyTorch's keywords; ``amsgrad=True`` for AMSGrad.

    With gradient g (plus λθ with weight decay, coupled as an L2 penalty), step t from 1::

        m ← β₁ m + (1 − β₁) g                first moment
        v ← β₂ v + (1 − β₂) g²               second moment
        v̂ ← max(v̂, v)                        (AMSGrad only; then v̂ replaces v below)
        θ ← θ − η · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)

    Computed as θ −= (η √(1 − β₂ᵗ) / (1 − β₁ᵗ)) · m / (√v + ε √(1 − β₂ᵗ)), the same quantity with
    the bias corrections moved onto scalars: twelve passes over memory, no allocation.

    Args:
        lr: η (1e-3). betas: (β₁, β₂) (0.9, 0.999). eps: ε (1e-8). weight_decay: λ (0).
        amsgrad: keep the running maximum of v.
    """

    scratch_buffers = 2
    decoupled_weight_decay = False

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)

    def check_group(self, group):
        super().check_group(group)
        beta1, beta2 = group["betas"]
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
            raise ConfigError(f"{type(self).__name__}: betas must be in [0, 1), got {group['betas']}")

    def state_arrays(self, group):
        return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if group["amsgrad"] else ("exp_avg", "exp_avg_sq")

    def update(self, p, g, state, group):
        xp = array_module(p)
        lr, eps, decay = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        scratch = self.scratch(p, 1)
        step = state["step"]
        if not self.decoupled_weight_decay:
            g = self.coupled_weight_decay(p, g, group)
        elif decay != 0.0:  # AdamW: θ ← θ (1 − ηλ), apart from the gradient
            p *= 1.0 - lr * decay
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg *= beta1
        xp.multiply(g, 1.0 - beta1, out=scratch)
        exp_avg += scratch
        exp_avg_sq *= beta2
        xp.multiply(g, g, out=scratch)
        scratch *= 1.0 - beta2
        exp_avg_sq += scratch
        if group["amsgrad"]:
            maximum = state["max_exp_avg_sq"]
            xp.maximum(maximum, exp_avg_sq, out=maximum)
            exp_avg_sq = maximum
        root_correction = math.sqrt(1.0 - beta2**step)
        xp.sqrt(exp_avg_sq, out=scratch)
        scratch += eps * root_correction
        xp.divide(exp_avg, scratch, out=scratch)
        scratch *= lr * root_correction / (1.0 - beta1**step)
        p -= scratch


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov and Hutter, 2019)::

        θ ← θ (1 − η λ)          before the Adam step, which sees the plain gradient

    Args: as :class:`Adam`, with ``weight_decay`` λ defaulting to 1e-2.
    """

    decoupled_weight_decay = True

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
