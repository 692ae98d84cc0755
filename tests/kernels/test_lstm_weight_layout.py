"""The recurrent weight's layout for the per-step products: a view under MKL, a copy otherwise.

Either way the product h W_hhᵀ is the same; only who pays for the transpose changes.
"""

import numpy as np
import pytest

from chainrule.backend import gemm
from chainrule.kernels import mkl as blas
from chainrule.kernels.recurrent import recurrent_weight_layout


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("library", ["mkl", "numpy"])
def test_layout_gives_the_same_product_under_either_blas(monkeypatch, library, dtype):
    monkeypatch.setattr(blas, "active", lambda: library)
    rng = np.random.default_rng(0)
    w_hh = rng.standard_normal((4 * 33, 33)).astype(dtype)
    h = rng.standard_normal((7, 33)).astype(dtype)
    w_t = recurrent_weight_layout(np, w_hh)
    assert w_t.shape == (33, 4 * 33) and w_t.dtype == dtype
    if library == "mkl":  # the transposed view itself: no copy
        assert np.shares_memory(w_t, w_hh)
    else:  # row-major for OpenBLAS, and a copy the products can rely on
        assert w_t.flags.c_contiguous and not np.shares_memory(w_t, w_hh)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(gemm(h, w_t), h @ w_hh.T, rtol=tol, atol=tol)


def test_layout_of_a_non_contiguous_weight_is_still_its_transpose():
    rng = np.random.default_rng(1)
    block = rng.standard_normal((40, 20)).astype(np.float32)
    w_hh = block[::2, ::2]  # (20, 10), strided both ways
    np.testing.assert_array_equal(recurrent_weight_layout(np, w_hh), w_hh.T)
