"""Direct convolution kernels for few channels: no unfolded columns, the batch loop innermost.

The im2col form in :mod:`chainrule.ops.conv` is the reference: it copies every window into a column
and makes one matrix product. With few channels (LeNet-5: 1->6 and 6->16, 5x5) the products are
thin (6 or 16 output rows) and the copies, C·kh·kw times the input's bytes, cost more than the
arithmetic. The kernels here read the image in place instead:

    forward        y[o, i, j, :]  = b[o] + Σ_{c,p,q} w[o, c, p, q] · x[c, i·sh + p·dh, j·sw + q·dw, :]
    weight grad    dw[o, c, p, q] = Σ_{i,j,n} g[o, i, j, n] · x[c, i·sh + p·dh, j·sw + q·dw, n]
    input grad     dx[c, Y, X, :] = Σ_{o,p,q} w[o, c, p, q] · g[o, i, j, :]
                   over the (o, i, j, p, q) with i·sh + p·dh = Y and j·sw + q·dw = X

on C-ordered arrays whose last axis is the batch: x (C, Hp, Wp, N) padded, y and g (O, OH, OW, N),
which is the memory of a batch-innermost (N, C, H, W) array. With stride 1 across, the output
columns j..j+k of one row read k+1 contiguous columns of x per tap, so each innermost loop runs over
a contiguous run of about a thousand values (1-D slices, the form LLVM vectorises) with the weights
read as scalars outside it. The loops are bound by loads and stores, not arithmetic, so each pass
does eight multiply-adds per element: four taps into the rows of two output channels (forward),
two channels by four taps of sums (weight gradient), four output channels into the rows of two
image channels (input gradient). The input gradient gathers (each dx row sums the g rows that
reach it) rather than scatters, so it needs no zeroed padded image and writes the unpadded dx once.
The outer loop runs on both cores (``prange``; 1.3-2x faster here on a quiet machine); each thread
writes its own rows or sums, so results do not depend on the number of threads.

Measured and not adopted (LeNet-5's second layer, forward): one tap into one row per pass (a store
per multiply-add: 2.4 ms against 0.93 for the passes above); a loop per output pixel (N values, too
short: 2x slower); eight taps per pass instead of four (3-9% faster, not worth the code).

The weight gradient is a dot product over the batch: ``fastmath`` reassociation lets LLVM keep
vector partial sums (NaN still propagates; the sums round as a matrix product's do, not as a
left-to-right loop). The kernels are tested equal to the im2col form (tests/fast/test_conv_kernels.py).
Importing this module compiles nothing: Numba compiles at the first call for a dtype, or loads its
disk cache.
"""

import threading

import numba
import numpy
from numba import prange

_REASSOCIATE = {"reassoc", "contract"}  # not "nnan"/"ninf": NaN and inf behave as in NumPy
_CONTRACT = {"contract"}  # a·b + c as one fused multiply-add


@numba.njit(cache=True, nogil=True)
def _taps(c_size, kh, kw, dh, dw):
    """Per kernel tap t = (c·kh + p)·kw + q: its channel c and its offsets p·dh, q·dw in the image."""
    taps = c_size * kh * kw
    channel = numpy.empty(taps, numpy.intp)
    down = numpy.empty(taps, numpy.intp)
    across = numpy.empty(taps, numpy.intp)
    t = 0
    for c in range(c_size):
        for p in range(kh):
            for q in range(kw):
                channel[t], down[t], across[t] = c, p * dh, q * dw
                t += 1
    return channel, down, across


SEGMENT = 1024  # elements of an output row summed per pass: the row and its four sources stay in L1


