"""One ONNX translation per layer: ``convert(builder, layer, inputs, trace) -> output name(s)``.

``inputs`` are the ONNX names of the layer's tensor arguments; ``trace`` holds the layer's call as it
ran on the sample input (its argument and output tensors), for the shapes a translation needs. The
parameters keep their state_dict names (``fc1.weight``); a transposed or reordered copy gets a
suffix.
"""

import numpy

from chainrule.errors import ChainruleError


def _array(parameter):
    return numpy.asarray(parameter._data)


def _param(g, layer, attribute, prefix):
    value = getattr(layer, attribute, None)
    return None if value is None else g.constant(_array(value), f"{prefix}{attribute}")


def linear(g, layer, inputs, call):
    """y = x Wᵀ + b as MatMul and Add, so that (N, *, in) inputs work, not only (N, in)."""
    weight = g.constant(_array(layer.weight).T, f"{call.prefix}weight.T")
    y = g.node("MatMul", [inputs[0], weight], hint=f"{call.prefix}matmul")
    bias = _param(g, layer, "bias", call.prefix)
    if bias is not None:
        y = g.node("Add", [y, bias], hint=f"{call.prefix}add")
    return y


def dense(g, layer, inputs, call):
    y = linear(g, layer, inputs, call)
    if layer.activation is None:
        return y
    return activation(g, layer.activation, [y], call)


def activation(g, layer, inputs, call):
    kind = type(layer).__name__
    x, hint = inputs[0], call.prefix + kind.lower()
    if kind in ("ReLU", "Sigmoid", "Tanh"):
        return g.node({"ReLU": "Relu"}.get(kind, kind), [x], hint=hint)
    if kind == "LeakyReLU":
        return g.node("LeakyRelu", [x], hint=hint, alpha=layer.negative_slope)
    if kind == "Softplus":  # log(1 + e^(βx))/β; PyTorch's linear part above the threshold differs < 1e-8
        if layer.beta == 1.0:
            return g.node("Softplus", [x], hint=hint)
        beta = g.constant(numpy.asarray(layer.beta, dtype=call.dtype), f"{call.prefix}beta")
        scaled = g.node("Softplus", [g.node("Mul", [x, beta], hint=hint)], hint=hint)
        return g.node("Div", [scaled, beta], hint=hint)
    if kind in ("Softmax", "LogSoftmax"):
        return g.node(kind, [x], hint=hint, axis=layer.axis)
    if kind == "Step":  # 1 where x >= 0, else 0
        zero = g.constant(numpy.zeros((), dtype=call.dtype), f"{call.prefix}zero")
        return g.node("Cast", [g.node("GreaterOrEqual", [x, zero], hint=hint)], hint=hint,
                      to=g.onnx.helper.np_dtype_to_tensor_dtype(numpy.dtype(call.dtype)))
    raise ChainruleError(f"onnx.export: {call.describe()} uses the activation {kind}, which has no ONNX "
                         "form here; use a named one (relu, sigmoid, tanh, softmax, ...)")


