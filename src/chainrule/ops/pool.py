"""Pooling primitives: max-pool keeping its argmax, average-pool, and their adjoints.

Both work one kernel offset at a time: offset k of a (kh, kw) window sees the strided view
``xpad[..., p·d : : s, q·d : : s]`` of shape (N, C, OH, OW), so a pool costs kh·kw passes over the
output and never loops over pixels in Python.

Max-pool keeps, per kernel offset k, a mask of the outputs whose maximum sits at offset k (the first
one on ties, as PyTorch), built when the first derivative asks for it, so that inference never pays
for it. Its backward ``MaxPoolScatter`` routes each gradient to that position; the scatter's own
vjp, ``MaxPoolGather``, reads at the same positions, and the gather's vjp is the scatter again, so
gradients of any order follow the argmax of the forward pass.

Every array is made in the memory order of the pool's input (batch-innermost after a convolution,
see :mod:`chainrule.ops.window`): NumPy runs several times slower on operands of mixed orders.
"""

from chainrule.autograd.op import Op
from chainrule.ops.window import batch_innermost, is_batch_innermost, padded_copy


def empty_in_layout(xp, batch_inner, shape, dtype):
    """An empty (N, C, H, W) array, batch-innermost or C-ordered.

    Gradients are laid out like the forward input: mixed memory orders make NumPy's loops several
    times slower.
    """
    return batch_innermost(xp, shape, dtype) if batch_inner else xp.empty(shape, dtype=dtype)


def _batch_inner(x):
    return is_batch_innermost(x) and not x.flags.c_contiguous


def _in_layout(xp, g, batch_inner):
    """g itself, or a batch-innermost copy when the pool's input was batch-innermost and g is not."""
    if not batch_inner or is_batch_innermost(g):
        return g
    copy = batch_innermost(xp, g.shape, g.dtype)
    copy[...] = g
    return copy


def _tiles(window, image_hw):
    """True when the windows cover the input exactly once (stride = kernel, no padding, no remainder)."""
    (kh, kw), (sh, sw), (dh, dw) = window.kernel, window.stride, window.dilation
    h, w = image_hw
    return ((kh, kw) == (sh, sw) and (dh, dw) == (1, 1) and not any(window.padding)
            and h % kh == 0 and w % kw == 0)


class MaxPool(Op):
    """Maximum over each window of x (N, C, H, W), padded with −inf.

    Keeps ``winners``, one boolean (N, C, OH, OW) mask per kernel offset marking the outputs whose
    maximum sits at that offset (the first one in row-major order on ties), in the output's memory
    order (mixed memory orders make NumPy's loops several times slower).
    """

    def __init__(self, window):
        self.window = window

    def forward(self, x):
        xp = self.xp
        out_h, out_w = self.window.out_size(x.shape[2], x.shape[3], "max_pool2d")
        source = padded_copy(xp, x, self.window, -xp.inf, relayout=False)
        views = [view for _, view in self.window.offset_views(source, out_h, out_w)]
        best = views[0].copy(order="K")  # keeps x's memory order
        for view in views[1:]:
            xp.maximum(best, view, out=best)
        self.source, self.winners = source, None  # the masks wait for a derivative to need them
        return best

    def winner_masks(self):
        """The per-offset argmax masks, computed once, on the first derivative asked for."""
        if self.winners is None:
            xp, best = self.xp, self.output.data
            views = [view for _, view in self.window.offset_views(self.source, *best.shape[2:])]
            winners = [xp.empty_like(best, dtype=bool) for _ in views]
            taken = None
            for k, view in enumerate(views):
                xp.equal(view, best, out=winners[k])
                if taken is None:
                    taken = winners[k].copy(order="K")
                else:  # an earlier offset already holds this maximum: the first one wins
                    xp.greater(winners[k], taken, out=winners[k])
                    if k < len(views) - 1:
                        taken |= winners[k]
            self.winners, self.source = winners, None
        return self.winners

    def vjp(self, g):
        x = self.inputs[0]
        return (MaxPoolScatter(self.window, self.winner_masks(), x.shape, _batch_inner(x.data))(g),)

    def jvp(self, dx):
        return MaxPoolGather(self.window, self.winner_masks())(dx)


