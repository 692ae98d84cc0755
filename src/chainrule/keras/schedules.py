"""``keras.optimizers.schedules``: learning rates that follow the step count, with Keras 3's formulas.

A schedule given as ``learning_rate=`` is called with the number of steps already taken (0 for the
first update), as Keras calls it with ``optimizer.iterations``::

    ExponentialDecay        η₀ · rate^(t / steps)            (staircase: ⌊t / steps⌋)
    InverseTimeDecay        η₀ / (1 + rate · t / steps)      (staircase: ⌊t / steps⌋)
    PiecewiseConstantDecay  values[i] for boundaries[i−1] < t ≤ boundaries[i]
    CosineDecay             η₀ · ((1 − α) · ½(1 + cos(π · min(t, steps) / steps)) + α), after an optional
                            linear warmup from η₀ to warmup_target over warmup_steps
"""

import bisect
import math

from chainrule.errors import ConfigError


class LearningRateSchedule:
    """Base class: ``schedule(step)`` is the rate; ``get_config()`` its arguments (saved with a model)."""

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        return dict(self._config)


class _Decay(LearningRateSchedule):
    """The arguments ExponentialDecay and InverseTimeDecay share, checked once."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        if decay_steps <= 0:
            raise ConfigError(f"{type(self).__name__}: decay_steps must be positive, got {decay_steps}")
        self._config = {"initial_learning_rate": float(initial_learning_rate), "decay_steps": decay_steps,
                        "decay_rate": float(decay_rate), "staircase": bool(staircase)}


class ExponentialDecay(_Decay):
    def __call__(self, step):
        c = self._config
        power = step / c["decay_steps"]
        power = math.floor(power) if c["staircase"] else power
        return c["initial_learning_rate"] * c["decay_rate"] ** power


class InverseTimeDecay(_Decay):
    def __call__(self, step):
        c = self._config
        ratio = step / c["decay_steps"]
        return c["initial_learning_rate"] / (1.0 + c["decay_rate"] * (math.floor(ratio) if c["staircase"]
                                                                        else ratio))


class PiecewiseConstantDecay(LearningRateSchedule):
    def __init__(self, boundaries, values, name=None):
        if len(values) != len(boundaries) + 1:
            raise ConfigError(f"PiecewiseConstantDecay: needs one value more than boundaries, got "
                              f"{len(boundaries)} boundaries and {len(values)} values")
        self._config = {"boundaries": list(boundaries), "values": [float(v) for v in values]}

    def __call__(self, step):
        return self._config["values"][bisect.bisect_left(self._config["boundaries"], step)]


class CosineDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name=None, warmup_target=None,
                 warmup_steps=0):
        if decay_steps <= 0:
            raise ConfigError(f"CosineDecay: decay_steps must be positive, got {decay_steps}")
        self._config = {"initial_learning_rate": float(initial_learning_rate), "decay_steps": decay_steps,
                        "alpha": float(alpha), "warmup_target": warmup_target, "warmup_steps": warmup_steps}

    def __call__(self, step):
        c = self._config
        start = c["initial_learning_rate"]
        if c["warmup_target"] is not None:
            if step < c["warmup_steps"]:
                return start + (c["warmup_target"] - start) * step / c["warmup_steps"]
            start, step = c["warmup_target"], step - c["warmup_steps"]
        cosine = 0.5 * (1.0 + math.cos(math.pi * min(step, c["decay_steps"]) / c["decay_steps"]))
        return start * ((1.0 - c["alpha"]) * cosine + c["alpha"])


SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay,
                                           CosineDecay)}


def serialize(schedule):
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(entry):
    """A schedule from :func:`serialize`'s ``{"class_name", "config"}`` (the four above only)."""
    cls = SCHEDULES.get(entry.get("class_name")) if isinstance(entry, dict) else None
    if cls is None or not isinstance(entry.get("config"), dict):
        raise ConfigError(f"unknown learning-rate schedule {entry!r:.80}; known: {', '.join(SCHEDULES)}")
    return cls(**entry["config"])
