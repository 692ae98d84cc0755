"""Geometry of sliding windows (convolution and pooling) and the batch-innermost memory layout.

A window of ``kernel`` (kh, kw) slides over a padded (N, C, H, W) image with ``stride`` and
``dilation``; offset k = (p, q) of the kernel touches the strided view
``xpad[..., p·d : : s, q·d : : s]`` of shape (N, C, OH, OW), with

    OH = ⌊(H + pad_top + pad_bottom − d·(kh − 1) − 1) / s⌋ + 1.

Convolution and pooling work in "batch-innermost" memory: a (N, C, H, W) array whose memory is
(C, H, W, N). Its rows of OW·N elements are contiguous, which keeps NumPy's inner loops long.
"""

from chainrule.errors import ShapeError


def ints(value, n, name, op):
    """``value`` as a tuple of ``n`` ints: an int repeats, an n-sequence stays."""
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) != n or not all(isinstance(v, int) for v in value):
        raise ShapeError(f"{op}: {name} must be an int or {n} ints, got {value!r}")
    return value


def pair(value, name, op):
    """``value`` as a pair of ints: an int repeats, a 2-sequence stays."""
    return ints(value, 2, name, op)


def resolve_padding(padding, kernel, dilation, stride, op):
    """Padding as (top, bottom, left, right); "same" pads d·(k−1) in all, the odd one at the end."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ShapeError(f"{op}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
        if stride != (1, 1):
            raise ShapeError(f"{op}: padding='same' needs stride 1, got stride {stride}: pad "
                             "explicitly for strided convolutions")
        sides = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            sides += [total // 2, total - total // 2]
        return tuple(sides)
    ph, pw = pair(padding, "padding", op)
    if ph < 0 or pw < 0:
        raise ShapeError(f"{op}: padding must be non-negative, got {padding!r}")
    return (ph, ph, pw, pw)


class Window:
    """Geometry of a sliding 2-D window: kernel, stride, dilation and (top, bottom, left, right) padding."""

    def __init__(self, kernel, stride, padding, dilation):
        self.kernel, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation

    def out_size(self, height, width, op="window"):
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        top, bottom, left, right = self.padding
        out_h = (height + top + bottom - dh * (kh - 1) - 1) // sh + 1
        out_w = (width + left + right - dw * (kw - 1) - 1) // sw + 1
        if out_h < 1 or out_w < 1:
            raise ShapeError(f"{op}: a {height}x{width} input padded by {self.padding} is smaller than the "
                             f"dilated kernel {self.kernel} (dilation {self.dilation}): use a smaller "
                             "kernel or more padding")
        return out_h, out_w

    def padded_shape(self, height, width):
        top, bottom, left, right = self.padding
        return height + top + bottom, width + left + right

    def interior(self, height, width):
        """Index of the unpadded input inside a padded (..., Hp, Wp) array."""
        top, _, left, _ = self.padding
        return (Ellipsis, slice(top, top + height), slice(left, left + width))

    def offset_views(self, padded, out_h, out_w):
        """Yield (k, view) per kernel offset: the (..., OH, OW) elements that offset k touches."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        k = 0
        for p in range(kh):
            for q in range(kw):
                rows = slice(p * dh, p * dh + sh * (out_h - 1) + 1, sh)
                cols = slice(q * dw, q * dw + sw * (out_w - 1) + 1, sw)
                yield k, padded[..., rows, cols]
                k += 1


def batch_innermost(xp, shape, dtype, fill=None):
    """A (N, C, H, W) array whose memory is (C, H, W, N): the layout the convolution works in."""
    n, c, h, w = shape
    raw = xp.empty((c, h, w, n), dtype=dtype)
    if fill is not None:
        raw.fill(fill)
    return raw.transpose(3, 0, 1, 2)


def rows_last(xp, x, dtype=None):
    """The C-ordered (C, H, W, N) array of a (N, C, H, W) one: x's own memory when batch-innermost.

    The compiled kernels take this form (their innermost loop runs over N).
    """
    return xp.ascontiguousarray(x.transpose(1, 2, 3, 0), dtype=dtype)


def is_batch_innermost(x):
    return x.ndim == 4 and x.transpose(1, 2, 3, 0).flags.c_contiguous


def padded_copy(xp, x, window, fill, relayout=True):
    """x (N, C, H, W) inside a border of ``fill``, batch-innermost.

    Without padding, x itself when it is batch-innermost already or ``relayout`` is False.
    """
    if not any(window.padding):
        if not relayout or is_batch_innermost(x):
            return x
        out = batch_innermost(xp, x.shape, x.dtype)
        out[...] = x
        return out
    n, c, h, w = x.shape
    out = batch_innermost(xp, (n, c) + window.padded_shape(h, w), x.dtype, fill)
    out[window.interior(h, w)] = x
    return out


def unfold_view(xp, source, window, out_h, out_w):
    """The read-only (C, kh, kw, OH, OW, N) view of every window of ``source`` (N, C, Hp, Wp), padded."""
    n, c = source.shape[:2]
    (kh, kw), (sh, sw), (dh, dw) = window.kernel, window.stride, window.dilation
    sn, sc, sy, sx = source.strides
    return xp.lib.stride_tricks.as_strided(
        source, shape=(c, kh, kw, out_h, out_w, n),
        strides=(sc, sy * dh, sx * dw, sy * sh, sx * sw, sn), writeable=False)
