"""Fused loss primitives: log-softmax + cross-entropy, sigmoid + binary cross-entropy, and BCE itself.

Each computes the loss and its reduction in one op and keeps what its gradient needs, so the
backward pass is one or two array expressions instead of a chain of nodes:

    cross-entropy:     ℓᵢ = −Σ_c tᵢc log softmax(xᵢ)_c            ∂ℓᵢ/∂xᵢ = softmax(xᵢ)·Σ_c tᵢc − tᵢ
    BCE with logits:   ℓ = max(x, 0) − x·t + log(1 + e^(−|x|))     ∂ℓ/∂x = σ(x) − t
    BCE on p:          ℓ = −(t·log p + (1 − t)·log(1 − p))         ∂ℓ/∂p = (p − t) / (p(1 − p))

with the logs clamped at −100 and p(1 − p) at 1e−12, as PyTorch does. Every rule is written with
Tensor operations, so that gradients of gradients are exact; the array forms that reuse what the
forward pass kept, and the compiled ones, are in :mod:`chainrule.kernels.loss`.
"""

import contextlib

from chainrule.autograd.op import Op, needs_grad
from chainrule.autograd.tensor import Tensor
from chainrule.ops.activation import sigmoid
from chainrule.ops.elementwise import log, maximum
from chainrule.ops.reduce import log_softmax, softmax
from chainrule.ops.reduce import sum as reduce_sum

REDUCTIONS = ("mean", "sum", "none")


class _ReducedLoss(Op):
    """An elementwise loss followed by its reduction; ``scale`` is 1/n for "mean", else 1."""

    def __init__(self, reduction):
        self.reduction = reduction

    def reduce(self, losses):
        if self.reduction == "none":
            self.scale = 1.0
            return losses
        return self.reduce_sum_of(losses.sum(), losses.size)

    def reduce_sum_of(self, total, size):
        """``reduce`` for a loss whose sum was computed directly (``reduction`` is not "none")."""
        self.scale = 1.0 / size if self.reduction == "mean" and size else 1.0
        return total * self.scale if self.reduction == "mean" else total

    def reduce_tangent(self, total):
        """``reduce`` for a tangent (a Tensor), with the scale the forward pass chose."""
        if self.reduction == "none":
            return total
        summed = reduce_sum(total)
        return summed * self.scale if self.reduction == "mean" else summed

    def upstream(self, g):
        """The output's gradient as a Tensor, scaled for the reduction (the recorded path)."""
        return g if self.reduction == "none" else g * self.scale


