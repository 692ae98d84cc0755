"""``Parameter``: a leaf tensor that a Module registers as trainable when it is assigned."""

from chainrule import backend
from chainrule.autograd.tensor import Tensor


class Parameter(Tensor):
    """A tensor that requires grad and that ``Module.parameters()`` finds.

    ``Parameter(array_or_tensor)`` takes the data as it is (no copy); Python numbers and lists
    become float32.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        if isinstance(data, Tensor):
            data = data._data
        super().__init__(backend.asarray(data), requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter(" + super().__repr__().removeprefix("tensor(")
