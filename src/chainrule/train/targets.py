"""Checks of the targets against the loss and the model's output, made once at the first batch.

Keras users mix up integer labels and one-hot rows all the time; the loss would fail deep inside a
primitive, or worse, broadcast (N,) against (N, 1) into an (N, N) matrix. The first batch of every
``fit``/``evaluate`` is checked here, before any weight changes, and the error says which loss
expects what and how to convert; :func:`adapt_targets` then applies the verdict to every later batch.
"""

import numpy

from chainrule.autograd.tensor import Tensor
from chainrule.errors import ConfigError, DTypeError, ShapeError
from chainrule.gpu import move_array

UNCHECKED = "unchecked"  # the targets of this run have not been checked yet

ONE_HOT = "one-hot"
SPARSE = "sparse"
SPARSE_OR_DENSE = "sparse-or-dense"
SAME_SHAPE = "same-shape"

KIND_BY_LOSS = {
    "categorical_crossentropy": ONE_HOT,
    "sparse_categorical_crossentropy": SPARSE,
    "cross_entropy": SPARSE_OR_DENSE, "nll": SPARSE,
    "binary_crossentropy": SAME_SHAPE, "bce": SAME_SHAPE, "binary_cross_entropy_with_logits": SAME_SHAPE,
    "mse": SAME_SHAPE, "mean_squared_error": SAME_SHAPE, "mae": SAME_SHAPE, "mean_absolute_error": SAME_SHAPE,
    "l1": SAME_SHAPE, "sse": SAME_SHAPE, "huber": SAME_SHAPE, "hinge": SAME_SHAPE,
}

BINARY_LOSSES = ("binary_crossentropy", "bce", "binary_cross_entropy_with_logits")

# loss layers and functions given as objects, by the name their string form has
NAME_BY_CLASS = {
    "CategoricalCrossentropy": "categorical_crossentropy",
    "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
    "BinaryCrossentropy": "binary_crossentropy", "BCELoss": "bce",
    "BCEWithLogitsLoss": "binary_cross_entropy_with_logits", "CrossEntropyLoss": "cross_entropy",
    "NLLLoss": "nll", "MSELoss": "mse", "L1Loss": "mae", "HuberLoss": "huber", "HingeLoss": "hinge",
    "mse_loss": "mse", "l1_loss": "mae", "hinge_loss": "hinge", "binary_cross_entropy": "bce",
}


def loss_name(loss):
    """The string name of a loss given as a name, a function or a loss layer (None if unknown)."""
    if isinstance(loss, str):
        return loss.lower()
    name = getattr(loss, "__name__", None) or type(loss).__name__
    name = NAME_BY_CLASS.get(name, name)
    return name if name in KIND_BY_LOSS else None


def _integer_valued(y):
    if y.dtype.kind in "iub":
        return True
    return y.dtype.kind == "f" and bool(numpy.all(numpy.mod(y, 1) == 0))


def check(name, output_shape, y):
    """Check targets ``y`` (an array) for loss ``name`` and output shape; returns how to adapt them.

    The result is None (use as they are), "int64" (cast float labels to integers) or a shape
    tuple without the batch axis (reshape, as for (N,) targets of an (N, 1) output).
    """
    kind = KIND_BY_LOSS.get(name)
    if kind is None or not output_shape:
        return None
    out = tuple(output_shape)
    classes = out[-1]
    label_shape = out[:-1]
    looks_sparse = y.shape == label_shape or (y.shape == (*label_shape, 1) and classes != 1)
    where = f"loss '{name}'"
    if kind == ONE_HOT:
        if y.shape == out:
            return None
        if looks_sparse and _integer_valued(y):
            raise ShapeError(f"{where} expects one-hot targets of shape {_batch(out)} like the model's "
                             f"output, got integer labels of shape {y.shape}; hint: convert them with "
                             f"cr.data.to_categorical(y, {classes}), or compile with "
                             "loss='sparse_categorical_crossentropy'")
        raise ShapeError(f"{where} expects one-hot targets of shape {_batch(out)} like the model's output, "
                         f"got shape {y.shape}; hint: the number of classes in to_categorical(y, n) must "
                         f"match the last layer's {classes} units")
    if kind in (SPARSE, SPARSE_OR_DENSE):
        if kind == SPARSE_OR_DENSE and y.shape == out and y.dtype.kind == "f":
            return None
        if y.shape == out and classes > 1:
            raise ShapeError(f"{where} expects integer class labels of shape {_batch(label_shape)}, got "
                             f"one-hot targets of shape {y.shape}; hint: compile with "
                             "loss='categorical_crossentropy', or pass y.argmax(axis=-1)")
        if not looks_sparse:
            raise ShapeError(f"{where} expects integer class labels of shape {_batch(label_shape)} for an "
                             f"output of shape {_batch(out)}, got shape {y.shape}")
        if y.dtype.kind in "iu":
            return None
        if _integer_valued(y):
            return "int64"
        raise DTypeError(f"{where} expects integer class labels, got {y.dtype} values that are not whole "
                         "numbers; hint: pass labels 0..C-1, or one-hot rows with "
                         "loss='categorical_crossentropy'")
    # same shape: regression and binary losses
    if kind == SAME_SHAPE and name in BINARY_LOSSES and y.size and (y.min() < 0 or y.max() > 1):
        raise ConfigError(f"{where} expects targets in [0, 1] (class 0 or 1, or a probability), got values "
                          f"from {y.min()} to {y.max()}; hint: for more than two classes use a softmax "
                          "output with loss='sparse_categorical_crossentropy'")
    if y.shape == out:
        return None
    if int(numpy.prod(y.shape[1:], dtype=numpy.int64)) == int(numpy.prod(out[1:], dtype=numpy.int64)) and \
            (y.shape[1:] + (1,) == out[1:] or y.shape[1:] == out[1:] + (1,)):
        return out[1:]  # (N,) against (N, 1) and the reverse: reshape, never broadcast
    raise ShapeError(f"{where} expects targets of shape {_batch(out)} like the model's output, got "
                     f"{y.shape}; hint: does the last layer have as many units as the targets have columns?")


def adapt_targets(compiled, y, output):
    """Targets ``y`` as an array fit for ``compiled``'s loss: checked at a run's first batch, then adapted.

    The verdict of :func:`check` is kept in ``compiled.target_adapt`` until the next run resets it
    to :data:`UNCHECKED`, so later batches pay only for the cast or reshape (if any).
    """
    if isinstance(y, Tensor):
        y = y._data
    elif not (hasattr(y, "dtype") and hasattr(y, "shape")):  # lists; arrays of any device stay
        y = numpy.asarray(y)
    how = compiled.target_adapt
    if how is UNCHECKED:  # checked on the host, once a run (targets on a device come back for it)
        how = compiled.target_adapt = check(compiled.loss_name, getattr(output, "shape", None),
                                            move_array(y, numpy))
    if how is None:
        return y
    if how == "int64":
        return y.astype(numpy.int64)
    return y.reshape((len(y), *how))


def _batch(shape):
    return "(batch" + "".join(f", {s}" for s in shape[1:]) + ")" if len(shape) > 1 else "(batch,)"
