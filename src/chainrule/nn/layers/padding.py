"""Constant padding around the last dims: ``ZeroPad2d``, ``ConstantPad1d``, ``ConstantPad2d``."""

from chainrule import ops
from chainrule.errors import ShapeError
from chainrule.nn.module import Module


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
