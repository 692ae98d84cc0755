"""``torch.utils.data`` with PyTorch's meaning: the DataLoader yields Tensors.

The data sets and splits are :mod:`chainrule.data`'s; this loader differs from
:class:`chainrule.data.DataLoader` (which yields NumPy arrays, for the Keras-shaped ``fit``) only in
handing each batch over as Tensors, and in accepting PyTorch's loader keywords that mean nothing on a
NumPy CPU loader (``num_workers``, ``pin_memory``, ...).
"""

import bisect
import itertools

import numpy

from chainrule import backend
from chainrule import data as _data
from chainrule import random as cr_random
from chainrule.autograd.tensor import Tensor
from chainrule.data import Dataset, Subset, random_split  # noqa: F401 - re-exported

# keywords of torch's DataLoader that change how batches are produced, not what they hold
_IGNORED = ("num_workers", "pin_memory", "timeout", "worker_init_fn", "prefetch_factor",
            "persistent_workers", "multiprocessing_context", "pin_memory_device", "in_order")


def _as_tensors(batch):
    if isinstance(batch, Tensor):
        return batch
    if isinstance(batch, numpy.ndarray) or not backend.on_host(batch):  # a device's batch stays there
        return Tensor(batch)
    if isinstance(batch, tuple):
        return tuple(_as_tensors(item) for item in batch)
    if isinstance(batch, list):
        return [_as_tensors(item) for item in batch]
    if isinstance(batch, dict):
        return {key: _as_tensors(value) for key, value in batch.items()}
    return batch


class TensorDataset(_data.TensorDataset):
    """PyTorch's: sample ``i`` is the tuple of the tensors' rows ``i``, as Tensors; ``.tensors`` holds them.

    The tensors' memory is shared, not copied; batches come from one fancy index per tensor.
    """

    def __init__(self, *tensors):
        super().__init__(*tensors)
        self.tensors = tuple(Tensor._from_op(array) for array in self.arrays)

    def __getitem__(self, index):
        return tuple(Tensor(array[index]) for array in self.arrays)


class ConcatDataset(Dataset):
    """The samples of ``datasets`` one after the other, as PyTorch's."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: expected at least one data set, got none")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"ConcatDataset: index {index} out of range for {len(self)} samples")
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


class DataLoader(_data.DataLoader):
    """Batches of ``dataset`` as Tensors: ``for data, target in loader`` as in PyTorch.

    ``shuffle=True`` draws each epoch's order from ``generator`` (a :class:`chainrule.Generator`)
    when one is given, else from ``seed``'s stream, else from the library's (``cr.manual_seed``).

    ``num_workers``, ``pin_memory`` and the other worker settings are accepted and have no effect
    (batches are made in the calling process).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
                 collate_fn=None, drop_last=False, seed=None, generator=None, **worker_settings):
        unknown = sorted(set(worker_settings) - set(_IGNORED))
        if unknown:
            raise TypeError(f"DataLoader got unexpected keyword arguments {unknown}")
        if sampler is not None or batch_sampler is not None:
            raise TypeError("DataLoader: sampler and batch_sampler are not supported; use shuffle=True or "
                            "a Subset of the data set")
        if generator is not None and seed is not None:
            raise TypeError("DataLoader: give generator= (PyTorch's) or seed=, not both")
        cr_random.numpy_generator(generator)  # a wrong kind of generator fails here, not at the first epoch
        super().__init__(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed,
                         collate_fn=collate_fn)
        self.generator = generator

    def _epoch_order(self):
        if self.shuffle and self.generator is not None:  # each epoch draws on from the generator
            return cr_random.numpy_generator(self.generator).permutation(len(self.dataset))
        return super()._epoch_order()

    def __iter__(self):
        for batch in super().__iter__():
            yield _as_tensors(batch)
