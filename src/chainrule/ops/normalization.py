"""Batch normalisation over the batch's own statistics, as one primitive (training mode).

Per channel c (axis 1), over every other axis (M values per channel):

    μ = mean(x),   σ² = mean((x − μ)²),   x̂ = (x − μ) / √(σ² + ε),   y = γ·x̂ + β

Its gradients, with g = ∂L/∂y (means and sums over the same axes, per channel):

    ∂L/∂β = Σ g,   ∂L/∂γ = Σ g·x̂,   ∂L/∂x = γ/√(σ² + ε) · (g − mean(g) − x̂·mean(g·x̂))

``vjp`` and ``jvp`` recompute μ, σ² and x̂ from the inputs with Tensor operations, so gradients of
any order follow. One primitive instead of the nine elementwise and reduction ops it is made of lets
a kernel (:mod:`chainrule.kernels.normalization`) do it in a few passes over memory. The running
statistics and evaluation mode are the layer's business (:mod:`chainrule.nn.layers.normalization`);
the forward pass leaves μ and σ² (biased) on the op as ``mean`` and ``variance`` for them.
"""

from chainrule.autograd.op import Op, needs_grad
from chainrule.ops.elementwise import sqrt
from chainrule.ops.reduce import mean
from chainrule.ops.reduce import sum as reduce_sum
from chainrule.ops.shape import reshape


class BatchNormalize(Op):
    """y = γ·(x − μ)/√(σ² + ε) + β per channel of x (N, C, ...); inputs (x, γ, β) or (x,) alone."""

    def __init__(self, eps):
        self.eps = eps

    def forward(self, x, weight=None, bias=None):
        xp, axes = self.xp, _axes(x.ndim)
        mu = x.mean(axis=axes, keepdims=True)
        centred = x - mu
        variance = (centred * centred).mean(axis=axes, keepdims=True)
        y = centred / xp.sqrt(variance + self.eps)
        self.mean, self.variance = mu.reshape(-1), variance.reshape(-1)
        if weight is None:
            return y
        shape = _per_channel(x.ndim)
        return y * weight.reshape(shape) + bias.reshape(shape)

    def _normalised(self):
        """(x̂, 1/√(σ² + ε)) recomputed from the input tensor, so that they carry a graph when needed."""
        x = self.inputs[0]
        axes = _axes(x.ndim)
        centred = x - mean(x, axes, keepdims=True)
        inverse = 1 / sqrt(mean(centred * centred, axes, keepdims=True) + self.eps)
        return centred * inverse, inverse

    def vjp(self, g):
        x, axes = self.inputs[0], _axes(self.inputs[0].ndim)
        normalised, inverse = self._normalised()
        g_hat = g if len(self.inputs) == 1 else g * reshape(self.inputs[1], _per_channel(x.ndim))
        dx = None
        if needs_grad(x):
            dx = inverse * (g_hat - mean(g_hat, axes, keepdims=True)
                            - normalised * mean(g_hat * normalised, axes, keepdims=True))
        if len(self.inputs) == 1:
            return (dx,)
        weight, bias = self.inputs[1:]
        dw = reduce_sum(g * normalised, axes) if needs_grad(weight) else None
        db = reduce_sum(g, axes) if needs_grad(bias) else None
        return dx, dw, db

    def jvp(self, dx, dw=None, db=None):
        x = self.inputs[0]
        axes, shape = _axes(x.ndim), _per_channel(x.ndim)
        normalised, inverse = self._normalised()
        total = None
        if dx is not None:  # the tangent of x̂: the same projection as the vjp's, it is self-adjoint
            total = inverse * (dx - mean(dx, axes, keepdims=True)
                               - normalised * mean(dx * normalised, axes, keepdims=True))
            if len(self.inputs) > 1:
                total = total * reshape(self.inputs[1], shape)
        for term in (None if dw is None else normalised * reshape(dw, shape),
                     None if db is None else reshape(db, shape)):
            if term is not None:
                total = term if total is None else total + term
        return total


def _axes(ndim):
    return (0,) + tuple(range(2, ndim))


def _per_channel(ndim):
    return (1, -1) + (1,) * (ndim - 2)
