"""ONNX forms of the primitive ops that glue layers together in a ``forward`` (``F.relu(self.fc1(x))``).

Layers are translated whole (:mod:`chainrule.onnx.layers`); what runs between them is found in the
recorded graph, one op at a time. ``convert(builder, op, inputs, output, batch)`` returns the name of
the op's output.
"""

import numpy

from chainrule.errors import ChainruleError
from chainrule.onnx.layers import reshape_to

_SAME_NAME = {"Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div", "Neg": "Neg", "Exp": "Exp",
              "Log": "Log", "Tanh": "Tanh", "Sigmoid": "Sigmoid", "Softplus": "Softplus", "Relu": "Relu",
              "MatMul": "MatMul"}


def convert(g, op, inputs, output, batch):
    kind = type(op).__name__
    if kind in _SAME_NAME:
        return g.node(_SAME_NAME[kind], inputs, hint=kind.lower())
    if kind == "LeakyRelu":
        return g.node("LeakyRelu", inputs, hint="leakyrelu", alpha=float(op.slope))
    if kind in ("Softmax", "LogSoftmax"):
        return g.node(kind, inputs, hint=kind.lower(), axis=int(op.axis))
    if kind == "Reshape":
        return reshape_to(g, inputs[0], op.inputs[0].shape, output.shape, batch)
    if kind == "Transpose":
        return g.node("Transpose", inputs, hint="transpose", perm=[int(a) % output.ndim for a in op.axes])
    if kind == "Concatenate":  # a two-branch model's merge
        return g.node("Concat", inputs, hint="concat", axis=int(op.axis))
    if kind == "GetItem":
        return _basic_index(g, op, inputs[0])
    raise ChainruleError(f"onnx.export: the operation {op.label} (in a forward method, between layers) has "
                         "no ONNX form here; compute it inside a layer that has one, or leave it out of "
                         "the exported model")


def _basic_index(g, op, x):
    """x[i, a:b:c, ...] with ints and slices only: one Slice, then Squeeze the axes ints took away."""
    key = op.index if isinstance(op.index, tuple) else (op.index,)
    ellipses = [i for i, k in enumerate(key) if k is Ellipsis]
    if len(ellipses) == 1:  # x[..., :1] (channels-last code): the axes it stands for, whole
        at = ellipses[0]
        key = key[:at] + (slice(None),) * (op.inputs[0].ndim - len(key) + 1) + key[at + 1:]
    if not all(isinstance(k, (int, numpy.integer, slice)) for k in key):
        raise ChainruleError(f"onnx.export: indexing with {op.index!r} has no ONNX form here; only ints "
                             "and slices (x[0], x[:, -1], x[..., 1:3]) export")
    big = 2 ** 62  # ONNX's "to the end" (or, stepping backwards, "before the first element")
    starts, ends, steps, axes, dropped = [], [], [], [], []
    for axis, k in enumerate(key):
        # raw bounds, not resolved against the sample's shape, so the batch axis stays free
        if isinstance(k, slice):
            if k == slice(None):
                continue
            step = 1 if k.step is None else int(k.step)
            start = (0 if step > 0 else -1) if k.start is None else int(k.start)
            stop = (big if step > 0 else -big) if k.stop is None else int(k.stop)
        else:
            start, step = int(k), 1
            stop = big if start == -1 else start + 1
            dropped.append(axis)
        starts.append(start)
        ends.append(stop)
        steps.append(step)
        axes.append(axis)
    if axes:
        x = g.node("Slice", [x, g.ints(starts, "starts"), g.ints(ends, "ends"), g.ints(axes, "axes"),
                             g.ints(steps, "steps")], hint="slice")
    if dropped:
        x = g.node("Squeeze", [x, g.ints(dropped, "axes")], hint="squeeze")
    return x
