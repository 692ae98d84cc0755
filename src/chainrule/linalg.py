"""``torch.linalg`` (``import chainrule as torch; torch.linalg.inv(A)``): inverses, determinants,
solves, norms and the decompositions a course uses (the normal equations of linear regression, PCA).

Differentiable: ``inv``, ``det``, ``slogdet``'s log, ``solve``, ``svdvals``, ``eigvalsh`` (their rules
in :mod:`chainrule.ops.decompositions`) and the norms. The other decompositions (``svd``, ``eigh``,
``qr``, ``cholesky``, ``pinv``, ``lstsq``) return values only: called on a tensor that requires grad
while a graph is recorded, they refuse and name the differentiable alternative, instead of giving
a gradient that silently stops there.
"""

import collections

import numpy

from chainrule import ops
from chainrule.autograd.mode import state
from chainrule.autograd.names import named
from chainrule.autograd.tensor import Tensor
from chainrule.errors import GraphError, ShapeError
from chainrule.functions import tensor_of
from chainrule.ops import decompositions

_svd_result = collections.namedtuple("svd", ["U", "S", "Vh"])
_eigh_result = collections.namedtuple("eigh", ["eigenvalues", "eigenvectors"])
_eig_result = collections.namedtuple("eig", ["eigenvalues", "eigenvectors"])
_qr_result = collections.namedtuple("qr", ["Q", "R"])
_slogdet_result = collections.namedtuple("slogdet", ["sign", "logabsdet"])
_lstsq_result = collections.namedtuple("lstsq", ["solution", "residuals", "rank", "singular_values"])



def _values_only(name, alternative, *tensors):
    """The arrays of ``tensors``; refuses where a gradient would be needed through ``name``."""
    tensors = [tensor_of(t) for t in tensors]
    if state.grad_enabled and any(t.requires_grad for t in tensors):
        raise GraphError(f"linalg.{name} has no gradient here, and its input requires grad: call it on "
                         f"x.detach() (or inside `with cr.no_grad():`), or use {alternative}, which is "
                         "differentiable")
    return [t._data for t in tensors]


def _flat(array):
    return Tensor._from_op(array)


# ---------------------------------------------------------------- differentiable
def inv(A):  # noqa: N803 - PyTorch's names
    """The inverse of a square matrix (or of each in a batch)."""
    return named(decompositions.inv(tensor_of(A)), "LinalgInvExBackward0")


def det(A):  # noqa: N803
    return named(decompositions.det(tensor_of(A)), "LinalgDetBackward0")


def slogdet(A):  # noqa: N803
    """(sign, log |det A|); the log carries the gradient A⁻ᵀ."""
    d = det(A)
    return _slogdet_result(_flat(d.xp.sign(d._data)), named(ops.log(ops.abs(d)), "LinalgSlogdetBackward0"))


def solve(A, B, *, left=True):  # noqa: N803
    """X with A X = B (``left=False``: X A = B); B a matrix (..., n, k) or a vector (..., n)."""
    A, B = tensor_of(A), tensor_of(B)  # noqa: N806
    if not left:  # X A = B  ⇔  Aᵀ Xᵀ = Bᵀ
        return ops.swapaxes(solve(ops.swapaxes(A, -1, -2), ops.swapaxes(B, -1, -2)), -1, -2)
    return named(decompositions.solve(A, B), "LinalgSolveExBackward0")


def svdvals(A):  # noqa: N803
    """The singular values, largest first."""
    return named(decompositions.svdvals(tensor_of(A)), "LinalgSvdBackward0")


def eigvalsh(A, UPLO="L"):  # noqa: N803
    """The eigenvalues of a symmetric matrix, ascending."""
    A = tensor_of(A)  # noqa: N806
    if UPLO == "U":  # NumPy reads the lower triangle: hand it the upper one mirrored
        A = ops.swapaxes(A, -1, -2)  # noqa: N806
    return named(decompositions.eigvalsh(A), "LinalgEighBackward0")


