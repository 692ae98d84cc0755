"""``keras.metrics``: Keras's metric classes and functions, in Keras's argument order ``(y_true, y_pred)``.

The engine's metrics (:mod:`chainrule.train.metrics`) take ``(y_pred, y_true)``, PyTorch-style; these
take Keras's order, standalone (``m.update_state(y_true, y_pred); m.result()``) and in
``compile(metrics=[...])`` (where :class:`EngineOrder` hands them the engine's calls). Names as
strings ("accuracy", "mae", ...) work in compile too.
"""

import numpy

from chainrule.train import metrics as engine


def _array(x):
    return x.numpy() if hasattr(x, "numpy") else numpy.asarray(x)


def accuracy(y_true, y_pred):
    """1 where prediction and target are equal (Keras's ``Accuracy``: exact matches, not argmax)."""
    return (_array(y_true) == _array(y_pred)).astype("float32")


def binary_accuracy(y_true, y_pred, threshold=0.5):
    return engine.binary_accuracy(_array(y_pred), _array(y_true), threshold)


def categorical_accuracy(y_true, y_pred):
    return engine.categorical_accuracy(_array(y_pred), _array(y_true))


def sparse_categorical_accuracy(y_true, y_pred):
    return engine.sparse_categorical_accuracy(_array(y_pred), _array(y_true))


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    return engine.top_k_categorical_accuracy(_array(y_pred), _array(y_true), k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    return engine.sparse_top_k_categorical_accuracy(_array(y_pred), _array(y_true), k)


def mean_squared_error(y_true, y_pred):
    return engine.mean_squared_error(_array(y_pred), _array(y_true))


def mean_absolute_error(y_true, y_pred):
    return engine.mean_absolute_error(_array(y_pred), _array(y_true))


class MeanMetricWrapper(engine.Mean):
    """The mean of ``fn(y_true, y_pred)`` over the samples seen, optionally weighted per sample."""

    def __init__(self, fn, name=None, **options):
        self.fn, self.options = fn, options
        super().__init__(name or getattr(fn, "__name__", "metric"))

    def reset_state(self):
        super().reset_state()
        self.weight_total = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = numpy.asarray(self.fn(y_true, y_pred, **self.options), dtype=numpy.float64)
        if sample_weight is None:
            self.update(values)
            return
        weights = numpy.broadcast_to(numpy.asarray(sample_weight, numpy.float64).reshape(
            len(values), *([1] * (values.ndim - 1))), values.shape)
        self.total += float((values * weights).sum())
        self.count += float(weights.sum())


def _metric(fn, default_name, **defaults):
    class KerasMetric(MeanMetricWrapper):
        def __init__(self, name=default_name, **options):
            super().__init__(fn, name, **{**defaults, **options})

    return KerasMetric


Accuracy = _metric(accuracy, "accuracy")
BinaryAccuracy = _metric(binary_accuracy, "binary_accuracy", threshold=0.5)
CategoricalAccuracy = _metric(categorical_accuracy, "categorical_accuracy")
SparseCategoricalAccuracy = _metric(sparse_categorical_accuracy, "sparse_categorical_accuracy")
TopKCategoricalAccuracy = _metric(top_k_categorical_accuracy, "top_k_categorical_accuracy", k=5)
SparseTopKCategoricalAccuracy = _metric(sparse_top_k_categorical_accuracy,
                                        "sparse_top_k_categorical_accuracy", k=5)
MeanSquaredError = _metric(mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _metric(mean_absolute_error, "mean_absolute_error")
for _cls, _name in ((Accuracy, "Accuracy"), (BinaryAccuracy, "BinaryAccuracy"),
                    (CategoricalAccuracy, "CategoricalAccuracy"),
                    (SparseCategoricalAccuracy, "SparseCategoricalAccuracy"),
                    (TopKCategoricalAccuracy, "TopKCategoricalAccuracy"),
                    (SparseTopKCategoricalAccuracy, "SparseTopKCategoricalAccuracy"),
                    (MeanSquaredError, "MeanSquaredError"), (MeanAbsoluteError, "MeanAbsoluteError")):
    _cls.__name__ = _cls.__qualname__ = _name


class Mean(engine.Mean):
    """``keras.metrics.Mean()``: ``update_state(values)``, ``result()``."""

    def update_state(self, values, sample_weight=None):
        self.update(_array(values))


class Precision(engine.Precision):
    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(_array(y_pred), _array(y_true))


class Recall(engine.Recall):
    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(_array(y_pred), _array(y_true))


class Metric:
    """The base class of your own Keras metric (Keras 3's API): make its state with ``add_variable`` in
    ``__init__``, then define ``update_state(y_true, y_pred, sample_weight=None)`` (arrays in, as
    Keras passes them; :mod:`chainrule.keras.ops` works on them) and ``result()``. ``reset_state``
    sets every variable to zeros unless you define it. ``compile(metrics=[MyMetric()])`` takes it."""

    def __init__(self, name=None, dtype=None):
        self.name = name or _snake(type(self).__name__)
        self._variables = []

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """A non-trainable ``keras.Variable`` of this metric's state."""
        from chainrule.keras.variables import Variable

        variable = Variable(initializer, shape=tuple(shape), dtype=dtype, trainable=False, name=name)
        self._variables.append(variable)
        return variable

    def add_weight(self, name=None, shape=(), initializer="zeros", dtype=None, aggregation="sum"):
        """Keras 2's name for :meth:`add_variable` (``self.add_weight(name="tp", initializer="zeros")``)."""
        return self.add_variable(shape, initializer, dtype, aggregation, name)

    @property
    def variables(self):
        return list(self._variables)

    def reset_state(self):
        for variable in self._variables:
            variable.assign(numpy.zeros(variable.shape, variable.dtype))

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError(f"{type(self).__name__}: define update_state(y_true, y_pred, "
                                  "sample_weight=None)")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__}: define result()")

    def __call__(self, y_true, y_pred, sample_weight=None):
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


def _snake(name):
    import re

    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


class EngineOrder(engine.Metric):
    """A Keras-order metric as the engine calls its metrics, ``update_state(y_pred, y_true)``."""

    def __init__(self, metric):
        self.metric = metric
        super().__init__(metric.name)

    def reset_state(self):
        self.metric.reset_state()

    def update_state(self, y_pred, y_true):
        self.metric.update_state(y_true, y_pred)

    def result(self):
        value = self.metric.result()
        if hasattr(value, "numpy"):  # your own Metric's result, a tensor: the logs take a number
            value = value.numpy()
            return float(value) if value.size == 1 else value
        return value


def for_engine(metric):
    """What ``compile`` passes the engine for one of Keras's metrics: names as they are, Keras-order
    objects and functions ``fn(y_true, y_pred)`` turned to the engine's order."""
    if isinstance(metric, str):
        return metric
    if isinstance(metric, (MeanMetricWrapper, Mean, Precision, Recall, Metric)):
        return EngineOrder(metric)
    if isinstance(metric, engine.Metric):
        return metric  # an engine metric already takes the engine's order
    if callable(metric):
        return EngineOrder(MeanMetricWrapper(metric))
    return metric
