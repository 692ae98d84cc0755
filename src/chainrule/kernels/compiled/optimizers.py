"""One-pass Numba kernels for the optimisers' updates (registered by :mod:`chainrule.kernels.optimizers`).

The NumPy ``update`` of each optimiser is the reference: it makes one pass over memory per
arithmetic operation (RMSprop nine, Adam twelve). Each kernel here computes the same rule element by
element in a single pass, in the parameter's dtype, and is tested equal to the NumPy form
(tests/fast). A kernel covers the common configurations and declines the rest (AMSGrad, centered
RMSprop, Nesterov, non-contiguous or mixed-dtype arrays) by returning False, so that the optimiser
falls back to its NumPy ``update`` for that parameter.

Moment and velocity values that decay below the smallest normal number of their dtype are set to
zero. A unit whose gradient has become exactly zero (a dead ReLU) sees its first moment shrink by β
every step until it is subnormal, and on x86 every operation on a subnormal number costs ~100x:
deep_ae's Adam went from 0.22 to 1.65 ms per step after ~800 steps, for values below 1.2e-38 that
add nothing to any update. (The zero is of the dtype: a Python 0 there turned Adam's loop into
float64 arithmetic, measured 3.7x slower.) Above that bound the kernels compute exactly what ``update`` does.

Importing this module compiles nothing: Numba compiles a kernel at its first call for a dtype, or
loads it from its on-disk cache.
"""

import math

import numba
import numpy

_FLOATS = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))
_TINY = {kind: kind.type(numpy.finfo(kind).tiny) for kind in _FLOATS}  # smallest normal number


@numba.njit(cache=True, nogil=True, error_model="numpy")
def rmsprop_kernel(p, g, square_avg, buffer, lr, alpha, one_minus_alpha, eps, weight_decay, momentum, tiny):
    """s ← αs + (1 − α)g²;  δ = g / (√s + ε);  b ← μb + δ, θ ← θ − ηb  (or θ ← θ − ηδ when μ = 0);
    s and b below ``tiny`` (the smallest normal number) become 0."""
    zero = p.dtype.type(0)
    if weight_decay == 0 and momentum == 0:  # the common case, as a loop without branches (SIMD)
        for i in range(p.size):
            s = alpha * square_avg[i] + one_minus_alpha * (g[i] * g[i])
            if s < tiny:
                s = zero
            square_avg[i] = s
            p[i] -= lr * (g[i] / (math.sqrt(s) + eps))
        return
    for i in range(p.size):
        grad = g[i] + weight_decay * p[i] if weight_decay != 0 else g[i]
        s = alpha * square_avg[i] + one_minus_alpha * (grad * grad)
        if s < tiny:
            s = zero
        square_avg[i] = s
        step = grad / (math.sqrt(s) + eps)
        if momentum != 0:
            step = momentum * buffer[i] + step
            if step < tiny and step > -tiny:  # NaN stays NaN
                step = zero
            buffer[i] = step
        p[i] -= lr * step


