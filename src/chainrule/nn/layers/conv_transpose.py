"""``ConvTranspose2d``: the decoder's upsampling convolution (autoencoders, GAN generators).

A transposed convolution is the adjoint of a convolution: each input pixel spreads its channels,
through the kernel, over a window of the output. As code: one matrix product gives, for every input
pixel, the columns of its output window, and col2im (:func:`chainrule.ops.conv.fold`, the adjoint of
im2col) adds the overlapping windows up. Both are differentiable ops, so the gradients come from
theirs. Weight layout and output size are PyTorch's:
``out = (in − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1``.
"""

import numpy

from chainrule.backend import DEFAULT_FLOAT
from chainrule.errors import ShapeError
from chainrule.nn import init
from chainrule.nn.layers.linear import require_floating
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops.conv import fold
from chainrule.ops.window import ints


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1):
    """x (N, C_in, H, W), weight (C_in, C_out, kh, kw) -> (N, C_out, H_out, W_out)."""
    where = "conv_transpose2d"
    stride, padding = ints(stride, 2, "stride", where), ints(padding, 2, "padding", where)
    dilation = ints(dilation, 2, "dilation", where)
    output_padding = ints(output_padding, 2, "output_padding", where)
    n, c_in, h, w = x.shape
    if weight.shape[0] != c_in:
        raise ShapeError(f"conv_transpose2d: input has {c_in} channels, the weight {tuple(weight.shape)} "
                         f"expects {weight.shape[0]}")
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise ShapeError(f"conv_transpose2d: output_padding {output_padding} must be smaller than the "
                         f"stride {stride} or the dilation {dilation}")
    c_out, kh, kw = weight.shape[1:]
    size = [(n_in - 1) * s - 2 * p + d * (k - 1) + op + 1
            for n_in, s, p, d, k, op in zip((h, w), stride, padding, dilation, (kh, kw), output_padding)]
    # the columns fold expects: rows (c_out, kh, kw), columns (h, w, n) with the batch innermost
    pixels = x.transpose(1, 2, 3, 0).reshape(c_in, h * w * n)
    cols = weight.reshape(c_in, c_out * kh * kw).transpose(1, 0) @ pixels
    out = fold(cols, (n, c_out, *size), (kh, kw), stride, padding, dilation)
    return out if bias is None else out + bias.reshape(1, c_out, 1, 1)


class ConvTranspose2d(Module):
    """``weight`` (in_channels, out_channels, kh, kw), ``bias`` (out_channels,); PyTorch's initialisation."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1):
        super().__init__()
        if groups != 1:
            raise ShapeError("ConvTranspose2d: groups other than 1 are not supported yet")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = ints(kernel_size, 2, "kernel_size", "ConvTranspose2d")
        self.stride = ints(stride, 2, "stride", "ConvTranspose2d")
        self.padding = ints(padding, 2, "padding", "ConvTranspose2d")
        self.output_padding = ints(output_padding, 2, "output_padding", "ConvTranspose2d")
        self.dilation = ints(dilation, 2, "dilation", "ConvTranspose2d")
        self.weight = Parameter(numpy.empty((in_channels, out_channels) + self.kernel_size, DEFAULT_FLOAT))
        if bias:
            self.bias = Parameter(numpy.empty(out_channels, DEFAULT_FLOAT))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: U(±1/√fan_in) with fan_in = out_channels·kh·kw (the weight's dim 1 on)."""
        init.pytorch_default_(self.weight, self.bias)

    def forward(self, x):
        require_floating(x, f"ConvTranspose2d({self.in_channels}, {self.out_channels})")
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"ConvTranspose2d({self.in_channels}, {self.out_channels}) expects input "
                             f"(N, {self.in_channels}, H, W), got {tuple(x.shape)}")
        return conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                self.dilation)

    def get_config(self):
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": list(self.padding), "output_padding": list(self.output_padding),
                "bias": self.bias is not None, "dilation": list(self.dilation)}

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")
