"""Streaming metrics: each keeps running sums, so an epoch's value is exact over uneven batches.

A metric sees one batch at a time through ``update_state(y_pred, y_true)`` (NumPy arrays: the
model's output and the targets) and reports ``result()``: the value over every sample seen since
``reset_state()``. Averages are sums divided by counts, never means of batch means, so a last batch
of 8 samples weighs 8 samples, not one batch.

Strings resolve through :func:`get`; ``"accuracy"`` picks the binary, categorical or sparse form
from the loss, as in Keras.
"""

import numpy

from chainrule.errors import ChainruleError, ConfigError, ShapeError


class Metric:
    """Base class: running state, ``update_state``, ``result``, ``reset_state``."""

    name = "metric"

    def __init__(self, name=None):
        if name is not None:
            self.name = name
        self.reset_state()

    def reset_state(self):
        raise NotImplementedError

    def update_state(self, y_pred, y_true):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class Mean(Metric):
    """The mean of per-sample values: sum(values) / count."""

    name = "mean"

    def reset_state(self):
        self.total = 0.0
        self.count = 0

    def update(self, values):
        """Add per-sample values (any shape; each element counts as one sample)."""
        values = numpy.asarray(values)
        self.total += float(values.sum(dtype=numpy.float64))
        self.count += values.size

    def update_mean(self, mean, count):
        """Add a batch that has already been averaged over ``count`` samples."""
        self.total += float(mean) * count
        self.count += count

    def result(self):
        return self.total / self.count if self.count else float("nan")


class MeanMetricWrapper(Mean):
    """A Mean over the per-sample values of ``fn(y_pred, y_true)``."""

    def __init__(self, fn, name=None):
        self.fn = fn
        super().__init__(name or getattr(fn, "__name__", "metric"))

    def update_state(self, y_pred, y_true):
        self.update(self.fn(y_pred, y_true))


def _labels(y_true, y_pred, where="sparse_categorical_accuracy"):
    """Integer class labels from sparse labels of shape (N,) or (N, 1)."""
    y_true = numpy.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape[:-1]:
        hint = (f"for one-hot targets use '{where[len('sparse_'):]}'" if where.startswith("sparse_") else
                "pass one label per sample, or one-hot rows of the prediction's shape")
        raise ShapeError(f"metric '{where}' expects integer labels of shape {y_pred.shape[:-1]} for "
                         f"predictions of shape {y_pred.shape}, got targets of shape {y_true.shape}; "
                         f"hint: {hint}")
    return y_true.astype(numpy.int64, copy=False)


def _one_hot(y_true, y_pred, where):
    """One-hot targets of the prediction's shape, checked (integer labels would argmax to nonsense)."""
    y_true = numpy.asarray(y_true)
    if y_true.shape != y_pred.shape:
        raise ShapeError(f"metric '{where}' expects one-hot targets of the prediction's shape "
                         f"{y_pred.shape}, got targets of shape {y_true.shape}; hint: for integer labels use "
                         f"'sparse_{where}'")
    return y_true


def binary_accuracy(y_pred, y_true, threshold=0.5):
    """1 where (y_pred > threshold) equals the 0/1 target, per element."""
    y_true = numpy.asarray(y_true).reshape(numpy.shape(y_pred))
    return ((y_pred > threshold) == (y_true > 0.5)).astype(numpy.float32)


def categorical_accuracy(y_pred, y_true):
    """1 where the arg-max of the prediction equals the arg-max of the one-hot target."""
    y_true = _one_hot(y_true, y_pred, "categorical_accuracy")
    return (y_pred.argmax(axis=-1) == y_true.argmax(axis=-1)).astype(numpy.float32)


def sparse_categorical_accuracy(y_pred, y_true):
    """1 where the arg-max of the prediction equals the integer label."""
    return (y_pred.argmax(axis=-1) == _labels(y_true, y_pred)).astype(numpy.float32)


def _in_top_k(y_pred, labels, k):
    # a label is in the top k when fewer than k classes score strictly higher than it
    target_scores = numpy.take_along_axis(y_pred, labels[..., None], axis=-1)
    return ((y_pred > target_scores).sum(axis=-1) < k).astype(numpy.float32)


