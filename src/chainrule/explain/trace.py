"""Explain one training step of a small network, number by number, as a lecture would.

``trace(model, x, target, loss, lr)`` runs one step of gradient descent on a model made of
Linear/Dense layers and elementwise activations and records, for every neuron, its net input and
activation, its error term δ = ∂E/∂net, and for every weight its partial derivative ∂E/∂w and its
updated value w⁺ = w − η·∂E/∂w.

Nothing here differentiates by hand: the net inputs keep their gradient (``retain_grad``) and the
weights' ``.grad`` come from the engine's own ``backward()``, so the table shows exactly what the
library computes.

    >>> import chainrule as cr
    >>> step = cr.explain.trace(model, x, target, loss=sse, lr=0.5)    # doctest: +SKIP
    >>> print(step.render(digits=9))                                   # doctest: +SKIP
"""

from dataclasses import dataclass, field

import numpy

from chainrule.autograd.mode import no_grad
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ChainruleError, ShapeError

# activations that mix the neurons of a layer: their δ is not (∂E/∂out)·f'(net) neuron by neuron
_NOT_ELEMENTWISE = ("softmax", "log_softmax", "logsoftmax")


@dataclass
class LayerStep:
    """What one affine layer and the activations after it did during the step.

    Arrays have the batch as their first axis: ``net`` and ``out`` are (batch, units), ``weight``
    is (units, inputs) as in PyTorch, ``bias`` (units,) or None.
    """

    name: str
    activation: str
    inputs: numpy.ndarray
    net: numpy.ndarray
    out: numpy.ndarray
    delta: numpy.ndarray = None
    weight: numpy.ndarray = None
    bias: numpy.ndarray = None
    grad_weight: numpy.ndarray = None
    grad_bias: numpy.ndarray = None
    new_weight: numpy.ndarray = None
    new_bias: numpy.ndarray = None
    weight_trained: bool = True
    bias_trained: bool = True
    neuron_names: list = field(default_factory=list)
    input_names: list = field(default_factory=list)
    first_weight_number: int = 1


@dataclass
class Trace:
    """The numbers of one training step; ``str(trace)`` or ``render()`` gives the table."""

    layers: list
    output: numpy.ndarray
    target: numpy.ndarray
    loss: float
    loss_after: float
    lr: float

    def weights(self):
        """{'w1': (before, ∂E/∂w, after), ...} numbered row by row through the layers, as lectures do."""
        table = {}
        for layer in self.layers:
            rows, cols = layer.weight.shape
            for j in range(rows):
                for i in range(cols):
                    number = layer.first_weight_number + j * cols + i
                    table[f"w{number}"] = (float(layer.weight[j, i]), float(layer.grad_weight[j, i]),
                                           float(layer.new_weight[j, i]))
        return table

    def render(self, digits=4):
        """The step as a plain-text table with ``digits`` decimals."""
        return _render(self, digits)

    def __str__(self):
        return self.render()


