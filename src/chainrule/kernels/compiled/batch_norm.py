"""Batch normalisation (training mode) over channel rows in two passes forward and two backward.

The NumPy form in :mod:`chainrule.kernels.normalization` makes five passes over memory forward (mean,
subtract, dot, multiply, add) and eight backward; here each channel row (its values contiguous,
the batch-innermost layout) is read twice and written twice forward, read twice and written once
backward, with the sums accumulated in float64:

    forward    μ = Σx / M;  c = x − μ, σ² = Σc² / M;  y = c·(γr) + β       (r = 1/√(σ² + ε))
    backward   Σg, Σg·c;  dx = γr · (g − Σg/M − c·r²·Σg·c/M)

The variance is the sum of squares of c = x − μ, as in the NumPy form (not E[x²] − μ², which loses
every digit of a float32 input far from zero). Tested equal to the reference op
(tests/kernels/test_batch_norm_kernel.py).
"""

import numba
import numpy


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def forward_rows(x, scale, shift, eps, centred, out, mean, variance, inverse):
    """Per row of x (C, M): mean, variance and r = 1/√(variance + ε) into their arrays;
    centred = x − mean; out = centred·scale·r + shift."""
    count = x.shape[1]
    for row in range(x.shape[0]):
        total = 0.0
        for j in range(count):
            total += numpy.float64(x[row, j])
        mu = x.dtype.type(total / count)
        squares = 0.0
        for j in range(count):
            d = x[row, j] - mu
            centred[row, j] = d
            squares += numpy.float64(d) * numpy.float64(d)
        var = squares / count
        r = 1.0 / numpy.sqrt(var + eps)
        mean[row], variance[row], inverse[row] = mu, var, r
        factor, offset = x.dtype.type(scale[row] * r), shift[row]
        for j in range(count):
            out[row, j] = centred[row, j] * factor + offset


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def backward_rows(g, centred, inverse, scale, dx, sum_g, sum_gc):
    """Per row: Σg, Σg·c, and dx = scale·r·(g − Σg/M − c·r²·Σg·c/M)."""
    count = g.shape[1]
    for row in range(g.shape[0]):
        total, total_c = 0.0, 0.0
        for j in range(count):
            total += numpy.float64(g[row, j])
            total_c += numpy.float64(g[row, j]) * numpy.float64(centred[row, j])
        sum_g[row], sum_gc[row] = total, total_c
        r = inverse[row]
        along = g.dtype.type(-r * r * total_c / count)
        mean_g = g.dtype.type(total / count)
        factor = g.dtype.type(scale[row] * r)
        for j in range(count):
            dx[row, j] = (centred[row, j] * along + g[row, j] - mean_g) * factor
