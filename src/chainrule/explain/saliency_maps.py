"""Saliency maps: how much each input value matters to one output of a network.

Three methods, all from the engine's own reverse mode (nothing is differentiated by hand):

- ``"gradient"`` (Simonyan et al., 2014): ∂f_c/∂x, the output's sensitivity to each input value.
- ``"smoothgrad"`` (Smilkov et al., 2017): the gradient averaged over noisy copies of x, which
  removes much of the speckle a single gradient shows.
- ``"integrated_gradients"`` (Sundararajan et al., 2017): (x − x₀)·∫₀¹ ∂f_c/∂x(x₀ + α(x − x₀)) dα,
  integrated along the straight path from a baseline x₀ (zeros by default). Its attributions add up
  to f_c(x) − f_c(x₀) ("completeness"), up to the error of the quadrature (trapezoid rule, ``steps``
  intervals).

    >>> import chainrule as cr
    >>> maps = cr.explain.saliency(model, images, method="integrated_gradients")   # doctest: +SKIP
"""

import numpy

from chainrule.autograd.functional import grad_of
from chainrule.autograd.mode import enable_grad, no_grad
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ChainruleError, ShapeError
from chainrule.nn.modes import evaluating as _evaluating

METHODS = ("gradient", "smoothgrad", "integrated_gradients")
_CHUNK = 128  # inputs per forward-backward pass along a path or a noise sample


