"""chainrule.kernels.mkl.prepack: a right operand packed once by MKL, then multiplied many times.

Each packed product is compared with ``numpy.matmul`` on the same operands, and a spy on the plain
product proves which route each case took. Tests that need MKL skip cleanly without it; the
fallback without MKL runs everywhere.
"""

import itertools

import numpy as np
import pytest

from chainrule.kernels import mkl
from chainrule.kernels import mkl as blas

TOLERANCE = {np.float32: 2e-5, np.float64: 1e-12}


@pytest.fixture
def plain_products(monkeypatch, mkl, count_calls):
    """Count the products that went to the plain gemm instead of the packed copy (MKL loaded)."""
    count = count_calls(blas, "gemm")
    monkeypatch.setattr(blas, "SMALL_PRODUCT", 1)
    return count


def right_layouts(matrix):
    """A C array, a transposed view (a transpose flag for MKL), and a strided row slice."""
    rows, cols = matrix.shape
    yield "C", matrix.copy()
    yield "T", np.ascontiguousarray(matrix.T).T
    padded = np.full((rows, cols + 5), np.nan, matrix.dtype)
    padded[:, 2:cols + 2] = matrix
    yield "rows", padded[:, 2:cols + 2]


def left_layouts(matrix):
    yield "C", matrix.copy()
    yield "T", np.ascontiguousarray(matrix.T).T
    tall = np.full((2 * matrix.shape[0], matrix.shape[1]), np.nan, matrix.dtype)
    tall[::2] = matrix
    yield "every other row", tall[::2]


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, k, n", [(6, 5, 7), (1, 9, 4), (64, 33, 130)])
def test_packed_products_match_numpy_for_every_layout(plain_products, dtype, m, k, n, accumulate):
    rng = np.random.default_rng(m + k + n)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    start = rng.standard_normal((m, n)).astype(dtype)
    tol = TOLERANCE[dtype]
    for name_b, right in right_layouts(b):
        packed = mkl.prepack(right, m)
        assert packed.packed is not None, name_b
        for name_a, left in left_layouts(a):
            wide = np.full((m, n + 3), np.nan, dtype)
            for name_out, out in (("C", np.full((m, n), np.nan, dtype)), ("slice", wide[:, 1:n + 1]),
                                  ("none", None)):
                if out is None and accumulate:
                    continue
                if accumulate:
                    out[...] = start
                result = packed.matmul(left, out=out, accumulate=accumulate)
                where = f"{name_a} @ packed {name_b}, out {name_out}"
                expected = (start if accumulate else 0) + np.matmul(a, b)
                np.testing.assert_allclose(result, expected, rtol=tol, atol=tol, err_msg=where)
                assert result.dtype == dtype and (out is None or result is out), where
            assert np.isnan(wide[:, 0]).all() and np.isnan(wide[:, n + 1:]).all()
    assert plain_products[0] == 0  # every product came from a packed copy


def test_the_packed_copy_holds_the_values_it_was_packed_with(plain_products):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((8, 6)).astype(np.float32)
    b = rng.standard_normal((6, 5)).astype(np.float32)
    packed = mkl.prepack(b, 8)
    before = b.copy()
    b += 1  # an optimiser step changes the weight: the old packed copy is stale by contract
    np.testing.assert_allclose(packed.matmul(a), a @ before, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(mkl.prepack(b, 8).matmul(a), a @ b, rtol=2e-5, atol=2e-5)


def test_two_packed_operands_alive_at_once_do_not_share_memory(plain_products):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((16, 40)).astype(np.float32)
    b1, b2 = (rng.standard_normal((40, 30)).astype(np.float32) for _ in range(2))
    first, second = mkl.prepack(b1, 16), mkl.prepack(b2, 16)
    np.testing.assert_allclose(first.matmul(a), a @ b1, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(second.matmul(a), a @ b2, rtol=2e-5, atol=2e-5)


def _overlapping(rng):
    base = rng.standard_normal((6, 9)).astype(np.float32)
    return base[:, :5], base[:, 2:9]  # a (6, 5) and out (6, 7) share columns 2-4


GOES_TO_GEMM = {
    "another row count": lambda r: (r((7, 5)), None),
    "another dtype": lambda r: (r((6, 5)).astype(np.float64), None),
    "a batch": lambda r: (r((2, 6, 5)), None),
    "both strides non-unit": lambda r: (r((12, 10))[::2, ::2], None),
    "F-ordered out": lambda r: (r((6, 5)), np.asfortranarray(np.zeros((6, 7), np.float32))),
    "out of another dtype": lambda r: (r((6, 5)), np.zeros((6, 7), np.float64)),
    "out overlapping a": _overlapping,
}


@pytest.mark.parametrize("case", list(GOES_TO_GEMM))
def test_what_the_packed_route_does_not_take_goes_to_the_plain_product(plain_products, case):
    rng = np.random.default_rng(3)
    b = rng.standard_normal((5, 7)).astype(np.float32)
    packed = mkl.prepack(b, 6)
    if case == "out overlapping a":
        a, out = _overlapping(rng)
    else:
        a, out = GOES_TO_GEMM[case](lambda shape: rng.standard_normal(shape).astype(np.float32))
    expected = np.matmul(a, b)
    result = packed.matmul(a, out=out)
    assert plain_products[0] == 1
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-5)
    if out is not None:
        assert result is out


def test_a_right_operand_that_cannot_be_packed_keeps_the_plain_product(plain_products, monkeypatch):
    rng = np.random.default_rng(4)
    a = rng.standard_normal((4, 3)).astype(np.float32)
    for b in (np.ones((3, 5), np.int64), np.ones((3, 5), np.float16), rng.random((6, 10))[::2, ::2]):
        packed = mkl.prepack(b, 4)
        assert packed.packed is None
        np.testing.assert_allclose(packed.matmul(a), np.matmul(a, b), rtol=1e-3)
    monkeypatch.setattr(blas, "SMALL_PRODUCT", 1 << 16)  # too small to be worth packing
    assert mkl.prepack(np.ones((3, 5), np.float32), 4).packed is None


def test_the_first_mkl_call_of_a_process_may_be_a_pack(plain_products, forget_mkl):
    """prepack must open MKL itself: before any plain product, it once saw no routines and did not pack."""
    forget_mkl()
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((8, 6)).astype(np.float32), rng.standard_normal((6, 9)).astype(np.float32)
    packed = mkl.prepack(b, 8)
    assert packed.packed is not None
    np.testing.assert_allclose(packed.matmul(a), a @ b, rtol=2e-5, atol=2e-5)
    assert plain_products[0] == 0


def test_without_mkl_prepack_is_the_plain_product(monkeypatch, forget_mkl):
    monkeypatch.setenv(blas.SWITCH_VARIABLE, "numpy")
    forget_mkl()
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((8, 6)).astype(np.float32), rng.standard_normal((6, 9)).astype(np.float32)
    packed = mkl.prepack(b, 8)
    assert packed.packed is None
    np.testing.assert_array_equal(packed.matmul(a), np.matmul(a, b))
    out = np.ones((8, 9), np.float32)
    assert packed.matmul(a, out=out, accumulate=True) is out
    np.testing.assert_allclose(out, 1 + a @ b, rtol=1e-6)
    for left, right in itertools.product([a], [b.astype(np.float64)]):  # mixed dtypes, as NumPy does
        np.testing.assert_allclose(mkl.prepack(right, 8).matmul(left), left @ right)
