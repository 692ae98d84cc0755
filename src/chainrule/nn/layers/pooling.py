"""Pooling layers and their functional forms: max and average pooling in 1-D and 2-D, global average pooling.

PyTorch's defaults: ``stride=None`` means stride = kernel_size (windows side by side), padding
is added on both sides (−inf for max-pooling, zeros for average pooling, where
``count_include_pad=True`` counts the zeros in the mean). The primitives live in
:mod:`chainrule.ops.pool`.
"""

from chainrule.autograd.tensor import Tensor
from chainrule.errors import ShapeError
from chainrule.nn.module import Module
from chainrule.ops.pool import AvgPool, MaxPool
from chainrule.ops.reduce import mean
from chainrule.ops.shape import reshape
from chainrule.ops.window import Window, pair


def _window(op, kernel_size, stride, padding, dilation=1):
    kernel = pair(kernel_size, "kernel_size", op)
    stride = kernel if stride is None else pair(stride, "stride", op)
    padding, dilation = pair(padding, "padding", op), pair(dilation, "dilation", op)
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1:
        raise ShapeError(f"{op}: kernel_size {kernel}, stride {stride} and dilation {dilation} must be "
                         "positive")
    if any(p < 0 or 2 * p > k for p, k in zip(padding, kernel)):
        raise ShapeError(f"{op}: padding {padding} must lie between 0 and half the kernel size {kernel}")
    return Window(kernel, stride, (padding[0], padding[0], padding[1], padding[1]), dilation)


