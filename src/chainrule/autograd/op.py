"""The Op contract: one primitive = ``forward`` on arrays, ``vjp`` and ``jvp`` on tensors.

An op instance is one node of the graph. ``forward`` receives raw arrays (or Python scalars) and
keeps what the derivatives need; ``vjp`` maps the output's gradient to one gradient per input and
``jvp`` maps the inputs' tangents to the output's tangent. Both are written with Tensor operations,
so that running them while a graph is recorded (``create_graph=True``) gives gradients of gradients.

The engine does the chores, not the op: it un-broadcasts gradients, skips inputs that need none,
accumulates reused tensors and frees the graph.
"""

import itertools
import weakref

import numpy
from numpy import ndarray

from chainrule.autograd import anomaly, names, seam
from chainrule.autograd.mode import shared, state
from chainrule.backend import array_module
from chainrule.errors import ChainruleError, ShapeError


class Op:
    """Base class of every primitive. Subclasses implement ``forward``, ``vjp`` and ``jvp``."""

    inputs = None  # the tensors (or constants) the op was applied to
    xp = numpy  # array module of the inputs (set per instance when they are not NumPy arrays)
    _output = None  # weak reference to the output tensor
    released = False
    kernel = None  # the seam.Kernel that ran this op's forward or will run its backward, if any

    def __call__(self, *inputs):
        # The hot path of the whole library: every small op pays for each line here, so it is
        # written flat (one pass over the inputs, no helper calls when nothing needs a graph).
        arrays = []
        needs_graph = False
        foreign = None  # the first array that is not a NumPy array (a CuPy array), if any
        versions = 0  # the sum of the inputs' in-place change counts (they only grow)
        for x in inputs:
            if isinstance(x, Tensor):
                data = x._data
                versions += x._version
                if x.requires_grad:
                    needs_graph = True
            else:
                data = x
            if foreign is None and type(data) is not ndarray and hasattr(data, "shape"):
                if isinstance(data, numpy.generic):
                    # np.float64(2.0) would promote a float32 tensor to float64 under NumPy's rules;
                    # like PyTorch, treat a NumPy scalar constant as the Python number it holds
                    data = data.item()
                else:
                    foreign = data
            arrays.append(data)
        if foreign is not None:  # self.xp is numpy unless the data lives elsewhere
            self.xp = array_module(foreign)
        if type(self) in seam._registry:  # a faster form is registered: may it run here?
            self.kernel = seam.kernel_for(type(self), self.xp, arrays, self)
        try:
            if self.kernel is not None and self.kernel.forward is not None:
                result = self.kernel.forward(self, *arrays)
            else:
                result = self.forward(*arrays)
        except ChainruleError:
            raise
        except ValueError as error:
            shapes = ", ".join(str(getattr(a, "shape", "scalar")) for a in arrays)
            raise ShapeError(f"{self.label}: inputs of shapes {shapes} do not fit: {error}") from None
        if type(result) is not ndarray:  # NumPy returns scalars from 0-d arrays; keep arrays
            result = self.xp.asarray(result)
        out = _new_tensor(Tensor)
        out._data = result
        out.grad = out._node = out._tangent = out._hooks = None
        out._retains_grad = False
        out._version = 0
        if needs_graph and (shared.all_grad or state.grad_enabled):
            out.requires_grad = True
            out._node = self
            self.sequence = next(_sequence)  # creation order: the engine's topological order
            self.inputs = inputs
            # backward refuses to run if an input was changed in place since: the sum then differs
            self.versions = versions
            self.changes = shared.changes
            self._output = weakref.ref(out)
        else:
            out.requires_grad = False
        if shared.special:  # some thread is in forward mode or anomaly mode: is this one?
            if state.forward_level:
                self.inputs = inputs
                self._output = weakref.ref(out)
                _push_tangent(self, inputs, out)
            if state.anomaly:
                anomaly.check_forward(self, inputs, result)
        return out

    @property
    def label(self):
        """The op's name in messages: ``sum: inputs of shapes ... do not fit``."""
        return type(self).__name__.lower()

    def name(self):
        """PyTorch's name of this node, e.g. ``"SumBackward0"`` (:mod:`chainrule.autograd.names`)."""
        return names.pytorch_name(self)

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"  # PyTorch's words

    @property
    def output(self):
        """The op's output tensor (alive for as long as the graph that needs it)."""
        return self._output()

    @property
    def next_functions(self):
        """PyTorch's walk down the graph: per input, ``(the node that made it, 0)``; an
        :class:`AccumulateGrad` for a leaf that requires grad, ``(None, 0)`` for anything else."""
        links = []
        for x in self.inputs or ():
            if getattr(x, "_node", None) is not None:
                links.append((x._node, 0))
            elif getattr(x, "requires_grad", False):
                links.append((AccumulateGrad(x), 0))
            else:
                links.append((None, 0))
        return tuple(links)

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad, create_graph):
        """The engine's call: the kernel's ``vjp_arrays`` in a first-order backward, else ``vjp``."""
        kernel = self.kernel
        if kernel is None or kernel.vjp_arrays is None or create_graph:
            return self.vjp(grad)
        return [None if a is None else Tensor._from_op(a) for a in kernel.vjp_arrays(self, grad._data)]

    def vjp(self, grad):
        """Return one gradient (Tensor or None) per input, given the output's gradient."""
        raise NotImplementedError(f"{self.label} has no reverse-mode rule")

    def jvp(self, *tangents):
        """Return the output's tangent; a tangent of None means zero."""
        raise NotImplementedError(f"{self.label} has no forward-mode rule")

    def release(self):
        """Drop everything the backward pass needed, so intermediate arrays can be freed."""
        name = self.__dict__.get("pytorch_name")
        self.__dict__.clear()
        self.released = True
        if name is not None:  # print(loss.grad_fn) after backward still names it
            self.pytorch_name = name


class AccumulateGrad:
    """Where ``next_functions`` ends at a leaf that requires grad: its ``variable`` is the leaf."""

    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "torch::autograd::AccumulateGrad"  # PyTorch's words, its C++ class

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"


def needs_grad(x):
    """True when ``x`` is a tensor that wants a gradient: a vjp may skip the work for the others."""
    return isinstance(x, Tensor) and x.requires_grad


def _push_tangent(op, inputs, out):
    tangents = [x._tangent if isinstance(x, Tensor) else None for x in inputs]
    if all(t is None for t in tangents):
        return
    state.forward_level -= 1  # the rule's own arithmetic carries no tangents of its own
    try:
        tangent = op.jvp(*tangents)
        if tangent.shape != out.shape:
            from chainrule import ops

            tangent = ops.broadcast_to(tangent, out.shape)
    finally:
        state.forward_level += 1
    out._tangent = tangent


_new_tensor = object.__new__
_sequence = itertools.count()
from chainrule.autograd.tensor import Tensor  # noqa: E402 - tensor.py imports the ops, which need Op
