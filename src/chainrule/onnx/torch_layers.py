"""ONNX translations of the PyTorch door's further layers: ELU, SELU, GELU, SiLU, Hardtanh, PReLU,
Upsample (nearest), AdaptiveAvgPool2d and GroupNorm.

Opset 17 (the default) has no Gelu nor GroupNormalization, so both are composed of elementary ops.
"""

import math

import numpy

from chainrule.errors import ChainruleError
from chainrule.onnx.layers import _array, _param


def _scalar(g, value, call, name):
    return g.constant(numpy.asarray(value, dtype=call.dtype), f"{call.prefix}{name}")


def elu(g, layer, inputs, call):
    return g.node("Elu", inputs[:1], hint=call.prefix + "elu", alpha=float(layer.alpha))


def selu(g, layer, inputs, call):
    from chainrule.nn.layers.smooth_activations import SELU_ALPHA, SELU_SCALE
    return g.node("Selu", inputs[:1], hint=call.prefix + "selu", alpha=SELU_ALPHA, gamma=SELU_SCALE)


def gelu(g, layer, inputs, call):
    """x·(1 + erf(x/√2))/2, or with ``approximate="tanh"`` x·(1 + tanh(√(2/π)(x + 0.044715x³)))/2."""
    x, hint = inputs[0], call.prefix + "gelu"
    if layer.approximate == "tanh":
        cube = g.node("Mul", [g.node("Mul", [x, x], hint=hint), x], hint=hint)
        inner = g.node("Add", [x, g.node("Mul", [cube, _scalar(g, 0.044715, call, "gelu_c")], hint=hint)],
                       hint=hint)
        inner = g.node("Mul", [inner, _scalar(g, math.sqrt(2.0 / math.pi), call, "gelu_k")], hint=hint)
        phi = g.node("Tanh", [inner], hint=hint)
    else:
        phi = g.node("Erf", [g.node("Mul", [x, _scalar(g, 1.0 / math.sqrt(2.0), call, "gelu_k")], hint=hint)],
                     hint=hint)
    half = g.node("Mul", [x, _scalar(g, 0.5, call, "gelu_half")], hint=hint)
    return g.node("Mul", [half, g.node("Add", [phi, _scalar(g, 1.0, call, "gelu_one")], hint=hint)],
                  hint=hint)


def silu(g, layer, inputs, call):
    hint = call.prefix + "silu"
    return g.node("Mul", [inputs[0], g.node("Sigmoid", inputs[:1], hint=hint)], hint=hint)


def hardtanh(g, layer, inputs, call):
    return g.node("Clip", [inputs[0], _scalar(g, layer.min_val, call, "min_val"),
                           _scalar(g, layer.max_val, call, "max_val")], hint=call.prefix + "hardtanh")


def prelu(g, layer, inputs, call):
    """ONNX broadcasts the slope from the right: one per channel of (N, C, ...) becomes (C, 1, ...)."""
    weight = _array(layer.weight)
    rank = len(call.args[0].shape)
    if weight.size > 1 and rank >= 3:
        weight = weight.reshape((-1,) + (1,) * (rank - 2))
        slope = g.constant(weight, f"{call.prefix}weight.reshaped")
    else:
        slope = _param(g, layer, "weight", call.prefix)
    return g.node("PRelu", [inputs[0], slope], hint=call.prefix + "prelu")


def upsample(g, layer, inputs, call):
    """Resize, nearest, reading input pixel floor(i · in/out) as PyTorch's legacy "nearest" does."""
    hint = call.prefix + "upsample"
    options = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    if layer.scale_factor is not None:  # PyTorch reads pixel floor(i / factor), as ONNX's scales do
        factors = layer.scale_factor if isinstance(layer.scale_factor, (tuple, list)) else \
            (layer.scale_factor,) * 2
        scales = g.constant(numpy.asarray([1.0, 1.0, *factors], numpy.float32), f"{call.prefix}scales")
        return g.node("Resize", [inputs[0], "", scales], hint=hint, **options)
    # a fixed size as sizes, not as a float scale whose rounding could lose a pixel: (N, C) of the
    # input, which keeps the batch free, then the layer's (H, W)
    shape = g.node("Shape", inputs[:1], hint=hint)
    start, end = g.ints([0], f"{call.prefix}start"), g.ints([2], f"{call.prefix}end")
    batch_channels = g.node("Slice", [shape, start, end], hint=hint)
    sizes = g.node("Concat", [batch_channels, g.ints(list(call.output.shape[-2:]), f"{call.prefix}size")],
                   hint=hint, axis=0)
    return g.node("Resize", [inputs[0], "", "", sizes], hint=hint, **options)


def adaptive_avg_pool(g, layer, inputs, call):
    """(1, 1) is GlobalAveragePool; sizes that divide the input are AveragePool with equal windows."""
    in_hw, out_hw = tuple(call.args[0].shape[-2:]), tuple(call.output.shape[-2:])
    hint = call.prefix + "adaptiveavgpool"
    if out_hw == (1, 1):
        return g.node("GlobalAveragePool", inputs[:1], hint=hint)
    if any(i % o for i, o in zip(in_hw, out_hw)):
        raise ChainruleError(f"onnx.export: {call.describe()} pools {in_hw} to {out_hw}, whose windows "
                             "are unequal, which ONNX's AveragePool cannot express; choose an output "
                             "size that divides the input size")
    kernel = [i // o for i, o in zip(in_hw, out_hw)]
    return g.node("AveragePool", inputs[:1], hint=hint, kernel_shape=kernel, strides=kernel)


def group_norm(g, layer, inputs, call):
    """Composed (opset 17 has no GroupNormalization): per sample and group, (x − mean)/√(var + eps)."""
    x, hint, shape = inputs[0], call.prefix + "groupnorm", call.args[0].shape
    grouped = g.node("Reshape", [x, g.ints([0, layer.num_groups, -1], f"{call.prefix}groups")], hint=hint)
    mean = _mean_of_last_axis(g, grouped, hint, call)
    centred = g.node("Sub", [grouped, mean], hint=hint)
    squares = g.node("Pow", [centred, _scalar(g, 2.0, call, "two")], hint=hint)
    variance = _mean_of_last_axis(g, squares, hint, call)  # biased, as PyTorch normalises
    std = g.node("Sqrt", [g.node("Add", [variance, _scalar(g, layer.eps, call, "eps")], hint=hint)],
                 hint=hint)
    normed = g.node("Div", [centred, std], hint=hint)
    y = g.node("Reshape", [normed, g.ints([0, *shape[1:]], f"{call.prefix}shape")], hint=hint)
    affine = (-1,) + (1,) * (len(shape) - 2)  # per channel, broadcast over the spatial axes
    if layer.weight is not None:
        weight = g.constant(_array(layer.weight).reshape(affine), f"{call.prefix}weight")
        y = g.node("Mul", [y, weight], hint=hint)
    if layer.bias is not None:
        bias = g.constant(_array(layer.bias).reshape(affine), f"{call.prefix}bias")
        y = g.node("Add", [y, bias], hint=hint)
    return y


def _mean_of_last_axis(g, x, hint, call):
    if g.opset >= 18:  # ReduceMean's axes became an input in opset 18
        return g.node("ReduceMean", [x, g.ints([-1], f"{call.prefix}axes")], hint=hint, keepdims=1)
    return g.node("ReduceMean", [x], hint=hint, keepdims=1, axes=[-1])
