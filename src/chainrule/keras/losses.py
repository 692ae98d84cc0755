"""``keras.losses``: Keras's loss classes and functions, in Keras's argument order ``(y_true, y_pred)``.

A function gives one loss per sample (Keras: the mean over the last axis for elementwise losses);
a class instance gives the batch's loss, ``sum(per_sample · sample_weight) / batch_size`` (Keras's
"sum_over_batch_size"). The numbers come from :mod:`chainrule.nn.losses` (fused where it can).
In ``compile`` a class, a function or a name all work: ``loss=keras.losses.CategoricalCrossentropy()``,
``loss="categorical_crossentropy"``.
"""

import math

from chainrule.autograd.tensor import Tensor
from chainrule.backend import array_module
from chainrule.errors import ConfigError
from chainrule.nn import losses as engine
from chainrule.nn.module import Module
from chainrule.ops import activation, reduce
from chainrule.ops import elementwise as ew


def _last_axis_mean(losses):
    return reduce.mean(losses, axis=-1) if losses.ndim > 1 else losses


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[-1]
    return engine.categorical_crossentropy(y_pred, y_true, "none", from_logits)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    return engine.sparse_categorical_crossentropy(y_pred, y_true, "none", from_logits)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    return engine.binary_crossentropy(y_pred, y_true, "none", from_logits)


def mean_squared_error(y_true, y_pred):
    return _last_axis_mean(engine.mse_loss(y_pred, y_true, "none"))


def mean_absolute_error(y_true, y_pred):
    return _last_axis_mean(engine.l1_loss(y_pred, y_true, "none"))


def huber(y_true, y_pred, delta=1.0):
    return _last_axis_mean(engine.huber_loss(y_pred, y_true, "none", delta))


def hinge(y_true, y_pred):
    return _last_axis_mean(engine.hinge_loss(y_pred, y_true, "none"))


EPSILON = 1e-7  # Keras's backend epsilon, which its losses clip by


def _pair(y_true, y_pred):
    """Both as Tensors, the targets in the predictions' dtype (no graph through the targets)."""
    y_pred = y_pred if isinstance(y_pred, Tensor) else Tensor(y_pred)
    data = y_true._data if isinstance(y_true, Tensor) else y_true
    return Tensor(array_module(y_pred._data).asarray(data, dtype=y_pred.dtype)), y_pred


def kl_divergence(y_true, y_pred):
    """Σ y·log(y/ŷ) over the last axis, both clipped to [ε, 1]."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true, y_pred = ew.clip(y_true, EPSILON, 1.0), ew.clip(y_pred, EPSILON, 1.0)
    return reduce.sum(y_true * ew.log(y_true / y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 · mean |(y − ŷ) / max(|y|, ε)| over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    return reduce.mean(ew.abs((y_true - y_pred) / ew.maximum(ew.abs(y_true), EPSILON)), axis=-1) * 100.0


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean (log(max(ŷ, ε) + 1) − log(max(y, ε) + 1))² over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    difference = ew.log1p(ew.maximum(y_pred, EPSILON)) - ew.log1p(ew.maximum(y_true, EPSILON))
    return reduce.mean(difference * difference, axis=-1)


def log_cosh(y_true, y_pred):
    """mean log(cosh(ŷ − y)) over the last axis, as x + softplus(−2x) − log 2 (no overflow)."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return reduce.mean(x + activation.softplus(x * -2.0) - math.log(2.0), axis=-1)


