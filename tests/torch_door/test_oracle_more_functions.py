"""PyTorch's further maths, shape, index and sampling functions as tutorials call them, against torch.

See ``torch_oracle``: each idiom is written once; ``m.T`` is ``torch`` or ``chainrule``. Values,
dtypes, tuple forms, graph node names; for the random draws, what can agree: shapes, dtypes, ranges.
"""

import numpy as np
import pytest
from torch_oracle import A, B, idiom_test, registry

import chainrule as cr

IDIOMS, idiom = registry()
ODD = np.array([[1.5, -2.5, np.nan, np.inf], [-np.inf, 0.0, 2.4999, -0.5]], dtype=np.float32)


@idiom
def elementary_functions_values_and_names(m):
    x, y = m.T.tensor(A, requires_grad=True), m.T.tensor(B)
    made = [m.T.tan(x), m.T.asin(x * 0.5), m.T.acos(x * 0.5), m.T.atan(x), m.T.atan2(x, y), m.T.sinh(x),
            m.T.cosh(x), m.T.expm1(x), m.T.erf(x), m.T.erfc(x), m.T.log2(x.abs() + 1), m.T.log10(x.abs() + 1),
            m.T.exp2(x), m.T.square(x), m.T.reciprocal(x + 2), m.T.rsqrt(x + 2), m.T.lerp(x, y, 0.3),
            m.T.frac(x * 3), m.T.fmod(x, 0.4), m.T.remainder(x, 0.4), m.T.nan_to_num(x),
            m.T.clamp_min(x, 0), m.T.clamp_max(x, 0), m.T.true_divide(x, 2), x.arctan(), x.erf()]
    return [(t, t.grad_fn.name()) for t in made]


@idiom
def integer_inputs_become_the_default_float(m):
    n = m.T.tensor([[1, 2], [3, 4]])
    return m.T.erf(n), m.T.log2(n), m.T.sinh(n), m.T.atan2(n, n), m.T.square(n), m.T.exp2(n)


@idiom
def rounding_tests_and_logic(m):
    x = m.T.tensor(ODD)
    finite = m.T.nan_to_num(x, nan=0.0, posinf=9.0, neginf=-9.0)
    return (m.T.floor(finite), m.T.ceil(finite), m.T.round(finite), m.T.round(finite, decimals=1),
            m.T.trunc(finite), m.T.fix(finite), m.T.floor_divide(finite, 2), m.T.isnan(x), m.T.isinf(x),
            m.T.isfinite(x), m.T.isposinf(x), m.T.isneginf(x), m.T.nan_to_num(x), finite,
            m.T.isclose(finite, finite + 1e-7), m.T.allclose(finite, finite + 1e-3),
            m.T.allclose(finite, finite + 1e-9), m.T.logical_and(finite > 0, finite < 2),
            m.T.logical_or(finite > 0, finite < -2), m.T.logical_xor(finite > 0, finite > 1),
            m.T.logical_not(finite > 0), m.T.any(finite > 5), m.T.all(finite > -10),
            m.T.count_nonzero(finite), m.T.count_nonzero(finite, dim=1), x.isnan().any())


@idiom
def rearranging(m):
    x = m.T.tensor(A, requires_grad=True)
    v = m.T.tensor([3.0, 1.0, 2.0], requires_grad=True)
    made = [m.T.flip(x, [0, 1]), x.flip(1), m.T.fliplr(x), m.T.flipud(x), m.T.roll(x, 1, 0), m.T.roll(x, -2),
            x.roll((1, 1), (0, 1)), m.T.tril(x), m.T.triu(x, 1), x.tril(-1), m.T.diag(v), m.T.diag(v, -2),
            m.T.diag(x), m.T.diag(x, 1), m.T.tile(v, (2,)), m.T.repeat_interleave(x, 2, dim=1),
            x.repeat_interleave(2), m.T.narrow(x, 0, 1, 2), m.T.unbind(x)[1], x.unbind(1)[0],
            m.T.index_select(x, 1, m.T.tensor([3, 0])), x.masked_fill(x > 0, 0.0),
            m.T.masked_fill(x, m.T.tensor([True, False, True, False]), -1.0), m.T.masked_select(x, x > 0),
            m.T.outer(v, v), m.T.mv(x.t(), v), m.T.addmm(v, x.t(), x[:, :3]), m.T.trace(x), m.T.diff(x),
            m.T.diff(v, prepend=m.T.tensor([0.0])), m.T.amax(x, 1), m.T.amin(x), x.amax(dim=(0, 1)),
            m.T.median(x), x.median(dim=1).values]
    names = [t.grad_fn.name() for t in made]
    grids = m.T.meshgrid(m.T.arange(3), m.T.arange(2), indexing="ij")
    return (made, names, m.T.hstack([x, x]), m.T.hstack([v, v]), m.T.vstack([v, v]), m.T.vstack([x, x]),
            grids, m.T.meshgrid(m.T.arange(3), m.T.arange(2), indexing="xy"), m.T.t(x),
            m.T.broadcast_tensors(x, v[:1]), x.median(dim=1), x.median(dim=0, keepdim=True).indices)


