"""Turning a list of samples into one batch of NumPy arrays."""

import numbers

import numpy

from chainrule import backend
from chainrule.data._arrays import as_numpy
from chainrule.errors import ConfigError, ShapeError


def default_collate(samples):
    """Stack a list of samples into a batch, keeping the samples' structure.

    - arrays, Tensors and numbers are stacked along a new first axis (Python floats become float32,
      the library's default; arrays keep their dtype);
    - tuples and lists are collated position by position and give a tuple (or list);
    - dicts are collated key by key and give a dict;
    - strings give a list of strings.

        >>> batch = default_collate([(numpy.zeros(2), 1), (numpy.ones(2), 0)])
        >>> batch[0].shape, batch[1].tolist()
        ((2, 2), [1, 0])
    """
    if not samples:
        raise ConfigError("default_collate: expected at least one sample, got an empty list")
    first = samples[0]
    if isinstance(first, str):
        return list(samples)
    if isinstance(first, dict):
        keys = first.keys()
        for sample in samples:
            if not isinstance(sample, dict) or sample.keys() != keys:
                raise ShapeError(f"default_collate: expected every sample to be a dict with keys "
                                 f"{sorted(keys)}, got {_describe(sample)}")
        return {key: default_collate([sample[key] for sample in samples]) for key in keys}
    if isinstance(first, (tuple, list)):
        width = len(first)
        for sample in samples:
            if not isinstance(sample, (tuple, list)) or len(sample) != width:
                raise ShapeError(f"default_collate: expected every sample to be a sequence of {width} "
                                 f"items, got {_describe(sample)}")
        columns = [default_collate([sample[i] for sample in samples]) for i in range(width)]
        return columns if isinstance(first, list) else tuple(columns)
    if isinstance(first, numbers.Number) and not isinstance(first, numpy.generic):
        return backend.asarray(list(samples))
    arrays = [as_numpy(sample) for sample in samples]
    shapes = {array.shape for array in arrays}
    if len(shapes) > 1:
        raise ShapeError(f"default_collate: expected samples of one shape to stack, got shapes "
                         f"{sorted(shapes)}; pad them or pass a collate_fn")
    return numpy.stack(arrays)


def _describe(sample):
    if isinstance(sample, dict):
        return f"a dict with keys {sorted(sample)}"
    if isinstance(sample, (tuple, list)):
        return f"a {type(sample).__name__} of {len(sample)} items"
    return f"a {type(sample).__name__}"
