"""``keras.Variable``: a layer's weight as Keras 3 names it, with ``assign``, ``assign_add``, ``assign_sub``.

It is a :class:`chainrule.nn.Parameter` (so the engine, the optimisers and the state dicts see an
ordinary parameter) with Keras's variable API on top. ``add_weight`` returns one. Assignments
write in place and record no graph, as Keras's do; a non-trainable variable (a running total,
``trainable=False``) is the usual target.
"""

import numpy

from chainrule.autograd.mode import no_grad
from chainrule.autograd.tensor import Tensor
from chainrule.backend import DEFAULT_FLOAT
from chainrule.errors import ShapeError
from chainrule.nn.parameter import Parameter


class Variable(Parameter):
    """``keras.Variable(initializer, shape=None, dtype=None, trainable=True, name=None)``: ``initializer``
    is the value (a number, an array) or, with ``shape``, a Keras initializer (``"zeros"``)."""

    __slots__ = ("_keras_name",)

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, name=None):
        if shape is not None and (isinstance(initializer, str) or callable(initializer)):
            from chainrule.keras import initializers

            value = Parameter(numpy.empty(tuple(shape), dtype=dtype or DEFAULT_FLOAT))
            initializers.get(initializer)(value)
            initializer = value._data
        from chainrule.keras import ops

        data = ops.convert_to_tensor(initializer, dtype)._data  # Python floats as float32, as Keras
        # an integer variable (a counter) is kept, but cannot have gradients
        super().__init__(data, requires_grad=bool(trainable) and data.dtype.kind == "f")
        self._keras_name = name

    @property
    def name(self):
        return self._keras_name or "variable"

    @property
    def trainable(self):
        return self.requires_grad

    @property
    def value(self):
        return self

    def assign(self, value):
        """Write ``value``, of the variable's shape (as Keras, nothing broadcasts), into it; returns it.
        ``assign_add`` and ``assign_sub`` write ``variable ± delta``, where ``delta`` may broadcast."""
        return self._write(_values(value), "assign")

    def assign_add(self, delta):
        return self._write(self._data + _values(delta), "assign_add")

    def assign_sub(self, delta):
        return self._write(self._data - _values(delta), "assign_sub")

    def _write(self, values, what):
        if numpy.shape(values) != self._data.shape:
            raise ShapeError(f"Variable.{what}: a value of shape {numpy.shape(values)} does not fit the "
                             f"variable's {self._data.shape}; give one of that shape")
        with no_grad():  # Keras assigns even a trainable variable, outside any graph
            return self._overwrite(values, f"Variable.{what}")

    def __repr__(self):
        return f"<Variable name={self.name}, shape={tuple(self.shape)}, dtype={self.dtype}, " + \
            f"value={numpy.array2string(self._data, precision=4, threshold=20)}>"


def _values(value):
    return value._data if isinstance(value, Tensor) else numpy.asarray(value)
