"""chainrule.backend.gemm: MKL (the optional ``mkl`` extra) where it applies, NumPy's product otherwise.

Every MKL answer is compared with ``numpy.matmul`` on the same operands, and a spy on the fallback
proves which route each case took. Tests that need MKL skip cleanly without it; the fallback, the
switch and the library search run everywhere.
"""

import itertools
import os

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import backend
from chainrule.kernels import blas_route
from chainrule.kernels import mkl as blas
from fresh_process import run_python

TOLERANCE = {np.float32: 2e-5, np.float64: 1e-12}


@pytest.fixture
def fallbacks(monkeypatch, mkl, count_calls):
    """Count the products that went to NumPy instead of MKL (MKL loaded; skip where not installed)."""
    count = count_calls(blas, "numpy_gemm")
    monkeypatch.setattr(blas, "SMALL_PRODUCT", 1)  # small shapes exercise MKL here; see the test below
    monkeypatch.setattr(backend, "_gemm", blas.gemm)  # even if this process chose NumPy already
    return count


@pytest.fixture
def without_mkl(monkeypatch, forget_mkl):
    """A process where the mkl package is not found: gemm must choose NumPy at its first call."""
    monkeypatch.delenv(blas.SWITCH_VARIABLE, raising=False)
    monkeypatch.setattr(blas, "find_library", lambda: None)
    forget_mkl()
    monkeypatch.setattr(backend, "_gemm", blas_route.first_gemm)


def layouts(matrix):
    """The same values as a C array, an F array, a strided row slice, and a transposed column slice."""
    rows, cols = matrix.shape
    yield "C", matrix.copy()
    yield "F", np.asfortranarray(matrix)
    padded = np.full((2 * rows, cols + 3), np.nan, matrix.dtype)
    padded[::2, 1:cols + 1] = matrix
    yield "rows", padded[::2, 1:cols + 1]  # unit column stride, leading dimension cols + 3
    transposed = np.full((cols + 2, rows), np.nan, matrix.dtype)
    transposed[1:cols + 1] = matrix.T
    yield "T", transposed[1:cols + 1].T  # unit row stride: passed as a transpose flag
    if cols == 1:  # a length-1 dimension may carry any stride; it must not matter
        wide = np.full((rows, 7), np.nan, matrix.dtype)
        wide[:, 3] = matrix[:, 0]
        yield "odd column stride", wide[:, 3::10]
    if rows == 1:
        tall = np.full((7, cols), np.nan, matrix.dtype)
        tall[3] = matrix[0]
        yield "odd row stride", tall[3::10]
        spaced = np.full((1, 2 * cols), np.nan, matrix.dtype)
        spaced[0, ::2] = matrix[0]
        yield "every other column", spaced[:, ::2]  # a single row with stride 2: a transpose flag


def outputs(rows, cols, dtype):
    """None, a C-contiguous out, and a column slice of a wider array, all prefilled with NaN."""
    yield "none", None, None
    yield "C", np.full((rows, cols), np.nan, dtype), None
    wide = np.full((rows, cols + 4), np.nan, dtype)
    yield "slice", wide[:, 2:cols + 2], wide


SHAPES = [(5, 7, 3), (1, 7, 3), (5, 1, 3), (5, 7, 1), (1, 1, 1), (1, 6, 1), (6, 1, 1), (67, 130, 45)]


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, k, n", SHAPES)
def test_every_layout_and_out_matches_numpy_on_mkl(fallbacks, dtype, m, k, n, accumulate):
    """a @ b, or out + a @ b with accumulate=True (BLAS's beta = 1), for every layout MKL takes."""
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    start = rng.standard_normal((m, n)).astype(dtype) if accumulate else 0
    tol = TOLERANCE[dtype]
    for (name_a, left), (name_b, right) in itertools.product(layouts(a), layouts(b)):
        expected = start + np.matmul(left, right)
        for name_out, out, wide in outputs(m, n, dtype):
            if accumulate and out is None:
                continue
            if accumulate:
                out[...] = start
            result = backend.gemm(left, right, out=out, accumulate=accumulate)
            where = f"{name_a} @ {name_b}, out {name_out}"
            assert result.dtype == dtype and result.shape == (m, n), where
            np.testing.assert_allclose(result, expected, rtol=tol, atol=tol, err_msg=where)
            if out is not None:
                assert result is out, where
            if wide is not None:  # the columns around the slice are untouched
                assert np.isnan(wide[:, :2]).all() and np.isnan(wide[:, n + 2:]).all(), where
    assert fallbacks[0] == 0  # every one of them ran on MKL


def test_accumulate_on_numpy_and_without_out():
    rng = np.random.default_rng(8)
    a, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3))
    out = np.ones((5, 3))
    assert blas.numpy_gemm(a, b, out, accumulate=True) is out
    np.testing.assert_allclose(out, 1 + a @ b)
    with pytest.raises(ValueError, match="out is missing"):
        backend.gemm(a, b, accumulate=True)


