"""The rest of ``torch.nn.functional`` that lectures reach for: similarity and distances, attention,
the smaller activations, KL divergence and the ranking and embedding losses.

Each is a composition of the ops (so differentiable, its gradient theirs) with PyTorch's formula,
defaults and reductions; their layers are in :mod:`chainrule.nn.layers.more`.
"""

import math

from chainrule import ops
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ShapeError
from chainrule.nn import loss_checks as checks
from chainrule.shape_functions import tril


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(x)


# ---------------------------------------------------------------- similarity and distance
def normalize(input, p=2.0, dim=1, eps=1e-12):  # noqa: A002 - PyTorch's names
    """input / max(‖input‖_p, eps) along ``dim``."""
    x = _t(input)
    size = ops.sum(ops.abs(x) ** p, dim, keepdims=True) ** (1.0 / p) if p != 2 else \
        ops.sqrt(ops.sum(x * x, dim, keepdims=True))
    return x / ops.maximum(size, eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """x1·x2 / (max(‖x1‖, eps) · max(‖x2‖, eps)) along ``dim``."""
    a, b = _t(x1), _t(x2)
    dot = ops.sum(a * b, dim)
    norms = ops.maximum(ops.sqrt(ops.sum(a * a, dim)), eps) * ops.maximum(ops.sqrt(ops.sum(b * b, dim)), eps)
    return dot / norms


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """‖x1 − x2 + eps‖_p along the last dim."""
    difference = _t(x1) - x2 + eps
    if p == 2:
        return ops.sqrt(ops.sum(difference * difference, -1, keepdims=keepdim))
    return ops.sum(ops.abs(difference) ** p, -1, keepdims=keepdim) ** (1.0 / p)


# ---------------------------------------------------------------- attention
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                                 scale=None):
    """softmax(Q Kᵀ · scale + mask) V, scale 1/√d by default; a boolean mask keeps where True,
    a float mask is added; ``is_causal`` keeps each position's past and itself."""
    q, k = _t(query), _t(key)
    scores = q @ ops.swapaxes(k, -1, -2) * (1.0 / math.sqrt(q.shape[-1]) if scale is None else scale)
    xp = q.xp
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
        attn_mask = tril(Tensor(xp.ones(scores.shape[-2:], dtype=bool)))
    if attn_mask is not None:
        mask = attn_mask._data if isinstance(attn_mask, Tensor) else xp.asarray(attn_mask)
        if mask.dtype == bool:
            scores = ops.where(mask, scores, xp.asarray(-xp.inf, dtype=scores.dtype))
        else:
            scores = scores + attn_mask
    weights = ops.softmax(scores, -1)
    if dropout_p > 0:
        from chainrule.nn.layers.dropout import dropout

        weights = dropout(weights, dropout_p, training=True)
    return weights @ value


# ---------------------------------------------------------------- activations
def relu6(input, inplace=False):  # noqa: A002
    return ops.clip(_t(input), 0.0, 6.0)


def hardsigmoid(input, inplace=False):  # noqa: A002
    """relu6(x + 3) / 6."""
    return ops.clip(_t(input) / 6.0 + 0.5, 0.0, 1.0)


def hardswish(input, inplace=False):  # noqa: A002
    """x · relu6(x + 3) / 6."""
    x = _t(input)
    return x * hardsigmoid(x)


def logsigmoid(input):  # noqa: A002
    """log σ(x) = −softplus(−x), stable for large |x|."""
    return -ops.softplus(-_t(input))


def softsign(input):  # noqa: A002
    x = _t(input)
    return x / (ops.abs(x) + 1.0)


def mish(input, inplace=False):  # noqa: A002
    """x · tanh(softplus(x))."""
    x = _t(input)
    return x * ops.tanh(ops.softplus(x))


def celu(input, alpha=1.0, inplace=False):  # noqa: A002
    """max(0, x) + min(0, α(e^(x/α) − 1))."""
    x = _t(input)
    return ops.maximum(x, 0.0) + ops.minimum((ops.exp(ops.minimum(x, 0.0) / alpha) - 1.0) * alpha, 0.0)


