"""Pooling primitives: max-pool keeping its argmax, average-pool, and their adjoints.

Both work one kernel offset at a time: offset k of a (kh, kw) window sees the strided view
``xpad[..., p·d : : s, q·d : : s]`` of shape (N, C, OH, OW), so a pool costs kh·kw passes over the
output and never loops over pixels in Python.

Max-pool keeps where each window's maximum sits (the first one on ties, as PyTorch) as
:class:`Winners`. Its backward ``MaxPoolScatter`` routes each gradient to that position; the
scatter's own vjp, ``MaxPoolGather``, reads at the same positions, and the gather's vjp is the
scatter again, so gradients of any order follow the argmax of the forward pass. The winners are
one boolean mask per kernel offset, built when the first derivative asks for them, so that
inference never pays for them (the compiled form in :mod:`chainrule.kernels.pool` keeps argmax
offsets instead).

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


def tiles_exactly(window, image_hw):
    """True when the windows cover the input exactly once (stride = kernel, no padding, no remainder)."""
    (kh, kw), (sh, sw), (dh, dw) = window.kernel, window.stride, window.dilation
    h, w = image_hw
    return ((kh, kw) == (sh, sw) and (dh, dw) == (1, 1) and not any(window.padding)
            and h % kh == 0 and w % kw == 0)


class Winners:
    """Where each window's maximum sits, for the derivatives of a max-pool.

    Either ``offsets``, the batch-innermost (N, C, OH, OW) argmax offsets k = p·kw + q written by
    the compiled forward kernel, or ``masks``, one boolean (N, C, OH, OW) mask per kernel offset from
    the NumPy form. ``masks()`` makes the masks from the offsets when a NumPy form needs them (a
    dtype the kernels do not take).
    """

    def __init__(self, window, offsets=None, masks=None):
        self.window, self.offsets, self._masks = window, offsets, masks

    @property
    def out_hw(self):
        return (self.offsets if self._masks is None else self._masks[0]).shape[2:]

    def masks(self):
        if self._masks is None:
            kh, kw = self.window.kernel
            self._masks = [self.offsets == k for k in range(kh * kw)]
        return self._masks

    def kernel_arguments(self):
        window = self.window
        return window.kernel, window.stride, window.dilation, (window.padding[0], window.padding[2])


class MaxPool(Op):
    """Maximum over each window of x (N, C, H, W), padded with −inf.

    Keeps where each maximum sits (the first one in row-major order on ties, the last NaN where
    there is one, as PyTorch) as :class:`Winners`: argmax offsets from the compiled kernel, or, in
    the NumPy form, one boolean (N, C, OH, OW) mask per kernel offset, computed when the first
    derivative asks for them (inference never pays for them), in the output's memory order (mixed
    memory orders make NumPy's loops several times slower).
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
        """Where the maxima sit; the NumPy form computes its masks here, on the first derivative."""
        if self.winners is None:
            xp, best = self.xp, self.output._data
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
            if best.size and xp.isnan(best.min()):  # NaN equals nothing: the last NaN wins, as PyTorch
                nan = xp.isnan(best)
                for k in reversed(range(len(views))):
                    here = xp.isnan(views[k]) & nan
                    winners[k] |= here
                    nan &= ~here
            self.winners, self.source = Winners(self.window, masks=winners), None
        return self.winners

    def vjp(self, g):
        x = self.inputs[0]
        return (MaxPoolScatter(self.winner_masks(), x.shape, _batch_inner(x._data))(g),)

    def jvp(self, dx):
        return MaxPoolGather(self.winner_masks())(dx)


class MaxPoolScatter(Op):
    """Puts g (N, C, OH, OW) at the argmax of each window into zeros of the input's shape."""

    def __init__(self, winners, image_shape, batch_inner=False):
        self.winners, self.image_shape, self.batch_inner = winners, tuple(image_shape), batch_inner

    def forward(self, g):
        xp, winners = self.xp, self.winners
        window = winners.window
        n, c, h, w = self.image_shape
        masks = winners.masks()
        padded_shape = (n, c) + window.padded_shape(h, w)
        padded = empty_in_layout(xp, self.batch_inner, padded_shape, g.dtype)
        g = _in_layout(xp, g, self.batch_inner)  # one small copy beats four mixed-order passes
        tiles = tiles_exactly(window, (h, w))
        if not tiles:
            padded[...] = 0
        for k, view in window.offset_views(padded, *g.shape[2:]):
            if tiles:  # every input element belongs to exactly one window: write, don't add
                xp.multiply(g, masks[k], out=view)
            else:
                view += g * masks[k]
        return padded[window.interior(h, w)]

    def vjp(self, gg):
        return (MaxPoolGather(self.winners)(gg),)

    def jvp(self, dg):
        return MaxPoolScatter(self.winners, self.image_shape, self.batch_inner)(dg)


class MaxPoolGather(Op):
    """Reads y (N, C, H, W) at the argmax positions of a max-pool: the adjoint of ``MaxPoolScatter``."""

    def __init__(self, winners):
        self.winners = winners

    def forward(self, y):
        xp, winners = self.xp, self.winners
        out_h, out_w = winners.out_hw
        masks = winners.masks()
        source = padded_copy(xp, y, winners.window, 0, relayout=False)
        out = None
        for k, view in winners.window.offset_views(source, out_h, out_w):
            if out is None:
                out = view * masks[k]
            else:
                out += view * masks[k]
        return out

    def vjp(self, g):
        y = self.inputs[0]
        return (MaxPoolScatter(self.winners, y.shape, _batch_inner(y._data))(g),)

    def jvp(self, dy):
        return MaxPoolGather(self.winners)(dy)


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
