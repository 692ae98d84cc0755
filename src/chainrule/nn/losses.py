"""Loss functions and their layers, PyTorch-shaped: ``loss(input, target, reduction="mean")``.

``reduction`` is "mean" (over every element, or over the batch for the class losses), "sum" or "none".
Prediction and target must have the same shape: a (N, 1) prediction against a (N,) target raises
instead of silently broadcasting to (N, N).

The cross-entropies are fused primitives in their stable forms (:mod:`chainrule.ops.loss`). The
Keras-style ``categorical_crossentropy``, ``sparse_categorical_crossentropy`` and ``binary_crossentropy``
take probabilities, computing −Σ t·log(clip(p, 1e−7, 1 − 1e−7)); but when the probabilities come
straight from a softmax (or sigmoid) op still in the graph, they use that op's logits and the fused
loss instead, which is exact and stable (what Keras does too). Without a recorded graph (under
``no_grad``: evaluate, val_loss) the softmax or sigmoid activation keeps its logits on its output, so
the same form gives the same value; probabilities from anywhere else use the clipped form.
"""

from chainrule import backend
from chainrule.autograd.names import named
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ConfigError, DTypeError, ShapeError
from chainrule.nn import loss_checks as checks
from chainrule.nn.keras_losses import (  # noqa: F401 - Keras's names, re-exported
    binary_crossentropy,
    categorical_crossentropy,
    sparse_categorical_crossentropy,
)
from chainrule.nn.module import Module
from chainrule.ops import activation, elementwise
from chainrule.ops import loss as fused
from chainrule.ops import reduce as reductions
from chainrule.ops.index import getitem
from chainrule.ops.shape import reshape