@idiom
def indices_and_counts(m):
    x = m.T.tensor([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    labels = m.T.tensor([3, 1, 1, 2, 3, 3])
    return (m.T.nonzero(x), x.nonzero(as_tuple=True), m.T.argwhere(x), m.T.argsort(x), x.argsort(dim=0),
            m.T.argsort(x, descending=True), m.T.unique(labels), labels.unique(return_counts=True),
            m.T.unique(labels, return_inverse=True), m.T.bincount(labels), labels.bincount(minlength=6),
            m.T.bincount(labels, weights=m.T.tensor([1.0, 0.5, 0.5, 2.0, 1.0, 1.0])))


@idiom
def in_place_forms(m):
    x = m.T.tensor(A)
    x.masked_fill_(x < 0, 0.0)
    y = m.T.tensor(B)
    y.tril_()
    z = m.T.ones(3, 3)
    z.triu_(1)
    w = m.T.tensor(A, requires_grad=True) * 2  # a non-leaf changes in place inside the graph
    w.masked_fill_(w > 0.5, 0.5)
    w.sum().backward()
    return x, y, z, w


@idiom
def draws_have_the_right_shape_dtype_and_range(m):
    m.T.manual_seed(0)
    probs = m.T.softmax(m.T.tensor(B), dim=1)
    one = m.T.multinomial(probs[0], 1)
    rows = m.T.multinomial(probs, 3)
    many = probs.multinomial(10, replacement=True)
    coins = m.T.bernoulli(m.T.full((2, 5), 0.5))
    filled = m.T.zeros(4, dtype=m.T.float64).bernoulli_(0.5)
    normal = m.T.normal(0.0, 1.0, (2, 3))
    around = m.T.normal(m.T.tensor([0.0, 10.0]), m.T.tensor([1.0, 0.1]))
    distinct = all(len(set(r.tolist())) == 3 for r in rows)
    return (one.shape, one.dtype, rows.shape, rows.dtype, many.shape, distinct, bool((many < 4).all()),
            coins.shape, coins.dtype, filled.dtype, bool(((filled == 0) | (filled == 1)).all()),
            normal.shape, normal.dtype, around.shape, around.dtype, bool(abs(around[1].item() - 10) < 1))


@idiom
def sampling_refuses_bad_weights(m):
    return m.T.multinomial(m.T.tensor([0.5, 0.5]), 3)  # more draws than categories, without replacement


@idiom
def normal_needs_a_size_for_numbers(m):
    return m.T.normal(0.0, 1.0)


@pytest.fixture
def restore_print_options():
    yield
    cr.set_printoptions(profile="default")
    torch = pytest.importorskip("torch")
    torch.set_printoptions(profile="default")


@pytest.mark.parametrize("options", [dict(precision=2), dict(sci_mode=True), dict(profile="short"),
                                     dict(profile="full"), dict(threshold=5, edgeitems=1),
                                     dict(linewidth=30), dict(precision=6, sci_mode=False)])
def test_set_printoptions_prints_as_torch(options, restore_print_options):
    torch = pytest.importorskip("torch")
    values = [np.array([1.123456, 2.5, 1000.25], np.float32), np.arange(12, dtype=np.float32),
              np.array([1.0, 2.0], np.float32), np.array([1e-5, 3.0], np.float32),
              np.arange(2000, dtype=np.float32).reshape(40, 50) / 3]
    torch.set_printoptions(**options)
    cr.set_printoptions(**options)
    for v in values:
        assert repr(cr.tensor(v)) == repr(torch.tensor(v)), options


def test_multinomial_frequencies_follow_the_weights():
    """Unnormalised weights: category k drawn with probability w_k / Σw (20,000 draws, 4 sigma)."""
    cr.manual_seed(1)
    weights = cr.tensor([1.0, 3.0, 0.0, 6.0])
    draws = cr.multinomial(weights, 20000, replacement=True).numpy()
    freq = np.bincount(draws, minlength=4) / draws.size
    expected = np.array([0.1, 0.3, 0.0, 0.6])
    assert np.all(np.abs(freq - expected) <= 4 * np.sqrt(expected * (1 - expected) / draws.size) + 1e-12)


def test_multinomial_without_replacement_never_repeats_and_skips_zero_weights():
    g = cr.Generator().manual_seed(3)
    for _ in range(50):
        picked = cr.multinomial(cr.tensor([0.2, 0.0, 0.5, 0.3]), 3, generator=g).tolist()
        assert sorted(picked) == [0, 2, 3]


def test_draws_repeat_with_a_generator_seed():
    def draw(seed):
        g = cr.Generator().manual_seed(seed)
        return (cr.multinomial(cr.tensor([0.3, 0.7]), 5, True, generator=g).tolist(),
                cr.normal(0.0, 1.0, (3,), generator=g).tolist(),
                cr.bernoulli(cr.full((4,), 0.5), generator=g).tolist())

    assert draw(7) == draw(7) and draw(7) != draw(8)


@pytest.mark.parametrize("weights, message", [([0.5, -0.1], "non-negative"), ([0.0, 0.0], "sums to 0"),
                                              ([0.5, float("nan")], "finite")])
def test_multinomial_names_the_bad_weight(weights, message):
    with pytest.raises(ValueError, match=message):
        cr.multinomial(cr.tensor(weights), 1)


def test_integer_weights_are_refused_with_the_fix():
    with pytest.raises(cr.DTypeError, match="float"):
        cr.multinomial(cr.tensor([1, 2]), 1)


# ---------------------------------------------------------------- linear algebra
SPD = (B[:3, :3] @ B[:3, :3].T + 3 * np.eye(3)).astype(np.float32)


@idiom
def normal_equations_of_a_linear_regression(m):
    """The closed-form fit a course derives: w = (XᵀX)⁻¹ Xᵀ y, and the same with solve and lstsq."""
    x = m.T.tensor(np.c_[A, np.ones(3)][:, :3].astype(np.float32) + np.eye(3, dtype=np.float32))
    y = m.T.tensor([1.0, 2.0, 0.5])
    closed = m.T.inverse(x.T @ x) @ x.T @ y
    solved = m.T.linalg.solve(x.T @ x, x.T @ y)
    fitted = m.T.linalg.lstsq(x, y[:, None]).solution
    return closed, solved, fitted, m.T.linalg.inv(x), x.inverse(), m.T.det(x), x.det(), m.T.linalg.det(x)


@idiom
def determinants_norms_and_ranks(m):
    s = m.T.tensor(SPD)
    x = m.T.tensor(A)
    sign, logabs = m.T.linalg.slogdet(s)
    return (sign, logabs, m.T.logdet(s), s.logdet(), m.T.slogdet(s), m.T.linalg.matrix_rank(x),
            m.T.linalg.norm(x), m.T.linalg.norm(x, "fro"), m.T.linalg.norm(x, "nuc"), m.T.linalg.norm(x, 2),
            m.T.linalg.norm(x[0]), m.T.linalg.norm(x[0], 1), m.T.linalg.norm(x, dim=1),
            m.T.linalg.vector_norm(x, float("inf")), m.T.linalg.vector_norm(x, 0),
            m.T.linalg.matrix_norm(x, -1), m.T.linalg.svdvals(x), m.T.linalg.eigvalsh(s),
            m.T.linalg.eigvalsh(s, UPLO="U"), m.T.linalg.cholesky(s), m.T.linalg.cholesky(s, upper=True),
            m.T.linalg.pinv(x), m.T.tensor(B).pinverse())  # A has rank 2: pinv's cut-off matters


@idiom
def decompositions_reconstruct(m):
    """PCA's tools: their vectors are defined up to sign, so what must agree is what they rebuild."""
    x, s = m.T.tensor(A), m.T.tensor(SPD)
    u, sv, vh = m.T.linalg.svd(x, full_matrices=False)
    full = m.T.linalg.svd(x)
    old_u, old_s, old_v = m.T.svd(x)
    values, vectors = m.T.linalg.eigh(s)
    q, r = m.T.linalg.qr(x.T)
    return (sv, u @ m.T.diag(sv) @ vh, full.U.shape, full.Vh.shape, old_s, old_u @ m.T.diag(old_s) @ old_v.T,
            old_v.shape, values, vectors @ m.T.diag(values) @ vectors.T, (q @ r), q.T @ q, r.tril(-1),
            sorted(v.real for v in m.T.linalg.eigvals(s).tolist()), m.T.linalg.eig(s).eigenvalues.dtype)


@idiom
def inverse_gradients_flow(m):
    x = m.T.tensor(SPD, requires_grad=True)
    loss = m.T.linalg.inv(x).sum() + m.T.det(x) + m.T.linalg.solve(x, m.T.ones(3)).sum()
    loss = loss + m.T.linalg.svdvals(x).sum() + m.T.linalg.eigvalsh(x).max() + m.T.linalg.norm(x, "nuc")
    loss.backward()
    return loss, x.grad


@idiom
def more_tensor_methods(m):
    x = m.T.tensor(A, requires_grad=True)
    # each on a fresh non-leaf (in-place changes are recorded; PyTorch refuses a change to a tensor
    # that an op kept for its backward, so no chains of them)
    changed = [(x * 1.0).exp_(), (x + 1.0).sqrt_(), (x * 1.0).neg_(), (x * 1.0).abs_(),
               (x * 1.0).clamp_min_(0.1), (x * 1.0).pow_(2), (x * 1.0).sigmoid_(), (x * 1.0).tanh_(),
               (x * 1.0).relu_(), (x * 1.0).square_(), (x + 1.0).log_(), (x * 1.0).floor_(),
               (x * 1.0).reciprocal_(), (x * 1.0).sin_()]
    y = m.T.stack(changed)
    z = (x * 1.0).addcmul_(x, x, value=0.5)
    t = m.T.tensor(B).t()  # a view: its strides are the transposed ones
    loss = y.sum() + z.sum() + x.where(x > 0, m.T.zeros(1)).sum() + x.mT.sum()
    loss.backward()
    return (y, z, x.grad, x.type_as(m.T.tensor([1])), t.stride(), m.T.tensor(B).stride(), t.stride(0),
            x.unflatten(1, (2, -1)).shape, x.mT, x.t().mT.is_contiguous())


@idiom
def adding_at_indices_and_statistics(m):
    x = m.T.tensor(A, requires_grad=True)
    index = m.T.tensor([0, 0, 2])
    added = m.T.index_add(m.T.zeros(3, 4), 0, index, x, alpha=2)
    grid = m.T.tensor([[0, 1, 2, 0], [2, 0, 0, 1]])
    scattered = m.T.zeros(3, 4).scatter_add(0, grid, x[:2])  # src of the index's shape (torch's gradient)
    with m.T.no_grad():
        buffer = m.T.zeros(3, 4)
        buffer.index_add_(0, index, x)
        buffer.scatter_add_(0, grid, x[:2])
    odd = m.T.tensor([[1.0, float("nan"), 3.0], [float("nan"), 2.0, 4.0]])
    values, where = m.T.kthvalue(x, 2, dim=1)
    kept = x.kthvalue(3, 0, keepdim=True)
    loss = added.sum() + (scattered * scattered).sum() + values.sum() + kept.values.sum()
    loss.backward()
    return (added, scattered, buffer, m.T.nansum(odd), odd.nansum(dim=1), m.T.nanmean(odd),
            m.T.nanmean(odd, dim=0), m.T.std_mean(x, dim=1), m.T.var_mean(x), m.T.std_mean(x, correction=0),
            values, where, kept, x.grad, m.T.addcmul(x, x, x), m.T.addcdiv(x, x, x + 2, value=0.5))


@idiom
def formatting_a_loss(m):
    """f"{loss:.4f}" formats the number of a 0-d tensor; a spec on a vector raises, as in PyTorch."""
    loss = m.T.tensor(2.03041)
    return f"{loss}", f"{loss:.4f}", f"{loss:>10.2e}", f"{m.T.tensor(3)}", f"{m.T.ones(2)}"


@idiom
def formatting_a_vector_with_a_spec_raises(m):
    return f"{m.T.ones(2):.2f}"


test_idiom_agrees_with_torch = idiom_test(IDIOMS)


def test_decompositions_refuse_a_gradient_they_cannot_give():
    x = cr.tensor(SPD, requires_grad=True)
    for call in (cr.linalg.svd, cr.linalg.eigh, cr.linalg.qr, cr.linalg.cholesky, cr.linalg.pinv, cr.svd):
        with pytest.raises(cr.GraphError, match="detach"):
            call(x)
    with cr.no_grad():
        assert cr.linalg.svd(x).S.shape == (3,)
    assert cr.linalg.eigh(x.detach()).eigenvalues.shape == (3,)


def test_second_derivative_through_singular_values_refuses():
    x = cr.tensor(A.astype(np.float64), requires_grad=True)
    (g,) = cr.autograd.grad(cr.linalg.svdvals(x).sum(), [x], create_graph=False)
    assert g.shape == x.shape
    with pytest.raises(NotImplementedError, match="gradients of its gradient"):
        cr.autograd.grad(cr.linalg.svdvals(x).sum(), [x], create_graph=True)
