"""``keras.layers.Layer``: the base class of your own Keras layers — ``build`` makes the weights with
``add_weight`` at the first call, ``call`` computes; penalties go through ``add_loss``.

    >>> import chainrule as cr
    >>> from chainrule import keras
    >>> class Scale(keras.layers.Layer):
    ...     def build(self, input_shape):
    ...         self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones")
    ...     def call(self, inputs):
    ...         return inputs * self.scale
    >>> Scale()(cr.ones((2, 3))).shape, len(Scale(input_shape=(3,)).get_weights())
    ((2, 3), 1)
"""

import numpy

from chainrule.backend import DEFAULT_FLOAT
from chainrule.keras import initializers, regularizers
from chainrule.keras.layers.base import KerasLayer, check_keywords, keras_name
from chainrule.keras.variables import Variable
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter


class Layer(KerasLayer, Module):
    """Subclass it: ``__init__(**kwargs)`` passes ``name``/``trainable``/``input_shape`` up; define
    ``build(input_shape)`` (optional) and ``call(inputs)``. Weights are kept as you shape them."""

    def __init__(self, name=None, trainable=True, input_shape=None, **kwargs):
        Module.__init__(self)
        check_keywords(type(self).__name__, kwargs)
        self.name = keras_name(self, name)
        object.__setattr__(self, "built", False)
        object.__setattr__(self, "_weight_regularizers", [])
        object.__setattr__(self, "_added_losses", [])
        self._keras_options(trainable=trainable)
        if input_shape is not None:
            self._build_once((None, *input_shape))

    def __setattr__(self, name, value):
        if isinstance(value, Parameter):  # self.w = self.add_weight(...): keep it under "w" only
            for key, known in list(self._parameters.items()):
                if known is value and key.startswith("_weight_"):
                    del self._parameters[key]
        super().__setattr__(name, value)

    def add_weight(self, shape=None, initializer="glorot_uniform", dtype=None, trainable=True, name=None,
                   regularizer=None, **kwargs):
        """A new weight of ``shape``, initialised by a Keras initializer, registered with this layer."""
        check_keywords(f"{type(self).__name__}.add_weight", kwargs)
        weight = Variable(numpy.empty(tuple(shape or ()), dtype=dtype or DEFAULT_FLOAT),
                          trainable=bool(trainable) and self.trainable, name=name)
        initializers.get(initializer)(weight)
        self.register_parameter(name or f"_weight_{len(self._parameters)}", weight)
        regularizer = regularizers.get(regularizer)
        if regularizer is not None:
            self._weight_regularizers.append((weight, regularizer))
        return weight

    def add_loss(self, loss):
        """Add a penalty (a scalar Tensor) to the loss that fit trains on, for the current call."""
        self._added_losses.append(loss)

    def get_config(self):
        """Keras's base config: extend it in a subclass (``{**super().get_config(), "units": ...}``)."""
        return {"name": self.name, "trainable": self.trainable, "dtype": "float32"}

    @classmethod
    def from_config(cls, config):
        """The layer made again from :meth:`get_config`'s dictionary: ``cls(**config)``, as Keras's."""
        return cls(**config)

    def build(self, input_shape):
        """Create the weights (with ``add_weight``) once the input shape is known."""

    def call(self, inputs):
        raise NotImplementedError(f"{type(self).__name__}: define call(inputs)")

    def _build_once(self, input_shape):
        if not self.built:
            self.build(tuple(input_shape))
            object.__setattr__(self, "built", True)

    def forward(self, *args, **kwargs):
        self._build_once(getattr(args[0], "shape", ()) if args else ())
        self._added_losses.clear()
        return self.call(*args, **kwargs)

    def _own_losses(self):
        penalties = [regularizer(weight) for weight, regularizer in self._weight_regularizers]
        return penalties + list(self._added_losses) + list(self.__dict__.get("_activity_losses", ()))