def test_small_products_stay_on_numpy_by_default(fallbacks, monkeypatch):
    monkeypatch.setattr(blas, "SMALL_PRODUCT", 1 << 19)
    rng = np.random.default_rng(4)
    small = rng.random((64, 64), dtype=np.float32), rng.random((64, 127), dtype=np.float32)
    large = rng.random((64, 64), dtype=np.float32), rng.random((64, 128), dtype=np.float32)
    for a, b in (small, large):
        np.testing.assert_allclose(backend.gemm(a, b), np.matmul(a, b), rtol=2e-5)
    assert fallbacks[0] == 1  # 64·64·127 < 2**19 <= 64·64·128


def test_nan_in_an_operand_propagates_on_mkl(fallbacks):
    a = np.ones((3, 4), np.float32)
    a[1, 2] = np.nan
    result = backend.gemm(a, np.ones((4, 5), np.float32))
    assert np.isnan(result[1]).all() and np.isfinite(result[[0, 2]]).all()
    assert fallbacks[0] == 0


class Subclass(np.ndarray):
    """An ndarray subclass: NumPy decides what its product is."""


def _misaligned(shape):
    buffer = np.zeros(np.prod(shape) * 4 + 1, np.uint8)
    return np.frombuffer(buffer.data, np.float32, np.prod(shape), offset=1).reshape(shape)


FALLBACK_CASES = {
    "mixed dtypes": lambda r: (r((4, 3)), r((3, 5)).astype(np.float64), None),
    "float32 with int32": lambda r: (r((4, 3)), (r((3, 5)) * 10).astype(np.int32), None),
    "integers": lambda r: ((r((4, 3)) * 10).astype(np.int64), (r((3, 5)) * 10).astype(np.int64), None),
    "float16": lambda r: (r((4, 3)).astype(np.float16), r((3, 5)).astype(np.float16), None),
    "complex": lambda r: (r((4, 3)).astype(np.complex64), r((3, 5)).astype(np.complex64), None),
    "byte-swapped": lambda r: (r((4, 3)).astype(">f4"), r((3, 5)).astype(">f4"), None),
    "both strides non-unit": lambda r: (r((8, 6))[::2, ::2], r((3, 5)), None),
    "negative strides": lambda r: (r((4, 3))[::-1], r((3, 5))[:, ::-1], None),
    "broadcast rows": lambda r: (np.broadcast_to(r((1, 3)), (4, 3)), r((3, 5)), None),
    "misaligned": lambda r: (_misaligned((4, 3)), r((3, 5)), None),
    "zero rows": lambda r: (r((0, 3)), r((3, 5)), None),
    "zero columns": lambda r: (r((4, 3)), r((3, 0)), None),
    "zero inner": lambda r: (r((4, 0)), r((0, 5)), None),
    "zero inner with out": lambda r: (r((4, 0)), r((0, 5)), np.full((4, 5), np.nan, np.float32)),
    "batched": lambda r: (r((2, 4, 3)), r((3, 5)), None),
    "vector": lambda r: (r((3,)), r((3, 5)), None),
    "F-ordered out": lambda r: (r((4, 3)), r((3, 5)), np.asfortranarray(np.zeros((4, 5), np.float32))),
    "float64 out": lambda r: (r((4, 3)), r((3, 5)), np.zeros((4, 5), np.float64)),
    "subclass": lambda r: (r((4, 3)).view(Subclass), r((3, 5)), None),
}


@pytest.mark.parametrize("case", list(FALLBACK_CASES))
def test_what_mkl_does_not_take_goes_to_numpy_and_gives_its_answer(fallbacks, case):
    rng = np.random.default_rng(7)
    a, b, out = FALLBACK_CASES[case](lambda shape: rng.random(shape, dtype=np.float32))
    expected = np.matmul(a, b, out=None if out is None else out.copy())
    result = backend.gemm(a, b, out=out)
    assert fallbacks[0] == 1
    assert type(result) is type(expected) and result.dtype == expected.dtype
    np.testing.assert_allclose(np.asarray(result), np.asarray(expected), rtol=1e-3)  # float16 rounds
    if out is not None:
        assert result is out


def test_an_out_sharing_memory_with_an_operand_goes_to_numpy(fallbacks):
    rng = np.random.default_rng(3)
    a = rng.random((4, 4), dtype=np.float32)
    b = rng.random((4, 4), dtype=np.float32)
    expected = a @ b
    assert backend.gemm(a, b, out=a) is a  # NumPy buffers the operand it overwrites
    np.testing.assert_allclose(a, expected, rtol=1e-5)
    assert fallbacks[0] == 1


