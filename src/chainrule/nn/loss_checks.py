"""The checks every loss function makes of its arguments, and its reduction."""

from chainrule import backend
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ConfigError, DTypeError, ShapeError
from chainrule.ops import loss as fused
from chainrule.ops import reduce as reductions
from chainrule.ops.shape import reshape, transpose


def check_reduction(reduction, where):
    if reduction not in fused.REDUCTIONS:
        raise ConfigError(f"{where}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def as_target(target, like):
    """The target as a Tensor (kept if it requires grad) or an array in the prediction's float dtype."""
    if isinstance(target, Tensor):
        if target.requires_grad:
            return target
        target = target._data
    target = backend.asarray(target)
    if like.dtype != target.dtype:
        target = target.astype(like.dtype)
    return target


def same_shape(input, target, where):
    if tuple(input.shape) != tuple(target.shape):
        hint = ""
        if input.shape[:1] == target.shape[:1] or tuple(input.shape) == tuple(target.shape)[::-1]:
            hint = f": reshape one of them, e.g. target.reshape{tuple(input.shape)}"
        raise ShapeError(f"{where}: prediction of shape {tuple(input.shape)} and target of shape "
                         f"{tuple(target.shape)} differ; they would broadcast silently{hint}")


def elementwise_args(input, target, reduction, where):
    check_reduction(reduction, where)
    target = as_target(target, input)
    same_shape(input, target, where)
    return target


def apply_reduction(losses, reduction):
    if reduction == "none":
        return losses
    return reductions.sum(losses) if reduction == "sum" else reductions.mean(losses)


def as_labels(target, where):
    """Integer class labels as an array; float labels raise with a hint."""
    data = target._data if isinstance(target, Tensor) else backend.asarray(target)
    if data.dtype.kind not in "iu":
        raise DTypeError(f"{where}: class-index targets must be integers, got {data.dtype}: use "
                         "target.astype('int64'), or pass one-hot/probability targets of the "
                         "prediction's shape")
    return data


def check_label_range(labels, num_classes, where, ignore_index=None):
    """Raise unless every label lies in [0, C); labels equal to ``ignore_index`` are skipped."""
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes) and ignore_index is not None:
        labels = labels[labels != ignore_index]  # only now: the usual batch pays no mask
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ShapeError(f"{where}: class labels must lie in [0, {num_classes}), got values from "
                         f"{labels.min()} to {labels.max()}")


def classes_last(input, where):
    """(N, C, d1, ...) -> (N·d1·..., C), and the shape of the per-sample losses."""
    if input.ndim == 2:
        return input, input.shape[:1]
    if input.ndim < 2:
        raise ShapeError(f"{where}: expects scores of shape (N, C) or (N, C, d1, ...), got {input.shape}")
    axes = (0, *range(2, input.ndim), 1)
    per_sample = (input.shape[0], *input.shape[2:])
    return reshape(transpose(input, axes), (-1, input.shape[1])), per_sample
