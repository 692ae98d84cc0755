"""Faster forms of the fused losses: array backward passes from what the forward kept, and Numba's.

Softmax cross-entropy: the backward is softmax·Σt − t from the probabilities the forward pass kept
(one copy and one scatter for hard labels), instead of recomputing the softmax with Tensor ops. With
Numba, the common case (class indices, no weight, no smoothing, none ignored) runs forward and
backward as fused kernels (:mod:`chainrule.kernels.compiled.softmax`).

Binary cross-entropy of probabilities: the summed loss through ONE temporary array, as
−(Σ t log p + Σ log(1 − p) − Σ t log(1 − p)) (a single large temporary is reused by the allocator,
where two freed together go back to the OS and fault in again next step), and the gradient
(p − t) / max(p(1 − p), ε) in one buffer; with Numba both are fused passes
(:mod:`chainrule.kernels.compiled.elementwise`).
"""

from chainrule.autograd.op import needs_grad
from chainrule.autograd.seam import register
from chainrule.kernels import compiled
from chainrule.ops.loss import BinaryCrossEntropy, SoftmaxCrossEntropy, _quiet


def _scale(op, g):
    """The upstream gradient array, scaled for the reduction."""
    return g if op.reduction == "none" else g * op.scale


# ---------------------------------------------------------------- softmax cross-entropy
def softmax_cross_entropy_forward(op, logits, target):
    kernels = None
    if not op.label_smoothing and op.weight is None:
        kernels = compiled.load("softmax")
    result = None if kernels is None else \
        kernels.hard_label_forward(logits, target, op.ignore_index, op.reduction == "none")
    if result is None:
        return op.forward(logits, target)
    op.probs, loss = result
    op.log_probs, op.indices, op.hard_labels, op.target_sum = None, True, True, 1.0
    n = logits.shape[0]  # at least 1 here
    op.scale = 1.0 / n if op.reduction == "mean" else 1.0
    if op.reduction != "none":  # the float64 sum, scaled, rounded once to the logits' dtype
        loss = logits.dtype.type(loss * op.scale)
    return loss


def softmax_cross_entropy_backward(op, g):
    target = op.inputs[1]
    target_data = target._data if hasattr(target, "requires_grad") else target
    scale = _scale(op, g)
    scale = scale.reshape(-1, 1) if op.reduction == "none" else scale
    if op.hard_labels:
        kernels = compiled.load("softmax")
        grad = None if kernels is None else kernels.hard_label_gradient(op.probs, target_data, scale)
        if grad is not None:  # the compiled form: one pass, the same arithmetic
            return grad, None
    grad = op.probs.copy() if op.hard_labels else op.probs * op.target_sum
    if op.hard_labels:
        grad[op.xp.arange(grad.shape[0]), target_data] -= 1
    else:
        grad -= op.target_distribution(target_data, grad.shape[1], grad.dtype)
    grad *= scale
    grad_target = None
    if needs_grad(target):
        grad_target = -scale * op.log_probs * op.target_gradient_scale(grad.dtype)
    return grad, grad_target


# ---------------------------------------------------------------- binary cross-entropy
def binary_cross_entropy_forward(op, probs, target):
    if op.reduction == "none":
        return op.forward(probs, target)
    xp = op.xp
    target = op.target = xp.asarray(target, dtype=probs.dtype)
    kernels = compiled.load("elementwise")
    total = None if kernels is None else kernels.bce_sum(probs, target)
    if total is None:
        buffer = xp.empty_like(probs)
        with _quiet(xp):
            xp.log(probs, out=buffer)
        xp.maximum(buffer, -100.0, out=buffer)
        buffer *= target
        with_p = buffer.sum()
        xp.negative(probs, out=buffer)
        with _quiet(xp):
            xp.log1p(buffer, out=buffer)
        xp.maximum(buffer, -100.0, out=buffer)
        with_q = buffer.sum()
        buffer *= target
        total = -(with_p + with_q - buffer.sum())
    return op.reduce_sum_of(total, probs.size)


def binary_cross_entropy_backward(op, g):
    xp, p = op.xp, op.inputs[0]._data
    scale = _scale(op, g)
    grad_target = -scale * op.clamped_logs(p)[0] if needs_grad(op.inputs[1]) else None
    kernels = compiled.load("elementwise")
    grad = None if kernels is None else kernels.bce_probs_gradient(p, op.target, scale, op.EPS)
    if grad is not None:  # the compiled form: one pass, the same arithmetic
        return grad, grad_target
    denominator = xp.subtract(1, p, out=xp.empty_like(p))  # p(1 − p), clamped, in one buffer
    denominator *= p
    xp.maximum(denominator, op.EPS, out=denominator)
    grad = xp.subtract(p, op.target, out=xp.empty_like(p))
    grad /= denominator
    grad *= scale
    return grad.astype(p.dtype, copy=False), grad_target


register(SoftmaxCrossEntropy, forward=softmax_cross_entropy_forward,
         vjp_arrays=softmax_cross_entropy_backward)
register(BinaryCrossEntropy, forward=binary_cross_entropy_forward, vjp_arrays=binary_cross_entropy_backward)