def _pads(padding, kernel, dilation):
    """ONNX pads (begins then ends) from chainrule's symmetric padding, or 'same'/'valid'."""
    if padding == "valid":
        return [0] * (2 * len(kernel))
    if padding == "same":  # as PyTorch: the odd pixel of padding goes at the end
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return [t // 2 for t in totals] + [t - t // 2 for t in totals]
    return list(padding) * 2


def _tuple(value, dims):
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * dims


def conv(g, layer, inputs, call):
    dims = layer.dims
    names = [inputs[0], _param(g, layer, "weight", call.prefix)]
    bias = _param(g, layer, "bias", call.prefix)
    if bias is not None:
        names.append(bias)
    return g.node("Conv", names, hint=call.prefix + "conv", kernel_shape=list(layer.kernel_size),
                  strides=list(layer.stride), dilations=list(layer.dilation), group=layer.groups,
                  pads=_pads(layer.padding if isinstance(layer.padding, str) else _tuple(layer.padding, dims),
                             layer.kernel_size, layer.dilation))


def conv_transpose(g, layer, inputs, call):
    names = [inputs[0], _param(g, layer, "weight", call.prefix)]
    bias = _param(g, layer, "bias", call.prefix)
    if bias is not None:
        names.append(bias)
    dims = len(layer.kernel_size)
    padding = _tuple(layer.padding, dims)
    return g.node("ConvTranspose", names, hint=call.prefix + "convtranspose",
                  kernel_shape=list(layer.kernel_size), strides=list(_tuple(layer.stride, dims)),
                  dilations=list(_tuple(getattr(layer, "dilation", 1), dims)),
                  group=getattr(layer, "groups", 1), pads=list(padding) * 2,
                  output_padding=list(_tuple(getattr(layer, "output_padding", 0), dims)))


def pool(g, layer, inputs, call):
    dims = getattr(layer, "dims", 2)
    kernel = _tuple(layer.kernel_size, dims)
    stride = kernel if layer.stride is None else _tuple(layer.stride, dims)
    pads = list(_tuple(layer.padding, dims)) * 2
    hint = call.prefix + type(layer).__name__.lower()
    if type(layer).__name__.startswith("Max"):
        return g.node("MaxPool", inputs[:1], hint=hint, kernel_shape=list(kernel), strides=list(stride),
                      pads=pads, dilations=list(_tuple(layer.dilation, dims)), ceil_mode=int(layer.ceil_mode))
    return g.node("AveragePool", inputs[:1], hint=hint, kernel_shape=list(kernel), strides=list(stride),
                  pads=pads, count_include_pad=int(layer.count_include_pad))


def global_avg_pool(g, layer, inputs, call):
    pooled = g.node("GlobalAveragePool", inputs[:1], hint=call.prefix + "globalavgpool")
    if len(call.output.shape) == 2:  # chainrule's form drops the 1x1 spatial axes
        return g.node("Flatten", [pooled], hint=call.prefix + "flatten", axis=1)
    return pooled


def batch_norm(g, layer, inputs, call):
    if layer.running_mean is None:
        raise ChainruleError(f"onnx.export: {call.describe()} has track_running_stats=False, so it "
                             "normalises with each batch's own statistics, which ONNX's "
                             "BatchNormalization cannot; train it with running statistics")
    features = layer.num_features
    dtype = call.dtype
    scale = _param(g, layer, "weight", call.prefix) or g.constant(numpy.ones(features, dtype), "scale")
    shift = _param(g, layer, "bias", call.prefix) or g.constant(numpy.zeros(features, dtype), "shift")
    mean = _param(g, layer, "running_mean", call.prefix)
    variance = _param(g, layer, "running_var", call.prefix)
    return g.node("BatchNormalization", [inputs[0], scale, shift, mean, variance],
                  hint=call.prefix + "batchnorm", epsilon=float(layer.eps))


def layer_norm(g, layer, inputs, call):
    shape = tuple(layer.normalized_shape)
    dtype = call.dtype
    scale = _param(g, layer, "weight", call.prefix) or g.constant(numpy.ones(shape, dtype), "scale")
    names = [inputs[0], scale]
    bias = _param(g, layer, "bias", call.prefix)
    if bias is not None:
        names.append(bias)
    return g.node("LayerNormalization", names, hint=call.prefix + "layernorm", axis=-len(shape),
                  epsilon=float(layer.eps))


def embedding(g, layer, inputs, call):
    return g.node("Gather", [_param(g, layer, "weight", call.prefix), inputs[0]], hint=call.prefix + "gather",
                  axis=0)


def flatten(g, layer, inputs, call):
    rank = len(call.args[0].shape)
    start, end = layer.start_axis % rank, layer.end_axis % rank
    if start == 1 and end == rank - 1:
        return g.node("Flatten", inputs[:1], hint=call.prefix + "flatten", axis=1)
    return reshape_to(g, inputs[0], call.args[0].shape, call.output.shape, call.batch, call.prefix)


def reshape(g, layer, inputs, call):
    return reshape_to(g, inputs[0], call.args[0].shape, call.output.shape, call.batch, call.prefix)


def reshape_to(g, x, in_shape, out_shape, batch, prefix=""):
    """Reshape that keeps the batch free: 0 copies it where both shapes start with it, -1 infers it
    where it merges into the first axis (logits (N, T, V) → (N·T, V))."""
    out_shape = list(out_shape)
    if out_shape and in_shape and out_shape[0] == in_shape[0] == batch:
        target = [0] + out_shape[1:]
    elif out_shape and out_shape[0] % batch == 0 and -1 not in out_shape[1:]:
        target = [-1] + out_shape[1:]
    else:
        target = out_shape
    return g.node("Reshape", [x, g.ints(target, f"{prefix}shape")], hint=f"{prefix}reshape")


def identity(g, layer, inputs, call):
    return g.node("Identity", inputs[:1], hint=call.prefix + "identity")
