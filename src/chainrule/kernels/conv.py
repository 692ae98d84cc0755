"""The convolution's faster forms: cache-sized im2col chunks in batch-innermost memory, and register tiles.

The reference (:mod:`chainrule.ops.conv`) unfolds the whole image into ``cols`` (C·kh·kw, OH·OW·N)
and makes one matrix product. Here:

Batch innermost. The image is kept (C, H, W, N) in memory (see :mod:`chainrule.ops.window`): col2im
then adds one block per kernel offset with contiguous runs of OW·N elements, and the output is a
(N, O, OH, OW) view of (O, OH, OW, N) memory, which the following layers keep.

Chunks. ``cols`` is never built whole: each product unfolds a few output rows at a time into a
buffer of about ``CHUNK_BYTES`` that stays in the CPU cache, and multiplies it there; nothing of size
C·kh·kw·OH·OW·N is kept for the backward pass (the weight gradient unfolds x again). Output and
input-gradient memory is reused from step to step (:mod:`chainrule.kernels.workspace`).

Input gradient. Products into columns, then col2im adds them into the image chunk by chunk: with
Numba in one pass per chunk (:mod:`chainrule.kernels.compiled.col2im`), without it kh·kw strided
NumPy adds per chunk. A stride-1 convolution's input gradient is itself a convolution (of g padded,
with the kernel turned 180° and its channel axes swapped), which the tiles below run; without Numba
that form pays only for a "same" convolution (as many outputs as inputs), where its product is no
larger than col2im's and the adds go.

Tiles (Numba, :mod:`chainrule.kernels.compiled.conv_tiles`). With stride 1 across, the forward pass
and the weight gradient are products whose unfolded operand is read in place, and the tiles run them
from the CPU's vector registers on Numba's threads, about twice as fast as the unfolded products
here (cifar_cnn's layers: 450-510 GFLOP/s forward against 130-180; benchmarks/README.md). They take
every shape they apply to: LeNet-5's thin layers too, where the direct kernels they replaced were
6% slower.

Timings behind ``CHUNK_BYTES`` are in benchmarks/README.md.
"""

from chainrule.autograd.seam import register
from chainrule.backend import gemm
from chainrule.kernels import blas_route, compiled, workspace
from chainrule.ops.conv import ConvInputGrad, Convolution, ConvWeightGrad, group_blocks
from chainrule.ops.window import (
    Window,
    batch_innermost,
    is_batch_innermost,
    padded_copy,
    rows_last,
    unfold_view,
)

CHUNK_BYTES = 512 * 1024  # unfolded columns per product: small enough to stay in a 1 MB L2 cache
INPUT_GRAD_CHUNKS_LARGER = 8  # col2im pays a fixed cost per add, kh·kw adds per chunk: larger chunks pay


def tiles_for(window, groups, *arrays):
    """The register-tiled kernels where they apply (Numba, NumPy float arrays, one group, stride 1
    across, a CPU target with wide vectors), else None.

    They run on Numba's threads, which OpenBLAS's spinning worker slows down after any product on two
    threads: where they run, :func:`chainrule.kernels.blas_route.parallel_kernels_run` keeps OpenBLAS
    on one thread (large products then run in parts on chainrule's threads)."""
    if groups != 1 or window.stride[1] != 1:
        return None
    tiles = compiled.for_arrays("conv_tiles", *arrays)
    return tiles if tiles is not None and tiles.WORTHWHILE else None