# ---------------------------------------------------------------- regression losses
def mse_loss(input, target, reduction="mean"):
    """Mean squared error: mean((y − t)²)."""
    target = checks.elementwise_args(input, target, reduction, "mse_loss")
    difference = input - target
    return named(checks.apply_reduction(difference * difference, reduction), "MseLossBackward0")


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error: mean(|y − t|); the gradient at y = t is 0."""
    target = checks.elementwise_args(input, target, reduction, "l1_loss")
    return checks.apply_reduction(elementwise.abs(input - target), reduction)


def sse_loss(input, target, reduction="sum"):
    """Half the sum of squared errors, ½·Σ(t − y)², the error of the backpropagation derivations.

    ∂/∂y = y − t. ``reduction="mean"`` gives ½·mean((t − y)²), "none" the elementwise ½(t − y)².
    """
    target = checks.elementwise_args(input, target, reduction, "sse_loss")
    difference = input - target
    return checks.apply_reduction(difference * difference, reduction) * 0.5


def huber_loss(input, target, reduction="mean", delta=1.0):
    """½d² where |d| < δ, else δ(|d| − ½δ), with d = y − t (PyTorch's ``huber_loss``)."""
    target = checks.elementwise_args(input, target, reduction, "huber_loss")
    difference = input - target
    small = backend.array_module(difference._data).abs(difference._data) < delta
    quadratic = difference * difference * 0.5
    linear = (elementwise.abs(difference) - 0.5 * delta) * float(delta)
    return checks.apply_reduction(elementwise.where(small, quadratic, linear), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """½d²/β where |d| < β, else |d| − ½β (PyTorch's): Huber's loss with δ = β, divided by β."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction)
    return huber_loss(input, target, reduction, delta=beta) * (1.0 / beta)


# ---------------------------------------------------------------- binary classification
def binary_cross_entropy(input, target, reduction="mean"):
    """−(t·log p + (1 − t)·log(1 − p)) for probabilities p, logs clamped at −100 (PyTorch's)."""
    target = checks.elementwise_args(input, target, reduction, "binary_cross_entropy")
    data = input._data if isinstance(input, Tensor) else input
    if data.size and (data.min() < 0 or data.max() > 1):
        raise ValueError("binary_cross_entropy: the prediction must be probabilities in [0, 1], got "
                         f"values from {data.min()} to {data.max()}: for logits use "
                         "binary_cross_entropy_with_logits")
    return fused.binary_cross_entropy(input, target, reduction)


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """BCE of σ(x) in one stable primitive: max(x, 0) − x·t + log(1 + e^(−|x|))."""
    target = checks.elementwise_args(input, target, reduction, "binary_cross_entropy_with_logits")
    return fused.sigmoid_binary_cross_entropy(input, target, reduction)


def hinge_loss(input, target, reduction="mean"):
    """Binary hinge loss for targets ±1: mean(max(0, 1 − t·y)).

    As in Keras, targets that are all 0 or 1 are taken as binary labels and converted to −1 and 1
    (used as they are, a 0 target would contribute a constant 1 and no gradient).
    """
    target = checks.elementwise_args(input, target, reduction, "hinge_loss")
    if not isinstance(target, Tensor):
        xp = backend.array_module(target)
        if target.size and bool(xp.all((target == 0) | (target == 1))):
            target = 2.0 * target - 1.0
    return checks.apply_reduction(activation.relu(1.0 - input * target), reduction)


# ---------------------------------------------------------------- multi-class classification
def cross_entropy(input, target, reduction="mean", label_smoothing=0.0, weight=None, ignore_index=-100):
    """Cross-entropy from logits (N, C) (or (N, C, d1, ...)), in one fused log-softmax primitive.

    ``target`` is integer class indices (N,) or a distribution/one-hot of the logits' shape.
    With label smoothing ε the target becomes (1 − ε)·t + ε/C. ``weight`` (C,) scales each class's
    term; class indices equal to ``ignore_index`` add nothing. "mean" averages over the samples, as
    PyTorch does: for class indices it divides by Σ weight[yᵢ] over the kept samples (nan when there
    are none), for distributions by the number of samples.
    """
    where = "cross_entropy"
    checks.check_reduction(reduction, where)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ConfigError(f"{where}: label_smoothing must lie in [0, 1], got {label_smoothing}")
    if input.ndim == 1:  # one sample of C scores: a batch of one, and a 0-d loss
        if isinstance(target, Tensor):
            target = reshape(target, (1, *target.shape))
        else:
            target = backend.asarray(target)[None]
        # a batch of one keeps the reduction's rules (a mean divides by that sample's weight)
        return reshape(cross_entropy(reshape(input, (1, -1)), target, reduction, label_smoothing, weight,
                                     ignore_index), ())
    logits, per_sample = checks.classes_last(input, where)
    num_classes = input.shape[1]
    class_weights = _class_weights(weight, num_classes, input.dtype, where)
    if _is_dense(target, input.shape):
        if ignore_index >= 0:
            raise ConfigError(f"{where}: ignore_index={ignore_index} needs class-index targets; probability "
                              "targets cannot be ignored (as in PyTorch): drop those rows instead")
        target = checks.as_target(target, input)
        if input.ndim > 2:
            target = checks.classes_last(target if isinstance(target, Tensor) else Tensor(target), where)[0]
    else:
        labels = checks.as_labels(target, where)
        if tuple(labels.shape) == tuple(input.shape):
            raise DTypeError(f"{where}: integer targets of the scores' shape {tuple(input.shape)} look "
                             "one-hot: pass them as floats (target.astype('float32')) or as class "
                             "indices (target.argmax(axis=1))")
        if tuple(labels.shape) != tuple(per_sample):
            raise ShapeError(f"{where}: scores of shape {tuple(input.shape)} need class indices of shape "
                             f"{tuple(per_sample)} or probabilities of shape {tuple(input.shape)}, got "
                             f"target of shape {tuple(labels.shape)}")
        checks.check_label_range(labels, num_classes, where, ignore_index)
        target = labels.reshape(-1)
    losses = fused.softmax_cross_entropy(logits, target, reduction, label_smoothing, class_weights,
                                         ignore_index)
    return reshape(losses, per_sample) if reduction == "none" else losses


def _class_weights(weight, num_classes, dtype, where):
    """The class weights as a constant (C,) array of the scores' dtype, or None."""
    if weight is None:
        return None
    data = weight._data if isinstance(weight, Tensor) else backend.asarray(weight)
    if tuple(data.shape) != (num_classes,):
        raise ShapeError(f"{where}: weight must hold one value per class, shape ({num_classes},), got "
                         f"{tuple(data.shape)}")
    return data.astype(dtype, copy=False)


def _is_dense(target, shape):
    """True for a floating target (probabilities/one-hot); integers are class indices."""
    data = target._data if isinstance(target, Tensor) else backend.asarray(target)
    if data.dtype.kind in "iub":
        return False
    if tuple(data.shape) != tuple(shape):
        if data.ndim == len(shape) - 1:
            checks.as_labels(data, "cross_entropy")  # raises the float-labels hint
        raise ShapeError(f"cross_entropy: probability targets must have the scores' shape {tuple(shape)}, "
                         f"got {tuple(data.shape)}")
    return True


def nll_loss(input, target, reduction="mean", weight=None, ignore_index=-100):
    """Negative log-likelihood of log-probabilities (N, C) (or (N, C, d1, ...)) at integer class targets.

    ℓᵢ = −weight[yᵢ]·input[i, yᵢ], 0 where yᵢ = ``ignore_index``; "mean" divides by Σ weight[yᵢ] over
    the kept samples (nan when there are none), as PyTorch does.
    """
    where = "nll_loss"
    checks.check_reduction(reduction, where)
    if input.dtype.kind != "f":
        raise DTypeError(f"{where}: expects floating-point log-probabilities, got {input.dtype}: pass "
                         "log_softmax(scores) (convert integer scores first, e.g. x.astype('float32'))")
    labels = checks.as_labels(target, where)
    if input.ndim == 1:  # one sample: a 0-d loss
        return reshape(nll_loss(reshape(input, (1, -1)), labels[None], reduction, weight, ignore_index), ())
    if input.ndim < 2:
        raise ShapeError(f"{where}: expects log-probabilities (N, C) or (N, C, d1, ...), got "
                         f"{tuple(input.shape)}")
    flat, per_sample = checks.classes_last(input, where)
    if tuple(labels.shape) != tuple(per_sample):
        raise ShapeError(f"{where}: log-probabilities of shape {tuple(input.shape)} need labels of shape "
                         f"{tuple(per_sample)}, got {tuple(labels.shape)}")
    num_classes = input.shape[1]
    checks.check_label_range(labels, num_classes, where, ignore_index)
    class_weights = _class_weights(weight, num_classes, input.dtype, where)
    labels = labels.reshape(-1)
    xp = backend.array_module(labels)
    kept = labels != ignore_index
    safe = xp.where(kept, labels, 0)  # an ignored label picks class 0, then gets a zero coefficient
    coefficients = kept.astype(input.dtype) if class_weights is None else class_weights[safe] * kept
    picked = getitem(flat, (xp.arange(labels.shape[0]), safe))
    losses = -picked * coefficients
    if reduction == "none":
        return named(reshape(losses, per_sample), "NllLossBackward0")
    total = reductions.sum(losses)
    if reduction == "sum":
        return named(total, "NllLossBackward0")
    divisor = float(coefficients.sum())
    return named(total * (1.0 / divisor) if divisor else total * float("nan"), "NllLossBackward0")


def multi_margin_loss(input, target, p=1, margin=1.0, reduction="mean"):
    """PyTorch's multi-class hinge: ℓᵢ = Σ_{j≠yᵢ} max(0, margin − x[yᵢ] + x[j])^p / C."""
    where = "multi_margin_loss"
    checks.check_reduction(reduction, where)
    if p not in (1, 2):
        raise ConfigError(f"{where}: p must be 1 or 2, got {p}")
    labels = checks.as_labels(target, where)
    if input.ndim != 2 or tuple(labels.shape) != tuple(input.shape[:1]):
        raise ShapeError(f"{where}: expects scores (N, C) and labels (N,), got {tuple(input.shape)} and "
                         f"{tuple(labels.shape)}")
    n, num_classes = input.shape
    checks.check_label_range(labels, num_classes, where)
    xp = backend.array_module(labels)
    correct = reshape(getitem(input, (xp.arange(n), labels)), (n, 1))
    others = xp.ones(input.shape, dtype=input.dtype)
    others[xp.arange(n), labels] = 0
    hinge = activation.relu(input - correct + float(margin))
    if p == 2:
        hinge = hinge * hinge
    losses = reductions.sum(hinge * others, axis=1) * (1.0 / num_classes)
    return checks.apply_reduction(losses, reduction)


# ---------------------------------------------------------------- the layers
class _Loss(Module):
    """A loss as a layer: ``criterion(input, target)``; options are fixed at construction."""

    function = None

    def __init__(self, reduction="mean", **options):
        super().__init__()
        if options and type(self).__init__ is _Loss.__init__:  # only subclasses pass options
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments {sorted(options)}; "
                            "it takes only reduction ('mean', 'sum' or 'none')")
        checks.check_reduction(reduction, type(self).__name__)
        self.reduction, self.options = reduction, options

    def forward(self, input, target):
        return type(self).function(input, target, reduction=self.reduction, **self.options)

    def reset_parameters(self):
        """Nothing to initialise."""

    def get_config(self):
        return {"reduction": self.reduction, **self.options}

    def extra_repr(self):
        return ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())


class MSELoss(_Loss):
    function = staticmethod(mse_loss)


class L1Loss(_Loss):
    function = staticmethod(l1_loss)


class SSELoss(_Loss):
    function = staticmethod(sse_loss)

    def __init__(self, reduction="sum"):
        super().__init__(reduction)


class HuberLoss(_Loss):
    function = staticmethod(huber_loss)

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction, delta=float(delta))