def trace(model, x, target, loss, lr):
    """Run one gradient-descent step on ``model`` and record every number of it.

    Args:
        model: a Module whose leaf modules, in the order they were assigned, are Linear/Dense layers
            (a 2-D ``weight`` and an optional ``bias``) and parameter-free elementwise activations.
        x: inputs, (features,) for one sample or (batch, features).
        target: the targets, shaped like the model's output (one sample may be 1-D).
        loss: ``loss(output, target) -> scalar Tensor``, e.g. E = ½·Σ(t − o)², or a loss name
            as ``compile`` takes it ("sse", "mse", "binary_crossentropy", ...).
        lr: the learning rate η of the update w⁺ = w − η·∂E/∂w (parameters that do not require grad
            are held fixed).

    Returns:
        A :class:`Trace`. The model's parameters are updated in place.
    """
    if isinstance(loss, str):
        from chainrule.nn import losses

        loss = losses.get(loss)  # an unknown name lists the known ones
    if not callable(loss):
        raise ChainruleError(f"explain.trace: expected a loss function loss(output, target) or a loss name, "
                             f"got {type(loss).__name__}; hint: loss='sse' for E = ½·Σ(t − o)²")
    if any(getattr(m, "built", True) is False for m in _leaves(model)):
        with no_grad():  # lazy Dense layers find their input size in one dry run
            model(_as_batch(x, None))
    stages = _stages(model)
    dtype = stages[0][0].weight.dtype
    a = _as_batch(x, dtype)
    t = _as_batch(target, dtype)
    for layer, _ in stages:
        layer.zero_grad()

    steps, nets = [], []
    h = a
    for index, (layer, activations) in enumerate(stages):
        net, out, names = _affine(layer, h)
        net.retain_grad()
        for activation in activations:
            out = activation(out)
            names.append(_activation_name(activation))
        mixing = [n for n in names if n in _NOT_ELEMENTWISE]
        if mixing:
            raise ChainruleError(f"explain.trace: layer {index + 1} is followed by {mixing[0]}, which is not "
                                 "elementwise (it mixes the neurons); only elementwise activations can be "
                                 "traced: end the model before it and put it in the loss")
        if not isinstance(out, Tensor) or out.shape != net.shape:
            raise ShapeError(f"explain.trace: layer {index + 1} ({type(layer).__name__}) is followed by a "
                             f"module that changed the shape {net.shape} to {getattr(out, 'shape', '?')}: "
                             "only elementwise activations can be traced")
        steps.append(LayerStep(name=f"layer {index + 1}", activation=" then ".join(names) or "identity",
                               inputs=h._data.copy(), net=net._data.copy(), out=out._data.copy()))
        nets.append(net)
        h = out
    if t.shape != h.shape:
        raise ShapeError(f"explain.trace: the target has shape {t.shape} but the model's output has "
                         f"shape {h.shape}")

    error = loss(h, t)
    if error.size != 1:
        raise ShapeError(f"explain.trace: the loss must be a scalar, got shape {error.shape}: "
                         "use reduction='sum' or 'mean'")
    error.backward()

    for step, net, (layer, _) in zip(steps, nets, stages):
        step.delta = _array(net.grad, net.shape)
        step.weight = layer.weight._data.copy()
        step.weight_trained = layer.weight.requires_grad
        step.grad_weight = _array(layer.weight.grad, layer.weight.shape)
        bias = _bias(layer)
        if bias is not None:
            step.bias = bias._data.copy()
            step.bias_trained = bias.requires_grad
            step.grad_bias = _array(bias.grad, bias.shape)
        _update(layer.weight, lr)
        if bias is not None:
            _update(bias, lr)
        step.new_weight = layer.weight._data.copy()
        step.new_bias = None if bias is None else bias._data.copy()

    with no_grad():
        h = a
        for layer, activations in stages:
            _, h, _ = _affine(layer, h)
            for activation in activations:
                h = activation(h)
        loss_after = float(loss(h, t).item())

    _name_everything(steps)
    return Trace(layers=steps, output=steps[-1].out, target=t._data.copy(), loss=float(error.item()),
                 loss_after=loss_after, lr=float(lr))


# ---------------------------------------------------------------- the model, stage by stage
def _leaves(module):
    """Leaf modules in assignment order (depth first, so nested containers keep their order)."""
    children = list(module.named_children())
    if not children:
        return [module]
    leaves = []
    for _, child in children:
        leaves.extend(_leaves(child))
    return leaves


def _is_affine(module):
    weight = module._parameters.get("weight")
    return weight is not None and weight.ndim == 2


def _stages(model):
    """[(affine layer, [activation modules after it]), ...]; refuses anything else."""
    stages = []
    for module in _leaves(model):
        if _is_affine(module):
            stages.append((module, []))
        elif any(True for _ in module.parameters()):
            raise ChainruleError(f"explain.trace: cannot trace {type(module).__name__}: only Linear/Dense "
                                 "layers and parameter-free elementwise activations are supported")
        elif not stages:
            raise ChainruleError(f"explain.trace: the model starts with {type(module).__name__}; it must "
                                 "start with a Linear or Dense layer")
        else:
            stages[-1][1].append(module)
    if not stages:
        raise ChainruleError(f"explain.trace: {type(model).__name__} has no Linear or Dense layer to trace")
    return stages


def _affine(layer, h):
    """(net input W·a + b, output after any activation built into the layer, [activation names])."""
    activation = getattr(layer, "activation", None)  # a Dense layer may carry one inside itself
    if activation is None:
        net = layer(h)
        return net, net, []
    name = getattr(layer, "activation_name", None) or type(activation).__name__.lower()
    if name in _NOT_ELEMENTWISE:
        raise ChainruleError(f"explain.trace: {type(layer).__name__} ends in {name}, which is not "
                             "elementwise; trace a model whose activations act on each neuron alone")
    # the net input is needed before the activation: compute W·a + b with the same primitive the
    # layer uses, then apply the layer's own activation as a separate step
    from chainrule.ops.fused_linear import linear

    net = linear(h, layer.weight, _bias(layer))
    return net, activation(net), [name]


