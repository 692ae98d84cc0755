"""kernels.linear: column_sums (the bias gradient of the fused Linear) against float64 sums"""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.kernels.linear import column_sums
from chainrule.ops.fused_linear import linear


def _rows(rng, shape, dtype):
    # an offset so that the column sums grow with the rows and rounding errors pile up
    return (rng.standard_normal(shape) + 0.3).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(256, 37), (1, 5), (3000, 7), (0, 4)], ids=str)
def test_column_sums_match_float64(dtype, shape):
    g = _rows(np.random.default_rng(0), shape, dtype)
    result = column_sums(g)
    assert result.dtype == dtype and result.shape == (shape[1],)
    exact = np.array([math.fsum(column) for column in g.astype(np.float64).T])  # correctly rounded
    scale = np.abs(g).astype(np.float64).sum(axis=0) + 1e-300
    # no worse than NumPy's own axis-0 sum, which adds the rows one after another
    numpy_error = np.max(np.abs(g.sum(axis=0) - exact) / scale, initial=0.0)
    error = np.max(np.abs(result - exact) / scale, initial=0.0)
    assert error <= max(2 * numpy_error, 4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("layout", ["transposed", "strided"])
def test_column_sums_of_non_contiguous_gradients(layout):
    base = _rows(np.random.default_rng(1), (40, 60), np.float32)
    g = base.T if layout == "transposed" else base[::3, ::2]
    np.testing.assert_allclose(column_sums(g), g.astype(np.float64).sum(axis=0), rtol=1e-5)


def test_nan_and_inf_propagate():
    g = np.ones((4, 3), np.float32)
    g[1, 0], g[2, 1], g[3, 1] = np.nan, np.inf, -np.inf
    with np.errstate(invalid="ignore"):  # inf − inf, as NumPy's sum warns too
        result = column_sums(g)
    assert np.isnan(result[0]) and np.isnan(result[1]) and result[2] == 4.0


def test_other_dtypes_and_ranks_use_numpy_sum():
    for g in (np.arange(12).reshape(4, 3), np.ones((4, 3), np.float16)):
        result = column_sums(g)
        np.testing.assert_array_equal(result, g.sum(axis=0))
        assert result.dtype == g.dtype


def test_linear_bias_gradient_is_the_column_sum():
    rng = np.random.default_rng(2)
    x = cr.tensor(rng.standard_normal((33, 6)).astype(np.float32))
    w = cr.tensor(rng.standard_normal((5, 6)).astype(np.float32), requires_grad=True)
    b = cr.tensor(rng.standard_normal(5).astype(np.float32), requires_grad=True)
    g = rng.standard_normal((33, 5)).astype(np.float32)
    linear(x, w, b).backward(cr.tensor(g))
    assert b.grad.dtype == np.float32
    np.testing.assert_allclose(b.grad.data, g.astype(np.float64).sum(axis=0), rtol=1e-5, atol=1e-6)


def test_recorded_backward_keeps_second_derivatives():
    rng = np.random.default_rng(3)
    x = cr.tensor(rng.standard_normal((7, 4)), requires_grad=True)
    w = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = cr.tensor(rng.standard_normal(3), requires_grad=True)
    # the bias gradient of a squared output depends on x, w and b: its own gradient must flow
    cr.autograd.gradgradcheck(lambda x, w, b: linear(x, w, b) ** 2, (x, w, b))
