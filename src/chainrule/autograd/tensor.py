"""The Tensor: an array, and the place it holds in a graph of operations.

A tensor made by an operation on tensors that require grad remembers that operation (its node);
``backward()`` walks those nodes in reverse. Leaves (tensors made by the user) accumulate their
gradient in ``.grad``.
"""

import weakref

import numpy

from chainrule import backend
from chainrule.autograd import tensor_maths, tensor_methods, tensor_str
from chainrule.autograd.mode import shared, state
from chainrule.autograd.names import named
from chainrule.errors import DTypeError, GraphError, ShapeError


class Tensor(tensor_methods.TorchMethods):
    """An n-dimensional array with reverse- and forward-mode automatic differentiation.

    Create tensors with :func:`chainrule.tensor` and friends; ``Tensor(data)`` wraps an array as it
    is (no copy, dtype kept).
    """

    __slots__ = ("_data", "grad", "requires_grad", "_node", "_tangent", "_hooks", "_retains_grad", "_version",
                 "_keras_logits", "__weakref__")  # _keras_logits: see nn.layers.activation._keep_logits
    __array_ufunc__ = None  # numpy defers to our reflected operators: ndarray + Tensor -> Tensor
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False):
        self._data = data if isinstance(data, numpy.ndarray) else backend.asarray(data)
        self.grad = None
        self._node = None
        self._tangent = None
        self._hooks = None
        self._retains_grad = False
        self._version = 0  # counts in-place changes; a graph node notices if its inputs changed
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _from_op(cls, array):
        """Wrap an op's result, skipping the checks of ``__init__`` (this is the hot path)."""
        out = cls.__new__(cls)
        out._data = array
        out.grad = None
        out.requires_grad = False
        out._node = None
        out._tangent = None
        out._hooks = None
        out._retains_grad = False
        out._version = 0
        return out

    # ---------------------------------------------------------------- array facts
    @property
    def data(self):
        """PyTorch's ``.data``: the same values as a tensor outside the graph, sharing memory.

        Changes through it (``p.data.normal_()``, ``w.data -= lr * w.grad.data``) change this tensor
        and are not recorded: autograd does not see them. The raw array is ``.numpy()``.
        """
        self._make_writable()  # so that writes through the new tensor land in this one's array
        return Tensor._from_op(self._data)

    @data.setter
    def data(self, value):
        self._data = value._data if isinstance(value, Tensor) else backend.asarray(value)

    shape = property(lambda self: self._data.shape, doc="The shape, a tuple of ints.")
    ndim = property(lambda self: self._data.ndim, doc="The number of axes.")
    dtype = property(lambda self: self._data.dtype, doc="The NumPy dtype of the data.")

    @property
    def grad_fn(self):
        """The recorded operation that made this tensor (None for a leaf), PyTorch's ``grad_fn``."""
        return self._node

    @property
    def is_leaf(self):
        """True for tensors the user made, False for results of recorded operations."""
        return self._node is None

    @property
    def T(self):  # noqa: N802 - NumPy's name
        return _ops.transpose(self)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor of one element, this one has shape {self.shape}")
        return self._data.item()

    def numpy(self):
        """The data as a NumPy array (shared, not copied); on a GPU it raises, as PyTorch's does."""
        if not backend.on_host(self._data):  # PyTorch's rule and words: no silent copy from the device
            raise TypeError(f"can't convert cuda:{self._data.device.id} device type tensor to numpy. Use "
                            f"Tensor.cpu() to copy the tensor to host memory first.")
        return self._data

    def tolist(self):
        return self._data.tolist()

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __hash__(self):
        return id(self)

    def __bool__(self):
        return bool(self._data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if not numpy.issubdtype(self.dtype, numpy.integer) or self.size != 1:
            raise TypeError("only integer tensors of one element can be used as an index")
        return int(self.item())

    def __format__(self, spec):
        """``f"{loss:.4f}"`` of a one-element (0-d) tensor formats its number, as PyTorch's."""
        if self.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)  # str(self) without a spec; a spec raises, as PyTorch

    def __repr__(self):
        from chainrule.gpu import move_array  # a GPU tensor shows its values too: copied for the text

        body = tensor_str.format_values(move_array(self._data, numpy))  # PyTorch's format
        extras = [] if self._data.size or self.ndim == 1 else [f"size={tuple(self.shape)}"]
        # empty, the values cannot say it is an integer tensor: the dtype is named then (as PyTorch)
        hidden = tensor_str.HIDDEN_DTYPES if self._data.size else ()
        if self.dtype != backend.DEFAULT_FLOAT and str(self.dtype) not in hidden:
            extras.append(f"dtype={self.dtype}")
        if self._node is not None:
            extras.append(f"grad_fn=<{self._node.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return tensor_str.with_suffixes(body, extras)

    # ---------------------------------------------------------------- autograd
    def requires_grad_(self, requires_grad=True):
        """Mark a leaf as needing a gradient (in place); returns the tensor."""
        if requires_grad and not backend.is_floating(self.dtype):
            raise DTypeError(f"only floating-point tensors can require grad, this one is {self.dtype}: "
                             "convert it first, e.g. x.astype('float32')")
        if not requires_grad and self._node is not None:
            raise ValueError("requires_grad_(False) on a non-leaf tensor: use detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self):
        """A new leaf sharing the data, cut from the graph."""
        return Tensor._from_op(self._data)

    def backward(self, gradient=None, retain_graph=False, create_graph=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``gradient`` is d(loss)/d(self); it may be left out only when self has one element.
        ``retain_graph`` keeps the graph for another backward; ``create_graph`` records the backward
        pass itself, for gradients of gradients.
        """
        from chainrule.autograd.engine import run_backward

        run_backward([self], [gradient], retain_graph=retain_graph, create_graph=create_graph)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it.

        Returns a handle whose ``remove()`` unregisters the hook.
        """
        if not self.requires_grad:
            raise ValueError("register_hook on a tensor that does not require grad")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _HookHandle(self._hooks, hook)

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        self._retains_grad = True

    # ---------------------------------------------------------------- conversions
    def astype(self, dtype):
        """A copy with another dtype; differentiable between floating dtypes."""
        return _ops.astype(self, dtype)

    def float(self):
        return self.astype(numpy.float32)

    def double(self):
        return self.astype(numpy.float64)

    # ---------------------------------------------------------------- operators
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return named(_ops.sub(other, self), "RsubBackward1")  # PyTorch's name for 1 - x

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __pow__(self, other):
        out = _ops.pow(self, other)
        return named(out, "PowBackward1") if isinstance(other, Tensor) else out  # x ** y: PyTorch's name

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    # ---------------------------------------------------------------- in-place updates
    # `p -= lr * p.grad` inside `no_grad()` is how a course writes gradient descent by hand: it must
    # change p itself. Where a graph is being recorded, an in-place change of a leaf that requires
    # grad would make its gradient wrong, so it raises (as in PyTorch); a non-leaf takes the result's
    # place (a new node in the graph), and the ops that used its old value refuse to backward.
    def _update_in_place(self, other, ufunc, recorded):
        if self.requires_grad and state.grad_enabled:
            if self._node is None:
                raise GraphError("in-place update of a leaf tensor that requires grad while a graph is "
                                 "recorded: do it inside `with cr.no_grad():` (as optimisers do)")
            return self._become(recorded(self._alias(), other))
        other = other._data if isinstance(other, Tensor) else other
        self._make_writable()
        mark_changed(self)
        try:
            ufunc(self._data, other, out=self._data, casting="same_kind")
        except TypeError as error:
            raise DTypeError(f"in-place {ufunc.__name__} of a {self.dtype} tensor: {error}") from None
        except ValueError:
            raise ShapeError(f"in-place {ufunc.__name__}: a value of shape {numpy.shape(other)} does not "
                             f"broadcast to the tensor's shape {self.shape}") from None
        return self

    def _alias(self):
        # a second tensor object for this tensor's present value and node, so that the in-place
        # result can take over `self` while the graph keeps the old value as its input
        old = Tensor._from_op(self._data)
        old.requires_grad, old._node, old._version = True, self._node, self._version
        if self._node is not None:
            self._node._output = weakref.ref(old)
        return old

    def _become(self, result):
        self._data, self._node = result._data, result._node
        if self._node is not None:
            self._node._output = weakref.ref(self)
        mark_changed(self)  # the nodes that used the old value now refuse to run backward
        return self

    def _make_writable(self):
        # the engine may hand one read-only or shared array to several leaves' .grad: own it first
        if not self._data.flags.writeable or self._data.base is not None and not self._data.flags.owndata:
            self._data = self._data.copy()

    def __iadd__(self, other):
        return self._update_in_place(other, numpy.add, _ops.add)

    def __isub__(self, other):
        return self._update_in_place(other, numpy.subtract, _ops.sub)

    def __imul__(self, other):
        return self._update_in_place(other, numpy.multiply, _ops.mul)

    def __itruediv__(self, other):
        return self._update_in_place(other, numpy.true_divide, _ops.div)

    def __setitem__(self, index, value):
        """``x[index] = value`` on a tensor outside the graph (no grad needed, or inside no_grad)."""
        if self.requires_grad and state.grad_enabled:
            raise GraphError("item assignment on a tensor that requires grad while a graph is recorded: "
                             "build the new tensor with cr.where(mask, value, x), or assign inside "
                             "`with cr.no_grad():`")
        self._make_writable()
        mark_changed(self)
        index = tuple(i._data if isinstance(i, Tensor) else i for i in index) if isinstance(index, tuple) \
            else (index._data if isinstance(index, Tensor) else index)
        self._data[index] = value._data if isinstance(value, Tensor) else value

    # comparisons give boolean tensors and no gradient
    def _compare(self, other, compare):
        other = other._data if isinstance(other, Tensor) else other
        return Tensor._from_op(compare(self._data, other))

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    # ---------------------------------------------------------------- methods NumPy also has
    def dot(self, other):
        return _ops.dot(self, other)

    def take(self, indices, axis=None):
        return _ops.take(self, indices, axis)

    def exp(self):
        return _ops.exp(self)

    def log(self):
        return _ops.log(self)

    def sqrt(self):
        return _ops.sqrt(self)

    def tanh(self):
        return _ops.tanh(self)

    def sigmoid(self):
        return _ops.sigmoid(self)

    def relu(self):
        return _ops.relu(self)

    def abs(self):
        return _ops.abs(self)

    def clone(self):
        """A copy in new memory that stays in the graph (PyTorch's ``clone``): gradients pass through."""
        return _ops.clone(self)

    def copy(self):
        """NumPy's name for :meth:`clone`: a differentiable copy (use ``detach().copy()`` for none)."""
        return _ops.clone(self)

    def round(self, decimals=0):
        """Round half to even, NumPy's and PyTorch's rule; the result carries no gradient (it is flat)."""
        return Tensor._from_op(self._data.round(decimals))


def mark_changed(tensor):
    """Record that ``tensor``'s data changed in place (optimiser steps, +=, loads, initialisers)."""
    tensor._version += 1
    shared.changes += 1


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


from chainrule import functions as _functions  # noqa: E402
from chainrule import ops as _ops  # noqa: E402 - the ops need Tensor defined first

tensor_methods.ops, tensor_methods.F = _ops, _functions
tensor_maths.ops, tensor_maths.F = _ops, _functions

from chainrule import linalg as _linalg  # noqa: E402
from chainrule import maths as _maths  # noqa: E402
from chainrule import sampling as _sampling  # noqa: E402
from chainrule import shape_functions as _shape_functions  # noqa: E402
from chainrule.autograd import tensor_more  # noqa: E402

tensor_more.attach(Tensor, _maths, _shape_functions, _sampling, _linalg)