@pytest.mark.parametrize("problem", ["inner sizes", "out shape", "read-only out"])
def test_errors_are_numpys(fallbacks, problem):
    a = np.ones((4, 3), np.float32)
    b = np.ones((2 if problem == "inner sizes" else 3, 5), np.float32)
    out = np.zeros((4, 6) if problem == "out shape" else (4, 5), np.float32)
    out.flags.writeable = problem != "read-only out"
    with pytest.raises(ValueError):
        np.matmul(a, b, out=out)
    with pytest.raises(ValueError):
        backend.gemm(a, b, out=out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_and_matmul_values_and_gradients_equal_on_both_blas(fallbacks, monkeypatch, dtype):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((9, 6)).astype(dtype)
    weight = rng.standard_normal((4, 6)).astype(dtype)
    bias = rng.standard_normal(4).astype(dtype)
    other = rng.standard_normal((9, 5)).astype(dtype).T  # a transposed, non-contiguous operand

    def run():
        tensors = [cr.tensor(v, requires_grad=True) for v in (x, weight, bias, other)]
        t_x, t_w, t_b, t_o = tensors
        y = F.linear(t_x, t_w, t_b)
        z = cr.matmul(t_o, y)
        (z * z).sum().backward()
        return [z.data] + [t.grad.data for t in tensors]

    monkeypatch.setattr(backend, "_gemm", blas.gemm)
    on_mkl = run()
    assert fallbacks[0] == 0
    monkeypatch.setattr(backend, "_gemm", blas.numpy_gemm)
    on_numpy = run()
    for got, want in zip(on_mkl, on_numpy):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=100 * TOLERANCE[dtype], atol=100 * TOLERANCE[dtype])


def test_gradcheck_through_mkl(fallbacks, monkeypatch):
    monkeypatch.setattr(backend, "_gemm", blas.gemm)
    rng = np.random.default_rng(5)
    a = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = cr.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    cr.autograd.gradcheck(lambda p, q: cr.matmul(p, q), (a, b))
    assert fallbacks[0] == 0


def test_the_library_is_found_in_the_mkl_distribution(fallbacks):
    assert "mkl_rt" in os.path.basename(blas.library_path) and os.path.isfile(blas.library_path)
    assert blas.active() == "mkl"


# The rest runs with or without MKL.

def test_without_mkl_gemm_is_numpys_product(without_mkl):
    rng = np.random.default_rng(2)
    a = rng.random((5, 3), dtype=np.float32)
    b = rng.random((3, 4), dtype=np.float32).T.copy().T
    out = np.empty((5, 4), np.float32)
    np.testing.assert_array_equal(backend.gemm(a, b), np.matmul(a, b))
    assert backend.gemm(a, b, out=out) is out
    np.testing.assert_array_equal(out, np.matmul(a, b))
    assert backend._gemm is backend.matmul_gemm and blas.active() == "numpy"
    batched = rng.random((2, 5, 3))
    np.testing.assert_array_equal(backend.gemm(batched, a.T.astype(np.float64)), batched @ a.T)


def test_the_switch_forces_numpy(monkeypatch, forget_mkl):
    monkeypatch.setenv(blas.SWITCH_VARIABLE, "numpy")
    forget_mkl()
    monkeypatch.setattr(backend, "_gemm", blas_route.first_gemm)
    monkeypatch.setattr(blas, "find_library", lambda: pytest.fail("the library must not be looked for"))
    a = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(backend.gemm(a, a.T), np.full((2, 2), 3, np.float32))
    assert backend._gemm is backend.matmul_gemm and blas.active() == "numpy"


def test_asking_for_mkl_without_it_warns_and_keeps_numpy(without_mkl, monkeypatch):
    monkeypatch.setenv(blas.SWITCH_VARIABLE, "mkl")
    with pytest.warns(RuntimeWarning, match="mkl package is not installed"):
        assert not blas.load()


def test_an_unknown_switch_value_warns_and_means_auto(monkeypatch):
    monkeypatch.setenv(blas.SWITCH_VARIABLE, "openblas")
    with pytest.warns(RuntimeWarning, match="not one of"):
        assert blas.requested() == "auto"


def test_a_library_that_will_not_load_warns_and_keeps_numpy(without_mkl, monkeypatch, tmp_path):
    fake = tmp_path / "libmkl_rt.so.3"
    fake.write_text("not a shared library")
    monkeypatch.setattr(blas, "find_library", lambda: str(fake))
    with pytest.warns(RuntimeWarning, match="cannot use MKL"):
        assert not blas.load()
    assert blas.library is None and blas._routines == {}


@pytest.mark.parametrize("environment, expected", [
    ({}, None), ({"MKL_NUM_THREADS": "3"}, 3), ({"OMP_NUM_THREADS": "4,2"}, 4),
    ({"MKL_NUM_THREADS": "2", "OMP_NUM_THREADS": "8"}, 2), ({"MKL_NUM_THREADS": "0"}, None),
    ({"OMP_NUM_THREADS": "many"}, None)])
def test_the_thread_count_comes_from_the_environment(monkeypatch, environment, expected):
    for variable in ("MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    assert blas.thread_count() == expected


def test_import_chainrule_does_not_load_the_blas_and_the_switch_holds_end_to_end():
    script = ("import sys, chainrule as cr\n"
              "assert cr.kernels.mkl.library is None  # imported, but MKL is not opened\n"
              "y = cr.nn.Linear(3, 2)(cr.ones(4, 3))\n"
              "from chainrule.kernels import mkl as blas\n"
              "assert blas.library is None and blas.active() == 'numpy' and y.shape == (4, 2)\n")
    run_python(script, **{blas.SWITCH_VARIABLE: "numpy"})