@numba.njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT)
def _conv_forward(x, weight, bias, out, stride, dilation):
    """out (O, OH, OW, N) = bias + the convolution of x (C, Hp, Wp, N) with weight (O, C, kh, kw).

    With stride 1 across, a run of output columns reads one contiguous run of x per tap: one loop
    over about ``SEGMENT`` values. Each pass adds four taps to two output channels' rows: two
    stores and six loads per eight multiply-adds (one tap into one row: a store and two loads per
    multiply-add, 2x slower). The four source runs are loaded once for all output channels.
    """
    c_size, _, width, n_size = x.shape
    o_size, _, kh, kw = weight.shape
    out_h, out_w = out.shape[1], out.shape[2]
    (sh, sw), (dh, dw) = stride, dilation
    taps = c_size * kh * kw
    kernel = weight.reshape(o_size, taps)
    channel, down, across = _taps(c_size, kh, kw, dh, dw)
    image = x.reshape(c_size, x.shape[1], width * n_size)
    rows = out.reshape(o_size, out_h, out_w * n_size)
    # stride 1: runs of `span` output columns, contiguous in x too; else one column (N values) a run
    span = max(1, SEGMENT // n_size) if sw == 1 else 1
    for i in prange(out_h):  # output rows split between the cores
        for first in range(0, out_w, span):
            lo, length, origin = first * n_size, (min(out_w, first + span) - first) * n_size, first * sw
            for o in range(o_size):
                dest, start = rows[o, i, lo:lo + length], bias[o]
                for n in range(length):
                    dest[n] = start
            t = 0
            while t + 4 <= taps:
                a0 = (origin + across[t]) * n_size
                b0 = (origin + across[t + 1]) * n_size
                c0 = (origin + across[t + 2]) * n_size
                d0 = (origin + across[t + 3]) * n_size
                a = image[channel[t], i * sh + down[t], a0:a0 + length]
                b = image[channel[t + 1], i * sh + down[t + 1], b0:b0 + length]
                c = image[channel[t + 2], i * sh + down[t + 2], c0:c0 + length]
                d = image[channel[t + 3], i * sh + down[t + 3], d0:d0 + length]
                for o in range(0, o_size - 1, 2):
                    wa, wb, wc, wd = kernel[o, t], kernel[o, t + 1], kernel[o, t + 2], kernel[o, t + 3]
                    va, vb = kernel[o + 1, t], kernel[o + 1, t + 1]
                    vc, vd = kernel[o + 1, t + 2], kernel[o + 1, t + 3]
                    dest, dest2 = rows[o, i, lo:lo + length], rows[o + 1, i, lo:lo + length]
                    for n in range(length):
                        an, bn, cn, dn = a[n], b[n], c[n], d[n]
                        dest[n] += wa * an + wb * bn + wc * cn + wd * dn
                        dest2[n] += va * an + vb * bn + vc * cn + vd * dn
                if o_size % 2:
                    o = o_size - 1
                    wa, wb, wc, wd = kernel[o, t], kernel[o, t + 1], kernel[o, t + 2], kernel[o, t + 3]
                    dest = rows[o, i, lo:lo + length]
                    for n in range(length):
                        dest[n] += wa * a[n] + wb * b[n] + wc * c[n] + wd * d[n]
                t += 4
            for last in range(t, taps):  # the taps left over from the blocks of four, one at a time
                a0 = (origin + across[last]) * n_size
                a = image[channel[last], i * sh + down[last], a0:a0 + length]
                for o in range(o_size):
                    factor, dest = kernel[o, last], rows[o, i, lo:lo + length]
                    for n in range(length):
                        dest[n] += factor * a[n]


@numba.njit(cache=True, nogil=True, parallel=True, fastmath=_REASSOCIATE)
def _conv_weight_grad(g, x, dw, stride, dilation):
    """dw (O, C, kh, kw) = Σ over pixels and batch of g (O, OH, OW, N) times the windows of x (C, Hp, Wp, N).

    Runs as in :func:`_conv_forward`; eight sums at once, two output channels by four taps, so that
    each pass loads six runs for eight multiply-adds. A block short of channels or taps repeats its
    last one: those sums are computed and not stored.
    """
    c_size, _, width, n_size = x.shape
    o_size, out_h, out_w = g.shape[0], g.shape[1], g.shape[2]
    kh, kw = dw.shape[2], dw.shape[3]
    (sh, sw), (dh, dwd) = stride, dilation
    taps = c_size * kh * kw
    grad = dw.reshape(o_size, taps)
    channel, down, across = _taps(c_size, kh, kw, dh, dwd)
    image = x.reshape(c_size, x.shape[1], width * n_size)
    rows = g.reshape(o_size, out_h, out_w * n_size)
    segments, length = (1, out_w * n_size) if sw == 1 else (out_w, n_size)
    zero = dw.dtype.type(0)
    blocks = (taps + 3) // 4
    for job in prange((o_size + 1) // 2 * blocks):  # (channel pair, tap block) jobs, split between cores
        o, t = 2 * (job // blocks), 4 * (job % blocks)
        other = min(o + 1, o_size - 1)
        t1, t2, t3 = min(t + 1, taps - 1), min(t + 2, taps - 1), min(t + 3, taps - 1)
        sa, sb, sc, sd = zero, zero, zero, zero
        ua, ub, uc, ud = zero, zero, zero, zero
        for i in range(out_h):
            for s in range(segments):
                grads = rows[o, i, s * length:(s + 1) * length]
                grads2 = rows[other, i, s * length:(s + 1) * length]
                a0 = (s * sw + across[t]) * n_size
                b0 = (s * sw + across[t1]) * n_size
                c0 = (s * sw + across[t2]) * n_size
                d0 = (s * sw + across[t3]) * n_size
                a = image[channel[t], i * sh + down[t], a0:a0 + length]
                b = image[channel[t1], i * sh + down[t1], b0:b0 + length]
                c = image[channel[t2], i * sh + down[t2], c0:c0 + length]
                d = image[channel[t3], i * sh + down[t3], d0:d0 + length]
                for n in range(length):
                    an, bn, cn, dn = a[n], b[n], c[n], d[n]
                    value, value2 = grads[n], grads2[n]
                    sa += value * an
                    sb += value * bn
                    sc += value * cn
                    sd += value * dn
                    ua += value2 * an
                    ub += value2 * bn
                    uc += value2 * cn
                    ud += value2 * dn
        for k, (first, second) in enumerate(((sa, ua), (sb, ub), (sc, uc), (sd, ud))):
            if t + k < taps:
                grad[o, t + k] = first
                grad[other, t + k] = second  # the same sum again when other == o


@numba.njit(cache=True, nogil=True, inline="always")
def _source_index(position, offset, stride, count):
    """The output index i with i·stride + offset == position, or −1 where there is none."""
    t = position - offset
    if t < 0 or t % stride != 0:
        return -1
    i = t // stride
    return i if i < count else -1


@numba.njit(cache=True, nogil=True, fastmath=_CONTRACT)
def _add_channels(dest, dest2, g, weight, c, c2, p, q, i, first, length):
    """dest += Σ_o weight[o, c, p, q] · g[o, i, first:first + length], and dest2 likewise for c2.

    Four output channels by two image channels a pass: four g runs loaded for eight multiply-adds.
    """
    o_size = g.shape[0]
    o = 0
    while o + 4 <= o_size:
        a, b = g[o, i, first:first + length], g[o + 1, i, first:first + length]
        cc, d = g[o + 2, i, first:first + length], g[o + 3, i, first:first + length]
        wa, wb = weight[o, c, p, q], weight[o + 1, c, p, q]
        wc, wd = weight[o + 2, c, p, q], weight[o + 3, c, p, q]
        va, vb = weight[o, c2, p, q], weight[o + 1, c2, p, q]
        vc, vd = weight[o + 2, c2, p, q], weight[o + 3, c2, p, q]
        if c2 == c:
            for n in range(length):
                dest[n] += wa * a[n] + wb * b[n] + wc * cc[n] + wd * d[n]
        else:
            for n in range(length):
                an, bn, cn, dn = a[n], b[n], cc[n], d[n]
                dest[n] += wa * an + wb * bn + wc * cn + wd * dn
                dest2[n] += va * an + vb * bn + vc * cn + vd * dn
        o += 4
    while o < o_size:
        factor, factor2 = weight[o, c, p, q], weight[o, c2, p, q]
        a = g[o, i, first:first + length]
        for n in range(length):
            dest[n] += factor * a[n]
        if c2 != c:
            for n in range(length):
                dest2[n] += factor2 * a[n]
        o += 1


@numba.njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT)
def _conv_input_grad(g, weight, dx, stride, dilation, top_left):
    """dx (C, H, W, N) = the transposed convolution of g (O, OH, OW, N) with weight (O, C, kh, kw).

    dx is the unpadded image; ``top_left`` is the forward pass's (top, left) padding, so that dx's
    row y is row y + top of the padded image the forward pass read. Rows y of two image channels
    at once gather, per tap (p, q) that reaches them, the g rows of all output channels: with
    stride 1 across, the columns a tap reaches form one contiguous run of dx's row and of g's.
    """
    c_size, height, width, n_size = dx.shape
    o_size, _, kh, kw = weight.shape
    out_h, out_w = g.shape[1], g.shape[2]
    (sh, sw), (dh, dw), (top, left) = stride, dilation, top_left
    rows = g.reshape(o_size, out_h, out_w * n_size)
    image = dx.reshape(c_size, height, width * n_size)
    zero = dx.dtype.type(0)
    for y in prange(height):  # rows of dx split between the cores
        for c in range(0, c_size, 2):
            c2 = min(c + 1, c_size - 1)  # an odd last channel pairs with itself: added once
            row, row2 = image[c, y], image[c2, y]
            for n in range(width * n_size):
                row[n] = zero
                row2[n] = zero
            for p in range(kh):
                i = _source_index(y + top, p * dh, sh, out_h)
                if i < 0:
                    continue
                for q in range(kw):
                    shift = q * dw - left  # column X of dx meets output column j with j·sw + shift = X
                    if sw == 1:
                        lo, hi = max(0, shift), min(width, out_w + shift)
                        if lo < hi:
                            _add_channels(row[lo * n_size:hi * n_size], row2[lo * n_size:hi * n_size], rows,
                                          weight, c, c2, p, q, i, (lo - shift) * n_size, (hi - lo) * n_size)
                        continue
                    for x in range(width):
                        j = _source_index(x, shift, sw, out_w)
                        if j >= 0:
                            _add_channels(row[x * n_size:(x + 1) * n_size], row2[x * n_size:(x + 1) * n_size],
                                          rows, weight, c, c2, p, q, i, j * n_size, n_size)


# Numba's fallback threading layer (workqueue, used when neither TBB nor OpenMP is installed) aborts
# the process when two threads run parallel code at once; the lock lets one call in at a time (it
# costs ~0.1 µs against ~1 ms a call). With TBB or OpenMP it changes nothing but that order.
_one_at_a_time = threading.Lock()


def conv_forward(x, weight, bias, out, stride, dilation):
    """out (O, OH, OW, N) = bias + x (C, Hp, Wp, N) ⋆ weight (O, C, kh, kw); all C-ordered, one dtype."""
    with _one_at_a_time:
        _conv_forward(x, weight, bias, out, stride, dilation)


def conv_weight_grad(g, x, dw, stride, dilation):
    """dw (O, C, kh, kw) from g (O, OH, OW, N) and the padded x (C, Hp, Wp, N); all C-ordered."""
    with _one_at_a_time:
        _conv_weight_grad(g, x, dw, stride, dilation)


def conv_input_grad(g, weight, dx, stride, dilation, top_left):
    """dx (C, H, W, N), unpadded, from g (O, OH, OW, N) and weight; ``top_left`` the forward padding."""
    with _one_at_a_time:
        _conv_input_grad(g, weight, dx, stride, dilation, top_left)
