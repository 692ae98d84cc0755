"""What a Keras model's ``fit``, ``evaluate`` and ``predict`` take beside plain arrays: the inputs of a
model with several ``keras.Input`` (a list, or a dict keyed by the inputs' names) and sample weights.

Both become one :class:`Samples` data set whose batches the engine's loop draws as usual: a batch's
inputs are a tuple of arrays, one per input (``model_input`` turns each into a Tensor, and the
model takes the tuple as Keras's ``model([a, b])`` does), and its targets travel with their
sample weights as :class:`WeightedTargets`.
"""

from collections import namedtuple

import numpy

from chainrule.autograd.tensor import Tensor
from chainrule.data import Dataset
from chainrule.errors import ConfigError, ShapeError
from chainrule.train import data_adapter

WeightedTargets = namedtuple("WeightedTargets", ["y", "weights"])


class ArrayGroup:
    """Arrays with one row per sample, cut together: ``group[rows]`` is the group of those rows."""

    def __init__(self, arrays):
        self.arrays = list(arrays)

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return ArrayGroup([a[index] for a in self.arrays])


def _rows(value):
    return tuple(value.arrays) if isinstance(value, ArrayGroup) else value


class Samples(Dataset):
    """Samples ``(x[i], y[i])``, or ``(x[i], WeightedTargets(y[i], w[i]))`` with weights, or ``(x[i],)``
    without targets (predict); ``x`` may be an :class:`ArrayGroup` (a model of several inputs)."""

    def __init__(self, x, y=None, weights=None):
        self.x, self.y, self.weights = x, y, weights

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return self.get_batch(index)

    def get_batch(self, indices):
        x = _rows(self.x[indices])
        if self.y is None:
            return (x,)
        if self.weights is None:
            return x, _rows(self.y[indices])
        return x, WeightedTargets(self.y[indices], self.weights[indices])


def arrays(value, where):
    """An ArrayGroup as it is, anything else as one NumPy array."""
    return value if isinstance(value, ArrayGroup) else data_adapter.as_array(value, where)


def weighted_samples(x, y, sample_weight, class_weight, where):
    """``Samples`` of ``x`` and ``y`` with Keras's per-sample weights (None when neither is given)."""
    x, y = arrays(x, f"{where}: x"), arrays(y, f"{where}: y")
    if len(x) != len(y):
        raise ShapeError(f"{where}: x and y need the same number of samples, got {len(x)} and {len(y)}")
    if sample_weight is None and class_weight is None:
        return Samples(x, y)
    if isinstance(y, ArrayGroup):
        raise ConfigError(f"{where}: sample_weight and class_weight are not supported for a model of several "
                          "outputs; hint: weigh each output's loss with compile(loss_weights=[...])")
    return Samples(x, y, sample_weights(y, sample_weight, class_weight))


def _one_array_in_a_list(x):
    """``[array]``: one array (or Tensor) in a list or tuple. A list of plain lists stays the nested
    sample data it is (``[[0.1, 0.2]]`` is one sample of two features)."""
    return (isinstance(x, (list, tuple)) and len(x) == 1
            and isinstance(x[0], (numpy.ndarray, Tensor)))


def several_inputs(model, x, where):
    """``x`` as an :class:`ArrayGroup` in the order of ``model.inputs`` when it gives several inputs (a
    list or tuple of arrays, or a dict keyed by the inputs' names); else ``x`` itself."""
    inputs = model.inputs or []
    if isinstance(x, ArrayGroup):
        return x
    if isinstance(x, dict):
        names = [t.name for t in inputs]
        missing = [n for n in names if n not in x]
        unknown = [k for k in x if k not in names]
        if missing or unknown:
            raise ShapeError(f"{where}: x is a dict whose keys must be the names of the model's inputs "
                             f"{names}; got {sorted(x)} (missing {missing}, unknown {unknown}); hint: "
                             "keras.Input(shape=..., name='...') names an input")
        x = [x[n] for n in names]
    elif len(inputs) < 2 or data_adapter._is_dataset(x) or data_adapter._is_loader(x):
        if len(inputs) < 2 and _one_array_in_a_list(x):
            return x[0]  # Keras takes [x] for a model of one input
        return x
    if len(inputs) < 2:
        return x[0]  # a dict naming the single input
    if not isinstance(x, (list, tuple)) or len(x) != len(inputs):
        got = f"{len(x)} arrays" if isinstance(x, (list, tuple)) else f"one {type(x).__name__}"
        raise ShapeError(f"{where}: the model has {len(inputs)} inputs {[t.name for t in inputs]}, got "
                         f"{got}; hint: pass a list with one array per input, in order, or a dict keyed by "
                         "their names")
    arrays = [data_adapter.as_array(a, f"{where}: x[{i}]") for i, a in enumerate(x)]
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ShapeError(f"{where}: the model's inputs need one row per sample each, got "
                         f"{[len(a) for a in arrays]} rows")
    for i, (array, tensor) in enumerate(zip(arrays, inputs)):
        if tuple(array.shape[1:]) != tuple(tensor.shape[1:]):
            raise ShapeError(f"{where}: input {i} ('{tensor.name}') expects samples of shape "
                             f"{tuple(tensor.shape[1:])}, got {tuple(array.shape[1:])}")
        if where.endswith("fit"):
            data_adapter.check_finite(array, f"x[{i}]", where)
    return ArrayGroup(arrays)


def several_targets(model, y, where):
    """``y`` as an :class:`ArrayGroup` in the order of the model's outputs when it has several (a list or
    tuple of arrays, or a dict keyed by the outputs' names); else ``y`` itself."""
    if len(getattr(model, "outputs", None) or ()) < 2 or y is None or isinstance(y, ArrayGroup) \
            or data_adapter._is_dataset(y):
        return y
    names = model.output_names
    if isinstance(y, dict):
        if sorted(y) != sorted(names):
            raise ShapeError(f"{where}: y is a dict whose keys must be the names of the model's outputs "
                             f"{names}, got {sorted(y)}")
        y = [y[n] for n in names]
    if not isinstance(y, (list, tuple)) or len(y) != len(names):
        got = f"{len(y)} arrays" if isinstance(y, (list, tuple)) else f"one {type(y).__name__}"
        raise ShapeError(f"{where}: the model has {len(names)} outputs {names}, got {got} as y; hint: one "
                         "array of targets per output, in order, or a dict keyed by the outputs' names")
    group = [data_adapter.as_array(a, f"{where}: y[{i}]") for i, a in enumerate(y)]
    if len({len(a) for a in group}) != 1:
        raise ShapeError(f"{where}: the targets of the outputs need one row per sample each, got "
                         f"{[len(a) for a in group]} rows")
    return ArrayGroup(group)


def sample_weights(y, sample_weight, class_weight):
    """One weight per sample: ``sample_weight`` times ``class_weight[label]`` (label: y or its argmax)."""
    weights = numpy.ones(len(y), dtype="float32") if sample_weight is None else \
        numpy.asarray(sample_weight, dtype="float32").reshape(len(y), *numpy.shape(sample_weight)[1:])
    if class_weight is not None:
        labels = numpy.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y)).astype(int)
        missing = sorted(set(numpy.unique(labels).tolist()) - set(class_weight))
        if missing:
            raise ConfigError(f"fit: class_weight has no weight for the classes {missing}; hint: give every "
                              "class present in y a weight")
        weights = weights * numpy.array([class_weight[int(k)] for k in labels], dtype="float32")
    return weights
