"""What a unit has learnt to look for (Zeiler & Fergus, 2014; Erhan et al., 2009).

- :func:`activations`: a layer's output on some data, caught by a forward hook.
- :func:`top_activations`: for each unit (a neuron, or a convolution's filter), the k inputs that
  excite it most; a filter's response to an input is its largest value over the feature map.
- :func:`maximize_activation`: the input that gradient ascent draws for one unit, with an L2
  penalty that keeps it from growing without bound: argmax_x a(x) − λ‖x‖².
"""

from dataclasses import dataclass

import numpy

from chainrule.autograd.functional import grad_of
from chainrule.autograd.mode import enable_grad, no_grad
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ChainruleError, ShapeError
from chainrule.nn.modes import evaluating


@dataclass
class TopActivations:
    """``indices[u]`` are the rows of ``data`` that excite unit u most, best first; ``values[u]``
    their responses."""

    indices: numpy.ndarray  # (units, k) int
    values: numpy.ndarray  # (units, k)

    def inputs(self, data, unit):
        """The k inputs of ``data`` that excite ``unit`` most."""
        return numpy.asarray(data)[self.indices[unit]]


def find_layer(model, layer):
    """``layer`` itself if it is a module of ``model``, else the module named ``layer`` ("features.0")."""
    modules = dict(model.named_modules())
    if isinstance(layer, str):
        if layer not in modules:
            names = ", ".join(repr(n) for n in modules if n) or "(none)"
            raise ChainruleError(f"no layer {layer!r} in {type(model).__name__}; its layers are {names}")
        return modules[layer]
    if not any(m is layer for m in modules.values()):
        raise ChainruleError(f"{type(layer).__name__} is not a layer of {type(model).__name__}")
    return layer


def activations(model, layer, data, batch_size=256):
    """The output of ``layer`` (a module of ``model`` or its name) for every row of ``data``."""
    target = find_layer(model, layer)
    caught = []

    def hook(module, args, output):
        caught.append(numpy.asarray((output[0] if isinstance(output, tuple) else output)._data))

    handle = target.register_forward_hook(hook)
    data = numpy.asarray(getattr(data, "data", data))
    try:
        with evaluating(model), no_grad():
            for start in range(0, len(data), batch_size):
                model(Tensor(data[start:start + batch_size]))
    finally:
        handle.remove()
    if not caught:
        raise ChainruleError(f"{type(target).__name__} did not run when {type(model).__name__} did")
    return numpy.concatenate(caught)


def unit_responses(outputs):
    """One number per sample and unit: a neuron's value, or a feature map's largest value."""
    if outputs.ndim < 2:
        raise ShapeError(f"expected layer outputs (N, units, ...), got shape {outputs.shape}")
    return outputs.reshape(outputs.shape[0], outputs.shape[1], -1).max(axis=2)


def top_activations(model, layer, data, k=9):
    """For each unit of ``layer``, the ``k`` rows of ``data`` that excite it most: a TopActivations."""
    responses = unit_responses(activations(model, layer, data))
    k = min(int(k), len(responses))
    if k < 1:
        raise ChainruleError(f"top_activations: k must be positive, got {k}")
    order = numpy.argsort(-responses, axis=0, kind="stable")[:k].T  # (units, k), best first
    return TopActivations(indices=order, values=numpy.take_along_axis(responses.T, order, axis=1))


def maximize_activation(model, layer, unit, input_shape, steps=200, lr=0.1, l2=1e-2, seed=0):
    """The input (``input_shape``, no batch axis) that maximises unit ``unit`` of ``layer``.

    Gradient ascent on a(x) − l2·‖x‖² from small noise, where a is the unit's value (its feature
    map's mean, for a convolution's filter). Returns ``(x, history)``: the input and the objective at
    every step.
    """
    target = find_layer(model, layer)
    rng = numpy.random.default_rng(seed)
    dtype = next((p.dtype for p in model.parameters() if p.dtype.kind == "f"), numpy.float32)
    x = (0.01 * rng.standard_normal((1, *input_shape))).astype(dtype)
    caught = {}

    def hook(module, args, output):
        caught["out"] = output[0] if isinstance(output, tuple) else output

    handle = target.register_forward_hook(hook)
    history = []
    try:
        with evaluating(model), enable_grad():
            for _ in range(steps):
                inputs = Tensor(x, requires_grad=True)
                model(inputs)
                out = caught["out"]
                if unit >= out.shape[1]:
                    raise ChainruleError(f"maximize_activation: unit {unit} does not exist: the layer has "
                                         f"{out.shape[1]} units")
                value = out[0, unit].mean() - (inputs * inputs).sum() * l2
                (gradient,) = grad_of([value], [inputs])
                history.append(float(value.item()))
                x = x + lr * numpy.asarray(gradient._data)
    finally:
        handle.remove()
    return x[0], numpy.asarray(history)
