"""``keras.losses``: Keras's loss classes and functions, in Keras's argument order ``(y_true, y_pred)``.

A function gives one loss per sample (Keras: the mean over the last axis for elementwise losses);
a class instance gives the batch's loss, ``sum(per_sample · sample_weight) / batch_size`` (Keras's
"sum_over_batch_size"). The numbers come from :mod:`chainrule.nn.losses` (fused where it can).
In ``compile`` a class, a function or a name all work: ``loss=keras.losses.CategoricalCrossentropy()``,
``loss="categorical_crossentropy"``.
"""

from chainrule.errors import ConfigError
from chainrule.nn import losses as engine
from chainrule.nn.module import Module
from chainrule.ops import reduce


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


mse, mae = mean_squared_error, mean_absolute_error

FUNCTIONS = {
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy,
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
    "huber": huber, "hinge": hinge,
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
            self.engine = engine.get(self.__name__)  # the fused form, for batches without weights
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


def get(identifier):
    if isinstance(identifier, str):
        if identifier.lower() not in FUNCTIONS:
            raise ConfigError(f"unknown loss {identifier!r}: known names are {', '.join(sorted(FUNCTIONS))}")
        return FUNCTIONS[identifier.lower()]
    return identifier
