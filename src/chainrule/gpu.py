"""What a GPU array module needs beyond ``xp.<function>``: moving arrays and models, random streams.

The GPU backend is CuPy (the ``gpu`` extra). Nothing here imports it: an array's module comes from
:func:`chainrule.backend.array_module`, and a target module is passed in. Arrays cross between host
and device only here, explicitly: ``xp.asarray(host)`` to the device and ``device_array.get()`` back,
the two transfers CuPy allows (it refuses ``numpy.asarray(device_array)`` and mixed operands).

Random draws on the device come from a generator of the device's own module, seeded from the
library's stream (``cr.manual_seed``), and use only what CuPy's ``Generator`` has: ``random``,
``standard_normal`` and ``integers`` (it has no ``normal``, ``uniform`` or ``permutation``).
"""

import weakref

import numpy

from chainrule import backend
from chainrule import random as cr_random

_device_generators = {}
# module -> the array module it was last moved to (kept aside: an array module cannot be deep-copied)
_moved_to = weakref.WeakKeyDictionary()  # array module -> (host generator it was seeded from, its generator)


def move_array(array, xp):
    """``array`` held by the array module ``xp`` (the same object when it is there already).

    Lists and Python numbers become arrays of ``xp``.
    """
    if not hasattr(array, "dtype"):
        array = numpy.asarray(array)
    if backend.array_module(array) is xp:  # NumPy: other host arrays (a torch tensor) become NumPy's
        return numpy.asarray(array) if xp is numpy else array
    if xp is numpy:
        return array.get()  # device to host: the one explicit way back
    if backend.array_module(array) is not numpy:
        array = array.get()  # between two device modules, through the host
    return xp.asarray(array)


def move_module(module, xp):
    """Every parameter and buffer of ``module`` (and below) moved to ``xp``, in place; returns it.

    The Tensor objects stay the same (optimisers keep holding them), and their gradients move too.
    """
    from chainrule.autograd.tensor import Tensor, mark_changed

    for sub in module.modules():
        for table in (sub._parameters, sub._buffers):
            for tensor in table.values():
                if isinstance(tensor, Tensor) and backend.array_module(tensor._data) is not xp:
                    tensor._data = move_array(tensor._data, xp)
                    if tensor.grad is not None:
                        tensor.grad._data = move_array(tensor.grad._data, xp)
                    mark_changed(tensor)
    _moved_to[module] = xp  # where layers built later go (see module_of)
    return module


def module_of(module):
    """The array module holding ``module``'s parameters; before it has any, the one it was moved to."""
    for parameter in module.parameters():
        return backend.array_module(parameter._data)
    return _moved_to.get(module, numpy)


def generator(xp):
    """The random generator for draws made on ``xp``'s device: the library's own for NumPy.

    A device generator is seeded from the library's stream the first time it is asked for after each
    ``cr.manual_seed``, so seeded runs on the device repeat too.
    """
    host = cr_random.generator()
    if xp is numpy:
        return host
    seeded_from, device_generator = _device_generators.get(xp, (None, None))
    if seeded_from is not host:
        device_generator = xp.random.default_rng(int(host.integers(2**63)))
        _device_generators[xp] = (host, device_generator)
    return device_generator