def _bias(layer):
    return layer._parameters.get("bias")


def _activation_name(module):
    return type(module).__name__.lower()


def _as_batch(value, dtype):
    array = value._data if isinstance(value, Tensor) else value
    array = numpy.asarray(array, dtype=dtype if dtype is not None else numpy.float32)
    if array.ndim == 1:
        array = array[None, :]
    return Tensor(array)


def _array(grad, shape):
    if grad is None:
        return numpy.zeros(shape)
    return numpy.asarray(grad._data).copy()


def _update(parameter, lr):
    """w ← w − η·∂E/∂w in place (outside the graph), for parameters that are trained."""
    if parameter.requires_grad and parameter.grad is not None:
        parameter._data -= lr * parameter.grad._data


# ---------------------------------------------------------------- names and the table
def _name_everything(steps):
    """Neurons x1.., h1.. (or h1_1.. with several hidden layers), o1..; weights numbered w1, w2, ...."""
    hidden = len(steps) - 1
    number = 1
    for index, step in enumerate(steps):
        units = step.net.shape[1]
        if index == len(steps) - 1:
            step.neuron_names = [f"o{j + 1}" for j in range(units)]
        elif hidden == 1:
            step.neuron_names = [f"h{j + 1}" for j in range(units)]
        else:
            step.neuron_names = [f"h{index + 1}_{j + 1}" for j in range(units)]
        step.input_names = (steps[index - 1].neuron_names if index else
                            [f"x{i + 1}" for i in range(step.inputs.shape[1])])
        step.first_weight_number = number
        number += step.weight.size


def _fmt(values, digits):
    """One number, or a list of numbers across the batch."""
    values = numpy.asarray(values, dtype=numpy.float64).ravel()
    parts = [f"{v:.{digits}f}" for v in values]
    return parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"


def _render(tr, digits):
    lines = [f"Forward pass ({len(tr.layers)} layers; net = Σ w·in + b, out = activation(net))"]
    for step in tr.layers:
        lines.append(f"  {step.name}: {step.activation}")
        for j, neuron in enumerate(step.neuron_names):
            lines.append(f"    net_{neuron} = {_fmt(step.net[:, j], digits)}    "
                         f"out_{neuron} = {_fmt(step.out[:, j], digits)}")
    targets = ", ".join(f"{name} = {_fmt(tr.target[:, j], digits)}"
                        for j, name in enumerate(tr.layers[-1].neuron_names))
    lines.append(f"Targets: {targets}")
    lines.append(f"Error E = {tr.loss:.{digits}f}")
    lines.append("")
    lines.append("Backward pass (error terms δ = ∂E/∂net, from the engine's backward)")
    for step in reversed(tr.layers):
        for j, neuron in enumerate(step.neuron_names):
            lines.append(f"    δ_{neuron} = {_fmt(step.delta[:, j], digits)}")
    lines.append("")
    lines.append(f"Weight updates (η = {tr.lr:g}; w⁺ = w − η·∂E/∂w, so Δw = −η·∂E/∂w)")
    for step in reversed(tr.layers):
        lines.append(f"  {step.name}:")
        rows, cols = step.weight.shape
        for j in range(rows):
            for i in range(cols):
                number = step.first_weight_number + j * cols + i
                label = f"w{number} ({step.input_names[i]} → {step.neuron_names[j]})"
                lines.append(_weight_line(label, f"w{number}", step.weight[j, i], step.grad_weight[j, i],
                                          step.new_weight[j, i], step.weight_trained, digits))
        if step.bias is not None:
            for j, neuron in enumerate(step.neuron_names):
                lines.append(_weight_line(f"b ({neuron})", f"b_{neuron}", step.bias[j], step.grad_bias[j],
                                          step.new_bias[j], step.bias_trained, digits))
    lines.append("")
    lines.append(f"Error after the update: E = {tr.loss_after:.{digits}f}")
    return "\n".join(lines)


def _weight_line(label, short, before, grad, after, trained, digits):
    head = f"    {label:<16} = {before:.{digits}f}"
    if not trained:
        return head + "   (held fixed)"
    return head + (f"   ∂E/∂{short} = {grad:.{digits}f}   Δ = {after - before:+.{digits}f}   "
                   f"{short}⁺ = {after:.{digits}f}")
