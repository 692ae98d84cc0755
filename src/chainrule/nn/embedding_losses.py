"""KL divergence and the ranking and embedding losses of ``torch.nn``: ``kl_div``/``KLDivLoss``,
``MarginRankingLoss``, ``TripletMarginLoss``, ``CosineEmbeddingLoss``, ``HingeEmbeddingLoss``,
``SoftMarginLoss``, ``PoissonNLLLoss``, ``GaussianNLLLoss``; compositions of the ops with PyTorch's
formulas, defaults and reductions."""

import math

from chainrule import ops
from chainrule.functions import tensor_of
from chainrule.nn import loss_checks as checks
from chainrule.nn.layers.similarity import cosine_similarity, pairwise_distance
from chainrule.nn.losses import _Loss
from chainrule.nn.module import Module


def kl_div(input, target, reduction="mean", log_target=False):  # noqa: A002
    """Σ target · (log target − input) with ``input`` log-probabilities (PyTorch's argument order);
    ``reduction="batchmean"`` divides the sum by the batch size, the mathematical KL."""
    x = tensor_of(input)
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise ValueError(f"kl_div: reduction must be 'mean', 'sum', 'none' or 'batchmean', got {reduction!r}")
    t = tensor_of(target)
    if log_target:
        pointwise = ops.exp(t) * (t - x)
    else:  # 0 · log 0 counts as 0
        safe = ops.where(t._data > 0, t, t.xp.ones((), t.dtype))
        pointwise = ops.where(t._data > 0, t * (ops.log(safe) - x), t.xp.zeros((), x.dtype))
    if reduction == "batchmean":
        return ops.sum(pointwise) * (1.0 / (x.shape[0] if x.ndim else 1))
    return checks.apply_reduction(pointwise, reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """max(0, −y·(x1 − x2) + margin), y = 1 where x1 should rank higher, −1 where lower."""
    checks.check_reduction(reduction, "margin_ranking_loss")
    losses = ops.relu(-tensor_of(target) * (tensor_of(input1) - input2) + margin)
    return checks.apply_reduction(losses, reduction)


def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):  # noqa: A002
    """x where y = 1, max(0, margin − x) where y = −1."""
    checks.check_reduction(reduction, "hinge_embedding_loss")
    x, y = tensor_of(input), tensor_of(target)._data
    losses = ops.where(y == 1, x, x.xp.zeros((), x.dtype)) + ops.where(y == -1, ops.relu(margin - x),
                                                                      x.xp.zeros((), x.dtype))
    return checks.apply_reduction(losses, reduction)


