"""Keras's probability-space losses: categorical, sparse categorical and binary cross-entropy.

They take probabilities, computing −Σ t·log(clip(p, 1e−7, 1 − 1e−7)); but when the probabilities come
straight from a softmax (or sigmoid) op still in the graph, or from an activation that kept its logits
(under ``no_grad``), they use the logits and the fused stable loss instead, as Keras does.
"""

from chainrule import backend
from chainrule.autograd.tensor import Tensor
from chainrule.errors import DTypeError, ShapeError
from chainrule.nn import loss_checks as checks
from chainrule.ops import activation, elementwise
from chainrule.ops import loss as fused
from chainrule.ops import reduce as reductions
from chainrule.ops.index import getitem
from chainrule.ops.shape import reshape

EPSILON = 1e-7  # Keras's clipping of probabilities


def _logits_of(probs, op_type):
    """The input of the op that made ``probs``, if it is an ``op_type`` op still in the graph."""
    node = getattr(probs, "_node", None)
    if isinstance(node, op_type) and node.inputs is not None:
        if op_type is reductions.Softmax and node.axis not in (-1, probs.ndim - 1):
            return None
        return node.inputs[0]
    # made without a graph (evaluate, val_loss): the activation kept its logits, so that the value is
    # the one training reports for the same weights
    kind, logits = getattr(probs, "_keras_logits", (None, None))
    return logits if kind == ("softmax" if op_type is reductions.Softmax else "sigmoid") else None


def _per_sample(losses, reduction):
    return losses if reduction == "none" else checks.apply_reduction(losses, reduction)


def categorical_crossentropy(input, target, reduction="mean", from_logits=False):
    """Keras's −Σ_c t_c·log p_c over the last axis, averaged over samples; ``target`` is one-hot."""
    where = "categorical_crossentropy"
    checks.check_reduction(reduction, where)
    target = checks.as_target(target, input) if not _integer(target) else target
    if _integer(target) or tuple(target.shape) != tuple(input.shape):
        raise ShapeError(f"{where}: expects one-hot targets of the prediction's shape {tuple(input.shape)}, "
                         f"got {_describe(target)}: for integer labels use sparse_categorical_crossentropy")
    logits = input if from_logits else _logits_of(input, reductions.Softmax)
    if logits is not None:
        flat = reshape(logits, (-1, logits.shape[-1]))
        dense = reshape(target, (-1, target.shape[-1])) if isinstance(target, Tensor) else \
            target.reshape(-1, target.shape[-1])
        losses = fused.softmax_cross_entropy(flat, dense, reduction)
        return reshape(losses, input.shape[:-1]) if reduction == "none" else losses
    clipped = elementwise.clip(input, EPSILON, 1.0 - EPSILON)
    losses = -reductions.sum(elementwise.log(clipped) * target, axis=-1)
    return _per_sample(losses, reduction)


def sparse_categorical_crossentropy(input, target, reduction="mean", from_logits=False):
    """Keras's cross-entropy of probabilities (N, C) at integer labels (N,) (or (N, 1))."""
    where = "sparse_categorical_crossentropy"
    checks.check_reduction(reduction, where)
    if not _integer(target):
        raise DTypeError(f"{where}: expects integer class labels, got {_describe(target)}: for one-hot "
                         "targets use categorical_crossentropy")
    labels = checks.as_labels(target, where)
    if labels.ndim == input.ndim and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    if tuple(labels.shape) != tuple(input.shape[:-1]):
        raise ShapeError(f"{where}: predictions of shape {tuple(input.shape)} need labels of shape "
                         f"{tuple(input.shape[:-1])}, got {tuple(labels.shape)}")
    num_classes = input.shape[-1]
    checks.check_label_range(labels, num_classes, where)
    logits = input if from_logits else _logits_of(input, reductions.Softmax)
    if logits is not None:
        flat = reshape(logits, (-1, num_classes))
        losses = fused.softmax_cross_entropy(flat, labels.reshape(-1), reduction)
        return reshape(losses, input.shape[:-1]) if reduction == "none" else losses
    flat = reshape(input, (-1, num_classes))
    xp = backend.array_module(labels)
    picked = getitem(flat, (xp.arange(flat.shape[0]), labels.reshape(-1)))
    losses = -elementwise.log(elementwise.clip(picked, EPSILON, 1.0 - EPSILON))
    return _per_sample(reshape(losses, input.shape[:-1]), reduction)


def binary_crossentropy(input, target, reduction="mean", from_logits=False):
    """Keras's binary cross-entropy of probabilities, averaged over the last axis, then the samples."""
    where = "binary_crossentropy"
    target = checks.elementwise_args(input, target, reduction, where)
    logits = input if from_logits else _logits_of(input, activation.Sigmoid)
    if logits is not None:
        losses = fused.sigmoid_binary_cross_entropy(logits, target, "none")
    else:
        clipped = elementwise.clip(input, EPSILON, 1.0 - EPSILON)
        losses = -(elementwise.log(clipped) * target + elementwise.log(1.0 - clipped) * (1.0 - target))
    per_sample = reductions.mean(losses, axis=-1) if losses.ndim > 1 else losses
    return _per_sample(per_sample, reduction)


def _integer(target):
    data = target._data if isinstance(target, Tensor) else backend.asarray(target)
    return data.dtype.kind in "iu"


def _describe(target):
    data = target._data if isinstance(target, Tensor) else backend.asarray(target)
    return f"target of shape {tuple(data.shape)} and dtype {data.dtype}"
