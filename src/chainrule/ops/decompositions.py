"""Inverse, determinant, linear solve, and the singular values and symmetric eigenvalues: the
differentiable linear algebra, on square (batches of) matrices; each op's forward, reverse rule (vjp)
and forward rule (jvp) together. With Aᵀ the transpose of the last two axes:

    Y = A⁻¹          ∂L/∂A = −Yᵀ (∂L/∂Y) Yᵀ                   dY = −Y dA Y
    d = det A        ∂L/∂A = (∂L/∂d) · d · A⁻ᵀ                dd = d · tr(A⁻¹ dA)
    X = A⁻¹ B        ∂L/∂B = A⁻ᵀ (∂L/∂X),  ∂L/∂A = −(∂L/∂B) Xᵀ   dX = A⁻¹ (dB − dA X)
    σ = svdvals A    ∂L/∂A = U diag(∂L/∂σ) Vᵀ                 dσ = diag(Uᵀ dA V)
    λ = eigvalsh A   ∂L/∂A = Q diag(∂L/∂λ) Qᵀ                 dλ = diag(Qᵀ dA Q)

The last two hold where the values are distinct (their vectors are then defined up to sign, which
cancels). Their rules hold the vectors as constants, so a gradient of their gradient (which needs
the vectors' own derivatives) refuses instead of coming out wrong. The determinant's rule needs an
invertible A, as PyTorch's does.
"""

from chainrule.autograd.mode import state
from chainrule.autograd.op import Op, needs_grad
from chainrule.errors import ShapeError
from chainrule.ops.reduce import sum as reduce_sum
from chainrule.ops.shape import expand_dims, swapaxes


def _t(a):
    return swapaxes(a, -1, -2)


def _square(a, name):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"{name}: expects a square matrix or a batch of them (..., n, n), got shape "
                         f"{a.shape}")


def _diagonal_of(m):
    """The diagonals of the last two axes of a Tensor, (..., n)."""
    n = m.shape[-1]
    return reduce_sum(m * m.xp.eye(n, dtype=m.dtype), axis=-1)


def _first_order_only(name):
    if state.grad_enabled:  # backward(create_graph=True) records the rule for a second derivative
        raise NotImplementedError(f"{name}: gradients of its gradient are not implemented (the rule holds "
                                  "the singular or eigen vectors constant); differentiate it once")


def _scaled_columns(u, values):
    """u · diag(values): u (..., m, k) an array, values (..., k) a Tensor."""
    return expand_dims(values, -2) * u


class Inverse(Op):
    def forward(self, a):
        _square(a, "inv")
        return self.xp.linalg.inv(a)

    def vjp(self, g):
        y = self.output
        return (-(_t(y) @ g @ _t(y)),)

    def jvp(self, da):
        y = self.output
        return -(y @ da @ y)


class Det(Op):
    def forward(self, a):
        _square(a, "det")
        return self.xp.asarray(self.xp.linalg.det(a))

    def _inverse_t(self):
        return _t(Inverse()(self.inputs[0]))

    def vjp(self, g):
        scale = expand_dims(expand_dims(g * self.output, -1), -1)
        return (scale * self._inverse_t(),)

    def jvp(self, da):
        return self.output * reduce_sum(self._inverse_t() * da, axis=(-2, -1))


class Solve(Op):
    """X with A X = B, for B (..., n, k); a vector right-hand side is made a column by ``solve``."""

    def forward(self, a, b):
        _square(a, "solve")
        if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
            raise ShapeError(f"solve: A of shape {a.shape} needs B of shape (..., {a.shape[-1]}, k) or "
                             f"({a.shape[-1]},), got {b.shape}")
        return self.xp.linalg.solve(a, b)

    def vjp(self, g):
        a, b = self.inputs
        grad_b = Solve()(_t(a), g)
        grad_a = -(grad_b @ _t(self.output)) if needs_grad(a) else None
        return grad_a, (grad_b if needs_grad(b) else None)

    def jvp(self, da, db):
        a = self.inputs[0]
        rhs = None if db is None else db
        if da is not None:
            rhs = -(da @ self.output) if rhs is None else rhs - da @ self.output
        return Solve()(a, rhs)


class SingularValues(Op):
    """The singular values of A (..., m, n), largest first."""

    def forward(self, a):
        u, s, vh = self.xp.linalg.svd(a, full_matrices=False)
        self.u, self.vh = u, vh
        return s

    def vjp(self, g):
        _first_order_only("svdvals")
        return (_scaled_columns(self.u, g) @ self.vh,)

    def jvp(self, da):
        return _diagonal_of(_t(self.u) @ da @ _t(self.vh))


class SymmetricEigenvalues(Op):
    """The eigenvalues of a symmetric A (..., n, n), ascending; only its lower triangle is read."""

    def forward(self, a):
        _square(a, "eigvalsh")
        values, self.vectors = self.xp.linalg.eigh(a)
        return values

    def vjp(self, g):
        _first_order_only("eigvalsh")
        q = self.vectors
        return (_scaled_columns(q, g) @ _t(q),)

    def jvp(self, da):
        q = self.vectors
        return _diagonal_of(_t(q) @ da @ q)


def inv(a):
    return Inverse()(a)


def det(a):
    return Det()(a)


def solve(a, b):
    if b.ndim == a.ndim - 1:  # a vector (or a batch of them) on the right: a column, and back
        return Solve()(a, expand_dims(b, -1))[..., 0]
    return Solve()(a, b)


def svdvals(a):
    return SingularValues()(a)


def eigvalsh(a):
    return SymmetricEigenvalues()(a)
