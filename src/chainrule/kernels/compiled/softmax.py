"""Numba kernels for softmax cross-entropy from logits (N, C) against hard class indices (N,).

The NumPy form in ``chainrule.ops.loss.SoftmaxCrossEntropy`` is the reference; this is its common case
(class indices, no class weight, no label smoothing, no sample ignored) in three passes over memory
instead of about ten. NumPy reduces short rows slowly: over rows of 65 its ``max(axis=1)`` alone costs
more than the ``exp`` of the whole array. Here each row is reduced while it sits in the L1 cache:

    pass 1 (Numba)   mᵢ = maxⱼ xᵢⱼ;  sᵢⱼ = xᵢⱼ − mᵢ;  aᵢ = sᵢ,yᵢ       (the shifted logits into ``probs``)
    pass 2 (NumPy)   eᵢⱼ = exp(sᵢⱼ) in place: one SIMD ufunc call (Numba's exp is a scalar libm call)
    pass 3 (Numba)   Zᵢ = Σⱼ eᵢⱼ;  pᵢⱼ = eᵢⱼ / Zᵢ;  ℓᵢ = log Zᵢ − aᵢ;  Σᵢ ℓᵢ in float64
    backward         ∂ℓ/∂xᵢⱼ = (pᵢⱼ − [j = yᵢ])·gᵢ in one pass

The row sums Zᵢ and the losses are computed in float64 (then rounded once to the logits' dtype), so
they are at least as exact as NumPy's float32 pairwise sums; the shifted logits, their exponentials and
the gradient are the same float operations in the same order as the NumPy form. NaN propagates as
there: a NaN in a row makes its Zᵢ, its probabilities and its loss NaN, and a +inf logit makes its row
NaN (inf − inf), exactly as ``x − max(x)`` does in NumPy.

Each wrapper returns None where its kernel does not apply (no rows or no classes, labels that are not
an integer array of one per row, a label out of [0, C) or equal to ``ignore_index``, an upstream
gradient of another dtype), and the caller keeps the NumPy form, which then also raises what it raises.
"""

import math

import numba
import numpy

from chainrule.kernels import workspace

PROBS_KEY = ("softmax_cross_entropy", "probs")
GRADIENT_KEY = ("softmax_cross_entropy", "gradient")


@numba.njit(cache=True, nogil=True, error_model="numpy")
def shift_rows(logits, target, shifted, picked, ignore_index):
    """shiftedᵢⱼ = xᵢⱼ − maxⱼ xᵢⱼ and pickedᵢ = shiftedᵢ,yᵢ; returns −1, or the first row whose label
    is out of [0, C) or equals ``ignore_index`` (then the caller falls back to the NumPy form).

    The maximum runs in eight independent lanes so that the compare-and-selects of a row do not wait
    on one another; a maximum is exact in any order, and NaN reaches the row through the subtraction.
    """
    n, c = logits.shape
    for i in range(n):
        label = target[i]
        if label < 0 or label >= c or label == ignore_index:
            return i
        m0 = logits[i, 0]
        m1 = m2 = m3 = m4 = m5 = m6 = m7 = m0
        j = 0
        while j + 8 <= c:
            v = logits[i, j]
            m0 = v if v > m0 else m0
            v = logits[i, j + 1]
            m1 = v if v > m1 else m1
            v = logits[i, j + 2]
            m2 = v if v > m2 else m2
            v = logits[i, j + 3]
            m3 = v if v > m3 else m3
            v = logits[i, j + 4]
            m4 = v if v > m4 else m4
            v = logits[i, j + 5]
            m5 = v if v > m5 else m5
            v = logits[i, j + 6]
            m6 = v if v > m6 else m6
            v = logits[i, j + 7]
            m7 = v if v > m7 else m7
            j += 8
        while j < c:
            v = logits[i, j]
            m0 = v if v > m0 else m0
            j += 1
        m0 = m1 if m1 > m0 else m0
        m2 = m3 if m3 > m2 else m2
        m4 = m5 if m5 > m4 else m4
        m6 = m7 if m7 > m6 else m6
        m0 = m2 if m2 > m0 else m0
        m4 = m6 if m6 > m4 else m4
        row_max = m4 if m4 > m0 else m0
        for j in range(c):
            shifted[i, j] = logits[i, j] - row_max
        picked[i] = shifted[i, label]
    return -1


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def normalise_rows(probs, picked, losses, per_sample):
    """probsᵢⱼ ← eᵢⱼ / Zᵢ in place, with Zᵢ = Σⱼ eᵢⱼ; returns Σᵢ (log Zᵢ − pickedᵢ) in float64 and,
    when ``per_sample``, writes each log Zᵢ − pickedᵢ into ``losses``.

    ``reassoc`` only lets the float64 row sum be split into SIMD lanes; the division is by Zᵢ rounded
    to the dtype, as NumPy divides by its float32 sum.
    """
    n, c = probs.shape
    total = 0.0
    for i in range(n):
        row_sum = 0.0
        for j in range(c):
            row_sum += numpy.float64(probs[i, j])
        divisor = probs.dtype.type(row_sum)
        for j in range(c):
            probs[i, j] = probs[i, j] / divisor
        loss = math.log(row_sum) - numpy.float64(picked[i])
        if per_sample:
            losses[i] = loss
        total += loss
    return total


