"""Register-tiled convolution kernels: the unfolded products' arithmetic without the unfolding.

The reference (:mod:`chainrule.ops.conv`) copies every window into a column and makes one matrix
product. With stride 1 across, no copy is needed: in the batch-innermost image x (C, Hp, Wp, N),
a run of output columns j..j+k of row i (all N images of each) reads one contiguous run of x per
kernel tap t = (c, p, q), starting at ``offset[t] = ((c·Hp + p·dh)·Wp + q·dw)·N`` past where the
row's run starts. Flattening (OW, N) into one "column" axis of length OW·N:

    forward        out[o, i, col] = b[o] + Σ_t w[o, t] · x[i·sh·Wp·N + offset[t] + col]
    weight grad    dw[o, t]       = Σ_{i, col} g[o, i, col] · x[i·sh·Wp·N + offset[t] + col]

(and the input gradient of a stride-1 convolution is a forward convolution of g, padded, with the
kernel turned 180°: :func:`chainrule.kernels.conv.input_grad`). These are matrix products whose
second operand is read in place, and they run as fast as the registers let them:

Tiles (:mod:`chainrule.kernels.compiled.tiles`). The forward runs the product tile down all C·kh·kw
taps for each block of ``rows`` output channels and ``vectors`` vectors of columns; the weight
gradient keeps rows × taps vector sums over a chunk of output rows, and the chunks' sums are added in
a fixed order, so that the result does not depend on the number of threads. Output channels short of
a whole tile are computed on zero weights and not stored; columns short of a whole tile take
one-vector tiles and then a plain loop. Tested equal to the unfolded form
(tests/kernels/test_conv_kernels.py).
"""

import threading

import numba
import numpy
from numba import prange

from chainrule.kernels.compiled import tiles
from chainrule.kernels.compiled.tiles import FORWARD_ROWS, FORWARD_VECTORS, GRAD_ROWS, GRAD_TAPS, VECTOR_BYTES

# x86 code for 16-byte vectors has neither the width nor fused multiply-adds (tiles.WORTHWHILE)
WORTHWHILE = tiles.WORTHWHILE
GRAD_CHUNKS = 16  # output-row chunks summed apart: a fixed count, so results do not depend on threads


# ---------------------------------------------------------------- drivers
@numba.njit(cache=True, nogil=True)
def _tap_offsets(c_size, kh, kw, height, width, n_size, dilation, padded_to):
    """offset[t] of each tap t = (c·kh + p)·kw + q in the flat image; past the taps, the last one
    again (up to ``padded_to`` entries, so that whole tiles of taps read inside the image)."""
    dh, dw = dilation
    offsets = numpy.empty(max(padded_to, c_size * kh * kw), numpy.intp)
    t = 0
    for c in range(c_size):
        for p in range(kh):
            for q in range(kw):
                offsets[t] = ((c * height + p * dh) * width + q * dw) * n_size
                t += 1
    for extra in range(t, len(offsets)):
        offsets[extra] = offsets[t - 1]
    return offsets


@numba.njit(cache=True, nogil=True)
def _packed_weights(kernel, rows):
    """kernel (O, T) as (blocks, T, rows): each tap's ``rows`` weights side by side; zeros past O."""
    o_size, taps = kernel.shape
    blocks = (o_size + rows - 1) // rows
    packed = numpy.zeros(blocks * taps * rows, kernel.dtype)
    for o in range(o_size):
        b, r = divmod(o, rows)
        for t in range(taps):
            packed[(b * taps + t) * rows + r] = kernel[o, t]
    return packed


@numba.njit(cache=True, nogil=True, parallel=True)
def _conv_forward(x, weight, bias, out, vertical_stride, dilation):
    """out (O, OH, OW, N) = bias + x (C, Hp, Wp, N) ⋆ weight (O, C, kh, kw), stride 1 across."""
    c_size, height, width, n_size = x.shape
    o_size, _, kh, kw = weight.shape
    out_h, out_w = out.shape[1], out.shape[2]
    rows, lanes = FORWARD_ROWS, VECTOR_BYTES // x.itemsize
    wide = FORWARD_VECTORS * lanes
    taps = c_size * kh * kw
    offsets = _tap_offsets(c_size, kh, kw, height, width, n_size, dilation, taps)
    kernel = weight.reshape(o_size, taps)
    packed = _packed_weights(kernel, rows)
    blocks = (o_size + rows - 1) // rows
    shifts = numpy.zeros(blocks * rows, out.dtype)
    shifts[:o_size] = bias
    image, flat = x.reshape(-1), out.reshape(-1)
    length = out_w * n_size  # the columns of one output row
    plane = out_h * length
    whole = length // wide * wide
    narrow = length // lanes * lanes
    for i in prange(out_h):  # output rows split between the cores
        x_row, out_row = i * vertical_stride * width * n_size, i * length
        for column in range(0, whole, wide):  # each tile of x is used by every block of channels
            for b in range(blocks):
                tiles.product_wide(image, x_row + column, offsets, packed, b * taps * rows, shifts, b * rows,
                                   flat, b * rows * plane + out_row + column, plane, o_size - b * rows)
        for column in range(whole, narrow, lanes):
            for b in range(blocks):
                tiles.product_narrow(image, x_row + column, offsets, packed, b * taps * rows, shifts,
                                     b * rows, flat, b * rows * plane + out_row + column, plane,
                                     o_size - b * rows)
        for o in range(o_size):  # fewer columns than a vector: one at a time
            for column in range(narrow, length):
                total = shifts[o]
                for t in range(taps):
                    total += kernel[o, t] * image[x_row + offsets[t] + column]
                flat[o * plane + out_row + column] = total


