"""torchvision's image transforms on our samples: ``Compose``, ``ToTensor``, ``Normalize``, ``Lambda``."""

import numpy

from chainrule.autograd.tensor import Tensor
from chainrule.backend import array_module
from chainrule.errors import ShapeError
from chainrule.gpu import move_array


class Compose:
    """Apply ``transforms`` in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, image):
        for transform in self.transforms:
            image = transform(image)
        return image

    def __repr__(self):
        return "Compose(" + ", ".join(repr(t) for t in self.transforms) + ")"


class ToTensor:
    """An image (H, W) or (H, W, C), uint8 in 0-255, as a float32 Tensor (C, H, W) in [0, 1]."""

    def __call__(self, image):
        array = numpy.asarray(image)
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim != 3:
            raise ShapeError(f"ToTensor: expected an image of shape (H, W) or (H, W, C), got {array.shape}")
        scale = 1 / 255 if array.dtype == numpy.uint8 else 1.0
        return Tensor(numpy.ascontiguousarray(array.transpose(2, 0, 1), dtype=numpy.float32) * scale)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """``(x - mean) / std`` per channel of a (C, H, W) Tensor."""

    def __init__(self, mean, std):
        self._given = tuple(tuple(v) if hasattr(v, "__len__") else v for v in (mean, std))
        self.mean = numpy.asarray(mean, dtype=numpy.float32).reshape(-1, 1, 1)
        self.std = numpy.asarray(std, dtype=numpy.float32).reshape(-1, 1, 1)
        if (self.std == 0).any():
            raise ValueError(f"Normalize: std {list(std)} has a zero, which would divide by zero")

    def __call__(self, tensor):
        array = tensor._data if isinstance(tensor, Tensor) else numpy.asarray(tensor)
        if array.ndim != 3 or self.mean.shape[0] not in (1, array.shape[0]):
            raise ShapeError(f"Normalize: expected a (C, H, W) image with {self.mean.shape[0]} channels, "
                             f"got shape {array.shape}")
        xp = array_module(array)  # a device image is normalised where it is
        mean, std = move_array(self.mean, xp), move_array(self.std, xp)
        return Tensor(((array - mean) / std).astype(array.dtype, copy=False))

    def __repr__(self):
        return f"Normalize(mean={self._given[0]}, std={self._given[1]})"  # as given, as torchvision's


class Lambda:
    """Apply a function of your own."""

    def __init__(self, function):
        self.function = function

    def __call__(self, image):
        return self.function(image)
