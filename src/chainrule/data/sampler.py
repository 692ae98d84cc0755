"""``DistributedSampler``: each rank's share of a data set's indices, as PyTorch's DistributedSampler.

Every rank draws the same permutation (from ``seed`` and the epoch, so call ``set_epoch(e)`` at the
start of each epoch) and takes every ``num_replicas``-th index of it from position ``rank``. All
ranks get the same number of indices, so they run the same number of batches and meet in the
same collectives:

- ``drop_last=False`` (the default): the order is padded by repeating its first indices until it
  divides evenly, so every sample is seen and a few twice;
- ``drop_last=True``: the tail that does not divide evenly is left out, so no sample repeats.
"""

import math

import numpy

from chainrule.errors import ConfigError


class DistributedSampler:
    """The indices of ``dataset`` for one rank; iterate over it, or pass it as a DataLoader's ``sampler``.

    ``num_replicas`` and ``rank`` default to ``chainrule.distributed.size()`` and ``rank()``.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        from chainrule import distributed

        num_replicas = distributed.size() if num_replicas is None else num_replicas
        rank = distributed.rank() if rank is None else rank
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ConfigError("DistributedSampler: num_replicas must be a positive int, got "
                              f"{num_replicas!r}")
        if not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ConfigError(f"DistributedSampler: rank must lie in [0, {num_replicas}), got {rank!r}")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = n // num_replicas
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch):
        """Choose the epoch's permutation (the same on every rank for the same epoch)."""
        self.epoch = int(epoch)

    def indices(self):
        """This rank's indices for the current epoch, as an int64 array."""
        n = len(self.dataset)
        if self.shuffle:
            order = numpy.random.default_rng([self.seed, self.epoch]).permutation(n)
        else:
            order = numpy.arange(n)
        if self.total_size > n:  # pad by repetition (drop_last=False)
            repeats = math.ceil(self.total_size / max(n, 1))
            order = numpy.tile(order, repeats)[:self.total_size]
        else:
            order = order[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.num_samples

    def __repr__(self):
        return (f"DistributedSampler({len(self.dataset)} samples, rank {self.rank} of {self.num_replicas}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")
