"""Changing an image's size: ``AdaptiveAvgPool2d``/``AdaptiveMaxPool2d`` and ``AdaptiveAvgPool1d`` (to
a given output size), ``Upsample`` (nearest) and ``PixelShuffle`` (channels into space).

All are compositions of differentiable ops (slices, means, maxima, one gather, reshapes), with
PyTorch's rules for which input pixels each output pixel reads.
"""

import numpy

from chainrule import ops
from chainrule.backend import array_module
from chainrule.errors import ShapeError
from chainrule.gpu import move_array
from chainrule.nn.module import Module
from chainrule.ops import getitem, stack


def _pair(size, name):
    if size is None or isinstance(size, (int, float, numpy.integer, numpy.floating)):  # one for both axes
        return (size, size)
    size = tuple(size)
    if len(size) != 2:
        raise ShapeError(f"{name}: expected one size or two, got {size}")
    return size


def adaptive_avg_pool2d(x, output_size):
    """Average over PyTorch's windows: output i reads input rows floor(i·H/h) to ceil((i+1)·H/h)."""
    if x.ndim not in (3, 4):
        raise ShapeError(f"adaptive_avg_pool2d: expected (N, C, H, W) or (C, H, W), got {tuple(x.shape)}")
    height, width = x.shape[-2:]
    out_h, out_w = (height if o is None else o for o, height in zip(_pair(output_size, "adaptive_avg_pool2d"),
                                                                    (height, width)))
    if height % out_h == 0 and width % out_w == 0:  # equal windows: one reshape and one mean
        kh, kw = height // out_h, width // out_w
        return x.reshape(x.shape[:-2] + (out_h, kh, out_w, kw)).mean(dim=(-3, -1))
    rows = []
    for i in range(out_h):
        top, bottom = (i * height) // out_h, -(-((i + 1) * height) // out_h)
        row = [x[..., top:bottom, (j * width) // out_w:-(-((j + 1) * width) // out_w)].mean(dim=(-2, -1))
               for j in range(out_w)]
        rows.append(stack(row, axis=-1))
    return stack(rows, axis=-2)


def interpolate(x, size=None, scale_factor=None, mode="nearest"):
    """Resize (N, C, H, W) to ``size`` or by ``scale_factor``; ``mode="nearest"`` (PyTorch's legacy rule)."""
    if mode != "nearest":
        raise ShapeError(f"interpolate: only mode='nearest' is implemented, got {mode!r}")
    if x.ndim != 4:
        raise ShapeError(f"interpolate: expected (N, C, H, W), got {tuple(x.shape)}")
    height, width = x.shape[-2:]
    if (size is None) == (scale_factor is None):
        raise ShapeError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        out_h, out_w = _pair(size, "interpolate")
        scales = (height / out_h, width / out_w)
    else:
        factors = _pair(scale_factor, "interpolate")
        out_h, out_w = int(numpy.floor(height * factors[0])), int(numpy.floor(width * factors[1]))
        scales = (1.0 / factors[0], 1.0 / factors[1])
    # output pixel i reads input pixel floor(i · scale), PyTorch's "nearest"
    rows = numpy.minimum(numpy.floor(numpy.arange(out_h) * scales[0]).astype(numpy.int64), height - 1)
    cols = numpy.minimum(numpy.floor(numpy.arange(out_w) * scales[1]).astype(numpy.int64), width - 1)
    xp = array_module(x._data)  # the indices go where the image is (a device refuses host indices)
    rows, cols = move_array(rows[:, None], xp), move_array(cols[None, :], xp)
    return getitem(x, (slice(None), slice(None), rows, cols))


class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return adaptive_avg_pool2d(x, self.output_size)

    def get_config(self):
        size = self.output_size
        return {"output_size": size if isinstance(size, int) or size is None else list(size)}

    def extra_repr(self):
        return f"output_size={self.output_size}"


class Upsample(Module):
    def __init__(self, size=None, scale_factor=None, mode="nearest"):
        super().__init__()
        if mode != "nearest":
            raise ShapeError(f"Upsample: only mode='nearest' is implemented, got {mode!r}")
        self.size, self.scale_factor, self.mode = size, scale_factor, mode

    def forward(self, x):
        return interpolate(x, self.size, self.scale_factor, self.mode)

    def get_config(self):
        listed = [v if isinstance(v, (int, float)) or v is None else list(v)
                  for v in (self.size, self.scale_factor)]
        return {"size": listed[0], "scale_factor": listed[1], "mode": self.mode}

    def extra_repr(self):
        return f"scale_factor={self.scale_factor}, mode={self.mode!r}" if self.size is None else \
            f"size={self.size}, mode={self.mode!r}"


def pixel_shuffle(input, upscale_factor):  # noqa: A002
    """(N, C·r², H, W) → (N, C, H·r, W·r): each group of r² channels becomes an r x r block."""
    x = input
    r = upscale_factor
    if x.ndim != 4 or x.shape[1] % (r * r):
        raise ShapeError(f"pixel_shuffle: expects (N, C·{r * r}, H, W), got shape {tuple(x.shape)}")
    n, c, h, w = x.shape
    out = ops.reshape(x, (n, c // (r * r), r, r, h, w))
    out = ops.transpose(out, (0, 1, 4, 2, 5, 3))
    return ops.reshape(out, (n, c // (r * r), h * r, w * r))


class PixelShuffle(Module):
    """(N, C·r², H, W) → (N, C, H·r, W·r), r = ``upscale_factor``."""

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = int(upscale_factor)

    def forward(self, x):
        return pixel_shuffle(x, self.upscale_factor)

    def get_config(self):
        return {"upscale_factor": self.upscale_factor}


class AdaptiveMaxPool2d(Module):
    """The maximum over PyTorch's adaptive windows (output i reads rows ⌊i·H/h⌋ to ⌈(i+1)·H/h⌉)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        height, width = x.shape[-2:]
        out_h, out_w = (size if o is None else o
                        for o, size in zip(_pair(self.output_size, "AdaptiveMaxPool2d"), (height, width)))
        rows = []
        for i in range(out_h):
            top, bottom = (i * height) // out_h, -(-((i + 1) * height) // out_h)
            row = [ops.max(x[..., top:bottom, (j * width) // out_w:-(-((j + 1) * width) // out_w)], (-2, -1))
                   for j in range(out_w)]
            rows.append(ops.stack(row, -1))
        return ops.stack(rows, -2)

    def get_config(self):
        return {"output_size": self.output_size}

class AdaptiveAvgPool1d(Module):
    """``AdaptiveAvgPool2d`` over the last dim of (N, C, L)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = int(output_size)

    def forward(self, x):
        return ops.squeeze(adaptive_avg_pool2d(ops.expand_dims(x, -2), (1, self.output_size)), -2)

    def get_config(self):
        return {"output_size": self.output_size}