def top_k_categorical_accuracy(y_pred, y_true, k=5):
    """1 where the one-hot target's class is among the k highest scores."""
    return _in_top_k(y_pred, _one_hot(y_true, y_pred, "top_k_categorical_accuracy").argmax(axis=-1), k)


def sparse_top_k_categorical_accuracy(y_pred, y_true, k=5):
    """1 where the integer label is among the k highest scores."""
    return _in_top_k(y_pred, _labels(y_true, y_pred, "sparse_top_k_categorical_accuracy"), k)


def mean_squared_error(y_pred, y_true):
    """Squared error per element."""
    return (y_pred - numpy.asarray(y_true).reshape(numpy.shape(y_pred))) ** 2


def mean_absolute_error(y_pred, y_true):
    """Absolute error per element."""
    return numpy.abs(y_pred - numpy.asarray(y_true).reshape(numpy.shape(y_pred)))


class Accuracy(MeanMetricWrapper):
    """Accuracy; ``kind`` is "binary", "categorical", "sparse", or None to decide at the first batch.

    With ``kind=None`` the targets decide, as Keras does when the loss does not: one output column
    means binary, targets shaped like the output mean one-hot (categorical), otherwise sparse labels.
    """

    _functions = {"binary": binary_accuracy, "categorical": categorical_accuracy,
                  "sparse": sparse_categorical_accuracy}

    def __init__(self, kind=None, name="accuracy", threshold=0.5):
        if kind not in (None, *self._functions):
            raise ChainruleError(f"Accuracy: unknown kind {kind!r}; expected one of "
                                 f"{sorted(self._functions)} or None")
        self.kind = kind
        self.threshold = threshold  # binary: scores above it count as 1 (0 for logits)
        super().__init__(self._pick(kind), name)

    def _pick(self, kind):
        if kind == "binary" and self.threshold != 0.5:
            return lambda p, t: binary_accuracy(p, t, self.threshold)
        return self._functions.get(kind)

    def update_state(self, y_pred, y_true):
        if self.fn is None:
            y_true = numpy.asarray(y_true)
            if y_pred.ndim >= 1 and y_pred.shape[-1] == 1 or y_pred.ndim == 1:
                self.kind = "binary"
            elif y_true.shape == y_pred.shape:
                self.kind = "categorical"
            else:
                self.kind = "sparse"
            self.fn = self._pick(self.kind)
        super().update_state(y_pred, y_true)


class TopKAccuracy(MeanMetricWrapper):
    """Share of samples whose target class is among the k highest scores."""

    def __init__(self, k=5, sparse=False, name=None):
        self.k = k
        self.sparse = sparse
        fn = sparse_top_k_categorical_accuracy if sparse else top_k_categorical_accuracy
        super().__init__(lambda p, t: fn(p, t, k), name or f"top_{k}_accuracy")


class _ClassCounts(Metric):
    """Running confusion counts of a binary or one-vs-rest decision (base of precision/recall)."""

    def __init__(self, threshold=0.5, class_id=None, name=None):
        self.threshold = threshold
        self.class_id = class_id
        super().__init__(name)

    def reset_state(self):
        self.true_positives = 0
        self.false_positives = 0
        self.false_negatives = 0

    def update_state(self, y_pred, y_true):
        y_true = numpy.asarray(y_true)
        if self.class_id is None:  # binary: scores against a threshold, targets 0/1
            predicted = numpy.asarray(y_pred).reshape(-1) > self.threshold
            actual = y_true.reshape(-1) > 0.5
        else:  # one class of a multi-class output against the rest
            predicted = y_pred.argmax(axis=-1) == self.class_id
            labels = (y_true.argmax(axis=-1) if y_true.shape == y_pred.shape
                      else _labels(y_true, y_pred, self.name))
            actual = labels == self.class_id
        self.true_positives += int(numpy.count_nonzero(predicted & actual))
        self.false_positives += int(numpy.count_nonzero(predicted & ~actual))
        self.false_negatives += int(numpy.count_nonzero(~predicted & actual))


class Precision(_ClassCounts):
    """TP / (TP + FP): of the samples called positive, the share that are positive (0 if none)."""

    name = "precision"

    def result(self):
        called = self.true_positives + self.false_positives
        return self.true_positives / called if called else 0.0


