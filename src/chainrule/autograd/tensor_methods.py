"""The Tensor methods a PyTorch user types: ``dim``/``keepdim``, shape methods, ``.to``, in-place ``_``.

Where PyTorch's and NumPy's meanings of a name differ (``transpose``, ``max``/``min`` with a dim,
``size``, ``std``), the method has PyTorch's, and NumPy's keywords (``axis=``, ``keepdims=``) keep
NumPy's where that is unambiguous. The functions live in :mod:`chainrule.functions`.
"""

import numpy

from chainrule import device as _device
from chainrule import random
from chainrule.autograd.mode import state
from chainrule.autograd.names import named
from chainrule.autograd.tensor_maths import TorchMaths
from chainrule.errors import GraphError

F = None  # chainrule.functions, bound by tensor.py once the ops exist (they import Tensor)
ops = None


class Size(tuple):
    """A shape, as ``x.size()`` returns it (a tuple, like ``torch.Size``)."""

    def numel(self):
        return int(numpy.prod(self))


class NumberOfElements(int):
    """``x.size``: NumPy's element count, which PyTorch code calls as ``x.size()`` / ``x.size(dim)``.

    The one place both meanings coexist: as a number it is NumPy's ``size``; called, it is PyTorch's.
    """

    # (an int subclass cannot have __slots__: the shape lives in the instance dict)

    def __new__(cls, shape):
        count = int(numpy.prod(shape)) if shape else 1
        self = super().__new__(cls, count)
        self._shape = shape
        return self

    def __call__(self, dim=None):
        return Size(self._shape) if dim is None else self._shape[dim]


