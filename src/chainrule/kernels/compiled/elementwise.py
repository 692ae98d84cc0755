"""One-pass Numba kernels for the arithmetic around the transcendentals of BCE and the sigmoid.

NumPy's ``log``, ``log1p`` and ``exp`` are vectorised and stay NumPy calls (Numba's are scalar libm
calls). What NumPy does as one pass over memory per operation around them is fused here into one:

    binary cross-entropy    Σ t·max(log p, −100) + (1 − t)·max(log(1 − p), −100) in one pass over
                            the two logs, block by block, accumulated in float64 (more exact than
                            NumPy's float32 pairwise sum; a float32 BLAS dot drifts on large arrays)
    its gradient            (p − t) / max(p(1 − p), ε) · s
    sigmoid                 σ(x) = e/(1 + e) from e = eˣ (1 where e overflowed to inf)
    its gradient            y(1 − y) · g

The NumPy forms in ``chainrule.ops.loss.BinaryCrossEntropy`` and ``chainrule.ops.activation.Sigmoid``
are the reference; each wrapper below returns None where its kernel does not apply (not float32 or
float64, not C-contiguous, shapes that differ, a per-element scale), and the caller keeps NumPy.
Outputs and scratch come from :mod:`chainrule.kernels.workspace`, reused from step to step once nothing refers
to them, so that a large array does not fault in fresh pages every step.
Constants enter the loops in the arrays' dtype (``one``, ``eps``, ``scale``), so float32 stays float32;
NaN propagates as in NumPy (a comparison with NaN is false, so each select keeps the NaN).
"""

import numba
import numpy

from chainrule.kernels import workspace

LOG_FLOOR = -100.0  # PyTorch's clamp of each log in BCE
_FLOATS = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))
BLOCK = 32768  # elements per block of bce_sum: two float32 blocks fit in a 256 KiB L2 cache


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def bce_block_sum(log_p, log_q, t):
    """Σᵢ tᵢ·max(log pᵢ, −100) + (1 − tᵢ)·max(log(1 − pᵢ), −100), accumulated in float64.

    Each product of float32 numbers is exact in float64; ``reassoc`` only lets the float64 sum be
    split into SIMD lanes.
    """
    total = 0.0
    for i in range(t.size):
        weight = numpy.float64(t[i])
        with_p = numpy.float64(log_p[i])
        with_q = numpy.float64(log_q[i])
        with_p = LOG_FLOOR if with_p < LOG_FLOOR else with_p
        with_q = LOG_FLOOR if with_q < LOG_FLOOR else with_q
        total += weight * with_p + (1.0 - weight) * with_q
    return total


@numba.njit(cache=True, nogil=True, error_model="numpy")
def bce_probs_gradient_kernel(p, t, out, one, eps, scale):
    """outᵢ = (pᵢ − tᵢ) / max((1 − pᵢ)·pᵢ, ε) · s, in NumPy's order of operations."""
    for i in range(p.size):
        denominator = (one - p[i]) * p[i]
        denominator = eps if denominator < eps else denominator
        out[i] = (p[i] - t[i]) / denominator * scale


@numba.njit(cache=True, nogil=True, error_model="numpy")
def sigmoid_from_exp_kernel(e, one):
    """eᵢ ← eᵢ/(1 + eᵢ) in place: σ(x) from e = eˣ; an overflowed e (x > 88.7 in float32) gives 1."""
    for i in range(e.size):
        value = e[i]
        e[i] = one if value == numpy.inf else value / (one + value)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def sigmoid_gradient_kernel(y, g, out, one):
    """outᵢ = (1 − yᵢ)·yᵢ·gᵢ, in NumPy's order of operations."""
    for i in range(y.size):
        out[i] = (one - y[i]) * y[i] * g[i]


def _applies(first, *others):
    """True when the kernels can take these arrays: NumPy, one float dtype, one shape, C-contiguous."""
    for a in (first, *others):
        if type(a) is not numpy.ndarray or a.dtype != first.dtype or a.shape != first.shape \
                or not a.flags.c_contiguous:
            return False
    return first.dtype in _FLOATS


def bce_sum(probs, target):
    """Σ −(t·max(log p, −100) + (1 − t)·max(log(1 − p), −100)) as a scalar of the probs' dtype, or None.

    Block by block through one small scratch array (reused from the workspace): the two logs of a
    block stay in cache for the fused sum, and nothing of the input's size is allocated.
    """
    if not _applies(probs, target):
        return None
    flat_p, flat_t = probs.reshape(-1), target.reshape(-1)
    size = flat_p.size
    block = min(size, BLOCK)
    scratch = workspace.scratch(numpy, "bce_sum", 2 * block, probs.dtype).reshape(2, block)
    total = 0.0
    with numpy.errstate(divide="ignore"):  # log(0) = −inf: the clamp handles it
        for start in range(0, size, BLOCK):
            p, t = flat_p[start:start + BLOCK], flat_t[start:start + BLOCK]
            log_p, log_q = scratch[0, :p.size], scratch[1, :p.size]
            numpy.log(p, out=log_p)
            numpy.negative(p, out=log_q)
            numpy.log1p(log_q, out=log_q)
            total += bce_block_sum(log_p, log_q, t)
    return probs.dtype.type(-total)


def bce_probs_gradient(probs, target, scale, eps):
    """(p − t) / max(p(1 − p), ε) · scale in an array of its own, or None (``scale``: one number)."""
    if numpy.ndim(scale) != 0 or not _applies(probs, target):
        return None
    out = workspace.reusable("bce_probs_backward", probs.shape, probs.dtype)
    number = probs.dtype.type
    bce_probs_gradient_kernel(probs.reshape(-1), target.reshape(-1), out.reshape(-1), number(1),
                              number(eps), number(scale))
    return out


def sigmoid(x):
    """σ(x) in an array of its own of x's dtype, or None."""
    if not _applies(x):
        return None
    out = workspace.reusable("sigmoid", x.shape, x.dtype)
    with numpy.errstate(over="ignore"):  # eˣ = inf for large x is handled by the kernel
        numpy.exp(x, out=out)
    sigmoid_from_exp_kernel(out.reshape(-1), x.dtype.type(1))
    return out


def sigmoid_gradient(y, g):
    """y(1 − y)·g in an array of its own, or None."""
    if not _applies(y, g):
        return None
    out = workspace.reusable("sigmoid_backward", y.shape, y.dtype)
    sigmoid_gradient_kernel(y.reshape(-1), g.reshape(-1), out.reshape(-1), y.dtype.type(1))
    return out
