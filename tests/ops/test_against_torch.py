"""PyTorch as an oracle: values and gradients of the ops on random inputs (skips without torch)."""

import zlib

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

# name, chainrule function, torch function, input shapes (each input gets a gradient), domain
CASES = [
    ("add", cr.add, torch.add, [(3, 1), (4,)], "real"),
    ("sub", cr.sub, torch.sub, [(2, 3), ()], "real"),
    ("mul", cr.mul, torch.mul, [(2, 3), (3,)], "real"),
    ("div", cr.div, torch.div, [(2, 3), (2, 1)], "pos"),
    ("pow", cr.pow, torch.pow, [(2, 3), (3,)], "pos"),
    ("neg", cr.neg, torch.neg, [(4,)], "real"),
    ("abs", cr.abs, torch.abs, [(2, 3)], "away"),
    ("exp", cr.exp, torch.exp, [(2, 3)], "real"),
    ("log", cr.log, torch.log, [(2, 3)], "pos"),
    ("log1p", cr.log1p, torch.log1p, [(2, 3)], "pos"),
    ("sqrt", cr.sqrt, torch.sqrt, [(2, 3)], "pos"),
    ("sin", cr.sin, torch.sin, [(2, 3)], "real"),
    ("cos", cr.cos, torch.cos, [(2, 3)], "real"),
    ("tanh", cr.tanh, torch.tanh, [(2, 3)], "real"),
    ("sigmoid", cr.sigmoid, torch.sigmoid, [(2, 3)], "wide"),
    ("relu", cr.relu, torch.relu, [(2, 3)], "away"),
    ("leaky_relu", lambda x: cr.leaky_relu(x, 0.1),
     lambda x: torch.nn.functional.leaky_relu(x, 0.1), [(2, 3)], "away"),
    ("softplus", cr.softplus, torch.nn.functional.softplus, [(2, 3)], "wide"),
    ("maximum", cr.maximum, torch.maximum, [(2, 3), (3,)], "real"),
    ("minimum", cr.minimum, torch.minimum, [(2, 3), (2, 1)], "real"),
    ("clip", lambda x: cr.clip(x, -0.5, 0.7), lambda x: torch.clamp(x, -0.5, 0.7), [(3, 4)], "real"),
    ("matmul", cr.matmul, torch.matmul, [(2, 3, 4), (4, 5)], "real"),
    ("matmul_vec", cr.matmul, torch.matmul, [(4,), (4, 5)], "real"),
    ("sum", lambda x: cr.sum(x, axis=1), lambda x: x.sum(dim=1), [(3, 4)], "real"),
    ("mean", lambda x: cr.mean(x, axis=0, keepdims=True), lambda x: x.mean(dim=0, keepdim=True),
     [(3, 4)], "real"),
    ("var", lambda x: cr.var(x, axis=1, ddof=1), lambda x: x.var(dim=1, unbiased=True), [(3, 4)], "real"),
    ("std", lambda x: cr.std(x, axis=1), lambda x: x.std(dim=1, unbiased=False), [(3, 4)], "real"),
    ("max", lambda x: cr.max(x, axis=1), lambda x: x.max(dim=1).values, [(3, 4)], "real"),
    ("min", cr.min, torch.min, [(3, 4)], "real"),
    ("logsumexp", lambda x: cr.logsumexp(x, axis=1), lambda x: torch.logsumexp(x, dim=1), [(3, 4)], "wide"),
    ("softmax", cr.softmax, lambda x: torch.softmax(x, dim=-1), [(3, 4)], "wide"),
    ("log_softmax", lambda x: cr.log_softmax(x, axis=0), lambda x: torch.log_softmax(x, dim=0),
     [(3, 4)], "wide"),
    ("reshape", lambda x: cr.reshape(x, (4, 3)), lambda x: x.reshape(4, 3), [(3, 4)], "real"),
    ("transpose", lambda x: cr.transpose(x, (2, 0, 1)), lambda x: x.permute(2, 0, 1), [(2, 3, 4)], "real"),
    ("concatenate", lambda a, b: cr.concatenate([a, b], axis=1), lambda a, b: torch.cat([a, b], dim=1),
     [(2, 3), (2, 2)], "real"),
    ("stack", lambda a, b: cr.stack([a, b], axis=1), lambda a, b: torch.stack([a, b], dim=1),
     [(2, 3), (2, 3)], "real"),
    ("pad", lambda x: cr.pad(x, ((0, 0), (1, 2))),
     lambda x: torch.nn.functional.pad(x, (1, 2)), [(2, 3)], "real"),
    ("getitem", lambda x: x[[0, 2, 0], 1:], lambda x: x[[0, 2, 0], 1:], [(3, 4)], "real"),
    ("take", lambda x: cr.take(x, np.array([1, 1, 0]), axis=1),
     lambda x: torch.index_select(x, 1, torch.tensor([1, 1, 0])), [(3, 4)], "real"),
    # PyTorch's further maths and shape functions, under their own names on both sides
    *[(name, getattr(cr, name), getattr(torch, name), [(2, 3)], domain) for name, domain in (
        ("tan", "unit"), ("asin", "unit"), ("acos", "unit"), ("atan", "real"), ("sinh", "real"),
        ("cosh", "real"), ("expm1", "real"), ("erf", "real"), ("erfc", "real"), ("log2", "pos"),
        ("log10", "pos"), ("exp2", "real"), ("square", "real"), ("reciprocal", "away"), ("rsqrt", "pos"),
        ("frac", "real"), ("nan_to_num", "real"), ("tril", "real"), ("triu", "real"), ("fliplr", "real"),
        ("t", "real"), ("trace", "real"), ("median", "real"), ("amax", "real"))],
    ("atan2", cr.atan2, torch.atan2, [(2, 3), (3,)], "away"),
    ("lerp", lambda a, b: cr.lerp(a, b, 0.25), lambda a, b: torch.lerp(a, b, 0.25), [(2, 3), (2, 3)], "real"),
    ("fmod", lambda x: cr.fmod(x, 0.7), lambda x: torch.fmod(x, 0.7), [(3, 4)], "real"),
    ("remainder", lambda x: cr.remainder(x, 0.7), lambda x: torch.remainder(x, 0.7), [(3, 4)], "real"),
    ("flip", lambda x: cr.flip(x, (0, 2)), lambda x: torch.flip(x, (0, 2)), [(2, 3, 2)], "real"),
    ("roll", lambda x: cr.roll(x, (1, 2), (0, 1)), lambda x: torch.roll(x, (1, 2), (0, 1)), [(3, 4)], "real"),
    ("roll_flat", lambda x: cr.roll(x, -3), lambda x: torch.roll(x, -3), [(3, 4)], "real"),
    ("diag_embed", lambda v: cr.diag(v, 1), lambda v: torch.diag(v, 1), [(3,)], "real"),
    ("diag_of", lambda x: cr.diag(x, -1), lambda x: torch.diag(x, -1), [(3, 4)], "real"),
    ("tile", lambda x: cr.tile(x, (2, 2)), lambda x: torch.tile(x, (2, 2)), [(3,)], "real"),
    ("repeat_interleave", lambda x: cr.repeat_interleave(x, 3, dim=0),
     lambda x: torch.repeat_interleave(x, 3, dim=0), [(2, 3)], "real"),
    ("narrow", lambda x: cr.narrow(x, 1, 1, 2), lambda x: torch.narrow(x, 1, 1, 2), [(2, 4)], "real"),
    ("index_select", lambda x: cr.index_select(x, 0, cr.tensor([2, 0])),
     lambda x: torch.index_select(x, 0, torch.tensor([2, 0])), [(3, 2)], "real"),
    ("masked_fill", lambda x: x.masked_fill(cr.tensor([[True], [False]]), -1.0),
     lambda x: x.masked_fill(torch.tensor([[True], [False]]), -1.0), [(2, 3)], "real"),
    ("masked_select", lambda x: cr.masked_select(x, cr.tensor([True, False, True])),
     lambda x: torch.masked_select(x, torch.tensor([True, False, True])), [(2, 3)], "real"),
    ("outer", cr.outer, torch.outer, [(3,), (4,)], "real"),
    ("mv", cr.mv, torch.mv, [(2, 3), (3,)], "real"),
    ("addmm", lambda c, a, b: cr.addmm(c, a, b, beta=0.5, alpha=2),
     lambda c, a, b: torch.addmm(c, a, b, beta=0.5, alpha=2), [(3,), (2, 4), (4, 3)], "real"),
    ("diff", lambda x: cr.diff(x, dim=0), lambda x: torch.diff(x, dim=0), [(4, 3)], "real"),
    ("median_dim", lambda x: cr.median(x, 1, keepdim=True).values,
     lambda x: torch.median(x, 1, keepdim=True).values, [(3, 4)], "real"),
    ("amin_dims", lambda x: cr.amin(x, (0, 1)), lambda x: torch.amin(x, (0, 1)), [(2, 3, 2)], "real"),
    ("unbind", lambda x: cr.unbind(x, 1)[2], lambda x: torch.unbind(x, 1)[2], [(2, 3)], "real"),
    ("inv", lambda a: cr.linalg.inv(a + 4 * cr.eye(3, dtype=a.dtype)),
     lambda a: torch.linalg.inv(a + 4 * torch.eye(3, dtype=a.dtype)), [(2, 3, 3)], "real"),
    ("det", lambda a: cr.det(a + 4 * cr.eye(3, dtype=a.dtype)),
     lambda a: torch.det(a + 4 * torch.eye(3, dtype=a.dtype)), [(3, 3)], "real"),
    ("slogdet", lambda a: cr.linalg.slogdet(a).logabsdet, lambda a: torch.linalg.slogdet(a).logabsdet,
     [(3, 3)], "away"),
    ("solve", lambda a, b: cr.linalg.solve(a + 4 * cr.eye(3, dtype=a.dtype), b),
     lambda a, b: torch.linalg.solve(a + 4 * torch.eye(3, dtype=a.dtype), b), [(3, 3), (3, 2)], "real"),
    ("solve_vector", lambda a, b: cr.linalg.solve(a + 4 * cr.eye(3, dtype=a.dtype), b),
     lambda a, b: torch.linalg.solve(a + 4 * torch.eye(3, dtype=a.dtype), b), [(3, 3), (3,)], "real"),
    ("svdvals", cr.linalg.svdvals, torch.linalg.svdvals, [(4, 3)], "real"),
    ("eigvalsh", lambda a: cr.linalg.eigvalsh(a + a.T), lambda a: torch.linalg.eigvalsh(a + a.T),
     [(3, 3)], "real"),
    ("matrix_norms", lambda a: cr.stack([cr.linalg.matrix_norm(a, o) for o in ("fro", "nuc", 2, -2, 1, -1)]),
     lambda a: torch.stack([torch.linalg.matrix_norm(a, o) for o in ("fro", "nuc", 2, -2, 1, -1)]),
     [(3, 4)], "real"),
    ("matrix_norm_inf", lambda a: cr.linalg.matrix_norm(a, float("inf"), keepdim=True),
     lambda a: torch.linalg.matrix_norm(a, float("inf"), keepdim=True), [(2, 3, 4)], "real"),
    ("vector_norm", lambda a: cr.linalg.vector_norm(a, 3, dim=1),
     lambda a: torch.linalg.vector_norm(a, 3, dim=1), [(3, 4)], "real"),
    ("norm", lambda a: cr.linalg.norm(a), lambda a: torch.linalg.norm(a), [(2, 3, 4)], "real"),
    ("einsum_attention", lambda q, k: cr.einsum("bqd,bkd->bqk", q, k),
     lambda q, k: torch.einsum("bqd,bkd->bqk", q, k), [(2, 3, 4), (2, 5, 4)], "real"),
    ("einsum_implicit", lambda a, b: cr.einsum("ij,jk", [a, b]), lambda a, b: torch.einsum("ij,jk", [a, b]),
     [(2, 3), (3, 4)], "real"),
    ("einsum_ellipsis_sum", lambda a: cr.einsum("...ij->...j", a), lambda a: torch.einsum("...ij->...j", a),
     [(2, 3, 4)], "real"),
    ("meshgrid_xy", lambda a, b: (lambda g: g[0] * 2 + g[1])(cr.meshgrid(a, b, indexing="xy")),
     lambda a, b: (lambda g: g[0] * 2 + g[1])(torch.meshgrid(a, b, indexing="xy")), [(2,), (3,)], "real"),
]


def _draw(rng, shape, domain):
    if domain == "pos":
        return rng.uniform(0.5, 2, shape)
    if domain == "away":
        return rng.uniform(0.5, 2, shape) * rng.choice([-1.0, 1.0], shape)
    if domain == "wide":
        return rng.uniform(-30, 30, shape)
    if domain == "unit":
        return rng.uniform(-0.8, 0.8, shape)
    return rng.uniform(-2, 2, shape)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, ours, theirs, shapes, domain", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_torch(name, ours, theirs, shapes, domain, dtype):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    arrays = [_draw(rng, s, domain).astype(dtype) for s in shapes]
    ours_in = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = ours(*ours_in), theirs(*theirs_in)
    rtol = 1e-10 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=rtol, atol=rtol)
    assert out.dtype == dtype
    cotangent = rng.standard_normal(out.shape).astype(dtype)
    (out * cr.tensor(cotangent)).sum().backward()
    ref.backward(torch.tensor(cotangent))
    for x, t in zip(ours_in, theirs_in):
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=rtol, atol=rtol)
