"""Keras's SimpleRNN, LSTM, GRU and Bidirectional as ONNX's RNN, LSTM and GRU operators.

The keras layers keep their weights in the engine's layout and gate order (``weight_ih`` (G·units, in),
LSTM i, f, c, o; GRU r, z, n with one (2, 3·units) bias: input then recurrent), so the reordering to
ONNX's gate order is :mod:`chainrule.onnx.recurrent`'s. Their input is batch-major (N, T, C), ONNX's
time-major: a Transpose in, and the outputs picked out of Y (T, D, N, H) and Y_h (D, N, H) with
Gather, then merged as the layer merges them (go_backwards: ONNX's "reverse" direction, its sequence
flipped back as Keras returns it; Bidirectional: ONNX's "bidirectional", both halves merged).
"""

import numpy

from chainrule.onnx.keras_layers import check_wrapped
from chainrule.onnx.recurrent import _reorder

_MODES = {"SimpleRNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}


def _mode(layer):
    for cls in type(layer).__mro__:
        if cls.__name__ in _MODES:
            return _MODES[cls.__name__]
    raise KeyError(type(layer).__name__)


def _weights(layer, mode):
    units = layer.units
    w = _reorder(numpy.asarray(layer.weight_ih._data), mode, units)
    r = _reorder(numpy.asarray(layer.weight_hh._data), mode, units)
    if not layer.use_bias:
        return w, r, numpy.zeros(2 * w.shape[0], dtype=w.dtype)
    bias = numpy.asarray(layer.bias._data)
    if bias.ndim == 2:  # GRU: the input bias, then the recurrent bias
        return w, r, numpy.concatenate([_reorder(bias[0], mode, units), _reorder(bias[1], mode, units)])
    return w, r, numpy.concatenate([_reorder(bias, mode, units), numpy.zeros_like(bias)])


def recurrent(g, layer, inputs, call):
    """One ONNX recurrent node for a keras recurrent layer or a Bidirectional around one."""
    check_wrapped(layer, call)
    bidirectional = type(layer).__name__ == "Bidirectional"
    parts = [layer.forward_layer, layer.backward_layer] if bidirectional else [layer]
    inner, prefix = parts[0], call.prefix
    mode = _mode(inner)
    w, r, b = (numpy.stack(arrays) for arrays in zip(*(_weights(p, mode) for p in parts), strict=True))
    x = g.node("Transpose", [inputs[0]], hint=f"{prefix}time_major", perm=[1, 0, 2])
    direction = "bidirectional" if bidirectional else "reverse" if inner.go_backwards else "forward"
    options = {"hidden_size": inner.units, "direction": direction}
    if mode == "GRU":
        options["linear_before_reset"] = 1
    if mode == "RNN":
        options["activations"] = [{"tanh": "Tanh", "relu": "Relu"}[inner.activation]] * len(parts)
    outputs = g.node(mode, [x, g.constant(w, f"{prefix}W"), g.constant(r, f"{prefix}R"),
                            g.constant(b, f"{prefix}B")],
                     hint=f"{prefix}{mode.lower()}", outputs=3 if mode == "LSTM" else 2, **options)
    y, y_h = outputs[0], outputs[1]

    def pick(value, direction_index, axis, hint):
        return g.node("Gather", [value, g.ints(direction_index, f"{prefix}direction")], hint=hint, axis=axis)

    if inner.return_sequences:
        halves = [g.node("Transpose", [pick(y, d, 1, f"{prefix}y")], hint=f"{prefix}batch_major",
                         perm=[1, 0, 2]) for d in range(len(parts))]
        if inner.go_backwards:  # Keras returns a backward layer's outputs in the order it made them
            big = 2 ** 62
            halves[0] = g.node("Slice", [halves[0], g.ints([-1], "starts"), g.ints([-big], "ends"),
                                         g.ints([1], "axes"), g.ints([-1], "steps")], hint=f"{prefix}flip")
    else:
        halves = [pick(y_h, d, 0, f"{prefix}h") for d in range(len(parts))]
    if not bidirectional:
        if not inner.return_state:
            return halves[0]
        states = [pick(y_h, 0, 0, f"{prefix}h")]
        if mode == "LSTM":
            states.append(pick(outputs[2], 0, 0, f"{prefix}c"))
        return [halves[0], *states]
    return _merge(g, layer.merge_mode, halves, call)


def _merge(g, mode, halves, call):
    f, b, hint = halves[0], halves[1], call.prefix + "merge"
    if mode == "concat":
        return g.node("Concat", [f, b], hint=hint, axis=-1)
    if mode == "sum":
        return g.node("Add", [f, b], hint=hint)
    if mode == "mul":
        return g.node("Mul", [f, b], hint=hint)
    half = g.constant(numpy.asarray(0.5, dtype=call.dtype), f"{call.prefix}half")
    return g.node("Mul", [g.node("Add", [f, b], hint=hint), half], hint=hint)
