"""Convolution layers ``Conv1d`` and ``Conv2d``, with PyTorch's weight layout, defaults and initialisation.

The work happens in :mod:`chainrule.ops.conv` (im2col + one matrix product); these classes own the
parameters: ``weight`` (out_channels, in_channels / groups, *kernel_size) and ``bias`` (out_channels,).
"""


import numpy

from chainrule import arguments
from chainrule.backend import DEFAULT_FLOAT
from chainrule.errors import ShapeError
from chainrule.nn import init
from chainrule.nn.layers.linear import require_floating
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops.conv import conv1d, conv2d
from chainrule.ops.window import ints


class _ConvNd(Module):
    """Shared body of Conv1d and Conv2d; ``dims`` is the number of spatial axes."""

    dims = 0

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True):
        super().__init__()
        layer = type(self).__name__
        in_channels = arguments.integer(in_channels, "in_channels", layer)
        out_channels = arguments.integer(out_channels, "out_channels", layer)
        groups = arguments.integer(groups, "groups", layer)
        if in_channels % groups or out_channels % groups:
            raise ShapeError(f"{layer}: groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ints(kernel_size, self.dims, "kernel_size", layer)
        self.stride = ints(stride, self.dims, "stride", layer)
        self.dilation = ints(dilation, self.dims, "dilation", layer)
        for name in ("kernel_size", "stride", "dilation"):
            for value in getattr(self, name):
                arguments.integer(value, name, layer)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ShapeError(f"{layer}: padding must be an int, a tuple, 'same' or 'valid', got "
                                 f"{padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ShapeError(f"{layer}: padding='same' needs stride 1, got {self.stride}")
            self.padding = padding
        else:
            self.padding = ints(padding, self.dims, "padding", layer)
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(numpy.empty(shape, dtype=DEFAULT_FLOAT))
        if bias:
            self.bias = Parameter(numpy.empty(out_channels, dtype=DEFAULT_FLOAT))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: weight ~ U(±1/√fan_in) (kaiming_uniform with a=√5), bias the same bound."""
        init.pytorch_default_(self.weight, self.bias)

    def _check_input(self, x, expected):
        require_floating(x, f"{type(self).__name__}({self.in_channels}, {self.out_channels})")
        if x.ndim != self.dims + 2 or x.shape[1] != self.in_channels:
            raise ShapeError(f"{type(self).__name__}({self.in_channels}, {self.out_channels}) expects "
                             f"input {expected} with C={self.in_channels}, got {tuple(x.shape)}: "
                             "is the batch axis or the channel axis missing or misplaced?")

    def get_config(self):
        padding = self.padding if isinstance(self.padding, str) else list(self.padding)
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": list(self.stride), "padding": padding,
                "dilation": list(self.dilation), "groups": self.groups, "bias": self.bias is not None}

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) over (N, C, H, W), as ``torch.nn.Conv2d``.

    y[n, o] = b[o] + Σ_c w[o, c] ⋆ x[n, c]; output (N, out_channels, OH, OW) with
    OH = ⌊(H + 2·padding − dilation·(kh − 1) − 1) / stride⌋ + 1.

        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Conv2d(1, 6, 5, padding=2)(cr.zeros((2, 1, 28, 28))).shape
        (2, 6, 28, 28)
    """

    dims = 2

    def forward(self, x):
        self._check_input(x, "(N, C, H, W)")
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution (cross-correlation) over (N, C, L), as ``torch.nn.Conv1d``.

        >>> import chainrule as cr, chainrule.nn as nn
        >>> nn.Conv1d(4, 8, 3, padding="same")(cr.zeros((2, 4, 10))).shape
        (2, 8, 10)
    """

    dims = 1

    def forward(self, x):
        self._check_input(x, "(N, C, L)")
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return conv1d(x, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups)
