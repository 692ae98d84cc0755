"""The one seam between the reference ops and their faster forms (kernels).

An op in :mod:`chainrule.ops` is the reference: plain NumPy forward, ``vjp`` and ``jvp`` in Tensor
operations. :mod:`chainrule.kernels` attaches faster forms to it from outside, one call per op::

    register(Relu, vjp_arrays=relu_backward)                  # arrays in, arrays out
    register(Convolution, forward=conv_forward, vjp_arrays=conv_backward, applies=few_channels)

and the engine, in ONE place (:func:`kernel_for`, asked by ``Op.__call__``), decides whether a kernel
may run on the arrays at hand:

- reference mode is off (``CHAINRULE_REFERENCE=1`` or :func:`use_reference_ops` turn it on);
- the arrays live in an array module the kernel takes (NumPy by default; a CuPy kernel says so);
- every floating input has a dtype the kernel takes (float32 and float64 by default);
- the kernel's own ``applies(op, *arrays)`` agrees (shapes where it pays, a library it needs).

``forward(op, *arrays)`` replaces ``op.forward`` and may keep on ``op`` whatever its backward needs;
``vjp_arrays(op, g)`` replaces ``op.vjp`` in a first-order backward (no graph of the gradient is
recorded: the engine asks only when ``create_graph`` is off) and returns one array or None per input.
A ``vjp_arrays`` registered with a ``forward`` runs only after that forward; one registered alone runs
after the reference forward, so it may read only ``op.inputs``, ``op.output`` and the op's arguments.
Whatever a kernel did, the reference ``vjp`` and ``jvp`` must still work from ``op.inputs`` and
``op.output``: they serve gradients of gradients and forward mode.

Optimisers use the same registry with ``update=`` (see :class:`chainrule.optim.Optimizer`).
"""

import contextlib
import os

import numpy

REFERENCE_VARIABLE = "CHAINRULE_REFERENCE"


class Kernel:
    """The faster forms registered for one class, and the conditions they take."""

    __slots__ = ("forward", "vjp_arrays", "update", "applies", "modules", "dtypes")

    def __init__(self, forward=None, vjp_arrays=None, update=None, applies=None, modules=("numpy",),
                 dtypes="fd"):
        self.forward, self.vjp_arrays, self.update = forward, vjp_arrays, update
        self.applies, self.modules, self.dtypes = applies, modules, dtypes


_registry = {}  # exact class -> Kernel: a user's subclass may change the rule and keeps the reference
_reference = os.environ.get(REFERENCE_VARIABLE, "") not in ("", "0")


def register(cls, *, forward=None, vjp_arrays=None, update=None, applies=None, modules=("numpy",),
             dtypes="fd"):
    """Attach faster forms to ``cls`` (an Op, or an Optimizer with ``update=``); replaces earlier ones.

    ``applies(op, *arrays)`` -> bool narrows where they run (None: everywhere the module and dtype
    conditions hold). ``modules``: the array modules' names the kernel takes; ``dtypes``: the dtype
    characters of floating inputs it takes.
    """
    _registry[cls] = Kernel(forward, vjp_arrays, update, applies, modules, dtypes)


def unregister(cls):
    """Remove the kernels of ``cls`` (the reference runs); for tests and A/B measurements."""
    _registry.pop(cls, None)


def registered(cls):
    """The Kernel registered for ``cls`` (whatever the mode), or None."""
    return _registry.get(cls)


def reference_mode():
    """True while every op runs its reference form."""
    return _reference


@contextlib.contextmanager
def use_reference_ops(enabled=True):
    """Within the block every op (and optimiser) runs its reference form; ``enabled=False`` the reverse.

    The switch is process-wide (not per thread), as ``CHAINRULE_REFERENCE=1``, which sets it at start.
    """
    global _reference
    previous, _reference = _reference, bool(enabled)
    try:
        yield
    finally:
        _reference = previous


def kernel_for(cls, xp, arrays, op=None):
    """The Kernel that may run for an instance of ``cls`` on ``arrays``, or None: the one decision."""
    kernel = _registry.get(cls)
    if kernel is None or _reference or xp.__name__ not in kernel.modules:
        return None
    for a in arrays:
        dtype = getattr(a, "dtype", None)
        if dtype is not None and dtype.kind == "f" and dtype.char not in kernel.dtypes:
            return None
        if xp is numpy and dtype is not None and type(a) is not numpy.ndarray \
                and not isinstance(a, numpy.generic):
            return None  # a subclass of ndarray: compiled code may not honour what it overrides
    if kernel.applies is not None and not kernel.applies(op, *arrays):
        return None
    return kernel
