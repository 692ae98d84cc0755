"""Linear/Dense check their input's dtype (PyTorch raises where NumPy would silently promote)."""

import numpy
import pytest

import chainrule as cr
from chainrule.errors import DTypeError


@pytest.mark.parametrize("make", [lambda: cr.nn.Linear(3, 2), lambda: cr.nn.Dense(2)])
@pytest.mark.parametrize("dtype", [numpy.int64, numpy.int32, numpy.uint8, numpy.bool_])
def test_non_float_input_raises_naming_layer_dtype_and_fix(make, dtype):
    layer = make()
    x = numpy.ones((4, 3), dtype=dtype)
    for value in (x, cr.Tensor(x)):
        with pytest.raises(DTypeError) as info:
            layer(value)
        message = str(info.value)
        assert type(layer).__name__ in message
        assert str(numpy.dtype(dtype)) in message
        assert "x.astype('float32')" in message


@pytest.mark.parametrize("make", [lambda: cr.nn.Linear(3, 2), lambda: cr.nn.Dense(2)])
def test_python_list_input_is_converted_to_float32(make):
    layer = make()
    out = layer([[1.0, 2.0, 3.0]])
    assert out.dtype == numpy.float32
    expected = numpy.array([[1.0, 2.0, 3.0]], numpy.float32) @ layer.weight.data.T + layer.bias.data
    numpy.testing.assert_allclose(out.data, expected, rtol=1e-6)


def test_integer_list_raises_dtype_error():
    with pytest.raises(DTypeError):
        cr.nn.Linear(3, 2)([[1, 2, 3]])


def test_unconvertible_input_raises_type_error():
    with pytest.raises(TypeError, match="Linear"):
        cr.nn.Linear(3, 2)("abc")


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_float_input_keeps_working(dtype):
    layer = cr.nn.Linear(3, 2)
    out = layer(numpy.ones((2, 3), dtype=dtype))
    assert out.shape == (2, 2)
    assert out.dtype.kind == "f"