def glu(input, dim=-1):  # noqa: A002
    """a · σ(b), a and b the two halves of ``input`` along ``dim``."""
    x = _t(input)
    if x.shape[dim] % 2:
        raise ShapeError(f"glu: dim {dim} of shape {tuple(x.shape)} must have an even size to halve")
    a, b = ops.split(x, 2, dim)
    return a * ops.sigmoid(b)


def softmin(input, dim=None):  # noqa: A002
    return ops.softmax(-_t(input), -1 if dim is None else dim)


def threshold(input, threshold, value, inplace=False):  # noqa: A002
    """x where x > threshold, else ``value``."""
    x = _t(input)
    return ops.where(x._data > threshold, x, x.xp.asarray(value, dtype=x.dtype))


def softshrink(input, lambd=0.5):  # noqa: A002
    x = _t(input)
    return x - ops.clip(x, -lambd, lambd)


def hardshrink(input, lambd=0.5):  # noqa: A002
    x = _t(input)
    return ops.where(x.xp.abs(x._data) > lambd, x, x.xp.zeros((), x.dtype))


def tanhshrink(input):  # noqa: A002
    x = _t(input)
    return x - ops.tanh(x)


# ---------------------------------------------------------------- losses
def kl_div(input, target, reduction="mean", log_target=False):  # noqa: A002
    """Σ target · (log target − input) with ``input`` log-probabilities (PyTorch's argument order);
    ``reduction="batchmean"`` divides the sum by the batch size, the mathematical KL."""
    x = _t(input)
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise ValueError(f"kl_div: reduction must be 'mean', 'sum', 'none' or 'batchmean', got {reduction!r}")
    t = _t(target)
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
    return checks.apply_reduction(ops.relu(-_t(target) * (_t(input1) - input2) + margin), reduction)


def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):  # noqa: A002
    """x where y = 1, max(0, margin − x) where y = −1."""
    checks.check_reduction(reduction, "hinge_embedding_loss")
    x, y = _t(input), _t(target)._data
    losses = ops.where(y == 1, x, x.xp.zeros((), x.dtype)) + ops.where(y == -1, ops.relu(margin - x),
                                                                      x.xp.zeros((), x.dtype))
    return checks.apply_reduction(losses, reduction)


def soft_margin_loss(input, target, reduction="mean"):  # noqa: A002
    """log(1 + e^(−y·x)), averaged over every element."""
    checks.check_reduction(reduction, "soft_margin_loss")
    return checks.apply_reduction(ops.softplus(-_t(target) * _t(input)), reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """1 − cos(x1, x2) where y = 1, max(0, cos(x1, x2) − margin) where y = −1 (rows of x1, x2)."""
    checks.check_reduction(reduction, "cosine_embedding_loss")
    cos = cosine_similarity(input1, input2, dim=-1, eps=1e-12)
    y = _t(target)._data
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
    x, y = _t(input), _t(target)
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
    x = _t(input)
    variance = ops.maximum(_t(var), eps)
    difference = x - target
    losses = (ops.log(variance) + difference * difference / variance) * 0.5
    if full:
        losses = losses + 0.5 * math.log(2 * math.pi)
    return checks.apply_reduction(losses, reduction)


# ---------------------------------------------------------------- rearranging
def pixel_shuffle(input, upscale_factor):  # noqa: A002
    """(N, C·r², H, W) → (N, C, H·r, W·r): each group of r² channels becomes an r x r block."""
    x = _t(input)
    r = upscale_factor
    if x.ndim != 4 or x.shape[1] % (r * r):
        raise ShapeError(f"pixel_shuffle: expects (N, C·{r * r}, H, W), got shape {tuple(x.shape)}")
    n, c, h, w = x.shape
    out = ops.reshape(x, (n, c // (r * r), r, r, h, w))
    out = ops.transpose(out, (0, 1, 4, 2, 5, 3))
    return ops.reshape(out, (n, c // (r * r), h * r, w * r))
