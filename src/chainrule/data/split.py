"""Splitting data into training, validation, test and holdout sets.

Stratified splits use a proportional interleave: within each class the samples get evenly spaced
positions ``(k + 1/2) / n_class`` in [0, 1) (k their rank in a shuffled order), and all samples are
sorted by position. Every stretch of that ordering holds the classes in their overall proportions
(to within one sample per class), so cutting it into consecutive pieces gives splits of the exact
requested sizes that each see every class that is large enough to appear.
"""

import math
import numbers
import warnings

import numpy

from chainrule import random as cr_random
from chainrule.data._arrays import as_numpy
from chainrule.data.dataset import Subset
from chainrule.errors import ConfigError, ShapeError


def random_split(dataset, lengths, generator=None, *, seed=None):
    """Split ``dataset`` into non-overlapping random :class:`Subset` s, as ``torch.utils.data.random_split``.

    ``lengths`` are sizes that add up to ``len(dataset)``, or fractions that add up to 1: sizes are
    then ``floor(n * fraction)`` and the remainder is handed out one by one from the first subset on
    (PyTorch's rule, so both libraries cut the same sizes). The order comes from ``generator`` (a
    :class:`chainrule.Generator`, PyTorch's keyword), else from ``seed``, else from the library's stream.

        >>> train, val = random_split(list(range(10)), [0.8, 0.2], seed=0)
        >>> len(train), len(val)
        (8, 2)
    """
    if generator is not None and seed is not None:
        raise ConfigError("random_split: give generator= (PyTorch's) or seed=, not both")
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, numbers.Integral) for x in lengths):
        sizes = [int(x) for x in lengths]
        if sum(sizes) != n or min(sizes) < 0:
            raise ConfigError(f"random_split: expected non-negative lengths adding up to the data set's "
                              f"size {n}, got {sizes} (sum {sum(sizes)})")
    else:
        if not lengths or min(lengths) < 0 or max(lengths) > 1 or not math.isclose(sum(lengths), 1.0,
                                                                                   abs_tol=1e-6):
            raise ConfigError(f"random_split: expected sizes adding up to {n} or fractions in [0, 1] adding "
                              f"up to 1, got {lengths}")
        sizes = [int(math.floor(n * fraction)) for fraction in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"random_split: the split at index {i} is empty ({lengths[i]} of {n} samples)",
                              stacklevel=2)
    draw = cr_random.numpy_generator(generator) if seed is None else _generator(seed)
    order = draw.permutation(n)
    bounds = numpy.cumsum([0] + sizes)
    return [Subset(dataset, order[bounds[i]:bounds[i + 1]]) for i in range(len(sizes))]


def train_val_test_split(*arrays, val=0.1, test=0.1, holdout=0.0, stratify=None, shuffle=True, seed=None):
    """Split arrays (rows are samples) into training, validation, test and optional holdout sets.

    Returns a tuple of splits, ``(train, val, test)``, or ``(train, val, test, holdout)`` when
    ``holdout`` is not zero; each split is a tuple holding one array per argument, in argument order:

        >>> import numpy as np
        >>> x, y = np.arange(20).reshape(10, 2), np.arange(10) % 2
        >>> (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = train_val_test_split(x, y, val=0.2, test=0.2, seed=0)
        >>> len(x_tr), len(x_va), len(x_te)
        (6, 2, 2)

    Arguments:
        *arrays: NumPy arrays (or Tensors, or lists) with the same first dimension.
        val, test, holdout: a fraction of the samples (float in [0, 1)) or a count (int). Fractions
            are rounded to the nearest count; training gets the rest, and must get at least one.
        stratify: class labels, one per sample (integers, or one-hot rows); every split then holds
            the classes in the same proportions as the whole, to within one sample per class.
        shuffle: shuffle before splitting; with ``shuffle=False`` the splits are consecutive slices
            in the given order (with ``stratify``, slices of an order-keeping interleave of the classes).
        seed: seed for this split alone; without it ``chainrule.random.generator()`` is used.
    """
    if not arrays:
        raise ConfigError("train_val_test_split: expected at least one array, got none")
    arrays = [as_numpy(array) for array in arrays]
    n = _common_length(arrays, "train_val_test_split")
    counts = [_count(val, n, "val"), _count(test, n, "test")]
    if holdout:
        counts.append(_count(holdout, n, "holdout"))
    n_train = n - sum(counts)
    if n_train < 1:
        raise ConfigError(f"train_val_test_split: val={val}, test={test}, holdout={holdout} take "
                         f"{sum(counts)} of {n} samples, leaving none for training")
    generator = _generator(seed) if shuffle else None
    if stratify is not None:
        order = _stratified_order(_labels(stratify, n), generator)
    elif generator is not None:
        order = generator.permutation(n)
    else:
        order = numpy.arange(n)
    bounds = numpy.cumsum([0, n_train] + counts)
    return tuple(tuple(array[order[bounds[i]:bounds[i + 1]]] for array in arrays)
                 for i in range(len(bounds) - 1))


def _stratified_order(labels, generator):
    """All indices, ordered so that every consecutive stretch keeps the class proportions."""
    positions = numpy.empty(len(labels), dtype=numpy.float64)
    for label in numpy.unique(labels):
        members = numpy.flatnonzero(labels == label)
        ranks = numpy.arange(len(members))
        if generator is not None:
            ranks = generator.permutation(len(members))
        positions[members] = (ranks + 0.5) / len(members)
    # ties (classes of equal size) are broken at random, or by class order when not shuffling
    tie_break = generator.random(len(labels)) if generator is not None else labels
    return numpy.lexsort((tie_break, positions))


def _labels(stratify, n):
    labels = as_numpy(stratify)
    if labels.ndim == 2 and labels.shape[1] > 1:  # one-hot rows
        labels = labels.argmax(axis=1)
    labels = labels.reshape(len(labels), -1)[:, 0] if labels.ndim > 1 else labels
    if labels.shape != (n,):
        raise ShapeError(f"train_val_test_split: expected stratify to hold one label per sample, shape "
                         f"({n},) or one-hot ({n}, classes), got shape {as_numpy(stratify).shape}")
    return labels


def _count(size, n, name):
    if isinstance(size, bool) or not isinstance(size, numbers.Real) or size < 0:
        raise ConfigError(f"train_val_test_split: expected {name} to be a fraction in [0, 1) or a count, "
                         f"got {size!r}")
    if isinstance(size, numbers.Integral):
        return int(size)
    if size >= 1:
        raise ConfigError(f"train_val_test_split: expected {name} as a fraction below 1 (or an int "
                         f"count), got {size!r}")
    return int(round(size * n))


def _common_length(arrays, where):
    lengths = {array.shape[0] if array.ndim else None for array in arrays}
    if None in lengths or len(lengths) != 1:
        shapes = ", ".join(str(array.shape) for array in arrays)
        raise ShapeError(f"{where}: expected arrays with the same first dimension (one row per sample), "
                         f"got shapes {shapes}")
    return lengths.pop()


def _generator(seed):
    return numpy.random.default_rng(seed) if seed is not None else cr_random.generator()
