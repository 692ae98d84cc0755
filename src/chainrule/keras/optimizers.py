"""``keras.optimizers``: Keras 3's optimisers, with its keywords, defaults and update formulas.

They differ from ``chainrule.optim`` (PyTorch's) on purpose, as Keras's do from PyTorch's: ε sits
inside the square root for RMSprop, Adagrad and Adadelta; Adam adds ε to √v without bias correction
and folds both corrections into the step size; ``weight_decay`` is decoupled for every optimiser,
θ ← θ − η·λ·θ before the update (Keras's ``_apply_weight_decay``). With gradient g and rate η::

    SGD       m ← μm − ηg;  θ ← θ + m  (nesterov: θ ← θ + μm − ηg);  μ = 0: θ ← θ − ηg
    RMSprop   v ← ρv + (1−ρ)g²;  (centered: a ← ρa + (1−ρ)g, v̂ = v − a²)
              Δ = ηg / √(v̂ + ε);  θ ← θ − Δ  (momentum: m ← μm + Δ; θ ← θ − m)
    Adam      m ← m + (1−β₁)(g − m);  v ← v + (1−β₂)(g² − v)  (amsgrad: v̂ ← max(v̂, v))
              θ ← θ − η √(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε)
    AdamW     Adam with weight_decay 0.004 by default
    Adagrad   a ← a + g² (a starts at 0.1);  θ ← θ − ηg / √(a + ε)
    Adadelta  a ← ρa + (1−ρ)g²;  Δ = −√(d + ε)/√(a + ε)·g;  d ← ρd + (1−ρ)Δ²;  θ ← θ + ηΔ

They are ``chainrule.optim.Optimizer`` subclasses (the group key stays ``"lr"``, so the callbacks
that change the rate work), built without parameters and bound by ``compile``.
"""

import numpy

from chainrule.autograd.tensor import Tensor
from chainrule.errors import ConfigError
from chainrule.keras import schedules
from chainrule.optim.optimizer import Optimizer