@numba.njit(cache=True, nogil=True, error_model="numpy")
def adam_kernel(p, g, exp_avg, exp_avg_sq, step_size, beta1, one_minus_beta1, beta2, one_minus_beta2,
                eps_hat, weight_decay, shrink, tiny):
    """m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  θ ← θ·shrink − step_size · m / (√v + ε̂);
    m and v below ``tiny`` (the smallest normal number) become 0."""
    zero = p.dtype.type(0)
    if weight_decay == 0 and shrink == 1:  # the common case, as a loop without branches (SIMD)
        for i in range(p.size):
            m = beta1 * exp_avg[i] + one_minus_beta1 * g[i]
            v = beta2 * exp_avg_sq[i] + one_minus_beta2 * (g[i] * g[i])
            if m < tiny and m > -tiny:  # NaN stays NaN
                m = zero
            if v < tiny:
                v = zero
            exp_avg[i] = m
            exp_avg_sq[i] = v
            p[i] -= step_size * (m / (math.sqrt(v) + eps_hat))
        return
    for i in range(p.size):
        theta = p[i] * shrink if shrink != 1 else p[i]
        grad = g[i] + weight_decay * theta if weight_decay != 0 else g[i]
        m = beta1 * exp_avg[i] + one_minus_beta1 * grad
        v = beta2 * exp_avg_sq[i] + one_minus_beta2 * (grad * grad)
        if m < tiny and m > -tiny:  # NaN stays NaN
            m = zero
        if v < tiny:
            v = zero
        exp_avg[i] = m
        exp_avg_sq[i] = v
        p[i] = theta - step_size * (m / (math.sqrt(v) + eps_hat))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def sgd_momentum_kernel(p, g, velocity, lr, momentum, one_minus_dampening, weight_decay, first_step, tiny):
    """v ← g (first step) or μv + (1 − τ)g;  θ ← θ − ηv  (g includes λθ); v below ``tiny`` becomes 0."""
    zero = p.dtype.type(0)
    for i in range(p.size):
        grad = g[i] + weight_decay * p[i] if weight_decay != 0 else g[i]
        v = grad if first_step else momentum * velocity[i] + one_minus_dampening * grad
        if v < tiny and v > -tiny:  # NaN stays NaN
            v = zero
        velocity[i] = v
        p[i] -= lr * v


def _flat(p, g, *state_arrays):
    """Flat views of the arrays when the kernel applies to them (same shape and float dtype, all
    C-contiguous NumPy arrays), else None."""
    arrays = (p, g, *state_arrays)
    for a in arrays:
        if type(a) is not numpy.ndarray or a.shape != p.shape or a.dtype != p.dtype \
                or not a.flags.c_contiguous:
            return None
    if p.dtype not in _FLOATS or not p.flags.writeable:
        return None
    return [a.reshape(-1) for a in arrays]


def rmsprop(optimizer, p, g, state, group):
    if group["centered"]:
        return False
    momentum = group["momentum"]
    buffer = state["momentum_buffer"] if momentum > 0.0 else state["square_avg"]  # unused when μ = 0
    flat = _flat(p, g, state["square_avg"], buffer)
    if flat is None:
        return False
    scalar = p.dtype.type
    alpha = group["alpha"]
    rmsprop_kernel(*flat, scalar(group["lr"]), scalar(alpha), scalar(1.0 - alpha), scalar(group["eps"]),
                   scalar(group["weight_decay"]), scalar(momentum), _TINY[p.dtype])
    return True


def adam(optimizer, p, g, state, group):
    if group["amsgrad"]:
        return False
    flat = _flat(p, g, state["exp_avg"], state["exp_avg_sq"])
    if flat is None:
        return False
    scalar = p.dtype.type
    lr, decay, (beta1, beta2), step = group["lr"], group["weight_decay"], group["betas"], state["step"]
    root_correction = math.sqrt(1.0 - beta2**step)
    decoupled = optimizer.decoupled_weight_decay
    adam_kernel(*flat, scalar(lr * root_correction / (1.0 - beta1**step)), scalar(beta1), scalar(1.0 - beta1),
                scalar(beta2), scalar(1.0 - beta2), scalar(group["eps"] * root_correction),
                scalar(0.0 if decoupled else decay), scalar(1.0 - lr * decay if decoupled else 1.0),
                _TINY[p.dtype])
    return True


def sgd(optimizer, p, g, state, group):
    if group["momentum"] == 0.0 or group["nesterov"]:
        return False
    flat = _flat(p, g, state["momentum_buffer"])
    if flat is None:
        return False
    scalar = p.dtype.type
    sgd_momentum_kernel(*flat, scalar(group["lr"]), scalar(group["momentum"]),
                        scalar(1.0 - group["dampening"]), scalar(group["weight_decay"]), state["step"] == 1,
                        _TINY[p.dtype])
    return True
