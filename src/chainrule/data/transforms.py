"""Label encodings and feature scalers.

- :func:`to_categorical` / :func:`from_categorical`: integer labels to one-hot rows and back.
- :class:`Standardize` and :class:`MinMax`: feature scalers that learn their statistics from the
  training set alone (``fit``), then apply the same map to every split (``transform``). Fitting on
  validation or test data would leak them into training.

:class:`CharVocab` (text to integers and back) lives in :mod:`chainrule.data.vocab` and is
re-exported here.
"""

import numpy

from chainrule import backend
from chainrule.data._arrays import as_numpy
from chainrule.data.vocab import CharVocab  # noqa: F401  (re-exported: one import for all encoders)
from chainrule.errors import ChainruleError, ConfigError, DTypeError, ShapeError


class NotFittedError(ChainruleError, RuntimeError):
    """A scaler used before ``fit`` (or ``set_state``) gave it its statistics."""


def to_categorical(labels, num_classes=None, dtype="float32"):
    """One-hot encode integer class labels: shape ``s`` becomes ``s + (num_classes,)``.

    A trailing axis of size 1 is dropped first (labels of shape ``(n, 1)`` give ``(n, classes)``),
    as in Keras. ``num_classes`` defaults to ``max(labels) + 1``.

        >>> to_categorical([0, 2, 1], 3)
        array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 1., 0.]], dtype=float32)
    """
    labels = as_numpy(labels)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.dtype.kind == "f":
        if not numpy.all(numpy.isfinite(labels)) or not numpy.all(labels == numpy.round(labels)):
            raise DTypeError(f"to_categorical: expected integer class labels, got {labels.dtype} values "
                             "that are not whole numbers; are these probabilities (already one-hot)?")
    elif labels.dtype.kind not in "iu":
        raise DTypeError(f"to_categorical: expected integer class labels, got dtype {labels.dtype}")
    labels = labels.astype(numpy.int64)
    if labels.size and labels.min() < 0:
        raise ConfigError(f"to_categorical: expected labels >= 0, got {labels.min()}")
    largest = int(labels.max()) if labels.size else -1
    if num_classes is None:
        num_classes = largest + 1
    elif largest >= num_classes:
        raise ConfigError(f"to_categorical: expected labels below num_classes={num_classes}, got label "
                         f"{largest}; raise num_classes or check the labels")
    one_hot = numpy.zeros(labels.shape + (int(num_classes),), dtype=dtype)
    numpy.put_along_axis(one_hot, labels[..., None], 1, axis=-1)
    return one_hot


def from_categorical(one_hot, axis=-1):
    """Integer labels (int64) from one-hot rows or class scores: the argmax along ``axis``.

        >>> from_categorical([[0, 1, 0], [1, 0, 0]])
        array([1, 0])
    """
    return as_numpy(one_hot).argmax(axis=axis).astype(numpy.int64)


