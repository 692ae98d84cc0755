"""What every ``keras.layers`` class adds to its ``chainrule.nn`` engine: Keras's weight layout,
regularizer losses, and calls on symbolic ``keras.Input`` tensors.

A layer keeps its weights in the engine's (PyTorch's) layout, so the fast kernels and state dicts
stay as they are; ``get_weights``/``set_weights`` speak Keras's layout (a Dense kernel is
``(in, units)``), through :meth:`KerasLayer.weight_layout`.
"""

import re

import numpy

from chainrule.autograd.tensor import Tensor, mark_changed
from chainrule.backend import DEFAULT_FLOAT
from chainrule.errors import ChainruleError, ConfigError, ShapeError
from chainrule.keras import regularizers
from chainrule.nn.layers import linear
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter

# Keras keywords accepted and without effect here, and those accepted only at their default
_NO_EFFECT = {"batch_size", "batch_input_shape", "autocast", "input_dim", "input_shape", "seed",
              "input_length", "run_eagerly", "jit_compile", "steps_per_execution", "auto_scale_loss",
              "validation_freq", "safe_mode", "overwrite"}
_DEFAULT_ONLY = {
    "kernel_constraint": None, "bias_constraint": None, "recurrent_constraint": None,
    "embeddings_constraint": None, "beta_constraint": None, "gamma_constraint": None,
    "recurrent_regularizer": None, "beta_regularizer": None, "gamma_regularizer": None, "mask_zero": False,
    "dropout": 0.0, "recurrent_dropout": 0.0, "lora_rank": None, "stateful": False, "unroll": False,
    "use_cudnn": "auto", "dtype": None, "noise_shape": None, "weighted_metrics": None, "loss_weights": None,
    "steps_per_epoch": None, "validation_steps": None, "validation_batch_size": None, "output_padding": None,
    "positions": None, "expand_nested": False, "show_trainable": False, "layer_range": None,
}


def check_keywords(owner, kwargs):
    """Refuse what chainrule.keras would otherwise ignore silently: unknown keywords (a typo, as Keras
    refuses them) and Keras options it does not implement, unless they are at their defaults."""
    for key, value in kwargs.items():
        if key in _NO_EFFECT:
            continue
        if key in _DEFAULT_ONLY:
            if value == _DEFAULT_ONLY[key] or (key == "dtype" and value == "float32"):
                continue
            raise ConfigError(f"{owner}: {key}={value!r} is not supported by chainrule.keras (only the "
                              f"default, {_DEFAULT_ONLY[key]!r})")
        raise TypeError(f"{owner}: unrecognized keyword argument {key!r}")


def keras_name(layer, name=None, base=None):
    """``name``, else Keras's automatic name: conv2d, conv2d_1, max_pooling2d, batch_normalization, ...

    Keras's snake case (a capital starting a word after any character, then lower-upper pairs), so
    "Conv2D" is "conv2d", not "conv2_d"; the per-process counter is the engine's, shared by all layers.
    """
    if name is not None:
        return str(name)
    if base is None:
        words = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", type(layer).__name__)
        base = re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()
    count = linear._name_counts[base]
    linear._name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


def same(array):
    return array


def as_tensors(value):
    """NumPy arrays (also inside lists, tuples and dicts) as Tensors: Keras layers and models take arrays."""
    if isinstance(value, numpy.ndarray):
        return Tensor(value)
    if isinstance(value, (list, tuple)):
        return type(value)(as_tensors(v) for v in value)
    if isinstance(value, dict):
        return {k: as_tensors(v) for k, v in value.items()}
    return value


class WeightsView:
    """Keras's views of a layer's or a model's weights (in Keras's layout) and of its penalties."""

    @property
    def weights(self):
        return [t for t, _, _ in all_layouts(self)]

    @property
    def trainable_weights(self):
        return [t for t in self.weights if t.requires_grad]

    @property
    def non_trainable_weights(self):
        return [t for t in self.weights if not t.requires_grad]

    def get_weights(self):
        """Copies of the weights in Keras's layout and order (a Dense: ``[kernel (in, units), bias]``)."""
        return get_weights(self)

    def set_weights(self, weights):
        """Set the weights from a list like ``get_weights()``'s; a wrong count or shape changes nothing."""
        set_weights(self, weights)

    @property
    def losses(self):
        """Keras's ``losses``: the penalties of this layer (or model) and the layers inside it, from
        their weights now and from their last call (activity regularizers)."""
        return [loss for m in self.modules() for loss in getattr(m, "_own_losses", lambda: ())()]