class SmoothL1Loss(_Loss):
    function = staticmethod(smooth_l1_loss)

    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction, beta=float(beta))


class BCELoss(_Loss):
    function = staticmethod(binary_cross_entropy)


class BCEWithLogitsLoss(_Loss):
    function = staticmethod(binary_cross_entropy_with_logits)


class HingeLoss(_Loss):
    function = staticmethod(hinge_loss)


def _weight_list(weight):
    """Class weights as a JSON-ready list of floats (or None), for get_config."""
    if weight is None:
        return None
    data = weight._data if isinstance(weight, Tensor) else backend.asarray(weight)
    return [float(w) for w in data.reshape(-1)]


class CrossEntropyLoss(_Loss):
    function = staticmethod(cross_entropy)

    def __init__(self, reduction="mean", label_smoothing=0.0, weight=None, ignore_index=-100):
        super().__init__(reduction, label_smoothing=float(label_smoothing), weight=_weight_list(weight),
                         ignore_index=int(ignore_index))


class NLLLoss(_Loss):
    function = staticmethod(nll_loss)

    def __init__(self, reduction="mean", weight=None, ignore_index=-100):
        super().__init__(reduction, weight=_weight_list(weight), ignore_index=int(ignore_index))


class MultiMarginLoss(_Loss):
    function = staticmethod(multi_margin_loss)

    def __init__(self, p=1, margin=1.0, reduction="mean"):
        super().__init__(reduction, p=int(p), margin=float(margin))