def soft_margin_loss(input, target, reduction="mean"):  # noqa: A002
    """log(1 + e^(−y·x)), averaged over every element."""
    checks.check_reduction(reduction, "soft_margin_loss")
    return checks.apply_reduction(ops.softplus(-tensor_of(target) * tensor_of(input)), reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """1 − cos(x1, x2) where y = 1, max(0, cos(x1, x2) − margin) where y = −1 (rows of x1, x2)."""
    checks.check_reduction(reduction, "cosine_embedding_loss")
    cos = cosine_similarity(input1, input2, dim=-1, eps=1e-12)
    y = tensor_of(target)._data
    zero = cos.xp.zeros((), cos.dtype)
    losses = ops.where(y == 1, 1.0 - cos, zero) + ops.where(y == -1, ops.relu(cos - margin), zero)
    return checks.apply_reduction(losses, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False,
                        reduction="mean"):
    """max(d(a, p) − d(a, n) + margin, 0), d the pairwise distance."""
    checks.check_reduction(reduction, "triplet_margin_loss")
    near = pairwise_distance(anchor, positive, p, eps)
    far = pairwise_distance(anchor, negative, p, eps)
    if swap:
        far = ops.minimum(far, pairwise_distance(positive, negative, p, eps))
    return checks.apply_reduction(ops.relu(near - far + margin), reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, eps=1e-8, reduction="mean"):  # noqa: A002
    """e^x − y·x with log-rates x (``log_input``), else x − y·log(x + eps); ``full`` adds Stirling's term."""
    checks.check_reduction(reduction, "poisson_nll_loss")
    x, y = tensor_of(input), tensor_of(target)
    losses = ops.exp(x) - y * x if log_input else x - y * ops.log(x + eps)
    if full:  # Stirling's approximation of log y!, where y > 1 (differentiable in y, as PyTorch's)
        xp, above = x.xp, y._data > 1
        safe = ops.where(above, y, xp.ones((), y.dtype))
        stirling = safe * ops.log(safe) - safe + ops.log(safe * (2 * math.pi)) * 0.5
        losses = losses + ops.where(above, stirling, xp.zeros((), y.dtype))
    return checks.apply_reduction(losses, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):  # noqa: A002
    """½(log max(var, eps) + (x − y)² / max(var, eps)) (+ ½ log 2π with ``full``)."""
    checks.check_reduction(reduction, "gaussian_nll_loss")
    x = tensor_of(input)
    variance = ops.maximum(tensor_of(var), eps)
    difference = x - target
    losses = (ops.log(variance) + difference * difference / variance) * 0.5
    if full:
        losses = losses + 0.5 * math.log(2 * math.pi)
    return checks.apply_reduction(losses, reduction)


class KLDivLoss(_Loss):
    """KL(target ‖ exp(input)) with ``input`` log-probabilities; ``reduction="batchmean"`` for the true KL."""

    def __init__(self, reduction="mean", log_target=False):
        Module.__init__(self)
        if reduction != "batchmean":
            checks.check_reduction(reduction, "KLDivLoss")
        self.reduction, self.options = reduction, {"log_target": log_target}

    @staticmethod
    def function(input, target, reduction, log_target):  # noqa: A002
        return kl_div(input, target, reduction, log_target)


class _LossOf(_Loss):
    """A loss whose arguments are not (input, target): they pass through to its function."""

    def __init__(self, reduction="mean", **options):
        Module.__init__(self)
        checks.check_reduction(reduction, type(self).__name__)
        self.reduction, self.options = reduction, options

    def forward(self, *args):
        return type(self).function(*args, reduction=self.reduction, **self.options)


def _loss(name, function, doc, **defaults):
    def __init__(self, *args, reduction="mean", **options):
        settings = dict(defaults)
        settings.update(zip(list(defaults), args))
        settings.update(options)
        _LossOf.__init__(self, reduction, **settings)

    return type(name, (_LossOf,), {"__init__": __init__, "function": staticmethod(function), "__doc__": doc})


MarginRankingLoss = _loss("MarginRankingLoss", margin_ranking_loss, "max(0, −y(x1 − x2) + margin).",
                          margin=0.0)
HingeEmbeddingLoss = _loss("HingeEmbeddingLoss", hinge_embedding_loss, "x or max(0, margin − x) by y.",
                           margin=1.0)
SoftMarginLoss = _loss("SoftMarginLoss", soft_margin_loss, "log(1 + e^(−y·x)).")
CosineEmbeddingLoss = _loss("CosineEmbeddingLoss", cosine_embedding_loss,
                            "1 − cos, or max(0, cos − margin).", margin=0.0)
TripletMarginLoss = _loss("TripletMarginLoss", triplet_margin_loss, "max(d(a, p) − d(a, n) + margin, 0).",
                          margin=1.0, p=2.0, eps=1e-6, swap=False)
PoissonNLLLoss = _loss("PoissonNLLLoss", poisson_nll_loss, "e^x − y·x for log-rates x.", log_input=True,
                       full=False, eps=1e-8)
GaussianNLLLoss = _loss("GaussianNLLLoss", gaussian_nll_loss, "½(log var + (x − y)²/var).", full=False,
                        eps=1e-6)
