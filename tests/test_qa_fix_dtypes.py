"""Integer-with-float arithmetic and true division of integers give PyTorch's float dtype, not float64."""

import numpy
import pytest

import chainrule as cr
from chainrule import ops
from chainrule.backend import DEFAULT_FLOAT

INTS = [numpy.int64, numpy.int32, numpy.uint8, numpy.bool_]


def _int(dtype):
    return cr.Tensor(numpy.array([1, 2, 3]).astype(dtype))


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("expression", [
    lambda i: i + 1.5, lambda i: 1.5 + i, lambda i: i - 0.5, lambda i: 0.5 - i, lambda i: i * 0.5,
    lambda i: 0.5 * i, lambda i: i / 2.0, lambda i: 2.0 / i, lambda i: i * numpy.float64(0.5),
    lambda i: i ** 0.5, lambda i: ops.maximum(i, 0.5), lambda i: ops.where(i.data > 1, i, 0.5),
])
def test_integer_with_python_float_gives_default_float(dtype, expression):
    i = _int(dtype)
    out = expression(i)
    assert out.dtype == DEFAULT_FLOAT
    expected = expression(cr.Tensor(i.data.astype(numpy.float64)))
    numpy.testing.assert_allclose(out.data, expected.data, rtol=1e-6)


@pytest.mark.parametrize("dtype", [numpy.int64, numpy.int32])
def test_true_division_of_integers_gives_default_float(dtype):
    i = _int(dtype)
    for out in (i / i, i / 2, 3 / i, ops.div(i, i)):
        assert out.dtype == DEFAULT_FLOAT
    numpy.testing.assert_allclose((i / 2).data, [0.5, 1.0, 1.5])


@pytest.mark.parametrize("function", [ops.exp, ops.log, ops.sqrt, ops.tanh, ops.sigmoid, ops.sin])
def test_transcendental_of_integers_gives_default_float(function):
    assert function(_int(numpy.int64)).dtype == DEFAULT_FLOAT


@pytest.mark.parametrize("float_dtype", [numpy.float32, numpy.float16])
def test_integer_array_with_float_array_takes_the_float_dtype(float_dtype):
    f = cr.Tensor(numpy.ones(3, float_dtype))
    for dtype in (numpy.int64, numpy.int32):
        assert (_int(dtype) + f).dtype == float_dtype
        assert (f * _int(dtype)).dtype == float_dtype


def test_float_inputs_and_integer_results_unchanged():
    i = _int(numpy.int64)
    assert (i + i).dtype == numpy.int64
    assert (i * 2).dtype == numpy.int64
    assert (i ** 2).dtype == numpy.int64
    assert (i + cr.Tensor(numpy.ones(3))).dtype == numpy.float64  # a float64 input keeps float64
    assert (cr.Tensor(numpy.ones(3)) * 0.5).dtype == numpy.float64
    f32 = cr.Tensor(numpy.ones(3, numpy.float32))
    assert (f32 * 0.5).dtype == numpy.float32
    assert (f32 / 3).dtype == numpy.float32


def test_matches_torch_result_dtypes():
    torch = pytest.importorskip("torch")
    values = numpy.array([1, 2, 3])
    i, t = cr.Tensor(values), torch.tensor(values)
    for ours, theirs in ((i + 1.5, t + 1.5), (i / i, t / t), (i * 0.5, t * 0.5), (i / 2, t / 2)):
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        numpy.testing.assert_allclose(ours.data, theirs.numpy())
