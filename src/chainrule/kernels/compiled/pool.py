"""One-pass Numba kernels for max-pooling: the maximum with its argmax, and the argmax's scatter and gather.

The NumPy forms in :mod:`chainrule.ops.pool` are the reference: they make one pass over memory per
kernel offset, and the backward pass first rebuilds one boolean mask per offset. The kernels here
compute the maximum and the argmax offset k = p·kw + q of each window together, in one pass, and the
backward pass reads the offsets back, so that nothing is rebuilt; they are tested equal to the NumPy
form (tests/fast/test_pool_kernels.py).

All three take C-ordered 4-D arrays (A, H, W, B) that pool over H and W: a batch-innermost
(N, C, H, W) image is the (C, H, W, N) array. The innermost loop runs over B, contiguous in memory,
and vectorises; with B = 1 (a C-ordered image seen so) the loops run scalar code, slower than the
NumPy form, so :mod:`chainrule.ops.pool` uses the kernels for batch-innermost images of at least
``KERNEL_MIN_BATCH`` images only. Loops run per output row and kernel offset (p, q): an index
division per element measured five times slower. A padded position holds −inf for the maximum and
0 for the gather, as in the NumPy form, and the scatter drops what falls there. The first maximum of
a window wins ties, and a NaN wins over numbers (the last NaN of a window, as PyTorch), so that NaN
propagates as in NumPy and its gradient goes where PyTorch sends it. The backward kernels choose
between g and 0 where the NumPy form multiplies g by a mask: the two agree for finite gradients, and
an infinite one stays at its argmax here (as in PyTorch) where NumPy's inf·0 makes NaN of the rest.

Importing this module compiles nothing: Numba compiles at the first call for a dtype and layout, or
loads its disk cache.
"""

import numba
import numpy


@numba.njit(cache=True, nogil=True, inline="always")
def _span(offset, stride, size, count):
    """The outputs j in [lo, hi) whose input position j·stride + offset lies inside [0, size)."""
    lo = 0 if offset >= 0 else (stride - 1 - offset) // stride
    hi = min(count, (size - 1 - offset) // stride + 1) if offset < size else 0
    return lo, max(lo, hi)


@numba.njit(cache=True, nogil=True)
def max_pool_forward(x, out, arg, kernel, stride, dilation, top_left):
    """out = the maximum of each window of x, arg = the offset k where it sits (see the module docs)."""
    a_size, height, width, b_size = x.shape
    out_h, out_w = out.shape[1], out.shape[2]
    (kh, kw), (sh, sw), (dh, dw), (top, left) = kernel, stride, dilation, top_left
    lowest = -numpy.inf
    for a in range(a_size):
        for i in range(out_h):
            # start from a padded −inf at offset 0: an input value replaces it unless it is −inf too
            out[a, i] = lowest
            arg[a, i] = 0
            for p in range(kh):
                row = i * sh + p * dh - top
                if not 0 <= row < height:
                    continue
                for q in range(kw):
                    k = p * kw + q
                    lo, hi = _span(q * dw - left, sw, width, out_w)
                    for j in range(lo, hi):
                        col = j * sw + q * dw - left
                        for b in range(b_size):
                            value, best = x[a, row, col, b], out[a, i, j, b]
                            take = (value > best) | (value != value)
                            out[a, i, j, b] = value if take else best
                            arg[a, i, j, b] = k if take else arg[a, i, j, b]


@numba.njit(cache=True, nogil=True)
def max_pool_scatter(g, arg, dx, kernel, stride, dilation, top_left, tiles):
    """dx = g put at each window's argmax, zeros elsewhere (sums where windows overlap).

    ``tiles``: the windows cover dx exactly once, so each element is written once and dx needs no
    clearing first.
    """
    a_size, out_h, out_w, b_size = g.shape
    height, width = dx.shape[1], dx.shape[2]
    (kh, kw), (sh, sw), (dh, dw), (top, left) = kernel, stride, dilation, top_left
    zero = dx.dtype.type(0)
    if not tiles:
        dx[...] = zero
    for a in range(a_size):
        for i in range(out_h):
            for p in range(kh):
                row = i * sh + p * dh - top
                if not 0 <= row < height:
                    continue
                for q in range(kw):
                    k = p * kw + q
                    lo, hi = _span(q * dw - left, sw, width, out_w)
                    for j in range(lo, hi):
                        col = j * sw + q * dw - left
                        if tiles:
                            for b in range(b_size):
                                dx[a, row, col, b] = g[a, i, j, b] if arg[a, i, j, b] == k else zero
                        else:
                            for b in range(b_size):
                                dx[a, row, col, b] += g[a, i, j, b] if arg[a, i, j, b] == k else zero


@numba.njit(cache=True, nogil=True)
def max_pool_gather(y, arg, out, kernel, stride, dilation, top_left):
    """out = y read at each window's argmax (0 where the argmax is a padded position)."""
    a_size, out_h, out_w, b_size = out.shape
    height, width = y.shape[1], y.shape[2]
    (kh, kw), (sh, sw), (dh, dw), (top, left) = kernel, stride, dilation, top_left
    out[...] = out.dtype.type(0)
    for a in range(a_size):
        for i in range(out_h):
            for p in range(kh):
                row = i * sh + p * dh - top
                if not 0 <= row < height:
                    continue
                for q in range(kw):
                    k = p * kw + q
                    lo, hi = _span(q * dw - left, sw, width, out_w)
                    for j in range(lo, hi):
                        col = j * sw + q * dw - left
                        for b in range(b_size):
                            out[a, i, j, b] = y[a, row, col, b] if arg[a, i, j, b] == k else out[a, i, j, b]