def vector_norm(x, ord=2, dim=None, keepdim=False):  # noqa: A002 - PyTorch's keyword
    """The ``ord``-norm of the elements (over ``dim``): 2, 1, any p, inf (largest |x|), -inf, 0 (count)."""
    x = tensor_of(x)
    if ord == numpy.inf:
        out = ops.max(ops.abs(x), dim, keepdim)
    elif ord == -numpy.inf:
        out = ops.min(ops.abs(x), dim, keepdim)
    elif ord == 0:
        out = _flat(x.xp.sum(x._data != 0, axis=dim, keepdims=keepdim).astype(x.dtype))
    elif ord == 2:
        out = ops.sqrt(ops.sum(x * x, dim, keepdim))
    elif ord == 1:
        out = ops.sum(ops.abs(x), dim, keepdim)
    else:
        out = ops.sum(ops.abs(x) ** ord, dim, keepdim) ** (1.0 / ord)
    return named(out, "LinalgVectorNormBackward0", x)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False):  # noqa: N803, A002
    """'fro' (Frobenius), 'nuc' (Σ singular values), 2 / -2 (largest / smallest singular value),
    1 / -1 (largest / smallest column sum of |a|), inf / -inf (of row sums)."""
    A = tensor_of(A)  # noqa: N806
    rows, cols = (d % A.ndim for d in dim)
    if ord == "fro":
        out = named(ops.sqrt(ops.sum(A * A, (rows, cols), keepdim)), "LinalgVectorNormBackward0")
    elif ord in ("nuc", 2, -2):
        values = svdvals(ops.transpose(A, [d for d in range(A.ndim) if d not in (rows, cols)] + [rows, cols]))
        pick = {"nuc": ops.sum, 2: ops.max, -2: ops.min}[ord]
        out = pick(values, -1)
        if keepdim:
            out = ops.expand_dims(ops.expand_dims(out, min(rows, cols)), max(rows, cols))
    elif ord in (1, -1, numpy.inf, -numpy.inf):
        summed, over = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = ops.sum(ops.abs(A), summed, keepdims=True)
        pick = ops.max if ord in (1, numpy.inf) else ops.min
        out = pick(sums, over, keepdims=True)
        if not keepdim:
            out = ops.squeeze(out, (rows, cols))
    else:
        raise ValueError(f"matrix_norm: ord must be 'fro', 'nuc', 1, -1, 2, -2, inf or -inf, got {ord!r}")
    return out


def norm(A, ord=None, dim=None, keepdim=False):  # noqa: N803, A002
    """PyTorch's rule: without ``ord`` the 2-norm of all elements (of each ``dim``); with an ``ord``,
    a vector norm over one dim (or a 1-D input) and a matrix norm over two (or a 2-D input)."""
    A = tensor_of(A)  # noqa: N806
    if ord is None:
        return vector_norm(A, 2, dim, keepdim)
    dims = (dim,) if isinstance(dim, int) else dim
    if (dims is None and A.ndim == 2) or (dims is not None and len(dims) == 2):
        return matrix_norm(A, ord, dims or (-2, -1), keepdim)
    if dims is None and A.ndim != 1:
        raise ShapeError(f"linalg.norm: with ord={ord!r}, give dim for a {A.ndim}-D input (one dim: a vector "
                         "norm, two: a matrix norm)")
    return vector_norm(A, ord, dim, keepdim)


# ---------------------------------------------------------------- values only
def svd(A, full_matrices=True):  # noqa: N803
    """(U, S, Vh) with A = U diag(S) Vh, S largest first."""
    (a,) = _values_only("svd", "linalg.svdvals", A)
    u, s, vh = tensor_of(A).xp.linalg.svd(a, full_matrices=full_matrices)
    return _svd_result(_flat(u), _flat(s), _flat(vh))