def _ceil_window(window, height, width):
    """``window`` with extra bottom/right padding so that OH = ⌈(H + 2p − d·(k − 1) − 1) / s⌉ + 1.

    PyTorch's ``ceil_mode``: a partial window at the end still produces an output, except one that
    would start in the right-hand padding (it would see padding only).
    """
    padding = list(window.padding)
    for axis, size in enumerate((height, width)):
        kernel, stride, dilation = window.kernel[axis], window.stride[axis], window.dilation[axis]
        before, span = padding[2 * axis], dilation * (kernel - 1) + 1
        room = size + 2 * before - span
        if room < 0:
            continue  # too small for even one window: out_size says so
        count = -(-room // stride) + 1
        if (count - 1) * stride >= size + before:
            count -= 1
        padding[2 * axis + 1] = max(before, (count - 1) * stride + span - size - before)
    return Window(window.kernel, window.stride, tuple(padding), window.dilation)


def _as_image(x, op):
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim != 4:
        raise ShapeError(f"{op}: expects input (N, C, H, W), got {tuple(x.shape)}: is a batch axis missing?")
    return x


def _as_sequence(x, op):
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim != 3:
        raise ShapeError(f"{op}: expects input (N, C, L), got {tuple(x.shape)}: is a batch axis missing?")
    return reshape(x, (x.shape[0], x.shape[1], 1, x.shape[2]))


def _single(value, name, op):
    """A 1-D argument (an int or a 1-tuple) as the (1, value) pair of the equivalent 2-D pool."""
    if value is None:
        return None
    value = value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value
    if not isinstance(value, int):
        raise ShapeError(f"{op}: {name} must be an int, got {value!r}")
    return value


def _squeeze_row(y):
    return reshape(y, (y.shape[0], y.shape[1], y.shape[3]))


# ---------------------------------------------------------------- functional forms
def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Maximum over (kh, kw) windows of x (N, C, H, W); the gradient goes to the first maximum.

    ``ceil_mode`` rounds the output size up (a last, partial window), as PyTorch.
    """
    x = _as_image(x, "max_pool2d")
    window = _window("max_pool2d", kernel_size, stride, padding, dilation)
    if ceil_mode:
        window = _ceil_window(window, x.shape[2], x.shape[3])
    return MaxPool(window)(x)


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    """Mean over (kh, kw) windows of x (N, C, H, W)."""
    window = _window("avg_pool2d", kernel_size, stride, padding)
    return AvgPool(window, count_include_pad)(_as_image(x, "avg_pool2d"))


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Maximum over windows of length k of x (N, C, L); ``ceil_mode`` as in :func:`max_pool2d`."""
    op = "max_pool1d"
    k, s = _single(kernel_size, "kernel_size", op), _single(stride, "stride", op)
    window = _window(op, (1, k), None if s is None else (1, s), (0, _single(padding, "padding", op)),
                     (1, _single(dilation, "dilation", op)))
    x = _as_sequence(x, op)
    if ceil_mode:
        window = _ceil_window(window, 1, x.shape[3])
    return _squeeze_row(MaxPool(window)(x))


def avg_pool1d(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    """Mean over windows of length k of x (N, C, L)."""
    op = "avg_pool1d"
    k, s = _single(kernel_size, "kernel_size", op), _single(stride, "stride", op)
    window = _window(op, (1, k), None if s is None else (1, s), (0, _single(padding, "padding", op)))
    return _squeeze_row(AvgPool(window, count_include_pad)(_as_sequence(x, op)))


def global_avg_pool2d(x):
    """Mean over the spatial axes: (N, C, H, W) -> (N, C)."""
    return mean(_as_image(x, "global_avg_pool2d"), axis=(2, 3))


# ---------------------------------------------------------------- layers
class _Pool(Module):
    def __init__(self, kernel_size, stride=None, padding=0, **options):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        for name, value in options.items():  # dilation, count_include_pad
            setattr(self, name, value)
        self._check()

    dims = 2

    def _check(self):  # fail at construction, not at the first batch
        op, dilation = type(self).__name__, getattr(self, "dilation", 1)
        if self.dims == 2:
            _window(op, self.kernel_size, self.stride, self.padding, dilation)
            return
        stride = _single(self.stride, "stride", op)
        _window(op, (1, _single(self.kernel_size, "kernel_size", op)),
                None if stride is None else (1, stride), (0, _single(self.padding, "padding", op)),
                (1, _single(dilation, "dilation", op)))

    def reset_parameters(self):
        """Pooling has no parameters."""

    def get_config(self):
        def plain(v):
            return list(v) if isinstance(v, tuple) else v
        return {"kernel_size": plain(self.kernel_size), "stride": plain(self.stride),
                "padding": plain(self.padding)}

    def extra_repr(self):
        stride = self.kernel_size if self.stride is None else self.stride
        return f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}"


class MaxPool2d(_Pool):
    """Max-pooling over (N, C, H, W), as ``torch.nn.MaxPool2d``.

        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.MaxPool2d(2)(cr.zeros((1, 6, 28, 28))).shape
        (1, 6, 14, 14)
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__(kernel_size, stride, padding, dilation=dilation, ceil_mode=ceil_mode)

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)

    def extra_repr(self):
        return f"{super().extra_repr()}, dilation={self.dilation}, ceil_mode={self.ceil_mode}"

    def get_config(self):
        config = super().get_config()
        config["dilation"] = list(self.dilation) if isinstance(self.dilation, tuple) else self.dilation
        config["ceil_mode"] = self.ceil_mode
        return config


class MaxPool1d(MaxPool2d):
    """Max-pooling over (N, C, L), as ``torch.nn.MaxPool1d``."""

    dims = 1

    def forward(self, x):
        return max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)


class AvgPool2d(_Pool):
    """Average pooling over (N, C, H, W), as ``torch.nn.AvgPool2d``."""

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad=True):
        super().__init__(kernel_size, stride, padding, count_include_pad=count_include_pad)

    def forward(self, x):
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)

    def get_config(self):
        return {**super().get_config(), "count_include_pad": self.count_include_pad}


class AvgPool1d(AvgPool2d):
    """Average pooling over (N, C, L), as ``torch.nn.AvgPool1d``."""

    dims = 1

    def forward(self, x):
        return avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)


class GlobalAvgPool2d(Module):
    """Mean over the spatial axes: (N, C, H, W) -> (N, C) (Keras's GlobalAveragePooling2D)."""

    def forward(self, x):
        return global_avg_pool2d(x)

    def reset_parameters(self):
        """No parameters."""

    def get_config(self):
        return {}