class SoftmaxCrossEntropy(_ReducedLoss):
    """Cross-entropy from logits (N, C) against class indices (N,) or distributions (N, C).

    Label smoothing ε replaces the target by (1 − ε)·t + ε/C; a class weight w (C,) multiplies
    column c of that target by w_c, and samples whose index is ``ignore_index`` get a zero target.
    With T the resulting target, ℓᵢ = −Σ_c Tᵢc log softmax(xᵢ)_c. "mean" divides by the summed
    weight Σᵢ w[yᵢ] of the kept samples for class indices (PyTorch's rule) and by N for
    distributions; an empty sum gives nan, as in PyTorch. Class-index targets are constants;
    a distribution target that requires grad gets ∂ℓ/∂t = −(1 − ε)·w·log softmax(x). The weight is
    a constant.
    """

    def __init__(self, reduction="mean", label_smoothing=0.0, weight=None, ignore_index=-100):
        super().__init__(reduction)
        self.label_smoothing = label_smoothing
        self.weight, self.ignore_index = weight, ignore_index

    def kept(self, target):
        """The mask of class-index targets that are not ``ignore_index``, or None when all are kept."""
        if target.ndim != 1 or not target.size:
            return None
        if self.ignore_index < 0 and target.min() >= 0:  # the usual case, in one reduction
            return None
        ignored = target == self.ignore_index
        return ~ignored if ignored.any() else None

    def target_distribution(self, target, num_classes, dtype):
        """The (smoothed, weighted, masked) target T as an (N, C) array."""
        xp = self.xp
        if target.ndim == 1:  # class indices
            dense = xp.zeros((target.shape[0], num_classes), dtype=dtype)
            kept = self.kept(target)
            rows = xp.arange(target.shape[0])
            if kept is None:
                dense[rows, target] = 1
            else:
                dense[rows[kept], target[kept]] = 1
        else:
            kept = None
            dense = target.astype(dtype, copy=False)
        if self.label_smoothing:
            dense = dense * (1.0 - self.label_smoothing) + self.label_smoothing / num_classes
        if self.weight is not None:
            dense = dense * self.weight.astype(dtype, copy=False)
        if kept is not None and self.label_smoothing:
            dense *= kept[:, None]  # the smoothing term of an ignored sample is dropped too
        return dense

    def divisor(self, target, n, kept):
        """What "mean" divides the summed loss by: the kept samples' total weight, or N."""
        if target.ndim != 1:
            return n
        if self.weight is None:
            return n if kept is None else int(kept.sum())
        picked = self.weight[target] if kept is None else self.weight[target[kept]]
        return float(picked.sum())

    def reduce_by(self, losses, divisor):
        """Reduce with "mean" dividing by ``divisor``; nan for a zero divisor, whose gradient is 0."""
        self.scale = 1.0 / divisor if self.reduction == "mean" and divisor else \
            (0.0 if self.reduction == "mean" else 1.0)
        if self.reduction == "none":
            return losses
        total = losses.sum()
        if self.reduction == "mean" and not divisor:
            return total * float("nan")
        return total * self.scale if self.reduction == "mean" else total

    def forward(self, logits, target):
        xp = self.xp
        n, num_classes = logits.shape
        shifted = logits - logits.max(axis=1, keepdims=True) if n else logits.copy()
        probs = xp.exp(shifted)
        sums = probs.sum(axis=1, keepdims=True)
        probs /= sums
        log_sums = xp.log(sums)
        self.probs, self.log_probs = probs, None
        self.indices = target.ndim == 1
        kept = self.kept(target)
        # the fast path: hard labels, no weight, none ignored (one gather, no (N, C) target array)
        self.hard_labels = self.indices and not self.label_smoothing and self.weight is None and kept is None
        if self.hard_labels:
            self.target_sum = 1.0
            losses = log_sums[:, 0] - shifted[xp.arange(n), target]
        else:
            shifted -= log_sums  # now log-probabilities
            dense = self.target_distribution(target, num_classes, logits.dtype)
            self.target_sum = dense.sum(axis=1, keepdims=True)
            losses = -(dense * shifted).sum(axis=1)
            self.log_probs = None if self.indices else shifted
        return self.reduce_by(losses, self.divisor(target, n, kept))

    def target_gradient_scale(self, dtype):
        """∂ℓ/∂t = −log softmax(x) times this: (1 − ε), times w when weighted."""
        factor = 1.0 - self.label_smoothing
        return factor if self.weight is None else self.weight.astype(dtype, copy=False) * factor

    def vjp(self, g):
        logits, target = self.inputs
        target_data = target._data if isinstance(target, Tensor) else target
        upstream = self.upstream(g)
        upstream = upstream.reshape(-1, 1) if self.reduction == "none" else upstream
        dense = target if isinstance(target, Tensor) and not self.indices else None
        if dense is None or self.label_smoothing or self.weight is not None:
            if dense is None:
                dense_array = self.target_distribution(target_data, logits.shape[1], logits.dtype)
                dense = Tensor._from_op(dense_array)
            else:
                if self.label_smoothing:
                    dense = dense * (1.0 - self.label_smoothing) + self.label_smoothing / logits.shape[1]
                if self.weight is not None:
                    dense = dense * self.weight.astype(logits.dtype, copy=False)
        total = reduce_sum(dense, axis=1, keepdims=True)
        grad_logits = upstream * (softmax(logits, axis=1) * total - dense)
        grad_target = None
        if needs_grad(target):
            grad_target = -upstream * log_softmax(logits, axis=1) * self.target_gradient_scale(logits.dtype)
        return grad_logits, grad_target
    def jvp(self, dlogits, dtarget):
        logits, target = self.inputs
        target_data = target._data if isinstance(target, Tensor) else target
        dense = self.target_distribution(target_data, logits.shape[1], logits.dtype)
        total = 0
        if dlogits is not None:
            weights = softmax(logits, axis=1) * dense.sum(axis=1, keepdims=True) - dense
            total = reduce_sum(weights * dlogits, axis=1)
        if dtarget is not None:
            factor = self.target_gradient_scale(logits.dtype)
            total = total - reduce_sum(log_softmax(logits, axis=1) * dtarget * factor, axis=1)
        return self.reduce_tangent(total)


