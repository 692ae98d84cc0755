"""Convolution as matrix products over the whole batch, and ``Unfold``/``Fold`` (im2col/col2im).

A 2-D convolution of ``x`` (N, C, H, W) with ``w`` (O, C, kh, kw) is

    y[n, o, i, j] = b[o] + Σ_{c, p, q} w[o, c, p, q] · xpad[n, c, i·s + p·d, j·s + q·d].

Copying every window into a column of ``cols`` (C·kh·kw, OH·OW·N) makes it one matrix product,
``y = w.reshape(O, −1) @ cols``, with the gradients

    dw = g @ colsᵀ,        dx = Fold(wᵀ @ g)      (Fold, col2im, is the adjoint of Unfold).

Three primitives close over each other's derivatives, so gradients of any order come from the same
three kernels: ``Convolution(x, w)`` has vjp (``ConvInputGrad(g, w)``, ``ConvWeightGrad(g, x)``);
``ConvInputGrad(g, w)`` has vjp (``Convolution(h, w)``, ``ConvWeightGrad(g, h)``); and
``ConvWeightGrad(g, x)`` has vjp (``Convolution(x, m)``, ``ConvInputGrad(g, m)``).

Speed. Columns are ordered (i, j, n), batch innermost, and the image is kept batch-innermost too
(see :mod:`chainrule.ops.window`): col2im then adds one block per kernel offset with contiguous runs
of OW·N elements (3x faster than channel-major at LeNet-5's shapes). ``cols`` is never built whole:
each kernel unfolds a few output rows at a time into a buffer of about ``CHUNK_BYTES`` that stays in
the CPU cache, and multiplies it there (3x faster than one product over a 10 MB ``cols`` here, and
nothing of size C·kh·kw·OH·OW·N is kept for the backward pass: the weight gradient unfolds x again).
The output is a (N, O, OH, OW) view of (O, OH, OW, N) memory, which the following layers keep.

Few output channels. The products are then thin (LeNet-5: 6 rows) and the unfolded copies, C·kh·kw
times the input's bytes, cost more than the arithmetic: with Numba installed (the ``fast`` extra) the
three primitives run the direct kernels of :mod:`chainrule.fast.conv` instead, which read the
batch-innermost image in place (see :func:`direct_kernels` for where, and why there). The im2col form
above stays the reference and the default without Numba or under ``CHAINRULE_NO_NUMBA=1``.
"""

from chainrule import workspace
from chainrule.autograd.op import Op, needs_grad
from chainrule.autograd.tensor import Tensor
from chainrule.backend import gemm
from chainrule.errors import ShapeError
from chainrule.ops.reduce import sum as reduce_sum
from chainrule.ops.shape import reshape
from chainrule.ops.window import (
    Window,
    batch_innermost,
    is_batch_innermost,
    padded_copy,
    pair,
    resolve_padding,
    rows_last,
    unfold_view,
)

CHUNK_BYTES = 512 * 1024  # unfolded columns per product: small enough to stay in a 1 MB L2 cache
# col2im pays a fixed cost per add, kh·kw adds per chunk: larger chunks pay off there (measured)
INPUT_GRAD_CHUNKS_LARGER = 8