class Recall(_ClassCounts):
    """TP / (TP + FN): of the positive samples, the share that were found (0 if none)."""

    name = "recall"

    def result(self):
        positives = self.true_positives + self.false_negatives
        return self.true_positives / positives if positives else 0.0


class ConfusionMatrix(Metric):
    """Counts ``matrix[true, predicted]`` over ``num_classes`` classes; ``result()`` is the matrix.

    Not a scalar, so ``fit`` keeps it out of the epoch logs; read it from the metric object.
    """

    name = "confusion_matrix"

    def __init__(self, num_classes, threshold=0.5, name=None):
        self.num_classes = int(num_classes)
        self.threshold = threshold
        super().__init__(name)

    def reset_state(self):
        self.matrix = numpy.zeros((self.num_classes, self.num_classes), dtype=numpy.int64)

    def update_state(self, y_pred, y_true):
        y_pred = numpy.asarray(y_pred)
        y_true = numpy.asarray(y_true)
        if y_pred.ndim == 1 or y_pred.shape[-1] == 1:  # binary scores
            predicted = (y_pred.reshape(-1) > self.threshold).astype(numpy.int64)
            labels = (y_true.reshape(-1) > 0.5).astype(numpy.int64)
        else:
            predicted = y_pred.argmax(axis=-1).reshape(-1)
            labels = (y_true.argmax(axis=-1) if y_true.shape == y_pred.shape
                      else _labels(y_true, y_pred, self.name)).reshape(-1)
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ShapeError(f"ConfusionMatrix: labels must lie in [0, {self.num_classes}), got "
                             f"[{labels.min()}, {labels.max()}]; hint: pass num_classes to match the data")
        numpy.add.at(self.matrix, (labels, predicted), 1)

    def result(self):
        return self.matrix.copy()


_ACCURACY_KIND_BY_LOSS = {
    "binary_crossentropy": "binary", "binary_cross_entropy": "binary",
    "binary_cross_entropy_with_logits": "binary", "bce": "binary",
    "categorical_crossentropy": "categorical",
    "sparse_categorical_crossentropy": "sparse", "cross_entropy": "sparse", "nll": "sparse",
}

_BY_NAME = {
    "mse": lambda: MeanMetricWrapper(mean_squared_error, "mse"),
    "mean_squared_error": lambda: MeanMetricWrapper(mean_squared_error, "mean_squared_error"),
    "mae": lambda: MeanMetricWrapper(mean_absolute_error, "mae"),
    "mean_absolute_error": lambda: MeanMetricWrapper(mean_absolute_error, "mean_absolute_error"),
    "binary_accuracy": lambda: Accuracy("binary", "binary_accuracy"),
    "categorical_accuracy": lambda: Accuracy("categorical", "categorical_accuracy"),
    "sparse_categorical_accuracy": lambda: Accuracy("sparse", "sparse_categorical_accuracy"),
    "top_k_categorical_accuracy": lambda: TopKAccuracy(5, False, "top_k_categorical_accuracy"),
    "sparse_top_k_categorical_accuracy": lambda: TopKAccuracy(5, True, "sparse_top_k_categorical_accuracy"),
    "precision": lambda: Precision(),
    "recall": lambda: Recall(),
}


def get(identifier, loss_name=None):
    """A Metric from a name, a Metric, or a function ``fn(y_pred, y_true)`` of per-sample values.

    ``"accuracy"`` (or ``"acc"``) becomes binary, categorical or sparse accuracy as the loss name says
    (``loss_name``), and is decided from the targets at the first batch when the loss does not say.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            # a loss on logits means scores are logits: the binary decision is at 0, not 0.5
            threshold = 0.0 if loss_name == "binary_cross_entropy_with_logits" else 0.5
            return Accuracy(_ACCURACY_KIND_BY_LOSS.get(loss_name), name=identifier, threshold=threshold)
        if key in _BY_NAME:
            return _BY_NAME[key]()
        known = ", ".join(sorted(("accuracy", "acc", *_BY_NAME)))
        raise ConfigError(f"unknown metric {identifier!r}; known metrics: {known}; "
                             "hint: pass a Metric object or a function fn(y_pred, y_true) for others")
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ChainruleError(f"a metric must be a name, a Metric or a function, got {type(identifier).__name__}")
