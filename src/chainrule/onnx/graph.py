"""The ONNX graph under construction: nodes, initializers and fresh names, built with ``onnx.helper``."""

import numpy


class GraphBuilder:
    """Collects the nodes and initializers of one exported model.

    ``node`` appends one ONNX node and returns its output name(s); ``constant`` stores an array as an
    initializer (under ``name`` when given, e.g. a parameter's state_dict name) and returns its name.
    """

    def __init__(self, onnx, opset):
        self.onnx, self.opset = onnx, opset
        self.nodes, self.initializers = [], []
        self._names = set()

    def fresh(self, hint):
        """A name not used yet, from ``hint`` (dots kept: they come from state_dict names)."""
        name, number = hint, 1
        while name in self._names:
            number += 1
            name = f"{hint}_{number}"
        self._names.add(name)
        return name

    def constant(self, array, name="const", dtype=None):
        array = numpy.asarray(array, dtype=dtype)
        name = self.fresh(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(numpy.array(array, order="C"), name))
        # (numpy.array, not ascontiguousarray, which makes a scalar index a 1-element vector)
        return name

    def ints(self, values, name="shape"):
        return self.constant(numpy.asarray(values, dtype=numpy.int64), name)

    def node(self, op_type, inputs, hint=None, outputs=1, **attributes):
        """Append ``op_type(inputs)``; returns its output name, or a list of ``outputs`` names."""
        hint = hint or op_type.lower()
        names = [self.fresh(hint if outputs == 1 else f"{hint}_{i}") for i in range(outputs)]
        attributes = {k: v for k, v in attributes.items() if v is not None}
        node = self.onnx.helper.make_node(op_type, list(inputs), names, name=self.fresh(f"{hint}_node"),
                                          **attributes)
        self.nodes.append(node)
        return names[0] if outputs == 1 else names