class SigmoidBinaryCrossEntropy(_ReducedLoss):
    """Binary cross-entropy from logits, in the stable form max(x, 0) − x·t + log1p(e^(−|x|))."""

    def forward(self, logits, target):
        xp = self.xp
        target = xp.asarray(target, dtype=logits.dtype)
        losses = xp.maximum(logits, 0) - logits * target + xp.log1p(xp.exp(-xp.abs(logits)))
        self.target = target
        return self.reduce(losses)

    def vjp(self, g):
        logits, target = self.inputs
        upstream = self.upstream(g)
        grad_target = -upstream * logits if needs_grad(target) else None
        return upstream * (sigmoid(logits) - target), grad_target
    def jvp(self, dlogits, dtarget):
        logits, target = self.inputs
        total = 0
        if dlogits is not None:
            total = (sigmoid(logits) - target) * dlogits
        if dtarget is not None:
            total = total - logits * dtarget
        return self.reduce_tangent(total)


class BinaryCrossEntropy(_ReducedLoss):
    """Binary cross-entropy of probabilities, logs clamped at −100 (so p = 0 or 1 stays finite)."""

    EPS = 1e-12

    def forward(self, probs, target):
        xp = self.xp
        target = xp.asarray(target, dtype=probs.dtype)
        self.target = target
        losses, log_q = self.clamped_logs(probs)  # losses holds log p − log(1 − p) for now
        losses *= target  # in place through the two buffers; neither is kept for the backward pass
        losses += log_q
        return self.reduce(xp.negative(losses, out=losses))

    def clamped_logs(self, probs):
        """(log p − log(1 − p), log(1 − p)) as two new arrays, each log clamped at −100."""
        xp = self.xp
        log_q = xp.negative(probs, out=xp.empty_like(probs))
        with _quiet(xp):
            log_p = xp.log(probs, out=xp.empty_like(probs))
            xp.log1p(log_q, out=log_q)
        xp.maximum(log_p, -100.0, out=log_p)
        xp.maximum(log_q, -100.0, out=log_q)
        log_p -= log_q
        return log_p, log_q

    def vjp(self, g):
        probs, target = self.inputs
        upstream = self.upstream(g)
        grad_probs = upstream * (probs - target) / maximum(probs * (1 - probs), self.EPS)
        grad_target = None
        if needs_grad(target):
            grad_target = -upstream * (maximum(log(probs), -100.0) - maximum(log(1 - probs), -100.0))
        return grad_probs, grad_target

    def jvp(self, dprobs, dtarget):
        probs, target = self.inputs
        total = 0
        if dprobs is not None:
            total = (probs - target) / maximum(probs * (1 - probs), self.EPS) * dprobs
        if dtarget is not None:
            total = total - Tensor._from_op(self.clamped_logs(probs._data)[0]) * dtarget
        return self.reduce_tangent(total)


def _quiet(xp):
    """Silence the divide-by-zero warning of log(0): the clamp right after handles it."""
    errstate = getattr(xp, "errstate", None)
    return errstate(divide="ignore") if errstate is not None else contextlib.nullcontext()


# ---------------------------------------------------------------- the functions users call
def softmax_cross_entropy(logits, target, reduction="mean", label_smoothing=0.0, weight=None,
                          ignore_index=-100):
    """Fused log-softmax + cross-entropy for logits (N, C); target (N,) integers or (N, C) floats.

    ``weight`` is an array of C class weights (a constant) or None; class-index targets equal to
    ``ignore_index`` add nothing, and "mean" divides by the kept samples' total weight (PyTorch's rule).
    """
    return SoftmaxCrossEntropy(reduction, float(label_smoothing), weight, int(ignore_index))(logits, target)


def sigmoid_binary_cross_entropy(logits, target, reduction="mean"):
    """Fused sigmoid + binary cross-entropy; logits and target of one shape."""
    return SigmoidBinaryCrossEntropy(reduction)(logits, target)


def binary_cross_entropy(probs, target, reduction="mean"):
    """Binary cross-entropy of probabilities in [0, 1], with PyTorch's clamped logs."""
    return BinaryCrossEntropy(reduction)(probs, target)