class TorchMethods(TorchMaths):
    """Mixed into Tensor; every method works on ``self`` through the ops, so gradients flow."""

    __slots__ = ()

    # ------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):
        return F.sum(self, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)

    def mean(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):
        return F.mean(self, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)

    def prod(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        return F.prod(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, ddof=None,
            keepdims=False):
        return F.var(self, dim, unbiased, keepdim, correction=correction, axis=axis, ddof=ddof,
                     keepdims=keepdims)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, ddof=None,
            keepdims=False):
        return F.std(self, dim, unbiased, keepdim, correction=correction, axis=axis, ddof=ddof,
                     keepdims=keepdims)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        """All elements' maximum; ``(values, indices)`` along ``dim``; elementwise with a tensor."""
        return F.max(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        """All elements' minimum; ``(values, indices)`` along ``dim``; elementwise with a tensor."""
        return F.min(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        return F.argmax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        return F.argmin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def logsumexp(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        return ops.logsumexp(self, axis=F.axis_of(dim, axis), keepdims=keepdim or keepdims)

    def cumsum(self, dim=None, *, axis=None):
        return F.cumsum(self, dim, axis=axis)

    def softmax(self, dim=None, *, axis=None):
        return F.softmax(self, dim, axis=axis)

    def log_softmax(self, dim=None, *, axis=None):
        return F.log_softmax(self, dim, axis=axis)

    def norm(self, p="fro", dim=None, keepdim=False):
        return F.norm(self, p, dim, keepdim)

    def any(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        """True where any element over ``dim`` is non-zero: a bool tensor, no gradient."""
        result = self._data.any(axis=F.axis_of(dim, axis), keepdims=keepdim or keepdims)
        return type(self)._from_op(self.xp.asarray(result))

    def all(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        """True where every element over ``dim`` is non-zero: a bool tensor, no gradient."""
        result = self._data.all(axis=F.axis_of(dim, axis), keepdims=keepdim or keepdims)
        return type(self)._from_op(self.xp.asarray(result))

    def sort(self, dim=-1, descending=False):
        return F.sort(self, dim, descending)

    def gather(self, dim, index):
        return F.gather(self, dim, index)

    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        return F.scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
        return self._replace_by(lambda t: F.scatter(t, dim, index, src, value=value, reduce=reduce),
                                "scatter_()")

    # ------------------------------------------------------------ shape
    @property
    def size(self):
        return NumberOfElements(self._data.shape)

    def numel(self):
        return int(self._data.size)

    nelement = numel

    def dim(self):
        return self._data.ndim

    ndimension = dim

    def element_size(self):
        """Bytes per element."""
        return int(self._data.itemsize)

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def is_contiguous(self):
        return bool(self._data.flags.c_contiguous)

    def data_ptr(self):
        """The address of the first element: two tensors share memory where they share it."""
        data = self._data
        return int(data.ctypes.data) if isinstance(data, numpy.ndarray) else int(data.data.ptr)  # CuPy

    def view(self, *shape):
        if len(shape) == 1 and not isinstance(shape[0], int):
            if isinstance(shape[0], (numpy.dtype, type, str)):
                raise TypeError("view(dtype) reinterprets bits; use .to(dtype) to convert values")
            shape = tuple(shape[0])
        return ops.reshape(self, shape)

    def view_as(self, other):
        return ops.reshape(self, other.shape)

    def reshape(self, *shape):
        return ops.reshape(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape)

    def reshape_as(self, other):
        return ops.reshape(self, other.shape)

    def unsqueeze(self, dim):
        return ops.expand_dims(self, dim)

    def squeeze(self, dim=None, *, axis=None):
        return F.squeeze(self, dim, axis=axis)

    def expand_dims(self, axis):
        return ops.expand_dims(self, axis)

    def permute(self, *dims):
        return F.permute(self, *dims)

    def transpose(self, *dims, axes=None):
        """``x.transpose(0, 1)`` swaps two dims (PyTorch); a full permutation or none is NumPy's."""
        if len(dims) == 2:
            return ops.swapaxes(self, *dims)
        if len(dims) == 1:
            return ops.transpose(self, dims[0] if not isinstance(dims[0], int) else dims)
        return ops.transpose(self, axes if axes is not None else (dims or None))

    def swapaxes(self, axis0, axis1):
        return ops.swapaxes(self, axis0, axis1)

    swapdims = swapaxes

    def t(self):
        """The transpose of a matrix (a vector is returned as it is)."""
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor of at most 2 dims, got shape {self.shape}: use "
                             "transpose(dim0, dim1) or permute")
        return self if self.ndim < 2 else named(ops.transpose(self), "TBackward0")

    def flatten(self, start_dim=0, end_dim=-1):
        return ops.flatten(self, start_dim, end_dim)

    def expand(self, *sizes):
        sizes = tuple(sizes[0]) if len(sizes) == 1 and not isinstance(sizes[0], int) else sizes
        offset = len(sizes) - self.ndim
        shape = tuple(self.shape[i - offset] if n == -1 else n for i, n in enumerate(sizes))
        return ops.broadcast_to(self, shape)

    def expand_as(self, other):
        return ops.broadcast_to(self, other.shape)

    def broadcast_to(self, shape):
        return ops.broadcast_to(self, shape)

    def repeat(self, *repeats):
        """Tile the tensor ``repeats`` times along each dim (PyTorch's repeat, NumPy's tile)."""
        repeats = tuple(repeats[0]) if len(repeats) == 1 and not isinstance(repeats[0], int) else repeats
        x = self.reshape((1,) * (len(repeats) - self.ndim) + self.shape)
        # tile = broadcast a new axis before each dim, then merge it into that dim
        spread = ops.reshape(x, sum(((1, n) for n in x.shape), ()))
        tiled = ops.broadcast_to(spread, sum(((r, n) for r, n in zip(repeats, x.shape)), ()))
        return ops.reshape(tiled, tuple(r * n for r, n in zip(repeats, x.shape)))

    def contiguous(self):
        return self

    def split(self, split_size_or_sections, dim=0):
        return F.split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        return F.chunk(self, chunks, dim)

    # ------------------------------------------------------------ dtypes and devices
    def long(self):
        return self.astype(numpy.int64)

    def int(self):
        return self.astype(numpy.int32)

    def bool(self):
        return self.astype(numpy.bool_)

    def half(self):
        return self.astype(numpy.float16)

    def type(self, dtype=None):
        return str(self.dtype) if dtype is None else self.astype(_device.as_dtype(dtype))

    @property
    def device(self):
        return _device.of_array(self._data)

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    @property
    def xp(self):
        return _device.of_array(self._data).array_module() if type(self._data) is not numpy.ndarray else numpy

    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)``; self when nothing changes."""
        for arg in args:
            if isinstance(arg, TorchMethods):
                device, dtype = arg.device, arg.dtype
            elif _device.is_device(arg):
                device = arg
            else:
                dtype = arg
        out = self
        if device is not None:
            moved = _device.move(self._data, device)
            if moved is not self._data:
                out = type(self)._from_op(moved)
                out.requires_grad = self.requires_grad and out.dtype.kind == "f" and self.is_leaf
        if dtype is not None and _device.as_dtype(dtype) != out.dtype:
            out = out.astype(_device.as_dtype(dtype))
        return out.clone() if copy and out is self else out

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else _device.resolve(device if not isinstance(device, int)
                                                                       else f"cuda:{device}"))

    # ------------------------------------------------------------ PyTorch's creation methods
    # the new tensor takes self's dtype and device unless told otherwise, as in PyTorch
    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from chainrule import creation

        return creation.tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                               requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        from chainrule import creation

        return creation.zeros(*size, dtype=dtype or self.dtype, device=device or self.device,
                              requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        from chainrule import creation

        return creation.ones(*size, dtype=dtype or self.dtype, device=device or self.device,
                             requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        from chainrule import creation

        return creation.full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                             requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    # ------------------------------------------------------------ in place (the trailing underscore)
    def add_(self, other, alpha=1):
        self += other if alpha == 1 else other * alpha
        return self

    def sub_(self, other, alpha=1):
        self -= other if alpha == 1 else other * alpha
        return self

    def mul_(self, other):
        self *= other
        return self

    def div_(self, other):
        self /= other
        return self

    def _overwrite(self, values, what):
        """Write ``values`` into the data in place: the raw array (or a function making it)."""
        if self.requires_grad and state.grad_enabled:
            raise GraphError(f"{what} on a tensor that requires grad while a graph is recorded: do it "
                             "inside `with cr.no_grad():` or on `.data`")
        self._make_writable()
        from chainrule.autograd.tensor import mark_changed

        mark_changed(self)
        self._data[...] = values
        return self

    def _replace_by(self, function, what):
        """``self`` becomes ``function(self)`` in place (PyTorch's ``inplace=True``); returns ``self``.

        Recorded as the in-place operators are: a non-leaf takes the result's place in the graph, a
        leaf that requires grad refuses while a graph is recorded.
        """
        if self.requires_grad and state.grad_enabled:
            if self._node is None:
                raise GraphError(f"{what}: a leaf tensor that requires grad cannot change in place while a "
                                 "graph is recorded; use inplace=False, or work under `with cr.no_grad():`")
            return self._become(function(self._alias()))
        result = function(type(self)._from_op(self._data))
        self._make_writable()
        from chainrule.autograd.tensor import mark_changed

        mark_changed(self)
        self._data[...] = result._data
        return self

    def zero_(self):
        return self._overwrite(0, "zero_()")

    def fill_(self, value):
        return self._overwrite(value.item() if isinstance(value, TorchMethods) else value, "fill_()")

    def copy_(self, source):
        values = source._data if isinstance(source, TorchMethods) else source
        return self._overwrite(_device.move(numpy.asarray(values) if not hasattr(values, "shape") else values,
                                            self.device), "copy_()")

    def clamp_(self, min=None, max=None):  # noqa: A002
        return self._overwrite(self.xp.clip(self._data, min, max), "clamp_()")

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Fill with draws from N(mean, std²); ``generator=`` a :class:`chainrule.Generator`."""
        draw = random.numpy_generator(generator).normal(mean, std, self.shape)
        return self._overwrite(_device.move(draw.astype(self.dtype), self.device), "normal_()")

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        """Fill with draws from U(a, b); ``generator=`` a :class:`chainrule.Generator`."""
        draw = random.numpy_generator(generator).uniform(a, b, self.shape)
        return self._overwrite(_device.move(draw.astype(self.dtype), self.device), "uniform_()")
