"""Issue #13's smaller items: errors in the user's terms, NumPy running statistics, hinge labels,
loss constructors' keywords."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.errors import DTypeError, ShapeError


def test_conv1d_errors_name_conv1d_and_the_users_3d_shapes():
    with pytest.raises(ShapeError) as info:
        F.conv1d(cr.randn(2, 3, 10), cr.randn(4, 5, 3))
    message = str(info.value)
    assert message.startswith("conv1d:") and "(2, 3, 10)" in message and "(4, 5, 3)" in message
    assert "conv2d" not in message and "(4, 5, 1, 3)" not in message
    with pytest.raises(ShapeError) as info:  # the kernel longer than the input
        F.conv1d(cr.randn(2, 3, 2), cr.randn(4, 3, 5))
    assert str(info.value).startswith("conv1d: input (2, 3, 2)") and "(4, 3, 5)" in str(info.value)


def test_conv2d_channel_error_names_the_input_shape():
    with pytest.raises(ShapeError, match=r"conv2d: input of shape \(2, 3, 10, 10\)"):
        F.conv2d(cr.randn(2, 3, 10, 10), cr.randn(4, 5, 3, 3))


def test_batch_norm_updates_numpy_running_statistics_as_torch_does():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    mean, var = np.zeros(3, "float32"), np.ones(3, "float32")
    y = F.batch_norm(cr.tensor(x), mean, var, training=True, momentum=0.1)
    ref_mean, ref_var = torch.zeros(3), torch.ones(3)
    ref = torch.nn.functional.batch_norm(torch.tensor(x), ref_mean, ref_var, training=True, momentum=0.1)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), atol=1e-5)
    np.testing.assert_allclose(mean, ref_mean.numpy(), atol=1e-6)
    np.testing.assert_allclose(var, ref_var.numpy(), atol=1e-6)


def test_batch_norm_refuses_running_statistics_it_cannot_update():
    with pytest.raises(DTypeError, match="running_mean must be a Tensor or a NumPy array"):
        F.batch_norm(cr.randn(8, 3), [0.0, 0.0, 0.0], np.ones(3, "float32"), training=True)
    with pytest.raises(ShapeError, match=r"running_var must be a float array of shape \(3,\)"):
        F.batch_norm(cr.randn(8, 3), np.zeros(3, "float32"), np.ones(4, "float32"), training=True)


def test_hinge_loss_converts_binary_labels_as_keras_does():
    prediction = cr.tensor([0.5, -0.5, 2.0])
    as_01 = F.hinge_loss(prediction, np.array([1.0, 0.0, 0.0], "float32")).item()
    as_pm = F.hinge_loss(prediction, np.array([1.0, -1.0, -1.0], "float32")).item()
    assert as_01 == pytest.approx(as_pm) == pytest.approx((0.5 + 0.5 + 3.0) / 3)


@pytest.mark.parametrize("make", [lambda: cr.nn.MSELoss(foo=1), lambda: cr.nn.HingeLoss(margin=2),
                                  lambda: cr.nn.HuberLoss(delta=1.0, beta=2)])
def test_loss_constructors_reject_unknown_keywords(make):
    with pytest.raises(TypeError, match="unexpected keyword"):
        make()
