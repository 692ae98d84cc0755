"""ONNX translations of ``chainrule.keras.layers``, which work channels-last.

ONNX's Conv, ConvTranspose and pooling operators are channels-first, so each of these layers becomes
Transpose (N, H, W, C) → (N, C, H, W), the operator, Transpose back: every value between layers
keeps the layout chainrule gives it, and Flatten, Reshape, Dense and the merges need no change
(Flatten's channels-last order comes out as it is). Keras's padding="same" (the odd pixel at the
end) is an explicit ``pads`` attribute, computed from the traced input's spatial size.
"""

import numpy

from chainrule.errors import ChainruleError
from chainrule.onnx import layers


def _channels_first(g, x, dims, hint):
    return g.node("Transpose", [x], hint=hint, perm=[0, dims + 1, *range(1, dims + 1)])


def _channels_last(g, x, dims, hint):
    return g.node("Transpose", [x], hint=hint, perm=[0, *range(2, dims + 2), 1])


def _activate(g, layer, y, call):
    return y if layer.activation is None else layers.activation(g, layer.activation, [y], call)


def _same_pads(layer, call, kernel, strides, dilation):
    from chainrule.keras.layers.conv import same_padding

    if layer.padding != "same":
        return [0] * (2 * len(kernel))
    pads = same_padding(call.args[0].shape[1:-1], kernel, strides, dilation)
    return [p[0] for p in pads] + [p[1] for p in pads]


def conv(g, layer, inputs, call):
    """Conv1D (N, T, C) and Conv2D (N, H, W, C); the weight is stored as ONNX wants it (M, C/g, *k)."""
    dims, prefix = layer.dims, call.prefix
    names = [_channels_first(g, inputs[0], dims, f"{prefix}channels_first"),
             layers._param(g, layer, "weight", prefix)]
    bias = layers._param(g, layer, "bias", prefix)
    if bias is not None:
        names.append(bias)
    y = g.node("Conv", names, hint=f"{prefix}conv", kernel_shape=list(layer.kernel_size),
               strides=list(layer.strides), dilations=list(layer.dilation_rate), group=layer.groups,
               pads=_same_pads(layer, call, layer.kernel_size, layer.strides, layer.dilation_rate))
    return _activate(g, layer, _channels_last(g, y, dims, f"{prefix}channels_last"), call)


def conv_transpose(g, layer, inputs, call):
    """Conv2DTranspose: ONNX's ConvTranspose on the weight (in, filters, kh, kw), cut to the layer's
    window of the full output (``pads``: what it cuts at the start and at the end; ``output_padding``:
    the zeros a kernel smaller than its stride leaves at the end)."""
    prefix = call.prefix
    h, w = call.args[0].shape[1:3]
    pads_begin, pads_end, extra = [0, 0], [0, 0], [0, 0]
    for axis, (size, k, s, d) in enumerate(zip((h, w), layer.kernel_size, layer.strides,
                                               layer.dilation_rate, strict=True)):
        full = (size - 1) * s + (k - 1) * d + 1
        start, length = layer._output_window(size, k, s, d)
        pads_begin[axis] = start
        pads_end[axis] = max(full - start - length, 0)
        extra[axis] = max(start + length - full, 0)
    names = [_channels_first(g, inputs[0], 2, f"{prefix}channels_first"),
             layers._param(g, layer, "weight", prefix)]
    y = g.node("ConvTranspose", names, hint=f"{prefix}convtranspose", kernel_shape=list(layer.kernel_size),
               strides=list(layer.strides), dilations=list(layer.dilation_rate), pads=pads_begin + pads_end,
               output_padding=extra)
    y = _channels_last(g, y, 2, f"{prefix}channels_last")
    bias = layers._param(g, layer, "bias", prefix)
    if bias is not None:  # added after the crop, channels-last, as the layer does
        y = g.node("Add", [y, bias], hint=f"{prefix}add")
    return _activate(g, layer, y, call)


def pool(g, layer, inputs, call):
    """MaxPooling2D, AveragePooling2D (ONNX's AveragePool leaves pads out of each mean, as Keras does)."""
    prefix, kind = call.prefix, "MaxPool" if type(layer).__name__.startswith("Max") else "AveragePool"
    x = _channels_first(g, inputs[0], 2, f"{prefix}channels_first")
    y = g.node(kind, [x], hint=f"{prefix}{kind.lower()}", kernel_shape=list(layer.pool_size),
               strides=list(layer.strides),
               pads=_same_pads(layer, call, layer.pool_size, layer.strides, (1, 1)))
    return _channels_last(g, y, 2, f"{prefix}channels_last")


def global_pool(g, layer, inputs, call):
    """GlobalAverage/MaxPooling1D/2D: a reduction over the time or spatial axes."""
    kind = "ReduceMax" if "Max" in type(layer).__name__ else "ReduceMean"
    axes = list(layer.axes)
    hint = f"{call.prefix}{kind.lower()}"
    if g.opset >= 18:  # the axes became an input in opset 18
        return g.node(kind, [inputs[0], g.ints(axes, "axes")], hint=hint, keepdims=int(layer.keepdims))
    return g.node(kind, inputs[:1], hint=hint, axes=axes, keepdims=int(layer.keepdims))


def batch_norm(g, layer, inputs, call):
    """Inference: (x − moving_mean) / √(moving_variance + ε) · γ + β over the last axis, the layer's own
    operations (ONNX's BatchNormalization wants the channels on axis 1)."""
    prefix = call.prefix
    y = g.node("Sub", [inputs[0], layers._param(g, layer, "moving_mean", prefix)], hint=f"{prefix}sub")
    epsilon = g.constant(numpy.asarray(layer.epsilon, dtype=call.dtype), f"{prefix}epsilon")
    variance = layers._param(g, layer, "moving_variance", prefix)
    variance = g.node("Add", [variance, epsilon], hint=f"{prefix}add")
    y = g.node("Div", [y, g.node("Sqrt", [variance], hint=f"{prefix}sqrt")], hint=f"{prefix}div")
    if layer.gamma is not None:
        y = g.node("Mul", [y, layers._param(g, layer, "gamma", prefix)], hint=f"{prefix}mul")
    if layer.beta is not None:
        y = g.node("Add", [y, layers._param(g, layer, "beta", prefix)], hint=f"{prefix}add")
    return y


def activation(g, layer, inputs, call):
    return _activate(g, layer, inputs[0], call) if layer.activation is not None else \
        layers.identity(g, layer, inputs, call)


def add(g, layer, inputs, call):
    total = inputs[0]
    for x in inputs[1:]:  # one Add at a time, in the layer's order
        total = g.node("Add", [total, x], hint=f"{call.prefix}add")
    return total


def concatenate(g, layer, inputs, call):
    return g.node("Concat", inputs, hint=f"{call.prefix}concat", axis=int(layer.axis))


def check_wrapped(layer, call):
    """Refuse what the recurrent translation cannot express, naming the layer."""
    if type(layer).__name__ == "Bidirectional":
        inner, backward = layer.forward_layer, layer.backward_layer
        if type(inner) is not type(backward) or inner.units != backward.units \
                or inner.use_bias != backward.use_bias or backward.go_backwards or inner.go_backwards:
            raise ChainruleError(f"onnx.export: {call.describe()} has a backward layer unlike its forward "
                                 "one (another class, size or go_backwards); ONNX's bidirectional "
                                 "operator runs one layer both ways")
        if inner.return_state:
            raise ChainruleError(f"onnx.export: {call.describe()} returns its states (return_state=True); "
                                 "export it with return_state=False")
