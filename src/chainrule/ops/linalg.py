"""Matrix products. 1-D operands are promoted to matrices and back, as in ``numpy.matmul``."""

from chainrule.autograd.names import named
from chainrule.autograd.op import Op, needs_grad
from chainrule.backend import gemm
from chainrule.errors import ShapeError
from chainrule.ops.elementwise import mul
from chainrule.ops.shape import reshape, swapaxes


class MatMul(Op):
    """a @ b for operands of at least two dimensions; batch dimensions broadcast."""

    def forward(self, a, b):
        if a.shape[-1] != b.shape[-2]:
            raise ShapeError(f"matmul: {a.shape} @ {b.shape}: inner sizes {a.shape[-1]} and "
                             f"{b.shape[-2]} differ")
        if a.ndim == 2 and b.ndim == 2:
            return gemm(a, b)  # the one door of 2-D products: MKL when installed, else NumPy's BLAS
        return a @ b  # batched: NumPy's matmul loops over the batch in C

    def vjp(self, g):
        a, b = self.inputs
        return (g @ swapaxes(b, -1, -2) if needs_grad(a) else None,
                swapaxes(a, -1, -2) @ g if needs_grad(b) else None)

    def jvp(self, da, db):
        a, b = self.inputs
        if da is None:
            return a @ db
        return da @ b if db is None else da @ b + a @ db


def matmul(a, b):
    if a.ndim >= 2 and b.ndim >= 2:  # the common case first: it is on the hot path
        out = MatMul()(a, b)
        return out if out.ndim == 2 else named(out, "UnsafeViewBackward0")  # PyTorch's batched name
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: operands must have at least one dimension, got shapes {a.shape} "
                         f"and {b.shape}: use * for scalars")
    if a.ndim == 1 and b.ndim == 1:
        if a.shape != b.shape:
            raise ShapeError(f"matmul: {a.shape} @ {b.shape}: inner sizes {a.shape[0]} and "
                             f"{b.shape[0]} differ")
        return named(reshape(MatMul()(reshape(a, (1, -1)), reshape(b, (-1, 1))), ()), "DotBackward0")
    if a.ndim == 1:
        if a.shape[0] != b.shape[-2]:
            raise ShapeError(f"matmul: {a.shape} @ {b.shape}: inner sizes {a.shape[0]} and "
                             f"{b.shape[-2]} differ")
        out = MatMul()(reshape(a, (1, -1)), b)
        return reshape(out, out.shape[:-2] + out.shape[-1:])
    if a.shape[-1] != b.shape[0]:
        raise ShapeError(f"matmul: {a.shape} @ {b.shape}: inner sizes {a.shape[-1]} and "
                         f"{b.shape[0]} differ")
    return named(reshape(MatMul()(a, reshape(b, (-1, 1))), a.shape[:-1]), "MvBackward0")


def dot(a, b):
    """``numpy.dot`` for operands of up to two dimensions (a scalar operand multiplies)."""
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    if a.ndim > 2 or b.ndim > 2:
        raise ShapeError(f"dot: shapes {a.shape} and {b.shape}: dot takes up to 2-D operands here; "
                         "use matmul for batches")
    return matmul(a, b)
