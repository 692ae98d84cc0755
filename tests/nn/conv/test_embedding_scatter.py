"""The embedding's backward (sorted segment sums, read in memory order) equals a plain ``add.at``."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.layers.embedding import EmbeddingScatter


def reference(g, indices, vocab, padding_idx=None):
    out = np.zeros((vocab, g.shape[-1]), dtype=g.dtype)
    np.add.at(out, indices.reshape(-1), g.reshape(-1, g.shape[-1]))
    if padding_idx is not None:
        out[padding_idx] = 0
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["contiguous", "swapped", "reversed axes", "sliced"])
@pytest.mark.parametrize("vocab, padding_idx", [(13, None), (13, 4), (40_000, None)])
def test_scatter_equals_add_at(dtype, layout, vocab, padding_idx):
    rng = np.random.default_rng(0)
    indices = rng.integers(0, min(vocab, 13) if vocab < 100 else vocab, (5, 7))
    indices[0, :3] = indices[1, 2]  # repeated rows accumulate
    base = rng.standard_normal((7, 5, 6)).astype(dtype)
    g = {"contiguous": np.ascontiguousarray(base.swapaxes(0, 1)), "swapped": base.swapaxes(0, 1),
         "reversed axes": np.ascontiguousarray(base.transpose(2, 1, 0)).transpose(2, 1, 0).swapaxes(0, 1),
         "sliced": rng.standard_normal((5, 9, 6)).astype(dtype)[:, 1:8]}[layout]
    got = EmbeddingScatter(indices, padding_idx, vocab)(g).numpy()
    assert got.dtype == dtype
    want = reference(g, indices, vocab, padding_idx)
    tolerance = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)


def test_a_nan_stays_in_its_own_row():
    indices = np.array([[0, 1], [2, 1]])
    g = np.ones((2, 2, 3), np.float32).swapaxes(0, 1).copy().swapaxes(0, 1)
    g[0, 1, 0] = np.nan  # index 1
    got = EmbeddingScatter(indices, None, 4)(g).numpy()
    assert np.isnan(got[1, 0]) and np.isfinite(np.delete(got.reshape(-1), 3)).all()


def test_the_layer_gradient_through_a_batch_first_transpose():
    cr.manual_seed(0)
    layer = cr.nn.Embedding(9, 4)
    tokens = np.random.default_rng(1).integers(0, 9, (3, 5))
    out = layer(tokens).swapaxes(0, 1)  # (T, N, D) view: its gradient comes back transposed
    seed = np.random.default_rng(2).standard_normal(out.shape).astype(np.float32)
    out.backward(cr.Tensor(seed))
    np.testing.assert_allclose(layer.weight.grad.numpy(), reference(seed.swapaxes(0, 1), tokens, 9),
                               rtol=1e-6, atol=1e-6)
