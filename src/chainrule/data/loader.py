"""The DataLoader: a data set cut into batches of NumPy arrays, shuffled anew every epoch."""

import math

import numpy

from chainrule import random as cr_random
from chainrule.data.collate import default_collate
from chainrule.errors import ConfigError


class DataLoader:
    """Iterate over ``dataset`` in batches.

    Arguments:
        dataset: a map-style data set (``len`` and ``[i]``), e.g. a :class:`TensorDataset`.
        batch_size: samples per batch; the last batch is smaller unless ``drop_last``.
        shuffle: draw a new order each epoch (each ``iter``); otherwise keep the data set's order.
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        seed: seed of the loader's own generator, so that its sequence of epoch orders repeats
            whatever else draws random numbers; without it the orders come from
            ``chainrule.random.generator()`` (reseeded by ``cr.manual_seed``).
        collate_fn: turns a list of samples into a batch; the default is :func:`default_collate`.
            Without a ``collate_fn``, a data set with a ``get_batch(indices)`` method (every
            :class:`Dataset`) builds each batch itself; :class:`TensorDataset` does so with one fancy
            index per array instead of a loop over samples.

    Batches have the structure of the samples: a :class:`TensorDataset` of ``(x, y)`` gives
    ``(x_batch, y_batch)`` tuples, a data set of dicts gives dicts of stacked arrays.

        >>> import numpy as np
        >>> from chainrule.data import TensorDataset
        >>> loader = DataLoader(TensorDataset(np.arange(10)), batch_size=4)
        >>> [batch[0].tolist() for batch in loader]
        [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None, collate_fn=None,
                 sampler=None):
        if sampler is not None and shuffle:
            raise ConfigError("DataLoader: pass shuffle=True or a sampler, not both; hint: the sampler "
                              "shuffles (DistributedSampler(dataset, shuffle=True))")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)) or batch_size < 1:
            raise ConfigError(f"DataLoader: expected batch_size to be a positive int, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.collate_fn = collate_fn
        self.sampler = sampler
        self._own_generator = numpy.random.default_rng(seed) if seed is not None else None

    def __len__(self):
        """Batches per epoch."""
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        order = self._epoch_order()
        for batch_index in range(len(self)):
            start = batch_index * self.batch_size
            yield self._fetch(order[start:start + self.batch_size])

    def _epoch_order(self):
        if self.sampler is not None:
            return numpy.fromiter(self.sampler, dtype=numpy.int64, count=len(self.sampler))
        n = len(self.dataset)
        if not self.shuffle:
            return numpy.arange(n)
        # the global generator is looked up at every epoch: manual_seed replaces it
        if self._own_generator is not None:
            return self._own_generator.permutation(n)
        return cr_random.generator().permutation(n)

    def _fetch(self, indices):
        if self.collate_fn is None and hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(indices)
        collate = self.collate_fn or default_collate
        return collate([self.dataset[int(i)] for i in indices])

    def __repr__(self):
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})")