@numba.njit(cache=True, nogil=True, parallel=True)
def _conv_weight_grad(g, x, dw, vertical_stride, dilation):
    """dw (O, C, kh, kw) = Σ over rows, columns and batch of g (O, OH, OW, N) times x (C, Hp, Wp, N)."""
    c_size, height, width, n_size = x.shape
    o_size, out_h, out_w = g.shape[0], g.shape[1], g.shape[2]
    kh, kw = dw.shape[2], dw.shape[3]
    rows, tile_taps, lanes = GRAD_ROWS, GRAD_TAPS, VECTOR_BYTES // x.itemsize
    taps = c_size * kh * kw
    tap_blocks, blocks = (taps + tile_taps - 1) // tile_taps, (o_size + rows - 1) // rows
    offsets = _tap_offsets(c_size, kh, kw, height, width, n_size, dilation, tap_blocks * tile_taps)
    image, grads = x.reshape(-1), g.reshape(-1)
    length = out_w * n_size
    plane = out_h * length
    vectors = length // lanes
    chunks = min(GRAD_CHUNKS, out_h)
    # each chunk of output rows sums into its own (blocks, tap blocks, rows, taps) tiles
    partial = numpy.zeros((chunks, blocks, tap_blocks, rows * tile_taps), dw.dtype)
    x_step = vertical_stride * width * n_size
    for chunk in prange(chunks):
        first, last = chunk * out_h // chunks, (chunk + 1) * out_h // chunks
        for b in range(blocks):  # a block's g rows stay in the cache for every tile of taps
            for tb in range(tap_blocks):
                tiles.gradient(grads, b * rows * plane + first * length, plane, o_size - b * rows, image,
                          first * x_step, offsets, tb * tile_taps, vectors, last - first, length, x_step,
                          partial[chunk, b, tb], 0)
        if vectors * lanes == length:
            continue
        for i in range(first, last):  # the columns short of a vector: one at a time
            x_row = i * x_step
            for o in range(o_size):
                b, r = divmod(o, rows)
                for t in range(taps):
                    total = partial.dtype.type(0)
                    for column in range(vectors * lanes, length):
                        total += grads[o * plane + i * length + column] * image[x_row + offsets[t] + column]
                    tb, s = divmod(t, tile_taps)
                    partial[chunk, b, tb, r * tile_taps + s] += total
    grad = dw.reshape(o_size, taps)
    for o in range(o_size):
        b, r = divmod(o, rows)
        for t in range(taps):
            tb, s = divmod(t, tile_taps)
            total = partial[0, b, tb, r * tile_taps + s]
            for chunk in range(1, chunks):  # in a fixed order
                total += partial[chunk, b, tb, r * tile_taps + s]
            grad[o, t] = total


# Numba's fallback threading layer (workqueue, used when neither TBB nor OpenMP is installed) aborts
# the process when two threads run parallel code at once; the lock lets one call in at a time (it
# costs ~0.1 µs against ~1 ms a call). With TBB or OpenMP it changes nothing but that order.
_one_at_a_time = threading.Lock()


def conv_forward(x, weight, bias, out, stride, dilation):
    """out (O, OH, OW, N) = bias + x (C, Hp, Wp, N) ⋆ weight (O, C, kh, kw); all C-ordered, one dtype."""
    with _one_at_a_time:
        _conv_forward(x, weight, bias, out, stride[0], dilation)


def conv_weight_grad(g, x, dw, stride, dilation):
    """dw (O, C, kh, kw) from g (O, OH, OW, N) and the padded x (C, Hp, Wp, N); all C-ordered."""
    with _one_at_a_time:
        _conv_weight_grad(g, x, dw, stride[0], dilation)
