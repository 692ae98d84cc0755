"""MaxPool's ``ceil_mode``: a last partial window still produces an output, as in PyTorch."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.autograd import gradcheck, gradgradcheck


def test_a_partial_last_window_takes_the_maximum_of_what_it_covers():
    x = np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5)[:, :, ::-1].copy()
    y = nn.MaxPool2d(2, ceil_mode=True)(cr.tensor(x)).data
    expected = np.empty((1, 1, 3, 3), np.float32)
    for i in range(3):
        for j in range(3):
            expected[0, 0, i, j] = x[0, 0, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max()
    np.testing.assert_array_equal(y, expected)
    assert nn.MaxPool2d(2)(cr.tensor(x)).shape == (1, 1, 2, 2)


def test_ceil_mode_gradients_of_first_and_second_order():
    x = cr.tensor(np.random.default_rng(0).standard_normal((1, 2, 5, 7)), requires_grad=True)
    assert gradcheck(lambda a: F.max_pool2d(a, 3, 2, 1, ceil_mode=True), [x])
    assert gradgradcheck(lambda a: F.max_pool1d(a[:, :, 0], 2, ceil_mode=True), [x])


def test_ceil_mode_survives_get_config_and_shows_in_the_repr():
    layer = nn.MaxPool1d(2, ceil_mode=True)
    assert type(layer)(**layer.get_config()).ceil_mode is True
    assert "ceil_mode=True" in repr(layer)


@pytest.mark.parametrize("kernel, stride, padding, dilation, size", [
    (2, 2, 0, 1, (7, 9)), (3, 2, 1, 1, (6, 6)), (3, 3, 1, 1, (7, 5)), (2, 3, 0, 2, (8, 10)),
    (3, 2, 0, 1, (5, 5)), (4, 3, 2, 1, (9, 4)),
    (3, 3, 1, 1, (5, 5))])  # the last: a window that would start in the padding is dropped
def test_ceil_mode_matches_torch(kernel, stride, padding, dilation, size):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((2, 3) + size).astype(np.float32)
    ours = cr.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    y = F.max_pool2d(ours, kernel, stride, padding, dilation, ceil_mode=True)
    expected = torch.nn.functional.max_pool2d(theirs, kernel, stride, padding, dilation, ceil_mode=True)
    np.testing.assert_array_equal(y.data, expected.detach().numpy())
    weights = np.random.default_rng(2).standard_normal(y.shape).astype(np.float32)
    (y * cr.tensor(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-6, atol=1e-6)
    y1 = nn.MaxPool1d(kernel, stride, padding, dilation, ceil_mode=True)(cr.tensor(x[:, :, 0]))
    expected1 = torch.nn.functional.max_pool1d(theirs[:, :, 0], kernel, stride, padding, dilation,
                                               ceil_mode=True)
    np.testing.assert_array_equal(y1.data, expected1.detach().numpy())
