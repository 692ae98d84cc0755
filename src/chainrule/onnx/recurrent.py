"""RNN, LSTM and GRU as ONNX's own recurrent operators, one node per layer.

chainrule keeps PyTorch's gate order and weight names; ONNX orders the gates differently:

- LSTM: PyTorch i, f, g, o → ONNX i, o, f, c (c is PyTorch's g, the candidate cell)
- GRU: PyTorch r, z, n → ONNX z, r, h, with ``linear_before_reset=1`` because PyTorch applies the
  reset gate after the hidden matrix product (r ⊙ (W_hn h + b_hn))

ONNX wants W (D, G·H, in), R (D, G·H, H) and B (D, 2·G·H) = [input biases, hidden biases], and
returns Y (T, D, N, H), Y_h (D, N, H); PyTorch's output (T, N, D·H) is a transpose and a reshape of Y,
its h_n (L·D, N, H) the layers' Y_h stacked.
"""

import numpy

from chainrule.errors import ChainruleError

_GATE_ORDER = {"RNN": [0], "LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2]}


def _reorder(array, mode, hidden):
    """Rows of gate blocks from PyTorch's order to ONNX's."""
    blocks = [array[i * hidden:(i + 1) * hidden] for i in range(len(_GATE_ORDER[mode]))]
    return numpy.concatenate([blocks[i] for i in _GATE_ORDER[mode]], axis=0)


def _weights(layer, index, directions):
    mode, hidden, gates = layer.mode, layer.hidden_size, len(_GATE_ORDER[layer.mode])
    w, r, b = [], [], []
    for direction in range(directions):
        suffix = f"l{index}" + ("_reverse" if direction else "")
        w.append(_reorder(numpy.asarray(getattr(layer, "weight_ih_" + suffix)._data), mode, hidden))
        r.append(_reorder(numpy.asarray(getattr(layer, "weight_hh_" + suffix)._data), mode, hidden))
        if layer.bias:
            b.append(numpy.concatenate([
                _reorder(numpy.asarray(getattr(layer, "bias_ih_" + suffix)._data), mode, hidden),
                _reorder(numpy.asarray(getattr(layer, "bias_hh_" + suffix)._data), mode, hidden)]))
        else:
            b.append(numpy.zeros(2 * gates * hidden, dtype=w[-1].dtype))
    return numpy.stack(w), numpy.stack(r), numpy.stack(b)


def recurrent(g, layer, inputs, call):
    """Returns names shaped like the layer's output: (output, h_n), or (output, (h_n, c_n)) for LSTM."""
    if len(call.args) > 1 and call.args[1] is not None:
        raise ChainruleError(f"onnx.export: {call.describe()} is called with an initial state; export a "
                             "model whose recurrent layers start from zeros (hx=None)")
    if len(call.args[0].shape) != 3:
        raise ChainruleError(f"onnx.export: {call.describe()} runs on an unbatched sequence "
                             f"{tuple(call.args[0].shape)}; export it with a batch axis")
    prefix, mode = call.prefix, layer.mode
    directions = 2 if layer.bidirectional else 1
    x = inputs[0]
    if layer.batch_first:  # ONNX's layout is time-major
        x = g.node("Transpose", [x], hint=f"{prefix}time_major", perm=[1, 0, 2])
    finals_h, finals_c = [], []
    for index in range(layer.num_layers):
        w, r, b = _weights(layer, index, directions)
        names = [x, g.constant(w, f"{prefix}W_l{index}"), g.constant(r, f"{prefix}R_l{index}"),
                 g.constant(b, f"{prefix}B_l{index}")]
        options = {"hidden_size": layer.hidden_size,
                   "direction": "bidirectional" if directions == 2 else "forward"}
        if mode == "GRU":
            options["linear_before_reset"] = 1
        if mode == "RNN":
            options["activations"] = [{"tanh": "Tanh", "relu": "Relu"}[layer.nonlinearity]] * directions
        outputs = g.node(mode, names, hint=f"{prefix}{mode.lower()}_l{index}",
                         outputs=3 if mode == "LSTM" else 2, **options)
        # Y (T, D, N, H) → (T, N, D, H) → (T, N, D·H)
        y = g.node("Transpose", [outputs[0]], hint=f"{prefix}y_l{index}", perm=[0, 2, 1, 3])
        x = g.node("Reshape", [y, g.ints([0, 0, -1])], hint=f"{prefix}y_l{index}")
        finals_h.append(outputs[1])
        if mode == "LSTM":
            finals_c.append(outputs[2])
    output = g.node("Transpose", [x], hint=f"{prefix}batch_major", perm=[1, 0, 2]) if layer.batch_first else x
    h_n = _stack(g, finals_h, f"{prefix}h_n")
    if mode == "LSTM":
        return output, (h_n, _stack(g, finals_c, f"{prefix}c_n"))
    return output, h_n


def _stack(g, names, hint):
    return names[0] if len(names) == 1 else g.node("Concat", names, hint=hint, axis=0)
