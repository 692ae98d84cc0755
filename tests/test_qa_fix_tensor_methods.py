"""Tensor.clone/copy, any/all, prod, round and cumsum: NumPy's values, PyTorch's gradients."""

import numpy
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck

ZERO_CASES = [numpy.array([[0.0, 2.0, 3.0], [4.0, 0.0, 0.0]]),
              numpy.array([[0.0, 2.0, -1.5], [4.0, 1.5, 3.0]]),
              numpy.array([[0.0, 0.0], [0.0, 2.0]])]


def test_clone_and_copy_are_differentiable_copies():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for method in ("clone", "copy"):
        y = getattr(x, method)()
        assert y.dtype == numpy.float32
        assert not numpy.shares_memory(y.data, x.data)
        numpy.testing.assert_array_equal(y.data, x.data)
        x.grad = None
        (y * cr.tensor([1.0, 2.0, 3.0])).sum().backward()
        numpy.testing.assert_array_equal(x.grad.data, [1.0, 2.0, 3.0])


def test_any_all_give_bool_tensors_without_grad():
    data = numpy.array([[0.0, 1.0], [0.0, 0.0]])
    x = cr.Tensor(data, requires_grad=True)
    for name in ("any", "all"):
        for kwargs in ({}, {"axis": 1}, {"axis": 0, "keepdims": True}):
            got = getattr(x, name)(**kwargs)
            assert isinstance(got, cr.Tensor) and got.dtype == numpy.bool_ and not got.requires_grad
            numpy.testing.assert_array_equal(got.data, getattr(data, name)(**kwargs))


def test_round_matches_numpy_and_has_no_grad():
    data = numpy.array([0.5, 1.5, 2.5, -0.5, 1.234567], numpy.float32)
    x = cr.Tensor(data, requires_grad=True)
    got = x.round()
    assert got.dtype == numpy.float32 and not got.requires_grad
    numpy.testing.assert_array_equal(got.data, numpy.round(data))
    numpy.testing.assert_array_equal(x.round(2).data, numpy.round(data, 2))


@pytest.mark.parametrize("data", ZERO_CASES)
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_prod_gradient_with_zeros_matches_finite_differences(data, axis):
    x = cr.Tensor(data, requires_grad=True)
    numpy.testing.assert_allclose(x.prod(axis=axis).data, data.prod(axis=axis))
    gradcheck(lambda t: t.prod(axis=axis), [x])


@pytest.mark.parametrize("data", ZERO_CASES)
@pytest.mark.parametrize("axis", [None, 1])
def test_prod_gradient_with_zeros_matches_torch(data, axis):
    torch = pytest.importorskip("torch")
    x = cr.Tensor(data, requires_grad=True)
    x.prod(axis=axis).sum().backward()
    t = torch.tensor(data, requires_grad=True)
    (t.prod() if axis is None else t.prod(dim=axis)).sum().backward()
    numpy.testing.assert_allclose(x.grad.data, t.grad.numpy())
    x32 = cr.Tensor(data.astype(numpy.float32), requires_grad=True)
    x32.prod(axis=axis).sum().backward()
    assert x32.grad.dtype == numpy.float32


@pytest.mark.parametrize("data", [numpy.array([[1.5, -2.0, 0.7], [0.9, 1.1, -1.3]]), *ZERO_CASES,
                                  numpy.array([[0.0, 0.0, 0.0], [0.0, 1.5, 0.0]])])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_prod_second_order_also_at_zeros(data, axis):
    gradgradcheck(lambda t: t.prod(axis=axis), [cr.Tensor(data, requires_grad=True)])


def test_prod_keeps_float32():
    assert cr.tensor([[1.0, 2.0]]).prod().dtype == numpy.float32
    assert cr.tensor([[1.0, 0.0]], requires_grad=True).prod(axis=1).dtype == numpy.float32


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_cumsum_matches_numpy_and_torch_gradient(axis):
    data = numpy.random.default_rng(3).normal(size=(3, 4))
    x = cr.Tensor(data, requires_grad=True)
    y = x.cumsum(axis)
    numpy.testing.assert_allclose(y.data, numpy.cumsum(data, axis=axis))
    weights = numpy.random.default_rng(4).normal(size=y.shape)
    (y * cr.Tensor(weights)).sum().backward()
    # the reverse rule: the running sum of the weights taken from the end
    flat_axis = 0 if axis is None else axis
    expected = numpy.flip(numpy.cumsum(numpy.flip(weights, flat_axis), flat_axis), flat_axis)
    numpy.testing.assert_allclose(x.grad.data, expected.reshape(data.shape))
    gradcheck(lambda t: t.cumsum(axis), [cr.Tensor(data, requires_grad=True)])
