"""Keras's ``Conv2DTranspose`` on (N, H, W, C): the adjoint of a convolution, for decoders and GANs.

y = col2im(Wᵀ x): every input pixel spreads its channels, through the kernel, onto a (kh, kw)
patch of the output, patches ``strides`` apart and summed where they overlap. It is built from the
engine's ops (a matrix product and :func:`chainrule.ops.conv.fold`, the adjoint of im2col), so its
gradients are theirs. Output size as Keras's: "valid" (H − 1)·s + max(k', s), "same" H·s, where
k' = (k − 1)·d + 1 is the dilated kernel (the full output cropped as TensorFlow does, the odd pixel
taken from the end; when k' < s the full output is shorter, and the rows no patch reaches are zeros
plus the bias, as ConvTranspose2d's ``output_padding`` gives them).
"""

import numpy

from chainrule.backend import DEFAULT_FLOAT
from chainrule.keras import initializers
from chainrule.keras.layers.base import same
from chainrule.keras.layers.conv import _Conv
from chainrule.nn.layers.linear import float_input
from chainrule.nn.parameter import Parameter
from chainrule.ops.conv import fold
from chainrule.ops.linalg import matmul
from chainrule.ops.shape import pad, reshape, transpose


class Conv2DTranspose(_Conv):
    """``keras.layers.Conv2DTranspose(filters, kernel_size, strides=(1, 1), padding="valid", activation=None,
    ...)``.

    The weight is stored (in, filters, kh, kw) (PyTorch's ConvTranspose2d layout); ``get_weights``
    gives Keras's kernel (kh, kw, filters, in).

        >>> from chainrule import keras
        >>> import numpy as np
        >>> layer = keras.layers.Conv2DTranspose(8, 3, strides=2, padding="same")
        >>> layer(np.zeros((1, 7, 7, 4), "float32")).shape
        (1, 14, 14, 8)
    """

    dims = 2

    def build(self, input_shape):
        if self.groups != 1:
            raise ValueError("Conv2DTranspose: groups must be 1")
        self.in_channels = int(input_shape[-1])
        shape = (self.in_channels, self.filters, *self.kernel_size)
        self.weight = Parameter(numpy.empty(shape, dtype=DEFAULT_FLOAT))
        # fans as Keras's for its kernel (kh, kw, filters, in): fan_in = kh·kw·filters, fan_out = kh·kw·in
        initializers.get(self.kernel_initializer)(self.weight)
        if self.use_bias:
            self.bias = Parameter(numpy.zeros(self.filters, dtype=DEFAULT_FLOAT))
            initializers.get(self.bias_initializer)(self.bias)

    def forward(self, x):
        x = float_input(self, x)
        if not self.built:
            self.build(x.shape)
        n, h, w, c = x.shape
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.strides, self.dilation_rate
        full_h, full_w = (h - 1) * sh + (kh - 1) * dh + 1, (w - 1) * sw + (kw - 1) * dw + 1
        columns = reshape(transpose(x, (3, 1, 2, 0)), (c, h * w * n))  # one column per input pixel
        kernel = reshape(transpose(self.weight, (1, 2, 3, 0)), (self.filters * kh * kw, c))
        image = fold(matmul(kernel, columns), (n, self.filters, full_h, full_w), self.kernel_size,
                     self.strides, 0, self.dilation_rate)
        y = transpose(image, (0, 2, 3, 1))
        top, height = self._output_window(h, kh, sh, dh)
        left, width = self._output_window(w, kw, sw, dw)
        short_h, short_w = max(top + height - full_h, 0), max(left + width - full_w, 0)
        if short_h or short_w:  # a kernel smaller than its stride leaves rows and columns no patch reaches
            y = pad(y, ((0, 0), (0, short_h), (0, short_w), (0, 0)))
        if (top, left, height, width) != (0, 0, full_h, full_w):
            y = y[:, top:top + height, left:left + width]
        if self.bias is not None:
            y = y + self.bias
        return y if self.activation is None else self.activation(y)

    def _output_window(self, size, kernel, stride, dilation):
        """``(start, length)`` of Keras's output along one axis, within the full (uncropped) output."""
        kernel = (kernel - 1) * dilation + 1
        if self.padding == "same":  # start: the pad before of the "same" convolution this is the adjoint of
            return max(kernel - stride, 0) // 2, size * stride
        return 0, (size - 1) * stride + max(kernel, stride)

    def weight_layout(self):
        if not self.built:
            return []
        entries = [(self.weight, lambda w: w.transpose(2, 3, 1, 0), lambda k: k.transpose(3, 2, 0, 1))]
        return entries + ([(self.bias, same, same)] if self.use_bias else [])