def eigh(A, UPLO="L"):  # noqa: N803
    """(eigenvalues ascending, eigenvectors as columns) of a symmetric matrix."""
    (a,) = _values_only("eigh", "linalg.eigvalsh", A)
    values, vectors = tensor_of(A).xp.linalg.eigh(a, UPLO=UPLO)
    return _eigh_result(_flat(values), _flat(vectors))


def eig(A):  # noqa: N803
    """(eigenvalues, eigenvectors) of a general square matrix, complex as PyTorch's."""
    (a,) = _values_only("eig", "linalg.eigvalsh (for symmetric matrices)", A)
    values, vectors = numpy.linalg.eig(a)
    return _eig_result(_flat(values.astype(numpy.result_type(values, numpy.complex64))),
                       _flat(vectors.astype(numpy.result_type(vectors, numpy.complex64))))


def eigvals(A):  # noqa: N803
    return eig(A).eigenvalues


def qr(A, mode="reduced"):  # noqa: N803
    (a,) = _values_only("qr", "linalg.solve", A)
    q, r = tensor_of(A).xp.linalg.qr(a, mode=mode)
    return _qr_result(_flat(q), _flat(r))


def cholesky(A, *, upper=False):  # noqa: N803
    """L with A = L Lᵀ (``upper``: U = Lᵀ) for a symmetric positive definite A."""
    (a,) = _values_only("cholesky", "linalg.solve", A)
    lower = tensor_of(A).xp.linalg.cholesky(a)
    return _flat(lower.swapaxes(-1, -2) if upper else lower)


def pinv(A, *, rtol=None, hermitian=False):  # noqa: N803
    """The pseudo-inverse; singular values below ``rtol`` times the largest count as zero (by default
    max(m, n) · the dtype's epsilon, PyTorch's rule)."""
    (a,) = _values_only("pinv", "linalg.solve(A.T @ A, A.T @ b) for a least-squares fit", A)
    if rtol is None:
        rtol = max(a.shape[-2:]) * numpy.finfo(a.dtype).eps
    return _flat(tensor_of(A).xp.linalg.pinv(a, rcond=rtol, hermitian=hermitian))


def lstsq(A, B, rcond=None):  # noqa: N803
    """The least-squares solution of A X ≈ B: (solution, residuals, rank, singular_values)."""
    a, b = _values_only("lstsq", "linalg.solve(A.T @ A, A.T @ B)", A, B)
    solution, residuals, rank, values = numpy.linalg.lstsq(a, b, rcond=rcond)
    return _lstsq_result(_flat(solution), _flat(residuals.astype(a.dtype)), _flat(numpy.asarray(rank)),
                         _flat(values.astype(a.dtype)))


def matrix_rank(A, tol=None, hermitian=False):  # noqa: N803
    a = tensor_of(A)._data
    return _flat(numpy.asarray(numpy.linalg.matrix_rank(a, tol=tol, hermitian=hermitian), dtype=numpy.int64))


def matmul(input, other):  # noqa: A002
    return ops.matmul(tensor_of(input), other)


# ---------------------------------------------------------------- the older top-level names
_svd_old = collections.namedtuple("svd", ["U", "S", "V"])


def inverse(input):  # noqa: A002
    return inv(input)


def logdet(input):  # noqa: A002
    """log det A: NaN where the determinant is negative, as PyTorch's."""
    return ops.log(det(input))


def pinverse(input, rcond=1e-15):  # noqa: A002
    return pinv(input, rtol=rcond)


def svd_reduced(input, some=True, compute_uv=True):  # noqa: A002
    """``torch.svd``: (U, S, V) with A = U diag(S) Vᵀ, V itself (not Vh as ``linalg.svd``)."""
    u, s, vh = svd(input, full_matrices=not some)
    if not compute_uv:
        return _svd_old(_flat(u.xp.zeros_like(u._data)), s, _flat(vh.xp.zeros_like(vh._data)))
    return _svd_old(u, s, _flat(vh._data.swapaxes(-1, -2)))