def _rows_per_chunk(view, itemsize, budget=None):
    c, kh, kw, _, out_w, n = view.shape
    row_bytes = max(1, c * kh * kw * out_w * n * itemsize)  # 0 for an empty batch: one chunk then
    return max(1, (budget or CHUNK_BYTES) // row_bytes)


def _column_chunks(xp, view, dtype, ones_row=False):
    """Yield ((start, stop) columns of the output, cols chunk (C·kh·kw, rows·OW·N)) over row chunks.

    With ``ones_row`` the chunk has one more row, of ones, that multiplies a bias column of the kernel.
    """
    c, kh, kw, out_h, out_w, n = view.shape
    rows = min(out_h, _rows_per_chunk(view, xp.dtype(dtype).itemsize))
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


# Direct kernels against im2col + products, batch 128, float32, forward / weight grad / input grad in
# ms (minima over 60 runs, one process, this 2-core machine shared with other jobs): 1->6 5x5 pad 2
# on 28x28 0.62/0.58/0.96 against 1.0/1.7/1.1; 6->16 5x5 on 14x14 0.85/0.43/1.20 against
# 0.94/1.0/1.2; 64->16 3x3 on 16x16 8.8/11.7/12.2 against 13.4/12.1/15.7; but 16->32 3x3
# 2.8/3.1/6.1 against 2.9/3.2/4.8, and 32->64 3x3 11.5/10.7/11.5 against 8.7/9.2/11.3. Both forms
# do O·C·kh·kw multiply-adds per output pixel, im2col at the speed of a matrix product; it also
# copies C·kh·kw values per pixel, whatever O. So the direct form wins where O, the output
# channels, is small, for any C·kh·kw.
DIRECT_MAX_OUT_CHANNELS = 16
DIRECT_MIN_BATCH = 16  # the kernels vectorise over the batch: at 8 images im2col is as fast or faster


def direct_kernels(xp, weight_shape, batch, groups, *arrays):
    """The kernels of :mod:`chainrule.fast.conv` when they apply, else None (run im2col).

    They apply to one group of at most ``DIRECT_MAX_OUT_CHANNELS`` output channels (the O of the
    forward convolution) over a batch of at least ``DIRECT_MIN_BATCH`` images, NumPy float32 or
    float64 arrays, with Numba installed and not switched off.
    """
    if groups != 1 or weight_shape[0] > DIRECT_MAX_OUT_CHANNELS or batch < DIRECT_MIN_BATCH:
        return None
    from chainrule import fast

    return fast.for_arrays("conv", *arrays)


class _Conv(Op):
    def __init__(self, window, groups):
        self.window, self.groups = window, groups

    def _blocks(self, weight_shape):
        """Per group: (output-channel slice, column-row slice) of the product."""
        o, cg, kh, kw = weight_shape
        og, kg = o // self.groups, cg * kh * kw
        return [(slice(j * og, (j + 1) * og), slice(j * kg, (j + 1) * kg)) for j in range(self.groups)]


class Convolution(_Conv):
    """y (N, O, OH, OW) = x ⋆ w (+ b): the forward kernel, in cache-sized row chunks."""

    def forward(self, x, weight, bias=None):
        xp, window = self.xp, self.window
        n, _, h, w = x.shape
        o = weight.shape[0]
        out_h, out_w = window.out_size(h, w, "conv2d")
        dtype = xp.result_type(x.dtype, weight.dtype)
        source = padded_copy(xp, x, window, 0)
        self.source = source if source is not x else None  # the weight gradient unfolds it again
        # reused from step to step once nothing holds the last one (see chainrule.workspace)
        out = workspace.reusable("conv_output", (o, out_h * out_w * n), dtype, xp)
        kernels = direct_kernels(xp, weight.shape, n, self.groups, x, weight)
        if kernels is not None:
            shift = xp.zeros(o, dtype) if bias is None else bias.astype(dtype, copy=False)
            kernels.conv_forward(rows_last(xp, source, dtype), xp.ascontiguousarray(weight, dtype), shift,
                                 out.reshape(o, out_h, out_w, n), window.stride, window.dilation)
            return out.reshape(o, out_h, out_w, n).transpose(3, 0, 1, 2)
        view = unfold_view(xp, source, window, out_h, out_w)
        kernel = weight.reshape(o, -1)
        blocks = self._blocks(weight.shape)
        # one group: the bias is one more kernel column against a row of ones in the columns, which
        # saves a pass over the output (LeNet-5's second layer: 1.35 ms instead of 1.52 in a step)
        fold_bias = bias is not None and self.groups == 1
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
        return out.reshape(o, out_h, out_w, n).transpose(3, 0, 1, 2)

    def vjp(self, g):
        x, weight = self.inputs[:2]
        g = BatchInnermost()(g)  # both kernels read g as (O, OH·OW·N): lay it out so once
        dx = ConvInputGrad(self.window, self.groups, x.shape)(g, weight) if needs_grad(x) else None
        dw = None
        if needs_grad(weight):
            dw = ConvWeightGrad(self.window, self.groups, weight.shape, self.source)(g, x)
        if len(self.inputs) == 2:
            return dx, dw
        return dx, dw, (reduce_sum(g, (0, 2, 3)) if needs_grad(self.inputs[2]) else None)

    def jvp(self, dx, dw, db=None):
        x, weight = self.inputs[:2]
        terms = []
        if dx is not None:
            terms.append(Convolution(self.window, self.groups)(dx, weight))
        if dw is not None:
            terms.append(Convolution(self.window, self.groups)(x, dw))
        if db is not None:
            terms.append(reshape(db, (1, -1, 1, 1)))
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total


class ConvInputGrad(_Conv):
    """dx (N, C, H, W) = Fold(wᵀ @ g): the adjoint of the convolution in x (a transposed convolution)."""

    def __init__(self, window, groups, image_shape):
        super().__init__(window, groups)
        self.image_shape = tuple(image_shape)

    def forward(self, g, weight):
        xp, window = self.xp, self.window
        n, c, h, w = self.image_shape
        o, _, kh, kw = weight.shape
        out_h, out_w = g.shape[2:]
        dtype = xp.result_type(g.dtype, weight.dtype)
        kernels = direct_kernels(xp, weight.shape, n, self.groups, g, weight)
        if kernels is not None:
            image = batch_innermost(xp, self.image_shape, dtype, reuse_as="conv_input_grad_direct")
            top, _, left, _ = window.padding
            kernels.conv_input_grad(rows_last(xp, g, dtype), xp.ascontiguousarray(weight, dtype),
                                    rows_last(xp, image), window.stride, window.dilation, (top, left))
            return image
        grads = _channels_first(g)
        kernel_t = weight.reshape(o, -1).T
        padded = batch_innermost(xp, (n, c) + window.padded_shape(h, w), dtype, 0, reuse_as="conv_input_grad")
        image = rows_last(xp, padded)  # (C, Hp, Wp, N), the same memory: col2im adds into it
        (sh, sw), (dh, dw) = window.stride, window.dilation
        budget = CHUNK_BYTES * INPUT_GRAD_CHUNKS_LARGER
        rows = min(out_h, _rows_per_chunk(unfold_view(xp, padded, window, out_h, out_w), dtype.itemsize,
                                          budget))
        buffer = workspace.scratch(xp, "conv_input_grad_columns", c * kh * kw * rows * out_w * n, dtype)
        for top in range(0, out_h, rows):
            count = min(rows, out_h - top)
            start, stop = top * out_w * n, (top + count) * out_w * n
            cols = buffer[:c * kh * kw * count * out_w * n].reshape(c * kh * kw, count * out_w * n)
            for out_rows, col_rows in self._blocks(weight.shape):
                gemm(kernel_t[:, out_rows], grads[out_rows, start:stop], out=cols[col_rows])
            blocks = cols.reshape(c, kh, kw, count, out_w, n)
            for p in range(kh):  # col2im: one add per kernel offset
                first = top * sh + p * dh
                for q in range(kw):
                    image[:, first:first + sh * (count - 1) + 1:sh,
                          q * dw:q * dw + sw * (out_w - 1) + 1:sw] += blocks[:, p, q]
        return padded[window.interior(h, w)]

    def vjp(self, h_grad):
        g, weight = self.inputs
        dg = Convolution(self.window, self.groups)(h_grad, weight) if needs_grad(g) else None
        dw = ConvWeightGrad(self.window, self.groups, weight.shape)(g, h_grad) if needs_grad(weight) else None
        return dg, dw

    def jvp(self, dg, dw):
        g, weight = self.inputs
        terms = []
        if dg is not None:
            terms.append(ConvInputGrad(self.window, self.groups, self.image_shape)(dg, weight))
        if dw is not None:
            terms.append(ConvInputGrad(self.window, self.groups, self.image_shape)(g, dw))
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]


