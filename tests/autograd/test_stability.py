"""Stable forms, conventions at kinks, and error messages that name the op and the shapes."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ShapeError


@pytest.mark.parametrize("op", [cr.softmax, cr.log_softmax, lambda x: cr.logsumexp(x, axis=-1)])
def test_softmax_family_is_finite_for_huge_logits(op):
    x = cr.tensor([[1e8, 0.0, -1e8], [1e8, 1e8, 1e8]], requires_grad=True)
    y = op(x)
    assert np.all(np.isfinite(y.numpy()))
    (y * cr.tensor(np.arange(y.size, dtype=np.float32).reshape(y.shape))).sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


def test_softmax_family_with_minus_infinity_in_a_row():
    x = cr.tensor(np.array([[0.0, -np.inf, 1.0], [-np.inf, -np.inf, 2.0]]), requires_grad=True)
    p = cr.softmax(x)
    expected = np.exp([0.0, 0.0, 1.0]) * [1, 0, 1]
    np.testing.assert_allclose(p.numpy()[0], expected / expected.sum())
    np.testing.assert_allclose(p.numpy()[1], [0.0, 0.0, 1.0])
    lse = cr.logsumexp(x, axis=1)
    np.testing.assert_allclose(lse.numpy(), [np.log(1 + np.e), 2.0])
    p.sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))
    ls = cr.log_softmax(x)
    assert ls.numpy()[1, 2] == 0.0 and ls.numpy()[0, 1] == -np.inf
    all_minus_inf = cr.logsumexp(cr.tensor([-np.inf, -np.inf]))
    assert all_minus_inf.item() == -np.inf


@pytest.mark.parametrize("op", [cr.sigmoid, cr.softplus])
def test_sigmoid_and_softplus_are_finite_at_plus_minus_1000(op):
    x = cr.tensor([-1000.0, 1000.0, 0.0], requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = op(x)
        y.sum().backward()
    assert np.all(np.isfinite(y.numpy())) and np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1.0, 0.5] if op is cr.softplus else [0.0, 0.0, 0.25])


def test_relu_derivative_at_zero_is_zero():
    x = cr.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    cr.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0])


def test_tied_maxima_share_the_gradient_equally():
    x = cr.tensor([1.0, 3.0, 3.0, 0.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 1 / 3, 1 / 3, 0, 1 / 3], rtol=1e-6)
    a = cr.tensor([2.0, 1.0], requires_grad=True)
    b = cr.tensor([2.0, 5.0], requires_grad=True)
    cr.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.5, 0.0])
    np.testing.assert_allclose(b.grad.numpy(), [0.5, 1.0])


def test_matmul_error_message_names_both_shapes():
    a, b = cr.zeros(128, 784), cr.zeros(512, 10)
    with pytest.raises(ShapeError) as info:
        a @ b
    assert str(info.value) == "matmul: (128, 784) @ (512, 10): inner sizes 784 and 512 differ"
    assert isinstance(info.value, ValueError)


def test_broadcast_mismatch_names_the_op_and_shapes():
    with pytest.raises(ShapeError, match=r"add.*\(2, 3\).*\(4,\)"):
        cr.zeros(2, 3) + cr.zeros(4)


def test_reshape_and_axis_errors():
    with pytest.raises(ShapeError, match=r"reshape.*\(2, 3\).*\(4,\)"):
        cr.zeros(2, 3).reshape(4)
    with pytest.raises(ShapeError, match="axis 2"):
        cr.zeros(2, 3).sum(axis=2)