class KerasLayer(WeightsView):
    """Mixin placed before a ``Module`` class: ``class Dense(KerasLayer, nn.Dense)``."""

    activity_regularizer = None
    _input_shape_arg = None  # Keras's input_shape= (without the batch axis), when one was given
    _input_dim_is_shape = True  # input_dim=n means input_shape=(n,) (not for Embedding: its vocabulary)

    def __new__(cls, *args, **kwargs):
        # every Keras layer takes input_shape= (or input_dim=, batch_input_shape=): a Sequential whose
        # first layer says it is built at once, as in Keras, whatever the layer does with it itself
        layer = super().__new__(cls)
        shape = kwargs.get("input_shape")
        if shape is None and kwargs.get("batch_input_shape") is not None:
            shape = tuple(kwargs["batch_input_shape"])[1:]
        if shape is None and kwargs.get("input_dim") is not None and cls._input_dim_is_shape:
            shape = (kwargs["input_dim"],)
        if isinstance(shape, int):
            shape = (shape,)
        if shape is not None:
            object.__setattr__(layer, "_input_shape_arg", tuple(shape))
        return layer

    def _keras_options(self, kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                       trainable=True):
        object.__setattr__(self, "kernel_regularizer", regularizers.get(kernel_regularizer))
        object.__setattr__(self, "bias_regularizer", regularizers.get(bias_regularizer))
        object.__setattr__(self, "activity_regularizer", regularizers.get(activity_regularizer))
        if not trainable:
            self.trainable = False

    def _regularizer_config(self):
        config = {}
        for key in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"):
            value = self.__dict__.get(key)
            if value is not None:
                config[key] = regularizers.serialize(value)
        if not self.trainable:
            config["trainable"] = False
        return config

    def __call__(self, *args, training=None, **kwargs):
        from chainrule.keras.layers import functional, training_mode

        if functional.symbolic_in(args):
            return functional.call_symbolic(self, args, {**kwargs, **({} if training is None else
                                                                      {"training": training})})
        if training is None and training_mode.enclosing() is None:
            training = False  # Keras: a layer called on its own, outside fit or a training call, infers
        if training_mode.takes_training(self._keras_call_function()):  # a call(inputs, training=None)
            resolved = training if training is not None else training_mode.enclosing()
            kwargs["training"] = self.training if resolved is None else bool(resolved)
        output = training_mode.call(self, super().__call__, training, as_tensors(args), kwargs)
        if self.activity_regularizer is not None:  # Keras 3: the penalty of the whole batch, not its mean
            outputs = output if isinstance(output, (tuple, list)) else (output,)
            object.__setattr__(self, "_activity_losses",
                               [self.activity_regularizer(o) for o in outputs if isinstance(o, Tensor)])
        return output

    def _keras_call_function(self):
        """The function a call runs: the class's ``call`` for layers written Keras's way, else forward."""
        call = getattr(type(self), "call", None)
        return call if call is not None else type(self).forward

    # ---------------------------------------------------------------- losses
    def _own_losses(self):
        """This layer's penalties: its weight regularizers now, and its activity regularizer's last call."""
        losses = []
        kernel_reg, bias_reg = self.__dict__.get("kernel_regularizer"), self.__dict__.get("bias_regularizer")
        kernel, bias = self._parameters.get("weight"), self._parameters.get("bias")
        if kernel_reg is not None and kernel is not None:
            losses.append(kernel_reg(kernel))
        if bias_reg is not None and bias is not None:
            losses.append(bias_reg(bias))
        losses.extend(self.__dict__.get("_activity_losses", ()))
        return losses


    # ---------------------------------------------------------------- weights in Keras's layout
    def weight_layout(self):
        """``[(tensor, to_keras, from_keras)]`` for this layer's own weights, in Keras's order.

        The default: the parameters as they are, then the floating buffers (non-trainable state).
        """
        own = [p for p in self._parameters.values() if p is not None]
        own += [b for b in self._buffers.values() if isinstance(b, Tensor) and b.dtype.kind == "f"]
        return [(t, same, same) for t in own]



def all_layouts(module):
    """The ``weight_layout`` of ``module`` and of every module inside it (engine modules as they are)."""
    entries = []
    for m in module.modules():
        layout = getattr(m, "weight_layout", None)
        if layout is not None:
            entries.extend(layout())
        else:
            entries.extend((p, same, same) for p in m._parameters.values() if p is not None)
    return entries


def get_weights(module):
    return [numpy.array(to_keras(t._data)) for t, to_keras, _ in all_layouts(module)]


def set_weights(module, weights):
    owner = f"{type(module).__name__}.set_weights"
    entries = all_layouts(module)
    if not isinstance(weights, (list, tuple)):
        raise ChainruleError(f"{owner}: expects a list of arrays as get_weights() returns, got "
                             f"{type(weights).__name__}")
    if len(weights) != len(entries):
        raise ShapeError(f"{owner}: expects {len(entries)} arrays, got {len(weights)}; hint: pass what "
                         "get_weights() returns (Keras's layout, e.g. a Dense kernel (in, units))")
    converted = []
    for i, ((tensor, to_keras, from_keras), array) in enumerate(zip(entries, weights, strict=True)):
        array = array._data if isinstance(array, Tensor) else numpy.asarray(array)
        expected = to_keras(tensor._data).shape
        if array.shape != expected:
            raise ShapeError(f"{owner}: weight {i} expects shape {expected} (Keras's layout), got "
                             f"{array.shape}; nothing was changed")
        converted.append(numpy.ascontiguousarray(from_keras(array)).astype(tensor.dtype, copy=False))
    for (tensor, _, _), array in zip(entries, converted, strict=True):
        tensor._data[...] = array
        mark_changed(tensor)


def new_weight(shape, initializer, trainable=True):
    """A weight of ``shape`` in the default float, filled by a Keras initializer."""
    from chainrule.keras import initializers

    weight = Parameter(numpy.empty(tuple(shape), dtype=DEFAULT_FLOAT), requires_grad=trainable)
    initializers.get(initializer)(weight)
    return weight


class SimpleLayer(KerasLayer, Module):
    """A Keras layer of the engine's Module with only settings (``settings()``) to save: its name and
    keywords checked as Keras checks them."""

    def __init__(self, name=None, **kwargs):
        check_keywords(type(self).__name__, kwargs)
        Module.__init__(self)
        self.name = keras_name(self, name)

    def get_config(self):
        return {"name": self.name, **self.settings()}
