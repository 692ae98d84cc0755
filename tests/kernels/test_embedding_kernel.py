"""The compiled embedding backward (kernels.compiled.embedding) against the NumPy form (sort + reduceat).

Both forms add the rows of one index in the same order (memory order; the NumPy sort is stable), but
``add.reduceat`` sums each run pairwise where the kernel adds one row after another. So:
- the kernel equals a sequential ``np.add.at`` (the same additions in the same order) exactly;
- the kernel and the NumPy form agree within the error bound of float summation: for an entry that
  sums n rows, |error| ≤ n·u·Σ|g| with u = 2⁻²⁴ (float32) or 2⁻⁵³ (float64) for either order, so the
  two differ by at most 2·n·u·Σ|g| (tested per entry, against the entry's own n and Σ|g|).
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ShapeError
from chainrule.kernels import compiled as fast
from chainrule.nn.layers.embedding import EmbeddingScatter

needs_numba = pytest.mark.skipif(not fast.numba_installed(), reason="needs numba (the fast extra)")


def _scatter(g, indices, vocab, padding_idx=None, numba=True):
    """(the weight gradient, whether the kernel ran, the rows it was given), kernels on or off."""
    given = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(fast.DISABLE_VARIABLE, "0" if numba else "1")
        if numba:
            kernels = fast.load("embedding")
            kernel = kernels.scatter_add_rows

            def spy(rows, flat, out):
                given.append(rows)
                return kernel(rows, flat, out)

            patch.setattr(kernels, "scatter_add_rows", spy)
        out = EmbeddingScatter(indices, padding_idx, vocab)(g).numpy()
    return out, bool(given), given[0] if given else None


def _add_at(g, indices, vocab, padding_idx=None):
    """The sequential reference: np.add.at adds the rows one after another in index order."""
    out = np.zeros((vocab, g.shape[-1]), dtype=g.dtype)
    np.add.at(out, indices.reshape(-1), g.reshape(-1, g.shape[-1]))
    if padding_idx is not None:
        out[padding_idx] = 0
    return out


def _bound(g, indices, vocab):
    """Per entry n·u·Σ|g|: the float summation error bound for either order of additions."""
    flat = indices.reshape(-1) % vocab
    counts = np.bincount(flat, minlength=vocab)[:, None]
    magnitude = _add_at(np.abs(g).astype(np.float64), indices, vocab)
    return counts * np.finfo(g.dtype).eps / 2 * magnitude


def _cases(rng, dtype):
    """(g, indices, vocab, padding_idx) with repeats, one index throughout, padding, 1-D to 3-D, views.

    The kernel adds the rows in g's memory order: for a transposed view that is the order of the array
    stored, with the indices transposed alike (a fifth item gives that pair for the exact check).
    """
    def normal(*shape):
        return rng.standard_normal(shape).astype(dtype)

    repeated = rng.integers(0, 7, (6, 9))
    batch_first = normal(9, 6, 5)  # a (T, N, D) array read back as (N, T, D): a transposed view
    return {
        "2-D indices with repeats": (normal(6, 9, 5), repeated, 7, None),
        "1-D indices": (normal(40, 3), rng.integers(0, 5, 40), 5, None),
        "3-D indices": (normal(3, 4, 5, 6), rng.integers(0, 11, (3, 4, 5)), 11, None),
        "all the same index": (normal(50, 4), np.full(50, 2), 6, None),
        "padding_idx": (normal(6, 9, 5), repeated, 7, 3),
        "negative indices count from the end": (normal(8, 4), np.array([-1, 0, -7, 6, 3, -1, 5, 0]), 7, None),
        "transposed gradient": (batch_first.swapaxes(0, 1), repeated, 7, None, (batch_first, repeated.T)),
        "transposed gradient with padding": (batch_first.swapaxes(0, 1), repeated, 7, 0,
                                             (batch_first, repeated.T)),
        "sliced gradient": (normal(6, 12, 5)[:, 2:11], repeated, 7, None),
        "strided rows": (normal(30, 4)[::3], rng.integers(0, 4, 10), 4, None),
        "strided columns": (normal(10, 8)[:, ::2], rng.integers(0, 4, 10), 4, None),
        "int32 indices": (normal(6, 9, 5), repeated.astype(np.int32), 7, None),
        "large sums": (normal(2000, 3) * 1000, rng.integers(0, 3, 2000), 3, None),
    }


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_equals_the_numpy_form_and_the_sequential_sum(dtype):
    cases = _cases(np.random.default_rng(0), dtype)
    for name, (g, indices, vocab, padding_idx, *memory_order) in cases.items():
        stored, stored_indices = memory_order[0] if memory_order else (g, indices)
        got, compiled, _ = _scatter(g, indices, vocab, padding_idx, numba=True)
        reference, declined, _ = _scatter(g, indices, vocab, padding_idx, numba=False)
        assert compiled and not declined, name
        assert got.dtype == reference.dtype == dtype and got.shape == (vocab, g.shape[-1]), name
        np.testing.assert_array_equal(got, _add_at(stored, stored_indices, vocab, padding_idx), err_msg=name)
        assert (np.abs(got - reference) <= 2 * _bound(g, indices, vocab)).all(), name
        if padding_idx is not None:
            assert not got[padding_idx].any(), name


@needs_numba
def test_a_transposed_gradient_is_read_in_place_not_copied():
    rng = np.random.default_rng(1)
    stored = rng.standard_normal((9, 6, 5)).astype(np.float32)  # (T, N, D) in memory
    g = stored.swapaxes(0, 1)
    _, compiled, rows = _scatter(g, rng.integers(0, 7, (6, 9)), 7)
    assert compiled and np.shares_memory(rows, stored) and rows.flags.c_contiguous


@needs_numba
@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 4, 2)])
def test_empty_indices_give_a_zero_gradient(shape):
    g = np.ones(shape + (5,), np.float32)
    got, compiled, _ = _scatter(g, np.zeros(shape, np.int64), 4)
    assert compiled and got.shape == (4, 5) and got.dtype == np.float32 and not got.any()
    np.testing.assert_array_equal(got, _scatter(g, np.zeros(shape, np.int64), 4, numba=False)[0])


@needs_numba
def test_nan_and_infinity_stay_in_their_own_rows():
    g = np.ones((4, 3), np.float32)
    g[1, 0], g[2, 2] = np.nan, np.inf
    got, compiled, _ = _scatter(g, np.array([0, 1, 2, 1]), 4)
    reference = _scatter(g, np.array([0, 1, 2, 1]), 4, numba=False)[0]
    assert compiled
    np.testing.assert_array_equal(got, reference)
    assert np.isnan(got[1, 0]) and np.isinf(got[2, 2])
    assert np.isfinite(np.delete(got.reshape(-1), [3, 8])).all()


@needs_numba
def test_an_index_outside_the_table_raises_instead_of_writing_outside():
    g = np.ones((3, 2), np.float32)
    with pytest.raises(ShapeError, match=r"Embedding backward.*\[0, 4\).*got 4"):
        _scatter(g, np.array([1, 4, 0]), 4)
    with pytest.raises(ShapeError, match="got -5"):
        _scatter(g, np.array([1, -5, 0]), 4)


@needs_numba
def test_the_layer_gradients_agree_with_kernels_on_and_off():
    tokens = np.random.default_rng(2).integers(0, 9, (4, 6))
    tokens[0, :4] = 3
    seed = np.random.default_rng(3).standard_normal((6, 4, 5)).astype(np.float32)

    def weight_gradient(numba):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(fast.DISABLE_VARIABLE, "0" if numba else "1")
            cr.manual_seed(0)
            layer = cr.nn.Embedding(9, 5, padding_idx=3)
            layer(tokens).swapaxes(0, 1).backward(cr.Tensor(seed))  # the gradient comes back transposed
            return layer.weight.grad.numpy()

    got, reference = weight_gradient(True), weight_gradient(False)
    assert got.dtype == np.float32 and not got[3].any()
    np.testing.assert_allclose(got, reference, rtol=1e-6, atol=1e-6)


def test_switched_off_or_unsupported_dtypes_keep_the_numpy_form(monkeypatch):
    rng = np.random.default_rng(4)
    indices = rng.integers(0, 5, (3, 4))
    g32 = rng.standard_normal((3, 4, 2)).astype(np.float32)
    got, compiled, _ = _scatter(g32, indices, 5, numba=False)
    assert not compiled
    np.testing.assert_allclose(got, _add_at(g32, indices, 5), rtol=1e-6, atol=1e-6)
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "1")
    assert fast.for_arrays("embedding", g32) is None
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    g16 = g32.astype(np.float16)  # the kernel takes float32 and float64 only
    assert fast.for_arrays("embedding", g16.reshape(-1, 2)) is None
    got16 = EmbeddingScatter(indices, None, 5)(g16).numpy()
    assert got16.dtype == np.float16
    np.testing.assert_allclose(got16, _add_at(g16, indices, 5), rtol=1e-2, atol=1e-2)
