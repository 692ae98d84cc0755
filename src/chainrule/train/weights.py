"""A model's weights as a flat list of NumPy arrays, Keras's way: count them, get them, set them.

``get_weights()`` lists the parameters in the order of ``model.parameters()`` (PyTorch's
registration order: "0.weight", "0.bias", "1.weight", ...); ``set_weights`` takes such a list back,
checks every shape before it changes anything, and keeps each parameter's dtype (a float64 list
does not promote a float32 model). ``count_params()`` is the "Total params" of ``summary()``:
parameters plus floating buffers (BatchNorm's running statistics), as Keras counts them.

    >>> import chainrule as cr
    >>> model = cr.Sequential([cr.nn.Dense(3, input_shape=(2,)), cr.nn.Dense(1)])
    >>> [w.shape for w in model.get_weights()], model.count_params()
    ([(3, 2), (3,), (1, 3), (1,)], 13)
"""

import numpy

from chainrule.autograd.tensor import Tensor, mark_changed
from chainrule.backend import array_module
from chainrule.errors import ChainruleError, ShapeError
from chainrule.gpu import move_array


def _built_parameters(model, where):
    """``[(name, Parameter)]`` of ``model``, building lazy layers first when the input shape is known."""
    model._build_if_possible()
    if not model._fully_built():
        raise ChainruleError(f"{type(model).__name__}.{where}: the model has no weights yet (its layers "
                             "build at the first batch); hint: give the first layer input_shape=..., or "
                             "run predict/fit on a batch first")
    return list(model.named_parameters())


def count_params(model):
    """The number of scalars in the model's weights (parameters and floating buffers)."""
    from chainrule.train.summary import count_weights

    _built_parameters(model, "count_params")
    return count_weights(model)[0]


def get_weights(model):
    """Copies of the parameters' arrays, in parameter order, as NumPy arrays (from any device)."""
    return [move_array(p._data, numpy).copy() for _, p in _built_parameters(model, "get_weights")]


def set_weights(model, weights):
    """Copy ``weights`` (arrays or Tensors, ordered as get_weights) into the parameters: all or nothing."""
    owner = f"{type(model).__name__}.set_weights"
    named = _built_parameters(model, "set_weights")
    if isinstance(weights, (numpy.ndarray, Tensor)) or not isinstance(weights, (list, tuple)):
        raise ChainruleError(f"{owner}: expects a list of arrays, one per parameter, got "
                             f"{type(weights).__name__}; hint: pass what model.get_weights() returns")
    if len(weights) != len(named):
        raise ShapeError(f"{owner}: expects {len(named)} arrays (one per parameter: "
                         f"{', '.join(name for name, _ in named)}), got {len(weights)}")
    arrays = [w._data if isinstance(w, Tensor) else numpy.asarray(w) for w in weights]
    wrong = [f"weight {i} ({name}) expects shape {tuple(p.shape)}, got {tuple(array.shape)}"
             for i, ((name, p), array) in enumerate(zip(named, arrays, strict=True))
             if tuple(array.shape) != tuple(p.shape)]
    if wrong:
        raise ShapeError(f"{owner}: " + "; ".join(wrong) + "; hint: the list must follow the order and "
                         "shapes of model.get_weights(); nothing was changed")
    converted = [array.astype(p.dtype, copy=False) for (_, p), array in zip(named, arrays, strict=True)]
    for (_, p), array in zip(named, converted, strict=True):  # every check passed: now change them
        p._data[...] = move_array(array, array_module(p._data))
        mark_changed(p)
