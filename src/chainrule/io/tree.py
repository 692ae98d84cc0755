"""Nested Python state (dicts, lists, numbers, arrays) as JSON text plus a table of named arrays.

Optimiser and callback state are trees of plain values and arrays. A safetensors file stores the
arrays natively and carries strings in its metadata, so a tree is split in two: the arrays go to
the tensor table under ``prefix + "0"``, ``prefix + "1"``, ..., and the rest becomes JSON in which an
array is ``{"__array__": name}``. Dicts whose keys are not all strings (an optimiser's state is keyed
by parameter index) are kept as ``{"__dict__": [[key, value], ...]}`` and tuples as
``{"__tuple__": [...]}``, so the tree comes back with the same types. Nothing is executed on load.
"""

import json
import numbers

import numpy

from chainrule.autograd.tensor import Tensor
from chainrule.backend import array_module
from chainrule.errors import ChainruleError
from chainrule.gpu import move_array

_MARKERS = ("__array__", "__dict__", "__tuple__")


def encode(tree, tensors, prefix):
    """Return JSON text for ``tree``; its arrays are added to the dict ``tensors``."""

    def walk(value):
        if isinstance(value, Tensor):
            value = value._data
        if not isinstance(value, numpy.ndarray) and array_module(value) is not numpy:
            value = move_array(value, numpy)  # a device array (optimiser state): written from the host
        if isinstance(value, numpy.ndarray):
            name = f"{prefix}{len(tensors)}"
            while name in tensors:
                name += "_"
            tensors[name] = numpy.array(value, order="C", copy=True)  # 0-d stays 0-d
            return {"__array__": name}
        if isinstance(value, numpy.generic):
            return value.item()
        if value is None or isinstance(value, (bool, str, numbers.Number)):
            return value
        if isinstance(value, tuple):
            return {"__tuple__": [walk(v) for v in value]}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            if all(isinstance(k, str) and k not in _MARKERS for k in value):
                return {k: walk(v) for k, v in value.items()}
            return {"__dict__": [[walk(k), walk(v)] for k, v in value.items()]}
        raise ChainruleError(f"cannot save a value of type {type(value).__name__} ({value!r:.60}): only "
                             "numbers, strings, lists, dicts and arrays are saved (no pickle); hint: keep "
                             "functions such as schedules out of state_dict and rebuild them in code")

    return json.dumps(walk(tree))


def decode(text, tensors):
    """Rebuild the tree that :func:`encode` wrote; raises KeyError/ValueError on a broken tree."""
    return rebuild(json.loads(text), tensors)


def array_names(value):
    """The tensor names that the parsed tree ``value`` refers to (to read just those from a file)."""
    names, stack = [], [value]
    while stack:  # a loop, not recursion: the depth was bounded when parsing, the breadth is not
        item = stack.pop()
        if isinstance(item, dict):
            if "__array__" in item:
                names.append(item["__array__"])
            else:
                stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return names


def rebuild(value, tensors):
    """The tree with its ``{"__array__": name}`` replaced by copies of ``tensors[name]``."""

    def walk(value):
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            if "__array__" in value:
                return tensors[value["__array__"]].copy()
            if "__tuple__" in value:
                return tuple(walk(v) for v in value["__tuple__"])
            if "__dict__" in value:
                return {_hashable(walk(k)): walk(v) for k, v in value["__dict__"]}
            return {k: walk(v) for k, v in value.items()}
        return value

    return walk(value)


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key
