"""Map-style data sets: anything with a length that returns a sample for an index.

    >>> import numpy as np
    >>> data = TensorDataset(np.arange(6).reshape(3, 2), np.array([0, 1, 0]))
    >>> len(data), data[1][0]
    (3, array([2, 3]))
"""

import numpy

from chainrule.backend import array_module
from chainrule.data._arrays import as_numpy
from chainrule.data.collate import default_collate
from chainrule.errors import ConfigError, ShapeError
from chainrule.gpu import move_array


class Dataset:
    """Base class of map-style data sets: define ``__len__`` and ``__getitem__(index)``.

    ``get_batch(indices)`` returns a whole batch already collated; the default fetches the samples
    one by one and stacks them with :func:`default_collate`, subclasses that hold arrays override it
    with one fancy-indexing operation (see :class:`TensorDataset`).
    """

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def get_batch(self, indices):
        """The samples at ``indices`` (an integer array), collated into one batch."""
        return default_collate([self[int(i)] for i in indices])


class TensorDataset(Dataset):
    """Samples are rows of the given arrays: ``data[i] == (a[i], b[i], ...)``.

    Arguments are NumPy arrays, Tensors (their data is used, not copied) or nested lists, all with the
    same first dimension. Tensors on a device stay there, as in PyTorch: their batches are cut on it.
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ConfigError("TensorDataset: expected at least one array, got none")
        self.arrays = tuple(_rows_array(array) for array in arrays)
        lengths = [array.shape[0] if array.ndim else None for array in self.arrays]
        if None in lengths or len(set(lengths)) != 1:
            shapes = ", ".join(str(array.shape) for array in self.arrays)
            raise ShapeError(f"TensorDataset: expected arrays with the same first dimension (one row per "
                             f"sample), got shapes {shapes}")

    def __len__(self):
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        return tuple(array[index] for array in self.arrays)

    def get_batch(self, indices):
        # one fancy index per array: no Python loop over the samples
        return tuple(array[move_array(indices, array_module(array))] for array in self.arrays)


def _rows_array(value):
    """A Tensor's array wherever it lives (a device's stays there); anything else as NumPy's."""
    if isinstance(getattr(value, "_data", None), numpy.ndarray) or not hasattr(value, "_data"):
        return as_numpy(value)
    return value._data


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order (what :func:`random_split` returns)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = numpy.asarray(indices, dtype=numpy.int64)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices):
        inner = self.indices[numpy.asarray(indices, dtype=numpy.int64)]
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(inner)
        return default_collate([self.dataset[int(i)] for i in inner])
