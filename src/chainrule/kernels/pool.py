"""Max-pool with Numba: maximum and argmax offset in one pass, then scatter and gather in one pass each.

The compiled kernels of :mod:`chainrule.kernels.compiled.pool` loop over the batch innermost, so they
take batch-innermost images (a convolution's output) and at least ``KERNEL_MIN_BATCH`` images
(fewer run scalar code, slower than NumPy). They run where gradients are recorded: without them the
NumPy form is as fast (both wait on memory) and writes no offsets. The winners are then argmax
offsets k = p·kw + q instead of one mask per offset; :class:`chainrule.ops.pool.Winners` turns them
into masks where a reference form needs them (gradients of gradients). The input gradient's memory
is reused from the step before (:mod:`chainrule.kernels.workspace`).
"""

from chainrule.autograd.mode import is_grad_enabled
from chainrule.autograd.seam import register
from chainrule.kernels import compiled, workspace
from chainrule.ops.pool import MaxPool, MaxPoolGather, MaxPoolScatter, Winners, tiles_exactly
from chainrule.ops.window import batch_innermost, is_batch_innermost, rows_last

KERNEL_MIN_BATCH = 16


def _offset_dtype(xp, count):
    """The smallest integer dtype that holds the offsets 0 … count − 1 of a window."""
    return xp.int8 if count <= 127 else xp.int32


def _arguments(window):
    return window.kernel, window.stride, window.dilation, (window.padding[0], window.padding[2])


def _forward_applies(op, x):
    return is_grad_enabled() and is_batch_innermost(x) and len(x) >= KERNEL_MIN_BATCH and compiled.enabled()


def _has_offsets(op, array):
    return op.winners.offsets is not None and compiled.enabled()


def max_pool_forward(op, x):
    kernels = compiled.load("pool")
    if kernels is None:
        return op.forward(x)
    xp, window = op.xp, op.window
    out_shape = x.shape[:2] + window.out_size(x.shape[2], x.shape[3], "max_pool2d")
    kh, kw = window.kernel
    best = batch_innermost(xp, out_shape, x.dtype)
    offsets = batch_innermost(xp, out_shape, _offset_dtype(xp, kh * kw))
    op.winners, op.source = Winners(window, offsets=offsets), None
    kernels.max_pool_forward(rows_last(xp, x), rows_last(xp, best), rows_last(xp, offsets),
                             *_arguments(window))
    return best


def max_pool_scatter(op, g):
    kernels = compiled.load("pool")
    if kernels is None:
        return op.forward(g)
    xp, window = op.xp, op.winners.window
    image = workspace.batch_innermost(xp, op.image_shape, g.dtype, "max_pool_input_grad")
    kernels.max_pool_scatter(rows_last(xp, g), rows_last(xp, op.winners.offsets), rows_last(xp, image),
                             *_arguments(window), tiles_exactly(window, op.image_shape[2:]))
    return image


def max_pool_gather(op, y):
    kernels = compiled.load("pool")
    if kernels is None:
        return op.forward(y)
    xp, winners = op.xp, op.winners
    out = batch_innermost(xp, y.shape[:2] + tuple(winners.out_hw), y.dtype)
    kernels.max_pool_gather(rows_last(xp, y), rows_last(xp, winners.offsets), rows_last(xp, out),
                            *_arguments(winners.window))
    return out


register(MaxPool, forward=max_pool_forward, applies=_forward_applies)
register(MaxPoolScatter, forward=max_pool_scatter, applies=_has_offsets)
register(MaxPoolGather, forward=max_pool_gather, applies=_has_offsets)