class ConvWeightGrad(_Conv):
    """dw (O, C/groups, kh, kw) = g @ Unfold(x)ᵀ: the adjoint of the convolution in w."""

    def __init__(self, window, groups, weight_shape, source=None):
        super().__init__(window, groups)
        self.weight_shape = tuple(weight_shape)
        self.source = source  # x padded and laid out by the forward pass, if it had to copy

    def forward(self, g, x):
        xp, window = self.xp, self.window
        out_h, out_w = g.shape[2:]
        dtype = xp.result_type(g.dtype, x.dtype)
        source = padded_copy(xp, x, window, 0) if self.source is None else self.source
        self.source = None
        o = self.weight_shape[0]
        kernels = direct_kernels(xp, self.weight_shape, len(g), self.groups, g, x)
        if kernels is not None:
            dw = xp.empty(self.weight_shape, dtype=dtype)
            kernels.conv_weight_grad(rows_last(xp, g, dtype), rows_last(xp, source, dtype), dw,
                                     window.stride, window.dilation)
            return dw
        grads = _channels_first(g)
        view = unfold_view(xp, source, window, out_h, out_w)
        # dwᵀ = cols @ gᵀ: the long axis of the chunk is the product's inner one (1.5x faster than g @ colsᵀ)
        dw_t = xp.zeros((view.shape[0] * view.shape[1] * view.shape[2] // self.groups, o), dtype=dtype)
        blocks = self._blocks(self.weight_shape)
        for (start, stop), cols in _column_chunks(xp, view, dtype):
            for out_rows, col_rows in blocks:
                dw_t[:, out_rows] += gemm(cols[col_rows], grads[out_rows, start:stop].T)
        return xp.ascontiguousarray(dw_t.T).reshape(self.weight_shape)

    def vjp(self, m):
        g, x = self.inputs
        dg = Convolution(self.window, self.groups)(x, m) if needs_grad(g) else None
        dx = ConvInputGrad(self.window, self.groups, x.shape)(g, m) if needs_grad(x) else None
        return dg, dx

    def jvp(self, dg, dx):
        g, x = self.inputs
        terms = []
        if dg is not None:
            terms.append(ConvWeightGrad(self.window, self.groups, self.weight_shape)(dg, x))
        if dx is not None:
            terms.append(ConvWeightGrad(self.window, self.groups, self.weight_shape)(g, dx))
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]


class BatchInnermost(Op):
    """The identity, returning its input in batch-innermost memory (copied only if it is not)."""

    def forward(self, x):
        if is_batch_innermost(x):
            return x
        out = batch_innermost(self.xp, x.shape, x.dtype)
        out[...] = x
        return out

    def vjp(self, g):
        return (g,)

    def jvp(self, dx):
        return dx


class Unfold(Op):
    """im2col: x (N, C, H, W) -> cols (C·kh·kw, OH·OW·N), one column per output pixel."""

    def __init__(self, window):
        self.window = window

    def forward(self, x):
        xp, window = self.xp, self.window
        out_h, out_w = window.out_size(x.shape[2], x.shape[3], "unfold")
        view = unfold_view(xp, padded_copy(xp, x, window, 0), window, out_h, out_w)
        cols = xp.empty(view.shape, dtype=x.dtype)
        cols[...] = view
        c, kh, kw, _, _, n = view.shape
        return cols.reshape(c * kh * kw, out_h * out_w * n)

    def vjp(self, g):
        return (Fold(self.window, self.inputs[0].shape)(g),)

    def jvp(self, dx):
        return Unfold(self.window)(dx)


class Fold(Op):
    """col2im, the adjoint of ``Unfold``: adds each column of (C·kh·kw, OH·OW·N) back onto (N, C, H, W)."""

    def __init__(self, window, image_shape):
        self.window, self.image_shape = window, tuple(image_shape)

    def forward(self, cols):
        xp, window = self.xp, self.window
        n, c, h, w = self.image_shape
        out_h, out_w = window.out_size(h, w, "fold")
        kh, kw = window.kernel
        blocks = cols.reshape(c, kh * kw, out_h, out_w, n)
        padded = batch_innermost(xp, (n, c) + window.padded_shape(h, w), cols.dtype, 0)
        for k, view in window.offset_views(padded, out_h, out_w):
            view += blocks[:, k].transpose(3, 0, 1, 2)  # one (N, C, OH, OW) add per kernel offset
        return padded[window.interior(h, w)]

    def vjp(self, g):
        return (Unfold(self.window)(g),)

    def jvp(self, dcols):
        return Fold(self.window, self.image_shape)(dcols)


# ---------------------------------------------------------------- the functions users call
def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    Shapes: x (N, C, H, W), weight (O, C/groups, kh, kw), bias (O,) -> (N, O, OH, OW) with
    OH = ⌊(H + pad_top + pad_bottom − d·(kh − 1) − 1) / s⌋ + 1. ``padding`` is an int, a pair,
    "valid" (none) or "same" (output as large as the input; stride 1 only).
    """
    x, weight = _as_tensor(x), _as_tensor(weight)
    if x.ndim != 4 or weight.ndim != 4:
        raise ShapeError(f"conv2d: expects input (N, C, H, W) and weight (O, C/groups, kh, kw), got "
                         f"{x.shape} and {weight.shape}: is a batch axis missing?")
    out_channels, group_channels, kh, kw = weight.shape
    if not isinstance(groups, int) or groups < 1 or out_channels % groups:
        raise ShapeError(f"conv2d: groups={groups} must be a positive int dividing the {out_channels} "
                         "output channels")
    if x.shape[1] != group_channels * groups:
        raise ShapeError(f"conv2d: input of shape {x.shape} (N, C, H, W) has {x.shape[1]} channels, the "
                         f"weight {weight.shape} with groups={groups} expects {group_channels * groups}")
    stride, dilation = pair(stride, "stride", "conv2d"), pair(dilation, "dilation", "conv2d")
    if min(stride) < 1 or min(dilation) < 1:
        raise ShapeError(f"conv2d: stride {stride} and dilation {dilation} must be positive")
    window = Window((kh, kw), stride, resolve_padding(padding, (kh, kw), dilation, stride, "conv2d"),
                    dilation)
    window.out_size(x.shape[2], x.shape[3], "conv2d")  # fail here, with the layer's numbers
    if bias is None:
        return Convolution(window, groups)(x, weight)
    bias = _as_tensor(bias)
    if bias.shape != (out_channels,):
        raise ShapeError(f"conv2d: bias must have shape ({out_channels},), got {bias.shape}")
    return Convolution(window, groups)(x, weight, bias)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation, as ``torch.nn.functional.conv1d``: x (N, C, L), weight (O, C/groups, k)."""
    x, weight = _as_tensor(x), _as_tensor(weight)
    if x.ndim != 3 or weight.ndim != 3:
        raise ShapeError(f"conv1d: expects input (N, C, L) and weight (O, C/groups, k), got {x.shape} "
                         f"and {weight.shape}: is a batch axis missing?")

    def single(value, name):
        value = value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value
        if not isinstance(value, int):
            raise ShapeError(f"conv1d: {name} must be an int, got {value!r}")
        return (1, value)

    pad = padding if isinstance(padding, str) else (0, single(padding, "padding")[1])
    out_channels, group_channels, _ = weight.shape
    if isinstance(groups, int) and groups >= 1 and x.shape[1] != group_channels * groups:
        raise ShapeError(f"conv1d: input of shape {x.shape} (N, C, L) has {x.shape[1]} channels, the "
                         f"weight {weight.shape} with groups={groups} expects {group_channels * groups}")
    try:
        out = conv2d(reshape(x, (x.shape[0], x.shape[1], 1, x.shape[2])),
                     reshape(weight, weight.shape[:2] + (1, weight.shape[2])), bias,
                     stride=single(stride, "stride"), padding=pad, dilation=single(dilation, "dilation"),
                     groups=groups)
    except ShapeError as error:  # conv1d runs as a conv2d of height 1: say so in the user's terms
        detail = str(error).removeprefix("conv2d: ")
        raise ShapeError(f"conv1d: input {x.shape} (N, C, L), weight {weight.shape} (O, C/groups, k): "
                         f"{detail} (computed as a conv2d of height 1)") from None
    return reshape(out, (out.shape[0], out.shape[1], out.shape[3]))


def unfold(x, kernel_size, stride=1, padding=0, dilation=1):
    """The im2col matrix (C·kh·kw, OH·OW·N) of x (N, C, H, W) (our layout, not torch's (N, C·kh·kw, L))."""
    kernel = pair(kernel_size, "kernel_size", "unfold")
    stride, dilation = pair(stride, "stride", "unfold"), pair(dilation, "dilation", "unfold")
    return Unfold(Window(kernel, stride, resolve_padding(padding, kernel, dilation, stride, "unfold"),
                         dilation))(_as_tensor(x))


def fold(cols, image_shape, kernel_size, stride=1, padding=0, dilation=1):
    """col2im, the adjoint of :func:`unfold`: sums columns back into an image of ``image_shape``."""
    kernel = pair(kernel_size, "kernel_size", "fold")
    stride, dilation = pair(stride, "stride", "fold"), pair(dilation, "dilation", "fold")
    window = Window(kernel, stride, resolve_padding(padding, kernel, dilation, stride, "fold"), dilation)
    return Fold(window, image_shape)(_as_tensor(cols))
