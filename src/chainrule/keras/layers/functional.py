"""Keras's functional API: ``keras.Input`` gives a symbolic tensor; calling layers on it records a graph.

A :class:`KerasTensor` carries an example batch of one (zeros): calling a layer on symbolic tensors
runs the layer once on the examples (in eval mode, without a graph), which builds lazy layers and
gives the output shapes, and records the call as a node. ``keras.Model(inputs, outputs)`` then
replays the nodes on real batches (:class:`Graph`).
"""

import numpy

from chainrule.autograd.mode import no_grad
from chainrule.autograd.tensor import Tensor
from chainrule.backend import DEFAULT_FLOAT
from chainrule.errors import ChainruleError
from chainrule.keras.layers.base import keras_name


class KerasTensor:
    """A symbolic tensor: ``shape`` with None for the batch axis, ``dtype``, and the call that made it."""

    def __init__(self, example, node=None, index=0, name=None):
        self.example = example
        self.node, self.index, self.name = node, index, name

    @property
    def shape(self):
        return (None, *self.example.shape[1:])

    @property
    def dtype(self):
        return self.example.dtype.name

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


class Node:
    """One recorded call: ``layer(*args, **kwargs)``, where args may hold KerasTensors."""

    def __init__(self, layer, args, kwargs):
        self.layer, self.args, self.kwargs = layer, args, kwargs


def Input(shape=None, batch_size=None, dtype=None, batch_shape=None, name=None, **_unused):  # noqa: N802
    """A symbolic input of per-sample ``shape`` (the batch axis left out), as ``keras.Input``."""
    if batch_shape is not None:
        shape = tuple(batch_shape)[1:]
    if shape is None:
        raise ChainruleError("keras.Input: needs shape=(...) without the batch axis, e.g. "
                             "Input(shape=(784,))")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if any(s is None for s in shape):
        raise ChainruleError(f"keras.Input: shape {shape} has an unknown size; chainrule needs every size "
                             "except the batch axis (pad sequences to one length)")
    example = numpy.zeros((1, *shape), dtype=dtype or DEFAULT_FLOAT)
    # Keras's names: input_layer, input_layer_1, ... (fit and predict take a dict keyed by them)
    return KerasTensor(Tensor(example), name=keras_name(None, name, "input_layer"))


class InputLayer:
    """``keras.layers.InputLayer(shape=...)``: says the input shape, as the first item of a Sequential."""

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None, **_unused):
        self.tensor = Input(shape, batch_size, dtype, batch_shape, name)


def symbolic_in(args):
    """The KerasTensors among ``args``, also inside lists and tuples (``Concatenate()([a, b])``)."""
    found = []
    for a in args:
        if isinstance(a, KerasTensor):
            found.append(a)
        elif isinstance(a, (list, tuple)):
            found.extend(symbolic_in(a))
    return found


def substitute(arg, value_of):
    """``arg`` with every KerasTensor in it (also inside lists and tuples) replaced by ``value_of(it)``."""
    if isinstance(arg, KerasTensor):
        return value_of(arg)
    if isinstance(arg, (list, tuple)):
        return type(arg)(substitute(a, value_of) for a in arg)
    return arg


def call_symbolic(layer, args, kwargs):
    """Record ``layer(*args)`` on symbolic tensors; returns symbolic outputs shaped as the layer's."""
    from chainrule.keras.layers.training_mode import takes_training

    examples = [substitute(a, lambda t: t.example) for a in args]
    modes = [(m, m.training) for m in layer.modules()]
    layer.eval()
    run = getattr(layer, "_keras_call_function", lambda: type(layer).forward)()
    shape_kwargs = {k: v for k, v in kwargs.items() if k != "training" or takes_training(run)}
    try:
        with no_grad():
            output = layer.forward(*examples, **shape_kwargs)
    finally:
        for module, mode in modes:
            object.__setattr__(module, "training", mode)
    node = Node(layer, args, kwargs)
    if isinstance(output, (tuple, list)):
        return _symbolic(output, node, [0])
    return KerasTensor(output, node, 0)


def _symbolic(output, node, counter):
    """Nested outputs (an LSTM's ``[out, h, c]``) as KerasTensors, numbered in flattened order."""
    result = []
    for item in output:
        if isinstance(item, (tuple, list)):
            result.append(_symbolic(item, node, counter))
        else:
            result.append(KerasTensor(item, node, counter[0]))
            counter[0] += 1
    return type(output)(result) if isinstance(output, tuple) else result


def _flatten(output):
    if isinstance(output, (tuple, list)):
        return [leaf for item in output for leaf in _flatten(item)]
    return [output]


class Graph:
    """The recorded calls between ``inputs`` and ``outputs``, in an order that runs each once."""

    def __init__(self, inputs, outputs):
        if isinstance(inputs, dict) or isinstance(outputs, dict):
            raise ChainruleError("keras.Model(inputs, outputs): dicts of inputs or outputs are not "
                                 "supported; hint: pass lists, and name the tensors (keras.Input(shape=..., "
                                 "name='title'), Dense(1, name='priority')): fit, predict and compile take "
                                 "dicts keyed by those names")
        self.inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self.single_output = not isinstance(outputs, (list, tuple))
        self.outputs = [outputs] if self.single_output else list(outputs)
        for t in [*self.inputs, *self.outputs]:
            if not isinstance(t, KerasTensor):
                raise ChainruleError(f"keras.Model(inputs, outputs): expected keras.Input tensors and layer "
                                     f"outputs, got {type(t).__name__}")
        self.nodes = []
        seen = set()
        input_ids = {id(t) for t in self.inputs}

        def visit(tensor):
            if id(tensor) in input_ids:
                return
            if tensor.node is None:
                raise ChainruleError("keras.Model: an output depends on a keras.Input that is not in inputs")
            if id(tensor.node) in seen:
                return
            for arg in symbolic_in(tensor.node.args):
                visit(arg)
            seen.add(id(tensor.node))
            self.nodes.append(tensor.node)

        for t in self.outputs:
            visit(t)
        self._by_node = self._index()

    @property
    def layers(self):
        layers = []
        for node in self.nodes:
            if not any(node.layer is known for known in layers):
                layers.append(node.layer)
        return layers

    def run(self, inputs):
        values = {id(t): x for t, x in zip(self.inputs, inputs, strict=True)}
        for node in self.nodes:
            args = [substitute(a, lambda t: values[id(t)]) for a in node.args]
            output = node.layer(*args, **node.kwargs)
            leaves = _flatten(output)
            for leaf_tensor in self._by_node.get(id(node), ()):
                values[id(leaf_tensor)] = leaves[leaf_tensor.index]
        results = [values[id(t)] for t in self.outputs]
        return results[0] if self.single_output else results

    def _index(self):
        """Every symbolic tensor made by a node of this graph, found from the outputs backwards."""
        by_node = {}
        stack = list(self.outputs)
        seen = set()
        while stack:
            tensor = stack.pop()
            if id(tensor) in seen or tensor.node is None:
                continue
            seen.add(id(tensor))
            by_node.setdefault(id(tensor.node), []).append(tensor)
            stack.extend(symbolic_in(tensor.node.args))
        return by_node
