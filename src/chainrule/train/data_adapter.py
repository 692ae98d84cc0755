"""What ``fit`` accepts as data, turned into one thing: an iterable of (inputs, targets) batches.

Arrays (NumPy arrays or Tensors) become a :class:`~chainrule.data.DataLoader` over a
:class:`~chainrule.data.TensorDataset`, which cuts a batch with one fancy index per array and draws
each epoch's order from ``chainrule.random``; a Dataset is wrapped in a DataLoader; a DataLoader (or
any iterable of ``(x, y)`` batches) is used as it is.

``validation_split`` holds out a fraction of the samples, chosen by a permutation from a seed drawn
from ``chainrule.random`` (so class-sorted data still gives every class to both parts). The seed is
returned and kept in checkpoints, so that a resumed run holds out the same samples.
"""

import numpy

from chainrule import arguments, backend, gpu
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ChainruleError, DataError, DTypeError, ShapeError

_MAX_SEED = 2**63 - 1


def as_array(value, name="the data"):
    """A NumPy array from an array, a Tensor or a nested list (no copy when possible; a device's
    arrays are copied to the host).

    Ragged nested lists and object arrays are refused, naming ``name``: NumPy would fail later
    with a message about sequences, or keep Python objects that no layer can take.
    """
    if isinstance(value, Tensor):
        value = value._data
    if hasattr(value, "dtype") and not backend.on_host(value):
        return gpu.move_array(value, numpy)
    try:
        array = numpy.asarray(value)
    except ValueError as error:
        raise ShapeError(f"{name} is a ragged nested list (its rows differ in length or depth): {error}; "
                         "hint: pad every row to one length, or pass a NumPy array") from None
    if array.dtype == object:
        raise DTypeError(f"{name} is an array of Python objects (dtype object, shape {array.shape}), "
                         "which no layer can take; hint: rows of different lengths, or mixed types? "
                         "build a numeric array, e.g. numpy.asarray(rows, dtype='float32')")
    return array


def check_finite(array, name, where):
    """Refuse NaN or inf in ``array``, naming ``name`` and the first bad index (arrays only)."""
    if array.dtype.kind not in "fc" or array.size == 0:
        return
    if numpy.isfinite(array.sum(dtype=numpy.float64)):  # a finite sum: no NaN or inf anywhere, no copy
        return
    bad = ~numpy.isfinite(array)
    if not bad.any():  # the sum overflowed: large but finite values
        return
    index = tuple(int(i) for i in numpy.argwhere(bad)[0])
    raise DataError(f"{where}: {name} holds {array[index]} at index {index} (the first of "
                    f"{int(bad.sum())} NaN or inf values); hint: clean or impute the data, or pass "
                    "check_finite=False to skip this check (for large data you have checked)")


def model_input(model, x):
    """A batch of inputs as a Tensor in ``model``'s float dtype (integers, e.g. indices, kept as they are).

    A tuple (a batch of a model with several inputs) gives a tuple of Tensors. The first batch a
    model sees sets its input_spec (what summary and model files use). The dtype
    is the one the run looked up once (``model._run_dtype``); outside a run it is looked up here.
    """
    if isinstance(x, tuple):  # the batch of a model with several inputs (keras.Model([a, b], ...))
        return tuple(model_input(model, item) for item in x)
    dtype = model.__dict__.get("_run_dtype") or model._float_dtype()
    if isinstance(x, Tensor):
        array = x._data
    else:
        array = x if hasattr(x, "dtype") and hasattr(x, "shape") else as_array(x)
    if array.dtype.kind == "f" and array.dtype != dtype:
        array = array.astype(dtype)
        x = None
    device = gpu.module_of(model)
    if backend.array_module(array) is not device:  # each batch moves to the model's device as it is drawn
        array = gpu.move_array(array, device)
        x = None
    if model._input_spec is None:
        model._input_spec = {"shape": [None, *array.shape[1:]], "dtype": array.dtype.name}
    return x if isinstance(x, Tensor) else Tensor(array)


def to_model_device(model, value):
    """A batch's inputs or targets (an array or a Tensor) on ``model``'s device; anything else as it is.

    Data sets and loaders stay on the host; each batch moves as it is drawn, so a custom
    ``train_step`` gets its batch where the model is.
    """
    device = gpu.module_of(model)
    if device is numpy or value is None:
        return value
    if isinstance(value, Tensor):
        moved = gpu.move_array(value._data, device)
        return value if moved is value._data else Tensor(moved)
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        return gpu.move_array(value, device)
    return value


def refuse_one_unbatched_sample(spec, array, where):
    """predict(x[0]) is a common slip: say so, rather than cut one sample into a batch of pieces.

    ``spec`` is the model's input_spec (or None when unknown); ``where`` names the caller.
    """
    if spec is None or array.ndim != len(spec["shape"]) - 1:
        return
    if all(want is None or want == got for want, got in zip(spec["shape"][1:], array.shape, strict=True)):
        expected = ", ".join(["batch", *("?" if s is None else str(s) for s in spec["shape"][1:])])
        raise ShapeError(f"{where}: expects a batch of shape ({expected}), got one sample of shape "
                         f"{array.shape}; hint: predict(x[None]) or predict(x.reshape(1, *x.shape)) for "
                         "a batch of one")


