"""Convolution as matrix products over the whole batch, and ``Unfold``/``Fold`` (im2col/col2im).

A 2-D convolution of ``x`` (N, C, H, W) with ``w`` (O, C, kh, kw) is

    y[n, o, i, j] = b[o] + Σ_{c, p, q} w[o, c, p, q] · xpad[n, c, i·s + p·d, j·s + q·d].

Copying every window into a column of ``cols`` (C·kh·kw, OH·OW·N) (:func:`im2col`) makes it one
matrix product, ``y = w.reshape(O, −1) @ cols``, with the gradients

    dw = g @ colsᵀ,        dx = col2im(wᵀ @ g)      (col2im is the adjoint of im2col).

Three primitives close over each other's derivatives, so gradients of any order come from the same
three forms: ``Convolution(x, w)`` has vjp (``ConvInputGrad(g, w)``, ``ConvWeightGrad(g, x)``);
``ConvInputGrad(g, w)`` has vjp (``Convolution(h, w)``, ``ConvWeightGrad(g, h)``); and
``ConvWeightGrad(g, x)`` has vjp (``Convolution(x, m)``, ``ConvInputGrad(g, m)``). With ``groups``,
each group of channels is its own product on its block of rows.

Faster forms (cache-sized chunks, batch-innermost memory, direct Numba kernels) are in
:mod:`chainrule.kernels.conv`, tested equal to these.
"""

from chainrule.autograd.op import Op, needs_grad
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ShapeError
from chainrule.ops.reduce import sum as reduce_sum
from chainrule.ops.shape import reshape
from chainrule.ops.window import Window, batch_innermost, padded_copy, pair, resolve_padding


def im2col(xp, x, window, out_h, out_w):
    """cols (C·kh·kw, OH·OW·N): column (i, j, n) holds the window of output pixel (i, j) of image n."""
    n, c = x.shape[:2]
    kh, kw = window.kernel
    padded = padded_copy(xp, x, window, 0)
    cols = xp.empty((c, kh * kw, out_h, out_w, n), dtype=x.dtype)
    for k, view in window.offset_views(padded, out_h, out_w):  # view: (N, C, OH, OW)
        cols[:, k] = view.transpose(1, 2, 3, 0)
    return cols.reshape(c * kh * kw, out_h * out_w * n)


def col2im(xp, cols, window, image_shape):
    """The adjoint of :func:`im2col`: adds each column back onto its window of an (N, C, H, W) image."""
    n, c, h, w = image_shape
    out_h, out_w = window.out_size(h, w, "fold")
    kh, kw = window.kernel
    blocks = cols.reshape(c, kh * kw, out_h, out_w, n)
    padded = batch_innermost(xp, (n, c) + window.padded_shape(h, w), cols.dtype, 0)
    for k, view in window.offset_views(padded, out_h, out_w):
        view += blocks[:, k].transpose(3, 0, 1, 2)  # one (N, C, OH, OW) add per kernel offset
    return padded[window.interior(h, w)]


def group_blocks(weight_shape, groups):
    """Per group: (output-channel slice, column-row slice) of the product."""
    o, cg, kh, kw = weight_shape
    og, kg = o // groups, cg * kh * kw
    return [(slice(j * og, (j + 1) * og), slice(j * kg, (j + 1) * kg)) for j in range(groups)]


def _as_matrix(g):
    """g (N, O, OH, OW) as the (O, OH·OW·N) matrix of the products."""
    n, o, out_h, out_w = g.shape
    return g.transpose(1, 2, 3, 0).reshape(o, out_h * out_w * n)


class _Conv(Op):
    def __init__(self, window, groups):
        self.window, self.groups = window, groups


class Convolution(_Conv):
    """y (N, O, OH, OW) = x ⋆ w (+ b): one product per group over the unfolded columns."""

    def forward(self, x, weight, bias=None):
        xp, window = self.xp, self.window
        n, _, h, w = x.shape
        o = weight.shape[0]
        out_h, out_w = window.out_size(h, w, "conv2d")
        cols = im2col(xp, x.astype(xp.result_type(x.dtype, weight.dtype), copy=False), window, out_h, out_w)
        kernel = weight.reshape(o, -1)
        out = xp.empty((o, cols.shape[1]), dtype=cols.dtype)
        for out_rows, col_rows in group_blocks(weight.shape, self.groups):
            out[out_rows] = kernel[out_rows] @ cols[col_rows]
        if bias is not None:
            out += bias.reshape(o, 1)
        return out.reshape(o, out_h, out_w, n).transpose(3, 0, 1, 2)

    def vjp(self, g):
        x, weight = self.inputs[:2]
        dx = ConvInputGrad(self.window, self.groups, x.shape)(g, weight) if needs_grad(x) else None
        dw = ConvWeightGrad(self.window, self.groups, weight.shape)(g, x) if needs_grad(weight) else None
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
    """dx (N, C, H, W) = col2im(wᵀ @ g): the adjoint of the convolution in x (a transposed convolution)."""

    def __init__(self, window, groups, image_shape):
        super().__init__(window, groups)
        self.image_shape = tuple(image_shape)

    def forward(self, g, weight):
        xp = self.xp
        o = weight.shape[0]
        grads = _as_matrix(g.astype(xp.result_type(g.dtype, weight.dtype), copy=False))
        kernel = weight.reshape(o, -1)
        cols = xp.empty((kernel.shape[1] * self.groups, grads.shape[1]), dtype=grads.dtype)
        for out_rows, col_rows in group_blocks(weight.shape, self.groups):
            cols[col_rows] = kernel[out_rows].T @ grads[out_rows]
        return col2im(xp, cols, self.window, self.image_shape)

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
    """dw (O, C/groups, kh, kw) = g @ im2col(x)ᵀ: the adjoint of the convolution in w."""

    def __init__(self, window, groups, weight_shape):
        super().__init__(window, groups)
        self.weight_shape = tuple(weight_shape)

    def forward(self, g, x):
        xp = self.xp
        dtype = xp.result_type(g.dtype, x.dtype)
        cols = im2col(xp, x.astype(dtype, copy=False), self.window, *g.shape[2:])
        grads = _as_matrix(g.astype(dtype, copy=False))
        o = self.weight_shape[0]
        dw = xp.empty((o, cols.shape[0] // self.groups), dtype=dtype)
        for out_rows, col_rows in group_blocks(self.weight_shape, self.groups):
            dw[out_rows] = grads[out_rows] @ cols[col_rows].T
        return dw.reshape(self.weight_shape)

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


class Unfold(Op):
    """im2col: x (N, C, H, W) -> cols (C·kh·kw, OH·OW·N), one column per output pixel."""

    def __init__(self, window):
        self.window = window

    def forward(self, x):
        out_h, out_w = self.window.out_size(x.shape[2], x.shape[3], "unfold")
        return im2col(self.xp, x, self.window, out_h, out_w)

    def vjp(self, g):
        return (Fold(self.window, self.inputs[0].shape)(g),)

    def jvp(self, dx):
        return Unfold(self.window)(dx)


class Fold(Op):
    """col2im, the adjoint of ``Unfold``: adds each column of (C·kh·kw, OH·OW·N) back onto (N, C, H, W)."""

    def __init__(self, window, image_shape):
        self.window, self.image_shape = window, tuple(image_shape)

    def forward(self, cols):
        return col2im(self.xp, cols, self.window, self.image_shape)

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
