"""``keras.ops`` against Keras 3 itself (on its PyTorch backend, the oracle CI installs): each call is
written once and run with ``keras.ops`` and ``chainrule.keras.ops``; values, dtypes and shapes must
agree. Skips where Keras is not installed."""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "torch":
    pytest.skip("the Keras oracle runs on its PyTorch backend", allow_module_level=True)

from chainrule.keras import ops as ours  # noqa: E402

# Keras's own PyTorch backend warns about torch's deprecations (its count_nonzero uses Tensor.T)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:keras")

RNG = np.random.default_rng(0)
X = RNG.uniform(-2, 2, (3, 4)).astype(np.float32)
Y = RNG.uniform(-2, 2, (3, 4)).astype(np.float32)
P = RNG.uniform(0.05, 1, (3, 4)).astype(np.float32)
V = np.array([3.0, -1.0, 2.0, 0.5], np.float32)
ODD = np.array([[1.5, -2.5, np.nan], [np.inf, 0.0, -0.5]], np.float32)
LABELS = np.array([0, 3, 1])
ONE_HOT = np.eye(4, dtype=np.float32)[LABELS]
BITS = (P > 0.5).astype(np.float32)
SPD = (X[:, :3] @ X[:, :3].T + 3 * np.eye(3)).astype(np.float32)

CALLS = {
    "ceil": lambda o: o.ceil(X), "floor": lambda o: o.floor(X), "round": lambda o: o.round(X * 3),
    "round_decimals": lambda o: o.round(X, decimals=1), "erf": lambda o: o.erf(X),
    "expm1": lambda o: o.expm1(X), "sinh": lambda o: o.sinh(X), "cosh": lambda o: o.cosh(X),
    "tan": lambda o: o.tan(X * 0.5), "arcsin": lambda o: o.arcsin(X * 0.4),
    "arccos": lambda o: o.arccos(X * 0.4),
    "arctan": lambda o: o.arctan(X), "arctan2": lambda o: o.arctan2(X, Y), "log2": lambda o: o.log2(P),
    "log10": lambda o: o.log10(P), "exp2": lambda o: o.exp2(X), "reciprocal": lambda o: o.reciprocal(P),
    "rsqrt": lambda o: o.rsqrt(P), "floor_divide": lambda o: o.floor_divide(X, 0.7),
    "mod": lambda o: o.mod(X, 0.7), "isnan": lambda o: o.isnan(ODD), "isinf": lambda o: o.isinf(ODD),
    "isfinite": lambda o: o.isfinite(ODD), "nan_to_num": lambda o: o.nan_to_num(ODD, nan=0.0, posinf=9.0),
    "logical": lambda o: (o.logical_and(X > 0, Y > 0), o.logical_or(X > 0, Y > 0),
                          o.logical_xor(X > 0, Y > 0), o.logical_not(X > 0)),
    "count_nonzero": lambda o: (o.count_nonzero(np.maximum(X, 0)), o.count_nonzero(np.maximum(X, 0), axis=1)),
    "hard_sigmoid": lambda o: o.hard_sigmoid(X * 2), "softsign": lambda o: o.softsign(X),
    "relu6": lambda o: o.relu6(X * 4),
    "broadcast_to": lambda o: o.broadcast_to(V, (2, 4)),
    "repeat": lambda o: (o.repeat(X, 2), o.repeat(X, 2, axis=1)),
    "tile": lambda o: o.tile(V, (2, 1)), "flip": lambda o: (o.flip(X), o.flip(X, axis=1)),
    "roll": lambda o: (o.roll(X, 2), o.roll(X, -1, axis=0)), "tril": lambda o: (o.tril(X), o.tril(X, -1)),
    "triu": lambda o: o.triu(X, 1), "diag": lambda o: (o.diag(V), o.diag(X, 1)),
    "diagonal": lambda o: (o.diagonal(X), o.diagonal(X, 1)), "trace": lambda o: o.trace(X),
    "moveaxis": lambda o: (o.moveaxis(X[None], 0, -1), o.moveaxis(X[None], [0, 2], [2, 0])),
    "ravel": lambda o: o.ravel(X),
    "hstack": lambda o: o.hstack([X, Y]), "vstack": lambda o: o.vstack([X, Y]),
    "meshgrid": lambda o: tuple(o.meshgrid(V, V[:3])),
    "meshgrid_ij": lambda o: tuple(o.meshgrid(V, V[:3], indexing="ij")),
    "outer": lambda o: o.outer(V, V[:3]), "diff": lambda o: (o.diff(X), o.diff(X, n=2, axis=0)),
    "sort": lambda o: (o.sort(X), o.sort(X, axis=0)), "argsort": lambda o: o.argsort(X),
    "top_k": lambda o: tuple(o.top_k(X, 2)), "nonzero": lambda o: tuple(o.nonzero(np.maximum(X, 0))),
    "slice": lambda o: o.slice(X, (1, 1), (2, 2)),
    "median": lambda o: (o.median(X), o.median(X, axis=1), o.median(X, axis=0, keepdims=True)),
    "average": lambda o: (o.average(X), o.average(X, axis=1, weights=V)),
    "moments": lambda o: tuple(o.moments(X, axes=[0])),
    "moments_keep": lambda o: tuple(o.moments(X, [0, 1], True)),
    "norm": lambda o: (o.norm(X), o.norm(V), o.norm(X, axis=1), o.norm(V, ord=1),
                       o.norm(X, axis=0, keepdims=True)),
    "normalize": lambda o: (o.normalize(X), o.normalize(X, axis=0, order=1)),
    "einsum": lambda o: (o.einsum("ij,kj->ik", X, Y), o.einsum("ij->j", X), o.einsum("i,i", V, V)),
    "inv": lambda o: o.inv(SPD), "det": lambda o: o.det(SPD), "solve": lambda o: o.solve(SPD, X[:, :2]),
    "svd": lambda o: (lambda u, s, v: (s, u @ np.diag(s) @ v))(*[_numpy(t) for t in o.svd(X, False)]),
    "svdvals": lambda o: o.svd(X, compute_uv=False),
    "eigh": lambda o: (lambda w, q: (w, q @ np.diag(w) @ q.T))(*[_numpy(t) for t in o.eigh(SPD)]),
    "qr": lambda o: (lambda q, r: q @ r)(*[_numpy(t) for t in o.qr(X.T)]),
    "cholesky": lambda o: o.cholesky(SPD), "lstsq": lambda o: o.lstsq(X.T, V),
    "binary_crossentropy": lambda o: (o.binary_crossentropy(BITS, P), o.binary_crossentropy(BITS, X, True)),
    "categorical_crossentropy": lambda o: (o.categorical_crossentropy(ONE_HOT, P),
                                           o.categorical_crossentropy(ONE_HOT, X, from_logits=True)),
    "sparse_categorical_crossentropy": lambda o: (
        o.sparse_categorical_crossentropy(LABELS, P),
        o.sparse_categorical_crossentropy(LABELS, X, from_logits=True)),
}