def predict_chunks(x, batch_size, spec, owner):
    """predict's batches of inputs alone: slices of arrays, or the inputs of a data set's batches.

    An array that looks like one sample of ``spec`` (the model's input_spec) is refused, naming
    ``owner`` (the model's class name).
    """
    arguments.integer(batch_size, "batch_size", f"{owner}.predict")
    if isinstance(x, (numpy.ndarray, Tensor, list)):
        array = as_array(x, f"{owner}.predict: x")
        refuse_one_unbatched_sample(spec, array, f"{owner}.predict")
        return (array[i:i + batch_size] for i in range(0, len(array), batch_size))
    return (inputs_of(batch) for batch in batches(x, None, batch_size, False, "predict"))


def _is_loader(data):
    from chainrule.data import DataLoader

    return isinstance(data, DataLoader) or (hasattr(data, "__iter__") and not hasattr(data, "__getitem__")
                                            and not isinstance(data, (numpy.ndarray, Tensor)))


def _is_dataset(data):
    from chainrule.data import Dataset

    return isinstance(data, Dataset)


def batches(x, y, batch_size, shuffle, where):
    """An iterable of (inputs, targets) batches for ``x`` and ``y`` (arrays, a Dataset or a loader)."""
    from chainrule.data import DataLoader, TensorDataset

    if batch_size is not None:
        arguments.integer(batch_size, "batch_size", where)
    if _is_dataset(x) or _is_loader(x):
        if y is not None:
            raise ChainruleError(f"{where}: got a data set or loader as x and also y; hint: the targets come "
                                 "from the data set's samples, leave y out")
        if _is_dataset(x) and hasattr(x, "__len__") and len(x) == 0:
            raise ShapeError(f"{where}: the data set is empty (length 0)")
        return x if _is_loader(x) else DataLoader(x, batch_size=batch_size, shuffle=shuffle)
    if x is None:
        raise ChainruleError(f"{where}: no data; hint: pass arrays x and y, or a Dataset/DataLoader as x")
    if y is None:
        raise ChainruleError(f"{where}: got inputs x but no targets y; hint: pass y (for an autoencoder, "
                             "y=x)")
    x, y = as_array(x, f"{where}: x"), as_array(y, f"{where}: y")
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        raise ShapeError(f"{where}: x and y need one row per sample and the same number of rows, got x of "
                         f"shape {x.shape} and y of shape {y.shape}")
    if len(x) == 0:
        raise ShapeError(f"{where}: got no samples (x has shape {x.shape})")
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle)


def split(x, y, fraction, seed=None):
    """Hold out ``fraction`` of the samples: ``((x_train, y_train), (x_val, y_val), seed)``.

    ``x`` may be arrays (with ``y``) or a Dataset (``y`` None). The permutation comes from ``seed``;
    without one, a seed is drawn from ``chainrule.random`` and returned.
    """
    from chainrule import random as cr_random
    from chainrule.data import Subset

    if not 0.0 < fraction < 1.0:
        raise ChainruleError(f"fit: validation_split must lie in (0, 1), got {fraction}")
    if _is_loader(x):
        raise ChainruleError("fit: validation_split needs arrays or a Dataset, got a loader; hint: pass "
                             "validation_data=(x_val, y_val) or a second loader")
    n = len(x)
    n_val = int(round(n * fraction))
    if n_val == 0 or n_val == n:
        raise ShapeError(f"fit: validation_split={fraction} of {n} samples leaves "
                         f"{'no validation' if n_val == 0 else 'no training'} samples")
    if seed is None:
        seed = int(cr_random.generator().integers(_MAX_SEED))
    order = numpy.random.default_rng(seed).permutation(n)
    train_index, val_index = numpy.sort(order[n_val:]), numpy.sort(order[:n_val])
    if _is_dataset(x):
        return (Subset(x, train_index), None), (Subset(x, val_index), None), seed
    if y is None or len(y) != n:  # checked before as_array, which would make None a 0-d array
        raise ShapeError(f"fit: x and y need the same number of rows, got x {as_array(x).shape} and y "
                         f"{None if y is None else as_array(y).shape}")
    x, y = as_array(x), as_array(y)
    return (x[train_index], y[train_index]), (x[val_index], y[val_index]), seed


def unpack(batch, where):
    """(inputs, targets) from a loader's batch: a tuple or list of two, or a dict with 'x' and 'y'."""
    if isinstance(batch, dict) and "x" in batch and "y" in batch:
        return batch["x"], batch["y"]
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    size = f" of {len(batch)}" if hasattr(batch, "__len__") else ""
    raise ChainruleError(f"{where}: expected batches of (inputs, targets), got {type(batch).__name__}{size}; "
                         "hint: make the data set's samples (x, y) pairs")


def pair(data):
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ChainruleError(f"fit: validation_data must be (x_val, y_val), got {len(data)} items")
        return data[0], data[1]
    return data, None


def inputs_of(batch):
    if isinstance(batch, (tuple, list)):
        return batch[0]
    if isinstance(batch, dict) and "x" in batch:
        return batch["x"]
    return batch


def concatenate(outputs):
    """Join per-batch outputs along the batch axis; tuples (several outputs) are joined item by item."""
    if isinstance(outputs[0], (tuple, list)):
        return tuple(concatenate([o[i] for o in outputs]) for i in range(len(outputs[0])))
    return numpy.concatenate([gpu.move_array(o._data if isinstance(o, Tensor) else o, numpy)
                              for o in outputs])


def length(batches):
    try:
        return len(batches)
    except TypeError:
        return None