def _rows_per_chunk(view_shape, itemsize, budget=None):
    c, kh, kw, _, out_w, n = view_shape
    row_bytes = max(1, c * kh * kw * out_w * n * itemsize)  # 0 for an empty batch: one chunk then
    return max(1, (budget or CHUNK_BYTES) // row_bytes)


def _column_chunks(xp, view, dtype, ones_row=False):
    """Yield ((start, stop) columns of the output, cols chunk (C·kh·kw, rows·OW·N)) over row chunks.

    With ``ones_row`` the chunk has one more row, of ones, that multiplies a bias column of the kernel.
    """
    c, kh, kw, out_h, out_w, n = view.shape
    rows = min(out_h, _rows_per_chunk(view.shape, xp.dtype(dtype).itemsize))
    depth = c * kh * kw + (1 if ones_row else 0)
    buffer = workspace.scratch(xp, "conv_columns", depth * rows * out_w * n, dtype)
    width = out_w * n
    for top in range(0, out_h, rows):
        count = min(rows, out_h - top)
        cols = buffer[:depth * count * width].reshape(depth, count * width)
        cols[:c * kh * kw].reshape(c, kh, kw, count, out_w, n)[...] = view[:, :, :, top:top + count]
        if ones_row:
            cols[-1] = 1
        yield (top * width, (top + count) * width), cols


def _channels_first(g):
    """g (N, O, OH, OW) as the (O, OH·OW·N) matrix of the products (free when g is batch-innermost)."""
    n, o, out_h, out_w = g.shape
    return g.transpose(1, 2, 3, 0).reshape(o, out_h * out_w * n)


def _batch_innermost_like(xp, x):
    if is_batch_innermost(x):
        return x
    out = batch_innermost(xp, x.shape, x.dtype)
    out[...] = x
    return out


def forward(xp, window, groups, x, weight, bias=None, key="conv_output"):
    """(y (N, O, OH, OW) batch-innermost, the padded source the weight gradient unfolds again or None).

    ``key`` names the output's reused memory.
    """
    n, _, h, w = x.shape
    o = weight.shape[0]
    out_h, out_w = window.out_size(h, w, "conv2d")
    dtype = xp.result_type(x.dtype, weight.dtype)
    source = padded_copy(xp, x, window, 0)
    kept = source if source is not x else None
    out = workspace.reusable(key, (o, out_h * out_w * n), dtype, xp)
    tiles = tiles_for(window, groups, x, weight)
    if tiles is not None:
        shift = xp.zeros(o, dtype) if bias is None else bias.astype(dtype, copy=False)
        blas_route.parallel_kernels_run()
        tiles.conv_forward(rows_last(xp, source, dtype), xp.ascontiguousarray(weight, dtype), shift,
                           out.reshape(o, out_h, out_w, n), window.stride, window.dilation)
        return out.reshape(o, out_h, out_w, n).transpose(3, 0, 1, 2), kept
    view = unfold_view(xp, source, window, out_h, out_w)
    kernel = weight.reshape(o, -1)
    blocks = group_blocks(weight.shape, groups)
    # one group: the bias is one more kernel column against a row of ones in the columns, which
    # saves a pass over the output
    fold_bias = bias is not None and groups == 1
    if fold_bias:
        kernel = xp.concatenate((kernel, bias.reshape(o, 1)), axis=1).astype(dtype, copy=False)
    for (start, stop), cols in _column_chunks(xp, view, dtype, ones_row=fold_bias):
        if fold_bias:
            gemm(kernel, cols, out=out[:, start:stop])
            continue
        for out_rows, col_rows in blocks:
            gemm(kernel[out_rows], cols[col_rows], out=out[out_rows, start:stop])
        if bias is not None:  # while the chunk is still in the cache
            out[:, start:stop] += bias.reshape(o, 1)
    return out.reshape(o, out_h, out_w, n).transpose(3, 0, 1, 2), kept


def input_grad(xp, window, groups, image_shape, g, weight):
    """dx (N, C, H, W) = Fold(wᵀ @ g), batch-innermost."""
    n, c, h, w = image_shape
    o, _, kh, kw = weight.shape
    out_h, out_w = g.shape[2:]
    dtype = xp.result_type(g.dtype, weight.dtype)
    as_convolution = groups == 1 and window.stride == (1, 1) and min(_transposed_padding(window)) >= 0
    if as_convolution and tiles_for(window, groups, g, weight) is not None:
        return _input_grad_as_convolution(xp, window, g, weight)  # on the forward's tiles
    one_pass = compiled.for_arrays("col2im", g, weight)
    if one_pass is None and as_convolution and (out_h, out_w) == (h, w):
        # without the compiled col2im, its kh·kw NumPy adds cost more than unfolding g, where the two
        # products are the same size: a "same" convolution, with as many outputs as inputs (with
        # fewer, g's padding makes the product larger: 2.25x for LeNet's 5x5 unpadded layers)
        return _input_grad_as_convolution(xp, window, g, weight)
    grads = _channels_first(g)
    kernel_t = weight.reshape(o, -1).T
    # col2im adds into the unpadded image (each tap's rows and columns clipped to it), so that dx is
    # dense batch-innermost memory: a view into a padded buffer sent the next ReLU backward to its
    # slow mixed-layout form
    dx = workspace.batch_innermost(xp, image_shape, dtype, "conv_input_grad", 0)
    image = rows_last(xp, dx)  # (C, H, W, N), the same memory
    budget = CHUNK_BYTES * INPUT_GRAD_CHUNKS_LARGER
    rows = min(out_h, _rows_per_chunk((c, kh, kw, out_h, out_w, n), dtype.itemsize, budget))
    buffer = workspace.scratch(xp, "conv_input_grad_columns", c * kh * kw * rows * out_w * n, dtype)
    padding = (window.padding[0], window.padding[2])
    # NumPy's col2im: per kernel offset, the output columns that land in the image, and where
    taps = [] if one_pass else [(p, q, _reach(q, window, 1, w, out_w)) for p in range(kh) for q in range(kw)]
    for top in range(0, out_h, rows):
        count = min(rows, out_h - top)
        start, stop = top * out_w * n, (top + count) * out_w * n
        cols = buffer[:c * kh * kw * count * out_w * n].reshape(c * kh * kw, count * out_w * n)
        for out_rows, col_rows in group_blocks(weight.shape, groups):
            gemm(kernel_t[:, out_rows], grads[out_rows, start:stop], out=cols[col_rows])
        blocks = cols.reshape(c, kh, kw, count, out_w, n)
        if one_pass is not None:  # col2im: every tap in one compiled loop
            one_pass.add_columns(blocks, image, top, window.stride, window.dilation, padding)
            continue
        for p, q, (out_cols, image_cols) in taps:  # col2im: one add per kernel offset
            out_rows, image_rows = _reach(p, window, 0, h, count, top)
            if out_rows.start < out_rows.stop and out_cols.start < out_cols.stop:
                image[:, image_rows, image_cols] += blocks[:, p, q, out_rows, out_cols]
    return dx


def _transposed_padding(window):
    """The padding of g under which a stride-1 convolution's input gradient is itself a convolution."""
    (kh, kw), (dh, dw) = window.kernel, window.dilation
    top, bottom, left, right = window.padding
    return dh * (kh - 1) - top, dh * (kh - 1) - bottom, dw * (kw - 1) - left, dw * (kw - 1) - right


def _input_grad_as_convolution(xp, window, g, weight):
    """dx of a stride-1 convolution: g, padded by (k − 1)·dilation − padding, convolved with the kernel
    turned 180° and its channel axes swapped (C, O, kh, kw)."""
    turned = xp.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    transposed = Window(window.kernel, (1, 1), _transposed_padding(window), window.dilation)
    dx, _ = forward(xp, transposed, 1, g, turned, key="conv_input_grad")
    return dx


def _reach(tap, window, axis, size, count, first=0):
    """(outputs, image): slices of the outputs first … first + count − 1 (counted from ``first``) whose
    ``tap`` lands inside the unpadded image along ``axis`` (0 rows, 1 columns), and of where they land."""
    stride, step = window.stride[axis], tap * window.dilation[axis] - window.padding[2 * axis]
    step += first * stride
    lo = max(0, -(step // stride))  # the first i with i·stride + step ≥ 0
    hi = max(lo, min(count, (size - 1 - step) // stride + 1))  # and i·stride + step ≤ size − 1
    start = lo * stride + step
    return slice(lo, hi), slice(start, start + stride * (hi - lo - 1) + 1 if hi > lo else start, stride)


def weight_grad(xp, window, groups, weight_shape, g, x, source=None):
    """dw (O, C/groups, kh, kw) = g @ Unfold(x)ᵀ, unfolding ``source`` (x padded) chunk by chunk."""
    out_h, out_w = g.shape[2:]
    dtype = xp.result_type(g.dtype, x.dtype)
    source = padded_copy(xp, x, window, 0) if source is None else source
    o = weight_shape[0]
    tiles = tiles_for(window, groups, g, x)
    if tiles is not None:
        dw = xp.empty(weight_shape, dtype=dtype)
        blas_route.parallel_kernels_run()
        tiles.conv_weight_grad(rows_last(xp, g, dtype), rows_last(xp, source, dtype), dw, window.stride,
                               window.dilation)
        return dw
    grads = _channels_first(g)
    view = unfold_view(xp, source, window, out_h, out_w)
    # dwᵀ = cols @ gᵀ: the long axis of the chunk is the product's inner one (1.5x faster than g @ colsᵀ)
    dw_t = xp.zeros((view.shape[0] * view.shape[1] * view.shape[2] // groups, o), dtype=dtype)
    blocks = group_blocks(weight_shape, groups)
    for (start, stop), cols in _column_chunks(xp, view, dtype):
        for out_rows, col_rows in blocks:
            dw_t[:, out_rows] += gemm(cols[col_rows], grads[out_rows, start:stop].T)
    return xp.ascontiguousarray(dw_t.T).reshape(weight_shape)


# ---------------------------------------------------------------- attached to the reference ops
def convolution_forward(op, x, weight, bias=None):
    out, op.source = forward(op.xp, op.window, op.groups, x, weight, bias)
    return out


def convolution_backward(op, g):
    """(dx, dw, db) from g laid out batch-innermost once for both products."""
    xp, (x, weight) = op.xp, (v._data for v in op.inputs[:2])
    wants = [getattr(v, "requires_grad", False) for v in op.inputs]
    g = _batch_innermost_like(xp, g)
    dx = input_grad(xp, op.window, op.groups, x.shape, g, weight) if wants[0] else None
    dw = weight_grad(xp, op.window, op.groups, weight.shape, g, x, op.source) if wants[1] else None
    op.source = None
    if len(op.inputs) == 2:
        return dx, dw
    return dx, dw, (g.sum(axis=(0, 2, 3)) if wants[2] else None)


def input_grad_forward(op, g, weight):
    return input_grad(op.xp, op.window, op.groups, op.image_shape, g, weight)


def weight_grad_forward(op, g, x):
    return weight_grad(op.xp, op.window, op.groups, op.weight_shape, g, x)


register(Convolution, forward=convolution_forward, vjp_arrays=convolution_backward)
register(ConvInputGrad, forward=input_grad_forward)
register(ConvWeightGrad, forward=weight_grad_forward)