def poisson(y_true, y_pred):
    """mean ŷ − y·log(ŷ + ε) over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    return reduce.mean(y_pred - y_true * ew.log(y_pred + EPSILON), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """−Σ (y/‖y‖)·(ŷ/‖ŷ‖) along ``axis`` (norms at least 1e-6, as Keras's l2_normalize)."""
    y_true, y_pred = _pair(y_true, y_pred)

    def unit(x):
        return x / ew.sqrt(ew.maximum(reduce.sum(x * x, axis=axis, keepdims=True), 1e-12))

    return -reduce.sum(unit(y_true) * unit(y_pred), axis=axis)


def _signed(y_true):
    """Keras's hinge targets: labels 0/1 become −1/+1, −1/+1 stay."""
    data = y_true._data
    if data.size and ((data == 0) | (data == 1)).all():
        return y_true * 2.0 - 1.0
    return y_true


def squared_hinge(y_true, y_pred):
    """mean max(1 − y·ŷ, 0)² over the last axis (0/1 labels taken as −1/+1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    margin = ew.maximum(1.0 - _signed(y_true) * y_pred, 0.0)
    return reduce.mean(margin * margin, axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(max((1 − y)·ŷ) − Σ y·ŷ + 1, 0) over the last axis (one-hot targets)."""
    y_true, y_pred = _pair(y_true, y_pred)
    positive = reduce.sum(y_true * y_pred, axis=-1)
    negative = reduce.max((1.0 - y_true) * y_pred, axis=-1)
    return ew.maximum(negative - positive + 1.0, 0.0)


mse, mae = mean_squared_error, mean_absolute_error
kld = kl_divergence
mape, msle, logcosh = mean_absolute_percentage_error, mean_squared_logarithmic_error, log_cosh

FUNCTIONS = {
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy,
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
    "huber": huber, "hinge": hinge,
    "kl_divergence": kl_divergence, "kld": kl_divergence,
    "mean_absolute_percentage_error": mean_absolute_percentage_error, "mape": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error, "msle": mean_squared_logarithmic_error,
    "log_cosh": log_cosh, "logcosh": log_cosh, "poisson": poisson, "cosine_similarity": cosine_similarity,
    "squared_hinge": squared_hinge, "categorical_hinge": categorical_hinge,
}


def weighted_mean(per_sample, sample_weight=None):
    """Keras's "sum_over_batch_size": Σ loss·weight / number of samples."""
    if sample_weight is not None:
        per_sample = per_sample * sample_weight.reshape(sample_weight.shape + (1,) * (per_sample.ndim - 1))
    return reduce.sum(per_sample) / max(per_sample.size, 1)


class Loss:
    """Base class: ``loss(y_true, y_pred, sample_weight=None)`` is the batch's scalar loss."""

    function = None
    engine_name = None  # the name compile's target checks know this loss by

    def __init__(self, name=None, reduction="sum_over_batch_size", **options):
        if reduction not in ("sum_over_batch_size", "sum", "none", None):
            raise ConfigError(f"{type(self).__name__}: reduction must be 'sum_over_batch_size', 'sum' or "
                              f"'none', got {reduction!r}")
        self.name, self.reduction, self.options = name or self.engine_name, reduction, options

    def call(self, y_true, y_pred):
        return type(self).function(y_true, y_pred, **self.options)

    def __call__(self, y_true, y_pred, sample_weight=None):
        per_sample = self.call(y_true, y_pred)
        if self.reduction in ("none", None):
            return per_sample if sample_weight is None else per_sample * sample_weight
        if self.reduction == "sum":
            return reduce.sum(per_sample if sample_weight is None else per_sample * sample_weight)
        return weighted_mean(per_sample, sample_weight)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, **self.options}


class CategoricalCrossentropy(Loss):
    function = staticmethod(categorical_crossentropy)
    engine_name = "categorical_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0, name=None, reduction="sum_over_batch_size"):
        super().__init__(name, reduction, from_logits=bool(from_logits),
                         label_smoothing=float(label_smoothing))


class SparseCategoricalCrossentropy(Loss):
    function = staticmethod(sparse_categorical_crossentropy)
    engine_name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits=False, name=None, reduction="sum_over_batch_size"):
        super().__init__(name, reduction, from_logits=bool(from_logits))


class BinaryCrossentropy(Loss):
    function = staticmethod(binary_crossentropy)
    engine_name = "binary_crossentropy"

    def __init__(self, from_logits=False, name=None, reduction="sum_over_batch_size"):
        super().__init__(name, reduction, from_logits=bool(from_logits))


class MeanSquaredError(Loss):
    function = staticmethod(mean_squared_error)
    engine_name = "mean_squared_error"


class MeanAbsoluteError(Loss):
    function = staticmethod(mean_absolute_error)
    engine_name = "mean_absolute_error"


class Huber(Loss):
    function = staticmethod(huber)
    engine_name = "huber"

    def __init__(self, delta=1.0, name=None, reduction="sum_over_batch_size"):
        super().__init__(name, reduction, delta=float(delta))


