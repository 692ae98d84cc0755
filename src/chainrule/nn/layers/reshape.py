"""Layers that only change the shape: Flatten, Unflatten, Reshape (per sample, Keras-style) and
Identity."""

from chainrule.errors import ShapeError
from chainrule.nn.layers.linear import layer_name
from chainrule.nn.module import Module
from chainrule.ops.shape import flatten, reshape


class _ShapeLayer(Module):
    def __init__(self, name=None):
        super().__init__()
        self.name = layer_name(self, name)

    def reset_parameters(self):
        """Nothing to initialise."""


class Flatten(_ShapeLayer):
    """Merge axes ``start_axis``..``end_axis`` into one: (N, C, H, W) -> (N, C·H·W) by default.

    PyTorch's keywords ``start_dim``/``end_dim`` are accepted too, so ``nn.Flatten(start_dim=1)``
    from PyTorch code runs as it is.
    """

    def __init__(self, start_axis=1, end_axis=-1, name=None, *, start_dim=None, end_dim=None):
        super().__init__(name)
        start_axis = start_axis if start_dim is None else start_dim
        end_axis = end_axis if end_dim is None else end_dim
        self.start_axis, self.end_axis = int(start_axis), int(end_axis)

    def forward(self, x):
        return flatten(x, self.start_axis, self.end_axis)

    def get_config(self):
        return {"start_axis": self.start_axis, "end_axis": self.end_axis, "name": self.name}

    def extra_repr(self):
        return f"start_axis={self.start_axis}, end_axis={self.end_axis}"


class Reshape(_ShapeLayer):
    """Reshape each sample to ``shape`` (the batch axis is kept): Reshape((1, 28, 28)) on (N, 784).

    One entry may be -1, as in NumPy.
    """

    def __init__(self, shape, name=None):
        super().__init__(name)
        self.shape = tuple(int(n) for n in ((shape,) if isinstance(shape, int) else shape))

    def forward(self, x):
        if x.ndim == 0:
            raise ShapeError(f"Reshape '{self.name}': needs a batch axis, got a 0-d tensor")
        try:
            return reshape(x, (x.shape[0], *self.shape))
        except ShapeError:
            raise ShapeError(f"Reshape '{self.name}': cannot reshape samples of shape {tuple(x.shape[1:])} "
                             f"into {self.shape}") from None

    def get_config(self):
        return {"shape": list(self.shape), "name": self.name}

    def extra_repr(self):
        return f"shape={self.shape}"


class Identity(_ShapeLayer):
    """Returns its input; takes (and ignores) any constructor arguments, as PyTorch's does."""

    def __init__(self, *args, name=None, **kwargs):
        super().__init__(name)

    def forward(self, x):
        return x

    def get_config(self):
        return {"name": self.name}


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
