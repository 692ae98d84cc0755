"""Adagrad: a learning rate per coordinate, shrinking with the sum of that coordinate's squared gradients."""

from chainrule.backend import array_module
from chainrule.errors import ConfigError
from chainrule.optim.optimizer import Optimizer


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan and Singer, 2011), with PyTorch's keywords.

    With gradient g (plus λθ with weight decay), step t counted from 1::

        η_t ← η / (1 + (t − 1) · lr_decay)
        G   ← G + g²                       (G starts at ``initial_accumulator_value``)
        θ   ← θ − η_t · g / (√G + ε)

    Args:
        lr: η (1e-2). lr_decay: decay of η with the step. weight_decay: λ. eps: ε (1e-10).
        initial_accumulator_value: the starting value of G.
    """

    scratch_buffers = 2

    def __init__(self, params=None, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10):
        super().__init__(params, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value, eps=eps)

    def check_group(self, group):
        super().check_group(group)
        if group["lr_decay"] < 0.0 or group["initial_accumulator_value"] < 0.0:
            raise ConfigError("Adagrad: lr_decay and initial_accumulator_value must be >= 0, got "
                             f"{group['lr_decay']} and {group['initial_accumulator_value']}")

    def state_arrays(self, group):
        return ("sum",)

    def init_state(self, p, group):
        return {"step": 0, "sum": array_module(p).full_like(p, group["initial_accumulator_value"])}

    def update(self, p, g, state, group):
        xp = array_module(p)
        scratch = self.scratch(p, 1)
        g = self.coupled_weight_decay(p, g, group)
        rate = group["lr"] / (1.0 + (state["step"] - 1) * group["lr_decay"])
        total = state["sum"]
        xp.multiply(g, g, out=scratch)
        total += scratch
        xp.sqrt(total, out=scratch)
        scratch += group["eps"]
        xp.divide(g, scratch, out=scratch)
        scratch *= rate
        p -= scratch