def _numpy(value):
    if isinstance(value, (tuple, list)):
        return [_numpy(v) for v in value]
    return np.asarray(keras.ops.convert_to_numpy(value) if not hasattr(value, "numpy") else value.numpy())


@pytest.mark.parametrize("name", sorted(CALLS))
def test_keras_ops_agree_with_keras(name):
    theirs, mine = _numpy(CALLS[name](keras.ops)), _numpy(CALLS[name](ours))
    pairs = zip(mine, theirs) if isinstance(theirs, list) else [(mine, theirs)]
    for a, b in pairs:
        assert a.shape == b.shape, f"{name}: shape {a.shape}, Keras's {b.shape}"
        # counts and indices: int64 here, int32 in Keras on some backends
        assert a.dtype == b.dtype or a.dtype.kind == b.dtype.kind == "i", (name, a.dtype, b.dtype)
        np.testing.assert_allclose(a.astype(float), b.astype(float), rtol=2e-5, atol=2e-6, err_msg=name)


def test_new_ops_are_differentiable_in_a_custom_loss():
    """A custom loss written with keras.ops trains: the gradient reaches the weights."""
    import chainrule as cr

    w = cr.tensor(X, requires_grad=True)
    loss = ours.mean(ours.binary_crossentropy(BITS, w, from_logits=True)) + ours.norm(ours.tril(w))
    loss = loss + ours.mean(ours.moments(w, axes=[0])[1]) + ours.sum(ours.top_k(w, 2).values)
    loss.backward()
    assert w.grad is not None and np.all(np.isfinite(w.grad.numpy())) and np.abs(w.grad.numpy()).sum() > 0
