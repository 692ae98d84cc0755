"""Batch normalisation (training mode) in a few passes over channel rows.

The reference (:class:`chainrule.ops.normalization.BatchNormalize`) broadcasts per-channel values
over (N, C, H, W) arrays: about ten passes over memory forward and as many backward, each with a
fresh array. A convolution's output is batch-innermost, (C, H, W, N) in memory, so each channel's
values are one contiguous row of a (C, M) matrix; here the statistics are row reductions
(``vecdot``: BLAS dot products, accurate in float32) and the rest is a few in-place passes, with
c = x − μ and r = 1/√(σ² + ε) per channel:

    forward    μ = rows.mean(1);  c = rows − μ;  σ² = c·c / M;  y = c·(γr) + β
    backward   Σg, Σg·c (row dot products);  ∂L/∂β = Σg,  ∂L/∂γ = r·Σg·c,
               dx = γr · (g − Σg/M − c·r²·Σg·c/M)      (the reference's formula, with x̂ = c·r)

c is kept for the backward pass (the reference's graph keeps as much); the output, c and the input
gradient reuse memory from the step before (:mod:`chainrule.kernels.workspace`). Other layouts, a
γ or β of another dtype than x, and gradients of gradients keep the reference.

With Numba (the ``fast`` extra) the same formulas run as two passes per row each way
(:mod:`chainrule.kernels.compiled.batch_norm`), their sums in float64.
"""

from chainrule.autograd.seam import register
from chainrule.kernels import compiled, workspace
from chainrule.ops.normalization import BatchNormalize
from chainrule.ops.window import is_batch_innermost


def _rows(a):
    """The (C, H·W·N) matrix of a batch-innermost (N, C, H, W) array: its own memory."""
    return a.transpose(1, 2, 3, 0).reshape(a.shape[1], -1)


def _as_image(rows, shape):
    n, c, h, w = shape
    return rows.reshape(c, h, w, n).transpose(3, 0, 1, 2)


def _applies(op, x, weight=None, bias=None):
    return is_batch_innermost(x) and x.size > 0 and all(
        p is None or getattr(p, "dtype", None) == x.dtype for p in (weight, bias))


def _per_channel(xp, value, channels, dtype, fill):
    return xp.full(channels, fill, dtype) if value is None else xp.ascontiguousarray(value, dtype)


def batch_norm_forward(op, x, weight=None, bias=None):
    xp, rows = op.xp, _rows(x)
    compiled_form = compiled.for_arrays("batch_norm", rows)
    if compiled_form is not None:
        channels = rows.shape[0]
        centred = workspace.reusable("batch_norm_centred", rows.shape, x.dtype, xp)
        out = workspace.reusable("batch_norm_output", rows.shape, x.dtype, xp)
        op.mean, op.variance, op.inverse = (xp.empty(channels, x.dtype) for _ in range(3))
        compiled_form.forward_rows(rows, _per_channel(xp, weight, channels, x.dtype, 1),
                                   _per_channel(xp, bias, channels, x.dtype, 0), float(op.eps), centred, out,
                                   op.mean, op.variance, op.inverse)
        op.centred = centred
        return _as_image(out, x.shape)
    mean = rows.mean(axis=1)
    centred = workspace.reusable("batch_norm_centred", rows.shape, x.dtype, xp)
    xp.subtract(rows, mean[:, None], out=centred)
    variance = xp.vecdot(centred, centred) / rows.shape[1]
    inverse = 1 / xp.sqrt(variance + op.eps)
    op.mean, op.variance, op.centred, op.inverse = mean, variance, centred, inverse
    out = workspace.reusable("batch_norm_output", rows.shape, x.dtype, xp)
    xp.multiply(centred, (inverse if weight is None else inverse * weight)[:, None], out=out)
    if bias is not None:
        out += bias[:, None]
    return _as_image(out, x.shape)


def batch_norm_backward(op, g):
    xp, centred, inverse = op.xp, op.centred, op.inverse
    count, shape = centred.shape[1], op.inputs[0].shape
    if not is_batch_innermost(g):
        laid_out = workspace.reusable("batch_norm_grad_layout", centred.shape, g.dtype, xp)
        _as_image(laid_out, shape)[...] = g
        g = _as_image(laid_out, shape)
    rows = _rows(g)
    weighted = len(op.inputs) > 1
    weight = getattr(op.inputs[1], "_data", op.inputs[1]) if weighted else None  # a Tensor or an array
    dx = workspace.reusable("batch_norm_input_grad", centred.shape, g.dtype, xp)
    compiled_form = compiled.for_arrays("batch_norm", rows, centred)
    if compiled_form is not None:
        sum_g, sum_gc = xp.empty(len(rows), g.dtype), xp.empty(len(rows), g.dtype)
        compiled_form.backward_rows(rows, centred, xp.asarray(inverse, g.dtype),
                                    _per_channel(xp, weight, len(rows), g.dtype, 1), dx, sum_g, sum_gc)
        return _gradients(op, _as_image(dx, shape), inverse, sum_g, sum_gc)
    sum_g = rows.sum(axis=1)
    sum_gc = xp.vecdot(rows, centred)
    xp.multiply(centred, (-inverse * inverse * sum_gc / count)[:, None], out=dx)  # four passes, no temporary
    dx += rows
    dx -= (sum_g / count)[:, None]
    dx *= (inverse if weight is None else inverse * weight)[:, None]
    return _gradients(op, _as_image(dx, shape), inverse, sum_g, sum_gc)


def _gradients(op, dx, inverse, sum_g, sum_gc):
    if len(op.inputs) == 1:
        return (dx,)
    wants = [getattr(v, "requires_grad", False) for v in op.inputs]
    return dx if wants[0] else None, inverse * sum_gc if wants[1] else None, sum_g if wants[2] else None


register(BatchNormalize, forward=batch_norm_forward, vjp_arrays=batch_norm_backward, applies=_applies)