def saliency(model, x, target=None, method="gradient", steps=50, baseline=None, noise=0.15, seed=0):
    """Attributions of output ``target`` to every value of ``x``; an array shaped like ``x``.

    Args:
        model: any differentiable callable ``model(Tensor) -> Tensor`` whose first axis is the batch
            (a Module, a Keras-style Model); it runs in eval mode and its mode is restored after.
        x: a batch of inputs (N, ...), e.g. (N, 1, 28, 28) images; one sample needs its batch axis,
            ``x[None]``.
        target: which output to explain, as an index into each sample's flattened output: None for
            the largest output of each sample (the predicted class), an int for all samples, or
            one int per sample.
        method: "gradient", "smoothgrad" or "integrated_gradients".
        steps: noisy samples for SmoothGrad; trapezoid intervals for integrated gradients.
        baseline: integrated gradients' starting point x₀, shaped like one sample or like ``x``
            (default zeros, a black image).
        noise: SmoothGrad's noise standard deviation as a fraction of each sample's value range.
        seed: the SmoothGrad noise's seed, so that a map can be reproduced.

    Returns:
        A float array shaped like ``x``, signed: positive where increasing the input raises the
        output. Plot its absolute value (``cr.plots.saliency`` does).
    """
    if method not in METHODS:
        raise ChainruleError(f"saliency: unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if not isinstance(steps, (int, numpy.integer)) or steps < 1:
        raise ChainruleError(f"saliency: steps must be a positive integer, got {steps!r}")
    inputs = _as_batch(model, x)
    with _evaluating(model):
        targets = _targets(model, inputs, target)
        if method == "gradient":
            return _gradient(model, inputs, targets)
        if method == "smoothgrad":
            return _smoothgrad(model, inputs, targets, steps, noise, seed)
        return _integrated_gradients(model, inputs, targets, steps, _baseline(baseline, inputs))


def scores(model, x, target=None):
    """(the chosen output of each sample, the chosen indices): f_c(x) as ``saliency`` explains it."""
    inputs = _as_batch(model, x)
    with _evaluating(model):
        targets = _targets(model, inputs, target)
        values, _ = _score_and_gradient(model, inputs, targets, need_gradient=False)
    return values, targets


# ---------------------------------------------------------------- the three methods
def _gradient(model, inputs, targets):
    _, gradient = _score_and_gradient(model, inputs, targets)
    return gradient


def _smoothgrad(model, inputs, targets, samples, noise, seed):
    rng = numpy.random.default_rng(seed)
    axes = tuple(range(1, inputs.ndim))
    spread = inputs.max(axis=axes, keepdims=True) - inputs.min(axis=axes, keepdims=True)
    sigma = noise * numpy.where(spread > 0, spread, 1.0)
    total = numpy.zeros_like(inputs, dtype=numpy.float64)
    for index in range(len(inputs)):
        noisy = inputs[index] + sigma[index] * rng.standard_normal((samples, *inputs.shape[1:]))
        gradients = _gradients_in_chunks(model, noisy.astype(inputs.dtype), targets[index])
        total[index] = gradients.mean(axis=0)
    return total.astype(inputs.dtype)


def _integrated_gradients(model, inputs, targets, steps, baseline):
    alphas = numpy.linspace(0.0, 1.0, steps + 1)
    weights = numpy.full(steps + 1, 1.0 / steps)  # the trapezoid rule on [0, 1]
    weights[[0, -1]] = 0.5 / steps
    result = numpy.zeros_like(inputs, dtype=numpy.float64)
    for index in range(len(inputs)):
        delta = inputs[index].astype(numpy.float64) - baseline[index]
        shape = (-1,) + (1,) * delta.ndim
        path = baseline[index] + alphas.reshape(shape) * delta
        gradients = _gradients_in_chunks(model, path.astype(inputs.dtype), targets[index])
        result[index] = delta * numpy.tensordot(weights, gradients, axes=1)
    return result.astype(inputs.dtype)


def _gradients_in_chunks(model, points, target):
    """∂f_target/∂x at every point (each point a sample), a chunk of points per pass."""
    parts = []
    for start in range(0, len(points), _CHUNK):
        chunk = points[start:start + _CHUNK]
        _, gradient = _score_and_gradient(model, chunk, numpy.full(len(chunk), target))
        parts.append(gradient.astype(numpy.float64))
    return numpy.concatenate(parts)


def _score_and_gradient(model, inputs, targets, need_gradient=True):
    """(f_c(x) per sample, ∂(Σ f_c)/∂x): samples do not mix in eval mode, so the sum's gradient is each
    sample's own."""
    x = Tensor(inputs, requires_grad=need_gradient)
    with enable_grad():
        flat = _flat_output(model, x)
        mask = numpy.zeros(flat.shape, dtype=flat.dtype)
        mask[numpy.arange(len(targets)), targets] = 1
        values = (flat._data * mask).sum(axis=1)
        if not need_gradient:
            return values, None
        if not flat.requires_grad:
            raise ChainruleError(f"saliency: the output of {type(model).__name__} does not depend "
                                 "differentiably on its input (is it inside no_grad, or detached?)")
        (gradient,) = grad_of([(flat * Tensor(mask)).sum()], [x])
    return values, numpy.asarray(gradient._data)


# ---------------------------------------------------------------- inputs, targets, mode
def _flat_output(model, x):
    output = model(x)
    if not isinstance(output, Tensor):
        raise ChainruleError(f"saliency: {type(model).__name__} returned {type(output).__name__}, "
                             "not a Tensor; explain a model with one tensor output")
    if output.ndim == 0 or output.shape[0] != x.shape[0]:
        raise ShapeError(f"saliency: the output's shape {output.shape} has no batch axis of "
                         f"{x.shape[0]} samples")
    return output.reshape(x.shape[0], -1)


def _targets(model, inputs, target):
    if target is None:
        with no_grad():
            chunks = (Tensor(inputs[start:start + _CHUNK]) for start in range(0, len(inputs), _CHUNK))
            return numpy.concatenate([_flat_output(model, chunk)._data.argmax(1) for chunk in chunks])
    targets = numpy.asarray(target)
    if targets.dtype.kind not in "iu":
        raise ChainruleError(f"saliency: target must be None, an int or one int per sample, got {target!r}")
    targets = numpy.broadcast_to(targets, (len(inputs),)) if targets.ndim == 0 else targets
    if targets.shape != (len(inputs),):
        raise ShapeError(f"saliency: {len(targets)} targets for {len(inputs)} samples; give one per sample")
    with no_grad():
        outputs = _flat_output(model, Tensor(inputs[:1])).shape[1]
    if targets.min() < 0 or targets.max() >= outputs:
        raise ChainruleError(f"saliency: target {int(targets.max())} is out of range: the model has "
                             f"{outputs} outputs per sample")
    return targets.astype(numpy.int64)


def _as_batch(model, x):
    array = numpy.asarray(x._data if isinstance(x, Tensor) else x)
    if array.ndim == 0 or len(array) == 0:
        raise ShapeError(f"saliency: expected a batch of inputs (N, ...), got shape {array.shape}; "
                         "one sample needs its batch axis: x[None]")
    if array.dtype.kind != "f":
        raise ChainruleError(f"saliency: the inputs must be floating point, got {array.dtype}: saliency "
                             "differentiates with respect to them")
    dtype = next((p.dtype for p in model.parameters() if p.dtype.kind == "f"), array.dtype) \
        if hasattr(model, "parameters") else array.dtype
    return array.astype(dtype, copy=False)


def _baseline(baseline, inputs):
    if baseline is None:
        return numpy.zeros(inputs.shape)
    array = numpy.asarray(getattr(baseline, "data", baseline), dtype=numpy.float64)
    if array.shape == inputs.shape[1:]:
        array = numpy.broadcast_to(array, inputs.shape)
    if array.shape != inputs.shape:
        raise ShapeError(f"saliency: the baseline's shape {array.shape} is neither one sample's "
                         f"{inputs.shape[1:]} nor the batch's {inputs.shape}")
    return array