class KerasOptimizer(Optimizer):
    """Keras's constructor keywords over the engine's loop; ``learning_rate`` reads and sets the rate."""

    keywords = ()  # Keras's keyword -> the group key, in constructor order

    def __init__(self, learning_rate, weight_decay=None, name=None, **settings):
        if settings.pop("use_ema", None) not in (None, False):
            raise ConfigError(f"{type(self).__name__}: use_ema is not supported here")
        clipping = {key: settings.pop(key, None) for key in ("clipnorm", "clipvalue", "global_clipnorm")}
        given = [key for key, value in clipping.items() if value is not None]
        if len(given) > 1:
            raise ConfigError(f"{type(self).__name__}: only one of clipnorm, clipvalue and global_clipnorm "
                              f"can be set, got {', '.join(given)}")
        for key, value in clipping.items():
            if value is not None and not value > 0:
                raise ConfigError(f"{type(self).__name__}: {key} must be a positive number, got {value!r}")
        self.clipnorm, self.clipvalue, self.global_clipnorm = (
            None if value is None else float(value) for value in clipping.values())
        for ignored in ("ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
                        "gradient_accumulation_steps", "jit_compile"):
            settings.pop(ignored, None)
        if settings:
            raise ConfigError(f"{type(self).__name__}: unknown arguments {sorted(settings)}")
        self.name = name or type(self).__name__.lower()
        if isinstance(learning_rate, dict):  # a schedule, as get_config saves it
            learning_rate = schedules.deserialize(learning_rate)
        self.schedule = learning_rate if isinstance(learning_rate, schedules.LearningRateSchedule) else None
        initial = learning_rate(0) if self.schedule is not None else learning_rate
        super().__init__(None, lr=float(initial), decoupled_decay=float(weight_decay or 0.0), **self.settings)

    @property
    def learning_rate(self):
        return self.lr

    @learning_rate.setter
    def learning_rate(self, value):
        self.lr = value
        for group in self.param_groups:
            group["lr"] = float(value)

    def __getattr__(self, name):
        """Keras's hyperparameters as attributes: ``Adam().beta_1``, ``RMSprop().rho``, ..."""
        settings = self.__dict__.get("settings") or {}
        if name in settings:
            return self.defaults.get(name, settings[name])
        if name == "weight_decay" and "defaults" in self.__dict__:
            return self.defaults["decoupled_decay"] or None
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def step(self, closure=None):
        """Keras's gradient clipping first (``clipnorm`` per weight, ``global_clipnorm`` over all,
        ``clipvalue`` elementwise), then the update."""
        if self.clipnorm or self.clipvalue or self.global_clipnorm:
            self._clip_gradients()
        if self.schedule is not None:  # Keras calls it with the steps taken so far (0 at the first)
            self.learning_rate = self.schedule(self.iterations)
        return super().step(closure)

    def apply(self, grads, trainable_variables=None):
        """Keras's ``optimizer.apply(grads, variables)``: one update of ``variables`` (bound at the first
        call; afterwards the bound ones by default) with ``grads``, the others left alone."""
        bound = [p for group in self.param_groups for p in group["params"]]
        variables = bound if trainable_variables is None else list(trainable_variables)
        if not bound:
            self.bind(variables)
            bound = variables
        known = {id(p) for p in bound}
        if any(id(v) not in known for v in variables) or len(grads) != len(variables):
            raise ConfigError(f"{type(self).__name__}.apply: expects one gradient per variable, for the "
                              f"{len(bound)} variables it was first applied to; got {len(grads)} gradients "
                              f"for {len(variables)} variables; hint: one optimizer per set of weights (a "
                              "GAN's generator and discriminator each have their own)")
        chosen = {id(v) for v in variables}
        others = [(p, p.grad) for p in bound if id(p) not in chosen]
        for p, _ in others:
            p.grad = None
        for variable, grad in zip(variables, grads):
            variable.grad = None if grad is None else grad if isinstance(grad, Tensor) else Tensor(grad)
        try:
            self.step()
        finally:
            for p, grad in others:
                p.grad = grad

    def apply_gradients(self, grads_and_vars):
        """Keras's ``apply_gradients(zip(grads, variables))``."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def _clip_gradients(self):
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        if self.clipvalue:
            for g in grads:
                g._data = g._data.clip(-self.clipvalue, self.clipvalue)
            return
        norms = [float((g._data.astype("float64") ** 2).sum()) ** 0.5 for g in grads]
        if self.global_clipnorm:  # g · c / max(‖all‖, c): every gradient scaled alike
            total = sum(n * n for n in norms) ** 0.5
            norms = [total] * len(grads)
        limit = self.clipnorm or self.global_clipnorm
        for g, norm in zip(grads, norms):
            if norm > limit:
                g._data = g._data * (limit / norm)

    @property
    def iterations(self):
        """The number of steps taken (of the first parameter that has stepped)."""
        return max((state["step"] for state in self.state.values()), default=0)

    def get_config(self):
        config = {"learning_rate": self.defaults["lr"] if self.schedule is None else
                  schedules.serialize(self.schedule),
                  "weight_decay": self.defaults["decoupled_decay"] or None}
        config.update({keyword: self.defaults[keyword] for keyword in self.settings})
        config.update({key: getattr(self, key) for key in ("clipnorm", "clipvalue", "global_clipnorm")
                       if getattr(self, key) is not None})
        return config

    def update(self, p, g, state, group):
        decay = group["decoupled_decay"]
        if decay:
            p -= (group["lr"] * decay) * p
        self.rule(p, g.astype(p.dtype, copy=False), state, group)


class SGD(KerasOptimizer):
    """``keras.optimizers.SGD(learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None)``."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, name=None, **kw):
        if not 0.0 <= momentum <= 1.0:
            raise ConfigError(f"SGD: momentum must be a float in [0, 1], got {momentum}")
        self.settings = {"momentum": float(momentum), "nesterov": bool(nesterov)}
        super().__init__(learning_rate, weight_decay, name, **kw)

    def state_arrays(self, group):
        return ("momentum_buffer",) if group["momentum"] else ()

    def rule(self, p, g, state, group):
        lr, mu = group["lr"], group["momentum"]
        if not mu:
            p -= lr * g
            return
        m = state["momentum_buffer"]
        m *= mu
        m -= lr * g
        p += (mu * m - lr * g) if group["nesterov"] else m


