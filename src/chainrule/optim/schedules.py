"""Learning-rate schedules: functions of the step t = 0, 1, 2, ... that return the learning rate.

A schedule is any callable ``t -> lr`` (STYLE habit 7), so ``lambda t: 0.1 / (1 + t / 100)`` is one;
the functions here build the usual ones, and compose (``linear_warmup`` wraps a schedule, ``join``
chains them). ``Scheduler`` drives an optimiser's learning rate from a schedule, and
``ReduceLROnPlateau`` lowers it when a monitored metric stops improving (PyTorch's semantics).

>>> from chainrule.optim import schedules
>>> s = schedules.linear_warmup(schedules.exponential(0.1, gamma=0.5), warmup_steps=2)
>>> [round(s(t), 4) for t in range(5)]
[0.0, 0.05, 0.1, 0.05, 0.025]
"""

import bisect
import math


def constant(lr):
    """ηₜ = η₀."""
    return lambda t: float(lr)


def step(lr, step_size, gamma=0.1):
    """ηₜ = η₀ · γ^⌊t / step_size⌋ (PyTorch's StepLR)."""
    if step_size < 1:
        raise ValueError(f"schedules.step: step_size must be >= 1, got {step_size}")
    return lambda t: lr * gamma ** (t // step_size)


def multi_step(lr, milestones, gamma=0.1):
    """ηₜ = η₀ · γ^(number of milestones ≤ t) (PyTorch's MultiStepLR)."""
    milestones = sorted(milestones)
    return lambda t: lr * gamma ** bisect.bisect_right(milestones, t)


def exponential(lr, gamma):
    """ηₜ = η₀ · γᵗ."""
    return lambda t: lr * gamma**t


def inverse_time(lr, tau):
    """ηₜ = η₀ / (1 + t/τ): Σηₜ = ∞ and Σηₜ² < ∞, the Robbins–Monro conditions for SGD to converge."""
    if tau <= 0:
        raise ValueError(f"schedules.inverse_time: tau must be > 0, got {tau}")
    return lambda t: lr / (1.0 + t / tau)


def cosine(lr, t_max, lr_min=0.0):
    """ηₜ = η_min + ½(η₀ − η_min)(1 + cos(π t / T)) for t ≤ T, then η_min (cosine annealing)."""
    if t_max <= 0:
        raise ValueError(f"schedules.cosine: t_max must be > 0, got {t_max}")
    return lambda t: lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * min(t, t_max) / t_max))


def linear_warmup(schedule, warmup_steps, start=0.0):
    """Rise linearly from ``start`` to ``schedule(0)`` over ``warmup_steps`` steps, then follow
    ``schedule`` (shifted, so it starts afresh at t = warmup_steps)."""
    if warmup_steps < 0:
        raise ValueError(f"schedules.linear_warmup: warmup_steps must be >= 0, got {warmup_steps}")
    peak = schedule(0)

    def warmed_up(t):
        if t < warmup_steps:
            return start + (peak - start) * t / warmup_steps
        return schedule(t - warmup_steps)

    return warmed_up


def join(schedules, boundaries):
    """Follow ``schedules[i]`` between ``boundaries[i-1]`` and ``boundaries[i]``, each one restarted at
    its boundary (t − boundary), as Optax's ``join_schedules``."""
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(f"schedules.join: {len(schedules)} schedules need {len(schedules) - 1} "
                         f"boundaries, got {len(boundaries)}")
    starts = [0, *boundaries]

    def joined(t):
        i = bisect.bisect_right(boundaries, t)
        return schedules[i](t - starts[i])

    return joined


class Scheduler:
    """Set an optimiser's learning rate from a schedule: ``schedule(0)`` now, ``schedule(t)`` after the
    t-th call of :meth:`step` (call it once per epoch, or per batch, as the schedule is meant).

    With several parameter groups, the first group gets ``schedule(t)`` and every other group keeps
    its ratio to the first.
    """

    def __init__(self, optimizer, schedule):
        if not optimizer.param_groups:
            raise ValueError("Scheduler: the optimiser has no parameters yet: bind() it first")
        self.optimizer = optimizer
        self.schedule = schedule
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.t = 0
        self._apply()

    def step(self):
        self.t += 1
        self._apply()

    def _apply(self):
        lr = float(self.schedule(self.t))
        first = self.base_lrs[0]
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = lr if first == 0.0 else lr * base / first

    def get_last_lr(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        return {"t": self.t, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state):
        self.t, self.base_lrs = int(state["t"]), list(state["base_lrs"])
        self._apply()


class ReduceLROnPlateau:
    """Multiply the learning rate by ``factor`` when a metric has not improved for ``patience`` calls.

    ``step(metric)`` once per epoch. Improvement means, for ``mode="min"`` with
    ``threshold_mode="rel"``, metric < best·(1 − threshold) (``"abs"``: metric < best − threshold;
    ``"max"`` mirrors both). After a reduction, ``cooldown`` calls pass before bad epochs count again;
    the rate never goes below ``min_lr`` (a number, or one per group), and changes smaller than ``eps``
    are skipped. These are PyTorch's semantics.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1, got {factor}")
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: mode is 'min' or 'max' and threshold_mode 'rel' or "
                             f"'abs', got {mode!r} and {threshold_mode!r}")
        self.optimizer = optimizer
        groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != groups:
                raise ValueError(f"ReduceLROnPlateau: {groups} parameter groups, {len(min_lr)} min_lr values")
            self.min_lrs = [float(v) for v in min_lr]
        else:
            self.min_lrs = [float(min_lr)] * groups
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0

    def is_better(self, value):
        sign = 1.0 if self.mode == "max" else -1.0  # the direction of improvement
        if self.threshold_mode == "rel":
            bar = self.best * (1.0 + sign * self.threshold)
        else:
            bar = self.best + sign * self.threshold
        return value > bar if self.mode == "max" else value < bar

    def step(self, metric):
        value = float(metric)
        self.last_epoch += 1
        if self.is_better(value):
            self.best = value
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

    def _reduce(self):
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old = group["lr"]
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new

    def get_last_lr(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    _SAVED = ("best", "num_bad_epochs", "cooldown_counter", "last_epoch")

    def state_dict(self):
        return {key: getattr(self, key) for key in self._SAVED}

    def load_state_dict(self, state):
        for key in self._SAVED:
            setattr(self, key, state[key])