@numba.njit(cache=True, nogil=True, error_model="numpy")
def gradient_rows(probs, target, scale, scale_step, one, out):
    """outᵢⱼ = pᵢⱼ·gᵢ, and (pᵢ,yᵢ − 1)·gᵢ at the label: NumPy's order of operations, with gᵢ =
    ``scale[i * scale_step]`` (step 0: one scale for every row). Returns False, having written only
    part of ``out``, when a label lies outside [0, C) (labels changed in place since the forward pass)."""
    n, c = probs.shape
    for i in range(n):
        label = target[i]
        if label < 0 or label >= c:
            return False
        factor = scale[i * scale_step]
        for j in range(c):
            out[i, j] = probs[i, j] * factor
        out[i, label] = (probs[i, label] - one) * factor
    return True


def hard_label_forward(logits, target, ignore_index, per_sample):
    """(probs, loss) for logits (N, C) and class indices (N,), or None where the kernels do not apply.

    ``probs`` is softmax(logits) in an array reused from step to step (keep it only as long as the
    backward pass needs it); ``loss`` is the per-sample losses (a new (N,) array) when ``per_sample``,
    else their sum as a Python float (float64).
    """
    if logits.ndim != 2 or type(target) is not numpy.ndarray or target.dtype.kind not in "iu":
        return None
    n, c = logits.shape
    if not n or not c or target.shape != (n,):
        return None
    labels = target.astype(numpy.intp, copy=False)  # one compiled form for every integer dtype
    dtype = logits.dtype
    probs = workspace.reusable(PROBS_KEY, (n, c), dtype)
    picked = numpy.empty(n, dtype=dtype)
    if shift_rows(logits, labels, probs, picked, int(ignore_index)) >= 0:
        return None
    numpy.exp(probs, out=probs)  # every value is ≤ 0 (or NaN): nothing overflows
    losses = numpy.empty(n if per_sample else 0, dtype=dtype)
    total = normalise_rows(probs, picked, losses, per_sample)
    return probs, (losses if per_sample else total)


def hard_label_gradient(probs, target, scale):
    """(probs − onehot(target))·scale in an array reused from step to step, or None.

    ``scale`` is one number of the probabilities' dtype (the reduced loss) or one per row, of shape
    (N,) or (N, 1) (per-sample losses); anything else, or another dtype, returns None.
    """
    scale = numpy.asarray(scale)
    n, c = probs.shape
    if scale.dtype != probs.dtype or type(target) is not numpy.ndarray or target.dtype.kind not in "iu" \
            or target.shape != (n,):
        return None
    if scale.size == 1:
        step = 0
    elif scale.shape in ((n,), (n, 1)):
        step = 1
    else:
        return None
    scale = numpy.ascontiguousarray(scale.reshape(-1))  # a broadcast upstream gradient becomes real
    out = workspace.reusable(GRADIENT_KEY, (n, c), probs.dtype)
    labels = target.astype(numpy.intp, copy=False)
    return out if gradient_rows(probs, labels, scale, step, probs.dtype.type(1), out) else None