class RMSprop(KerasOptimizer):
    """``keras.optimizers.RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
    centered=False)``."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, name=None, **kw):
        self.settings = {"rho": float(rho), "momentum": float(momentum), "epsilon": float(epsilon),
                         "centered": bool(centered)}
        super().__init__(learning_rate, weight_decay, name, **kw)

    def state_arrays(self, group):
        return ("velocity",) + (("momentum",) if group["momentum"] else ()) + \
            (("average_gradient",) if group["centered"] else ())

    def rule(self, p, g, state, group):
        rho, velocity = group["rho"], state["velocity"]
        velocity *= rho
        velocity += (1.0 - rho) * g * g
        denominator = velocity + group["epsilon"]
        if group["centered"]:
            average = state["average_gradient"]
            average *= rho
            average += (1.0 - rho) * g
            denominator -= average * average
        increment = group["lr"] * g / numpy.sqrt(denominator)
        if group["momentum"]:
            m = state["momentum"]
            m *= group["momentum"]
            m += increment
            p -= m
        else:
            p -= increment


class Adam(KerasOptimizer):
    """``keras.optimizers.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
    amsgrad=False)``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, name=None, **kw):
        self.settings = {"beta_1": float(beta_1), "beta_2": float(beta_2), "epsilon": float(epsilon),
                         "amsgrad": bool(amsgrad)}
        super().__init__(learning_rate, weight_decay, name, **kw)

    def state_arrays(self, group):
        return ("momentum", "velocity") + (("velocity_hat",) if group["amsgrad"] else ())

    def rule(self, p, g, state, group):
        b1, b2, t = group["beta_1"], group["beta_2"], state["step"]
        alpha = group["lr"] * numpy.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
        m, v = state["momentum"], state["velocity"]
        m += (1.0 - b1) * (g - m)
        v += (1.0 - b2) * (g * g - v)
        if group["amsgrad"]:
            numpy.maximum(state["velocity_hat"], v, out=state["velocity_hat"])
            v = state["velocity_hat"]
        p -= (alpha * m) / (numpy.sqrt(v) + group["epsilon"])


class AdamW(Adam):
    """``keras.optimizers.AdamW(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
    epsilon=1e-7)``."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name=None, **kw):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, name, **kw)


class Adagrad(KerasOptimizer):
    """``keras.optimizers.Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7)``."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None,
                 name=None, **kw):
        self.settings = {"initial_accumulator_value": float(initial_accumulator_value),
                         "epsilon": float(epsilon)}
        super().__init__(learning_rate, weight_decay, name, **kw)

    def init_state(self, p, group):
        return {"step": 0, "accumulator": numpy.full_like(p, group["initial_accumulator_value"])}

    def rule(self, p, g, state, group):
        accumulator = state["accumulator"]
        accumulator += g * g
        p -= group["lr"] * g / numpy.sqrt(accumulator + group["epsilon"])


class Adadelta(KerasOptimizer):
    """``keras.optimizers.Adadelta(learning_rate=0.001, rho=0.95, epsilon=1e-7)``."""

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None, name=None, **kw):
        self.settings = {"rho": float(rho), "epsilon": float(epsilon)}
        super().__init__(learning_rate, weight_decay, name, **kw)

    def state_arrays(self, group):
        return ("accumulated_grad", "accumulated_delta_var")

    def rule(self, p, g, state, group):
        rho, eps = group["rho"], group["epsilon"]
        grads, deltas = state["accumulated_grad"], state["accumulated_delta_var"]
        grads *= rho
        grads += (1.0 - rho) * g * g
        delta = -numpy.sqrt(deltas + eps) / numpy.sqrt(grads + eps) * g
        deltas *= rho
        deltas += (1.0 - rho) * delta * delta
        p += group["lr"] * delta


_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW, "adagrad": Adagrad,
            "adadelta": Adadelta}


def get(identifier):
    """An optimiser from a name (Keras's defaults), an instance (kept), or a chainrule.optim one (kept)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ConfigError(f"unknown optimizer {identifier!r}; known names are {', '.join(sorted(_BY_NAME))}")