class _Scaler:
    """Shared machinery: fit on training data, transform any split, save and restore the statistics.

    ``axis`` names the axes the statistics are taken over (the sample axis, 0, by default; ``None``
    for one statistic over all values). Results are float: the input's float dtype, or float32 for
    integer input, so a float32 pipeline stays float32.
    """

    _state_names = ()

    def __init__(self, axis=0):
        self.axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
        for name in self._state_names:
            setattr(self, name, None)

    @property
    def fitted(self):
        return all(getattr(self, name) is not None for name in self._state_names)

    def fit(self, x):
        """Learn the statistics from ``x`` (the training set only); returns self."""
        self._fit(as_numpy(x).astype(numpy.float64))  # statistics in float64, applied in x's dtype
        return self

    def fit_transform(self, x):
        """``fit(x)`` then ``transform(x)``."""
        return self.fit(x).transform(x)

    def transform(self, x):
        """Scale ``x`` with the statistics learned by ``fit``."""
        x, dtype = self._checked(x, "transform")
        return self._forward(x, *(getattr(self, name).astype(dtype) for name in self._state_names))

    def inverse_transform(self, x):
        """Undo ``transform``."""
        x, dtype = self._checked(x, "inverse_transform")
        return self._inverse(x, *(getattr(self, name).astype(dtype) for name in self._state_names))

    def get_state(self):
        """The configuration and statistics as a JSON-serialisable dict."""
        if not self.fitted:
            raise NotFittedError(f"{type(self).__name__}.get_state: nothing to save, call fit(x_train) first")
        state = {"type": type(self).__name__, "config": self.get_config()}
        state.update({name: getattr(self, name).tolist() for name in self._state_names})
        state["stat_shape"] = list(getattr(self, self._state_names[0]).shape)
        return state

    def set_state(self, state):
        """Restore what :meth:`get_state` returned; returns self."""
        if state.get("type") != type(self).__name__:
            raise ConfigError(f"{type(self).__name__}.set_state: expected a state saved by "
                             f"{type(self).__name__}, got one of {state.get('type')!r}")
        self.__init__(**state["config"])
        shape = tuple(state["stat_shape"])
        for name in self._state_names:
            setattr(self, name, numpy.asarray(state[name], dtype=numpy.float64).reshape(shape))
        return self

    def get_config(self):
        return {"axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}

    def _reduced_axes(self, ndim):
        if self.axis is None:
            return set(range(ndim))
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        return {a % ndim for a in axes}

    def _checked(self, x, method):
        if not self.fitted:
            raise NotFittedError(f"{type(self).__name__}.{method}: the scaler is not fitted; call "
                                 "fit(x_train) first (on the training set only)")
        x = as_numpy(x)
        dtype = x.dtype if x.dtype.kind == "f" else backend.DEFAULT_FLOAT
        reference = getattr(self, self._state_names[0])
        kept_axes = [a for a in range(reference.ndim) if a not in self._reduced_axes(reference.ndim)]
        if x.ndim != reference.ndim or any(x.shape[a] != reference.shape[a] for a in kept_axes):
            raise ShapeError(f"{type(self).__name__}.{method}: expected data whose non-sample axes match "
                             f"the statistics of shape {reference.shape} learned in fit, got {x.shape}")
        return x.astype(dtype, copy=False), dtype


class Standardize(_Scaler):
    """Zero mean, unit variance per feature: ``(x - mean) / std``, statistics from the training set.

    A feature with zero spread in training (a blank border pixel) is divided by 1, not 0.

        >>> scaler = Standardize().fit(numpy.array([[0.0], [2.0]]))
        >>> scaler.transform(numpy.array([[1.0], [4.0]])).ravel().tolist()
        [0.0, 3.0]
    """

    _state_names = ("mean", "std")

    def _fit(self, x):
        self.mean = x.mean(axis=self.axis, keepdims=True)
        std = x.std(axis=self.axis, keepdims=True)
        self.std = numpy.where(std > 0, std, 1.0)

    def _forward(self, x, mean, std):
        return (x - mean) / std

    def _inverse(self, x, mean, std):
        return x * std + mean


class MinMax(_Scaler):
    """Map each feature's training range ``[min, max]`` onto ``feature_range`` (default ``[0, 1]``).

    Values outside the training range map outside ``feature_range``: nothing is clipped. A feature
    that is constant in training is shifted, not stretched.

        >>> MinMax().fit_transform(numpy.array([[0.0], [5.0], [10.0]])).ravel().tolist()
        [0.0, 0.5, 1.0]
    """

    _state_names = ("data_min", "scale")

    def __init__(self, feature_range=(0.0, 1.0), axis=0):
        low, high = (float(v) for v in feature_range)
        if not low < high:
            raise ConfigError(f"MinMax: expected feature_range (low, high) with low < high, "
                             f"got {feature_range}")
        self.feature_range = (low, high)
        super().__init__(axis=axis)

    def get_config(self):
        return {"feature_range": list(self.feature_range), **super().get_config()}

    def _fit(self, x):
        self.data_min = x.min(axis=self.axis, keepdims=True)
        spread = x.max(axis=self.axis, keepdims=True) - self.data_min
        low, high = self.feature_range
        self.scale = (high - low) / numpy.where(spread > 0, spread, 1.0)

    def _forward(self, x, data_min, scale):
        return (x - data_min) * scale + self.feature_range[0]

    def _inverse(self, x, data_min, scale):
        return (x - self.feature_range[0]) / scale + data_min
