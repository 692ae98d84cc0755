"""Pooling: forward against direct loops in NumPy, argmax routing of gradients, finite differences."""

import json

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule import autograd
from chainrule.autograd import gradcheck, gradgradcheck


def reference_pool2d(x, kernel, stride, padding, kind, dilation=(1, 1), count_include_pad=True):
    """Direct loops over every output element; max pads with −inf, average with zeros."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    fill = -np.inf if kind == "max" else 0.0
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), fill)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    inside = np.zeros(xp.shape[2:])
    inside[ph:ph + h, pw:pw + w] = 1
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, c, oh, ow))
    for b in range(n):
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    values, count = [], 0
                    for p in range(kh):
                        for q in range(kw):
                            r, s = i * sh + p * dh, j * sw + q * dw
                            values.append(xp[b, ch, r, s])
                            count += inside[r, s]
                    if kind == "max":
                        out[b, ch, i, j] = max(values)
                    else:
                        out[b, ch, i, j] = sum(values) / (kh * kw if count_include_pad else count)
    return out


POOLS = [  # kernel, stride, padding, dilation
    ((2, 2), None, (0, 0), (1, 1)),
    ((3, 3), (2, 2), (1, 1), (1, 1)),  # overlapping windows
    ((3, 2), (1, 2), (1, 0), (1, 1)),
    ((2, 2), (1, 1), (0, 0), (2, 2)),
]


@pytest.mark.parametrize("kernel,stride,padding,dilation", POOLS)
def test_max_pool2d_matches_direct_loops(kernel, stride, padding, dilation):
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6))
    expected = reference_pool2d(x, kernel, stride or kernel, padding, "max", dilation)
    got = F.max_pool2d(cr.tensor(x), kernel, stride, padding, dilation)
    np.testing.assert_array_equal(got.numpy(), expected)


@pytest.mark.parametrize("kernel,stride,padding,_", POOLS[:3])
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_matches_direct_loops(kernel, stride, padding, _, count_include_pad):
    x = np.random.default_rng(1).standard_normal((2, 3, 7, 6))
    expected = reference_pool2d(x, kernel, stride or kernel, padding, "avg",
                                count_include_pad=count_include_pad)
    got = F.avg_pool2d(cr.tensor(x), kernel, stride, padding, count_include_pad)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_pool1d_matches_the_2d_reference():
    x = np.random.default_rng(2).standard_normal((2, 3, 11))
    expected = reference_pool2d(x[:, :, None], (1, 3), (1, 2), (0, 1), "max")[:, :, 0]
    np.testing.assert_array_equal(F.max_pool1d(cr.tensor(x), 3, 2, 1).numpy(), expected)
    expected = reference_pool2d(x[:, :, None], (1, 4), (1, 4), (0, 0), "avg")[:, :, 0]
    np.testing.assert_allclose(nn.AvgPool1d(4)(cr.tensor(x)).numpy(), expected, rtol=1e-12)
    assert nn.MaxPool1d(2)(cr.tensor(x)).shape == (2, 3, 5)


def test_max_pool_routes_the_gradient_to_the_first_maximum():
    x = cr.tensor([[[[1.0, 5.0, 2.0, 2.0],
                     [3.0, 0.0, 2.0, 2.0]]]], requires_grad=True)
    y = F.max_pool2d(x, 2)
    np.testing.assert_array_equal(y.numpy(), [[[[5.0, 2.0]]]])
    y.backward(cr.tensor([[[[10.0, 20.0]]]]))
    # ties (the right window is all 2s) go to the first maximum in row-major order, as in PyTorch
    np.testing.assert_array_equal(x.grad.numpy(), [[[[0, 10, 20, 0], [0, 0, 0, 0]]]])


@pytest.mark.parametrize("kernel,stride,padding,dilation", POOLS[1:])
def test_pool_gradients_and_second_derivatives(kernel, stride, padding, dilation):
    rng = np.random.default_rng(3)
    # distinct values far apart keep every argmax away from ties under finite differences
    x = cr.tensor(rng.permutation(40).reshape(1, 2, 5, 4) * 0.1, requires_grad=True)
    mx = lambda a: F.max_pool2d(a, kernel, stride, padding, dilation) ** 2  # noqa: E731
    assert gradcheck(mx, (x,), check_forward=True)
    assert gradgradcheck(mx, (x,))
    avg = lambda a: F.avg_pool2d(a, kernel, stride, padding, count_include_pad=False) ** 2  # noqa: E731
    assert gradcheck(avg, (x,), check_forward=True)
    assert gradgradcheck(avg, (x,))


def test_max_pool_backward_of_backward_gathers_at_the_argmax():
    x = cr.tensor(np.random.default_rng(4).standard_normal((2, 2, 4, 4)), requires_grad=True)
    g = cr.tensor(np.random.default_rng(5).standard_normal((2, 2, 2, 2)), requires_grad=True)
    (dx,) = autograd.grad(F.max_pool2d(x, 2), [x], [g], create_graph=True)
    v = np.random.default_rng(6).standard_normal(x.shape)
    (dg,) = autograd.grad(dx, [g], [cr.tensor(v)])
    windows = x.numpy().reshape(2, 2, 2, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(2, 2, 2, 2, 4)
    picked = v.reshape(2, 2, 2, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(2, 2, 2, 2, 4)
    expected = np.take_along_axis(picked, windows.argmax(-1)[..., None], -1)[..., 0]
    np.testing.assert_allclose(dg.numpy(), expected)


def test_global_avg_pool():
    x = np.random.default_rng(7).standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(nn.GlobalAvgPool2d()(cr.tensor(x)).numpy(), x.mean(axis=(2, 3)))
    xt = cr.tensor(x[:1, :2, :2, :3], requires_grad=True)
    assert gradcheck(F.global_avg_pool2d, (xt,))


def test_pool_layers_round_trip_their_config():
    for layer in [nn.MaxPool2d(3, 2, 1), nn.MaxPool2d((2, 3)), nn.AvgPool2d(2, count_include_pad=False),
                  nn.MaxPool1d(3, stride=1), nn.AvgPool1d(2), nn.GlobalAvgPool2d()]:
        config = json.loads(json.dumps(layer.get_config()))
        assert type(layer)(**config).get_config() == config
    assert "stride=2" in repr(nn.MaxPool2d(2))


def test_pool_errors():
    with pytest.raises(cr.ShapeError, match="half the kernel"):
        nn.MaxPool2d(2, padding=2)
    with pytest.raises(cr.ShapeError, match="N, C, H, W"):
        F.max_pool2d(cr.zeros((3, 4, 4)), 2)
    with pytest.raises(cr.ShapeError, match="smaller than"):
        F.max_pool2d(cr.zeros((1, 1, 1, 1)), 2)