class MaxPoolScatter(Op):
    """Puts g (N, C, OH, OW) at the argmax of each window into zeros of the input's shape."""

    def __init__(self, window, winners, image_shape, batch_inner=False):
        self.window, self.winners, self.image_shape = window, winners, tuple(image_shape)
        self.batch_inner = batch_inner

    def forward(self, g):
        xp, window = self.xp, self.window
        n, c, h, w = self.image_shape
        padded = empty_in_layout(xp, self.batch_inner, (n, c) + window.padded_shape(h, w), g.dtype)
        g = _in_layout(xp, g, self.batch_inner)  # one small copy beats four mixed-order passes
        tiles = _tiles(window, (h, w))
        if not tiles:
            padded[...] = 0
        for k, view in window.offset_views(padded, *g.shape[2:]):
            if tiles:  # every input element belongs to exactly one window: write, don't add
                xp.multiply(g, self.winners[k], out=view)
            else:
                view += g * self.winners[k]
        return padded[window.interior(h, w)]

    def vjp(self, gg):
        return (MaxPoolGather(self.window, self.winners)(gg),)

    def jvp(self, dg):
        return MaxPoolScatter(self.window, self.winners, self.image_shape, self.batch_inner)(dg)


class MaxPoolGather(Op):
    """Reads y (N, C, H, W) at the argmax positions of a max-pool: the adjoint of ``MaxPoolScatter``."""

    def __init__(self, window, winners):
        self.window, self.winners = window, winners

    def forward(self, y):
        xp = self.xp
        out_h, out_w = self.winners[0].shape[-2:]
        source = padded_copy(xp, y, self.window, 0, relayout=False)
        out = None
        for k, view in self.window.offset_views(source, out_h, out_w):
            if out is None:
                out = view * self.winners[k]
            else:
                out += view * self.winners[k]
        return out

    def vjp(self, g):
        y = self.inputs[0]
        return (MaxPoolScatter(self.window, self.winners, y.shape, _batch_inner(y.data))(g),)

    def jvp(self, dy):
        return MaxPoolGather(self.window, self.winners)(dy)


class AvgPool(Op):
    """Mean over each window of x (N, C, H, W); padding counts as zeros unless ``count_include_pad=False``.

    ``divisor`` (the element count of each window) may be given; it is computed from the geometry
    otherwise.
    """

    def __init__(self, window, count_include_pad=True, divisor=None):
        self.window, self.count_include_pad, self.divisor = window, count_include_pad, divisor

    def forward(self, x):
        xp = self.xp
        out_h, out_w = self.window.out_size(x.shape[2], x.shape[3], "avg_pool2d")
        source = padded_copy(xp, x, self.window, 0, relayout=False)
        self.batch_inner = _batch_inner(x)
        total = empty_in_layout(xp, self.batch_inner, x.shape[:2] + (out_h, out_w), x.dtype)
        for k, view in self.window.offset_views(source, out_h, out_w):
            if k == 0:
                total[...] = view
            else:
                total += view
        if self.divisor is None:
            self.divisor = window_counts(xp, self.window, x.shape[2:], x.dtype, self.count_include_pad)
        total /= self.divisor
        return total

    def vjp(self, g):
        return (AvgPoolSpread(self.window, self.divisor, self.inputs[0].shape, self.batch_inner)(g),)

    def jvp(self, dx):
        return AvgPool(self.window, divisor=self.divisor)(dx)


class AvgPoolSpread(Op):
    """Spreads g / divisor evenly over each window: the adjoint of ``AvgPool``."""

    def __init__(self, window, divisor, image_shape, batch_inner=False):
        self.window, self.divisor, self.image_shape = window, divisor, tuple(image_shape)
        self.batch_inner = batch_inner

    def forward(self, g):
        xp, window = self.xp, self.window
        n, c, h, w = self.image_shape
        share = _in_layout(xp, g, self.batch_inner) / self.divisor
        padded = empty_in_layout(xp, self.batch_inner, (n, c) + window.padded_shape(h, w), g.dtype)
        padded[...] = 0
        for _, view in window.offset_views(padded, *g.shape[2:]):
            view += share
        return padded[window.interior(h, w)]

    def vjp(self, gg):
        return (AvgPool(self.window, divisor=self.divisor)(gg),)

    def jvp(self, dg):
        return AvgPoolSpread(self.window, self.divisor, self.image_shape, self.batch_inner)(dg)


def window_counts(xp, window, image_hw, dtype, count_include_pad):
    """How many elements each window averages over, shape (OH, OW) (or a scalar when all are equal)."""
    kh, kw = window.kernel
    if count_include_pad or not any(window.padding):
        return xp.asarray(kh * kw, dtype=dtype)
    h, w = image_hw
    ones = xp.zeros(window.padded_shape(h, w), dtype=dtype)
    ones[window.interior(h, w)] = 1
    out_h, out_w = window.out_size(h, w)
    counts = xp.zeros((out_h, out_w), dtype=dtype)
    for _, view in window.offset_views(ones, out_h, out_w):
        counts += view
    return counts
