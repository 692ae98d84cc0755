"""Smaller ``torch.nn`` layers lectures use: ``Unflatten``, the constant paddings ``ZeroPad2d`` and
``ConstantPad1d/2d``, ``AdaptiveMaxPool2d``, ``AdaptiveAvgPool1d``, ``InstanceNorm1d/2d``,
``Dropout1d``, ``Softmax2d``, ``ParameterList`` and ``ParameterDict``; each a composition of the ops.
"""

import numpy

from chainrule import ops
from chainrule.backend import DEFAULT_FLOAT
from chainrule.errors import ShapeError
from chainrule.nn.layers.dropout import Dropout2d
from chainrule.nn.layers.normalization import layer_norm
from chainrule.nn.layers.resampling import _pair, adaptive_avg_pool2d
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter


class Unflatten(Module):
    """Dim ``dim`` split into ``unflattened_size``: (N, 784) → (N, 1, 28, 28) with
    ``Unflatten(1, (1, 28, 28))``."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        return x.unflatten(self.dim, self.unflattened_size)

    def get_config(self):
        return {"dim": self.dim, "unflattened_size": list(self.unflattened_size)}


class ConstantPad2d(Module):
    """``value`` around the last two dims: ``padding`` an int or (left, right, top, bottom)."""

    dims = 2

    def __init__(self, padding, value):
        super().__init__()
        padding = (padding,) * (2 * self.dims) if isinstance(padding, int) else tuple(padding)
        if len(padding) != 2 * self.dims:
            raise ShapeError(f"{type(self).__name__}: padding takes an int or {2 * self.dims} ints, got "
                             f"{padding}")
        self.padding, self.value = padding, value

    def forward(self, x):
        # PyTorch lists the last dim first: (left, right, top, bottom)
        pairs = [self.padding[2 * i:2 * i + 2] for i in range(self.dims)][::-1]
        widths = [(0, 0)] * (x.ndim - self.dims) + pairs
        return ops.pad(x, widths, self.value)

    def get_config(self):
        return {"padding": list(self.padding), "value": self.value}


class ConstantPad1d(ConstantPad2d):
    """``value`` around the last dim: ``padding`` an int or (left, right)."""

    dims = 1


class ZeroPad2d(ConstantPad2d):
    """Zeros around the last two dims: ``padding`` an int or (left, right, top, bottom)."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def get_config(self):
        return {"padding": list(self.padding)}


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


class InstanceNorm2d(Module):
    """Each sample's each channel normalised over its own positions (no running statistics, no affine
    weights unless ``affine=True``), as ``torch.nn.InstanceNorm2d``'s defaults."""

    spatial = 2

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False):
        super().__init__()
        if track_running_stats:
            raise NotImplementedError(f"{type(self).__name__}: track_running_stats=True is not supported "
                                      "here")
        self.num_features, self.eps, self.affine = num_features, eps, affine
        if affine:
            self.weight = Parameter(numpy.ones(num_features, dtype=DEFAULT_FLOAT))
            self.bias = Parameter(numpy.zeros(num_features, dtype=DEFAULT_FLOAT))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        n, c = x.shape[:2]
        if c != self.num_features:
            raise ShapeError(f"{type(self).__name__}: expects {self.num_features} channels, got shape "
                             f"{tuple(x.shape)}")
        flat = ops.reshape(x, (n, c, -1))
        y = ops.reshape(layer_norm(flat, (flat.shape[-1],), None, None, self.eps), x.shape)
        if self.affine:
            shape = (1, c) + (1,) * self.spatial
            y = y * ops.reshape(self.weight, shape) + ops.reshape(self.bias, shape)
        return y

    def get_config(self):
        return {"num_features": self.num_features, "eps": self.eps, "affine": self.affine}


class InstanceNorm1d(InstanceNorm2d):
    spatial = 1


class Dropout1d(Dropout2d):
    """Whole channels of (N, C, L) dropped while training, as ``Dropout2d`` does for images."""

    def forward(self, x):
        if x.ndim != 3:
            raise ShapeError(f"Dropout1d: expects (N, C, L), got shape {tuple(x.shape)}")
        return ops.squeeze(super().forward(ops.expand_dims(x, -1)), -1)


class Softmax2d(Module):
    """Softmax over the channels of each position of (N, C, H, W)."""

    def forward(self, x):
        return ops.softmax(x, -3)

    def get_config(self):
        return {}


class ParameterList(Module):
    """A list of Parameters registered with the owning module (names "0", "1", …)."""

    def __init__(self, values=None):
        super().__init__()
        for value in values or ():
            self.append(value)

    def append(self, value):
        self.register_parameter(str(len(self._parameters)), _as_parameter(value))
        return self

    def extend(self, values):
        for value in values:
            self.append(value)
        return self

    def __getitem__(self, index):
        return list(self._parameters.values())[index]

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())


class ParameterDict(Module):
    """A dict of Parameters by name, registered with the owning module."""

    def __init__(self, parameters=None):
        super().__init__()
        for key, value in (parameters.items() if hasattr(parameters, "items") else parameters or ()):
            self[key] = value

    def __setitem__(self, key, value):
        self.register_parameter(str(key), _as_parameter(value))

    def __getitem__(self, key):
        return self._parameters[key]

    def __contains__(self, key):
        return key in self._parameters

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def keys(self):
        return self._parameters.keys()

    def values(self):
        return self._parameters.values()

    def items(self):
        return self._parameters.items()


def _as_parameter(value):
    return value if isinstance(value, Parameter) else Parameter(value)