class CategoricalCrossentropy(_Loss):
    function = staticmethod(categorical_crossentropy)

    def __init__(self, from_logits=False, reduction="mean"):
        super().__init__(reduction, from_logits=bool(from_logits))


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    function = staticmethod(sparse_categorical_crossentropy)


class BinaryCrossentropy(CategoricalCrossentropy):
    function = staticmethod(binary_crossentropy)


# ---------------------------------------------------------------- names for compile(loss="...")
_FUNCTIONS = {
    "mse": mse_loss, "mean_squared_error": mse_loss,
    "mae": l1_loss, "mean_absolute_error": l1_loss, "l1": l1_loss,
    "sse": sse_loss, "huber": huber_loss, "hinge": hinge_loss,
    "binary_crossentropy": binary_crossentropy, "bce": binary_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "cross_entropy": cross_entropy, "nll": nll_loss, "multi_margin": multi_margin_loss,
}


def get(identifier):
    """A loss function from a name ("mse", "categorical_crossentropy", ...); callables pass through."""
    if callable(identifier):
        return identifier
    key = str(identifier).lower()
    if key not in _FUNCTIONS:
        raise ConfigError(f"unknown loss {identifier!r}: known names are {', '.join(sorted(_FUNCTIONS))}")
    return _FUNCTIONS[key]