class Hinge(Loss):
    function = staticmethod(hinge)
    engine_name = "hinge"


def _loss_class(name, function, **defaults):
    """A Loss class over ``function`` whose only options are ``defaults`` (keyword arguments, in order)."""
    def __init__(self, *args, name=None, reduction="sum_over_batch_size", **options):
        values = {**defaults, **dict(zip(defaults, args)), **options}
        unknown = sorted(set(values) - set(defaults))
        if unknown:
            raise TypeError(f"{type(self).__name__}: unrecognized keyword argument {unknown[0]!r}")
        Loss.__init__(self, name, reduction, **values)

    return type(name, (Loss,), {"function": staticmethod(function), "engine_name": function.__name__,
                                "__init__": __init__, "__module__": __name__,
                                "__doc__": f"``keras.losses.{name}()``: the batch mean of "
                                           f"``{function.__name__}`` (see its formula)."})


KLDivergence = _loss_class("KLDivergence", kl_divergence)
MeanAbsolutePercentageError = _loss_class("MeanAbsolutePercentageError", mean_absolute_percentage_error)
MeanSquaredLogarithmicError = _loss_class("MeanSquaredLogarithmicError", mean_squared_logarithmic_error)
LogCosh = _loss_class("LogCosh", log_cosh)
Poisson = _loss_class("Poisson", poisson)
CosineSimilarity = _loss_class("CosineSimilarity", cosine_similarity, axis=-1)
SquaredHinge = _loss_class("SquaredHinge", squared_hinge)
CategoricalHinge = _loss_class("CategoricalHinge", categorical_hinge)


class CompiledLoss:
    """What a Keras model compiles: ``loss(output, y)`` in the engine's order, with the batch's sample
    weights (set by the model's train_step) applied Keras's way. ``__name__`` is the loss's name, so
    the engine's target checks and "accuracy" resolve as for the string."""

    def __init__(self, loss):
        if isinstance(loss, str):
            key = loss.lower()
            if key not in FUNCTIONS:
                raise ConfigError(f"unknown loss {loss!r}: known names are {', '.join(sorted(FUNCTIONS))}")
            self.per_sample, self.identifier = FUNCTIONS[key], key
            self.__name__ = FUNCTIONS[key].__name__
            self.engine = _engine_form(self.__name__)
        elif isinstance(loss, Loss):
            # with its class's defaults a loss object is its name, and a model file can hold that
            defaults = type(loss)()
            plain = loss.options == defaults.options and loss.reduction == defaults.reduction
            self.per_sample, self.identifier = loss.call, loss.engine_name if plain else None
            self.__name__ = loss.engine_name or type(loss).__name__
            self.engine = None
            self.loss = loss
        elif isinstance(loss, Module):  # a chainrule.nn loss layer takes the engine's (input, target) order
            self.per_sample, self.identifier, self.engine = None, None, loss
            self.__name__ = type(loss).__name__
        elif callable(loss):
            self.per_sample, self.identifier, self.engine = loss, None, None
            self.__name__ = getattr(loss, "__name__", type(loss).__name__)
        else:
            raise ConfigError(f"compile: a loss is a name, a keras.losses object or a function "
                              f"loss(y_true, y_pred), got {type(loss).__name__}")
        self.sample_weight = None

    def __call__(self, output, y):
        if self.sample_weight is None:
            if self.engine is not None:
                return self.engine(output, y)
            if hasattr(self, "loss"):
                return self.loss(y, output)
        if self.per_sample is None:
            raise ConfigError(f"{self.__name__}: sample weights need a keras.losses loss or a name; hint: "
                              "compile(loss='categorical_crossentropy') or "
                              "keras.losses.CategoricalCrossentropy()")
        value = self.per_sample(y, output)
        return weighted_mean(value, self.sample_weight) if value.ndim else value


def _engine_form(name):
    """The engine's (fused) form of a named loss, for batches without weights, where it has one."""
    try:
        return engine.get(name)
    except ConfigError:
        return None


def get(identifier):
    if isinstance(identifier, str):
        if identifier.lower() not in FUNCTIONS:
            raise ConfigError(f"unknown loss {identifier!r}: known names are {', '.join(sorted(FUNCTIONS))}")
        return FUNCTIONS[identifier.lower()]
    return identifier
