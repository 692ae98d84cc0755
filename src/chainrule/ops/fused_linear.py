"""The affine map of a dense layer, ``y = x Wᵀ + b``, as one primitive: one GEMM, the bias added in place.

Composed from ``matmul``, ``transpose`` and ``add`` the same map costs a second pass over the output and
a temporary; fused, the forward is one BLAS call writing the output and one in-place addition, and the
backward is two BLAS calls and one column sum:

    ∂L/∂x = G W        ∂L/∂W = Gᵀ x        ∂L/∂b = Σ_rows G

The rules are written with Tensor operations, so that gradients of gradients come for free.
"""

from chainrule.autograd.names import named
from chainrule.autograd.op import Op, needs_grad
from chainrule.backend import gemm
from chainrule.errors import ShapeError
from chainrule.ops.linalg import matmul
from chainrule.ops.reduce import sum as reduce_sum
from chainrule.ops.shape import reshape, transpose


class Linear(Op):
    """x (N, in) @ weight (out, in)ᵀ [+ bias (out,)] -> (N, out)."""

    def forward(self, x, weight, bias=None):
        out = gemm(x, weight.T)  # a fresh C-ordered array; weight.T is passed as a transpose flag, not copied
        if bias is not None:
            out += bias  # in place: the GEMM's fresh output is ours to overwrite
        return out

    def vjp(self, g):
        # inputs that need no gradient (the data into the first layer, frozen weights) cost no GEMM
        x, weight = self.inputs[0], self.inputs[1]
        grad_x = matmul(g, weight) if needs_grad(x) else None
        grad_w = matmul(transpose(g), x) if needs_grad(weight) else None
        if len(self.inputs) == 2:
            return grad_x, grad_w
        return grad_x, grad_w, reduce_sum(g, axis=0) if needs_grad(self.inputs[2]) else None

    def jvp(self, dx, dweight, dbias=None):
        x, weight = self.inputs[0], self.inputs[1]
        terms = []
        if dx is not None:
            terms.append(matmul(dx, transpose(weight)))
        if dweight is not None:
            terms.append(matmul(x, transpose(dweight)))
        if dbias is not None:
            terms.append(dbias)
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total


def linear(x, weight, bias=None):
    """``x @ weight.T + bias`` over the last axis of ``x``, PyTorch's ``F.linear``.

    Shapes: x (..., in), weight (out, in), bias (out,) or None -> (..., out). Inputs of more than two
    dimensions are flattened to a matrix (a view) around the one fused GEMM.
    """
    if weight.ndim != 2:
        raise ShapeError(f"linear: weight must be (out_features, in_features), got shape {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear: input of shape {x.shape} does not fit weight of shape {weight.shape}: "
                         f"the last axis of the input must have {weight.shape[1]} features")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ShapeError(f"linear: bias of shape {bias.shape} for weight of shape {weight.shape}: "
                         f"expected ({weight.shape[0]},)")
    args = (weight,) if bias is None else (weight, bias)
    if x.ndim == 2:
        out = Linear()(x, *args)
        return out if bias is not None else named(out, "MmBackward0")
    lead = x.shape[:-1]
    out = Linear()(reshape(x, (-1, x.shape[-1])), *args)
    return reshape(out, lead + (weight.shape[0],))
