"""Convolution: forward against direct loops in NumPy, gradients by finite differences, im2col adjointness."""

import json

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.autograd import gradcheck, gradgradcheck


def reference_conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """y[n, o, i, j] = b[o] + Σ_{c in o's group, p, q} w[o, c, p, q] · xpad[n, c, i·s + p·d, j·s + q·d]."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    top, bottom, left, right = padding
    xp = np.zeros((n, c, h + top + bottom, wd + left + right), dtype=x.dtype)
    xp[:, :, top:top + h, left:left + wd] = x
    oh = (xp.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (xp.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, oh, ow), dtype=x.dtype)
    per_group = o // groups
    for b_ in range(n):
        for oc in range(o):
            first = (oc // per_group) * cg
            for i in range(oh):
                for j in range(ow):
                    total = 0.0
                    for ci in range(cg):
                        for p in range(kh):
                            for q in range(kw):
                                total += w[oc, ci, p, q] * xp[b_, first + ci, i * stride[0] + p * dilation[0],
                                                              j * stride[1] + q * dilation[1]]
                    out[b_, oc, i, j] = total + (0.0 if b is None else b[oc])
    return out


CASES = [  # (N, C, H, W), (O, kh, kw), stride, padding, dilation, groups, bias
    ((2, 3, 7, 6), (4, 3, 3), 1, 0, 1, 1, True),
    ((2, 3, 8, 7), (4, 3, 2), (2, 1), (1, 2), 1, 1, False),
    ((1, 4, 9, 9), (6, 3, 3), 2, 1, (2, 1), 2, True),
    ((2, 2, 6, 5), (3, 4, 3), 1, "same", 1, 1, True),
    ((1, 2, 7, 7), (2, 2, 2), 1, "same", 2, 1, True),
    ((2, 6, 5, 5), (6, 3, 3), 1, "valid", 1, 6, True),  # depthwise
]


def _explicit_padding(padding, kernel, dilation):
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        sides = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            sides += [total // 2, total - total // 2]
        return tuple(sides)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return (ph, ph, pw, pw)


@pytest.mark.parametrize("case", CASES)
def test_conv2d_matches_direct_loops(case):
    shape, (o, kh, kw), stride, padding, dilation, groups, bias = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((o, shape[1] // groups, kh, kw))
    b = rng.standard_normal(o) if bias else None
    pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    expected = reference_conv2d(x, w, b, pair(stride), _explicit_padding(padding, (kh, kw), pair(dilation)),
                                pair(dilation), groups)
    got = F.conv2d(cr.tensor(x), cr.tensor(w), None if b is None else cr.tensor(b), stride, padding,
                   dilation, groups)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-10)
    if padding == "same":
        assert got.shape[2:] == shape[2:]


@pytest.mark.parametrize("case", [CASES[1], CASES[2], CASES[4]])
def test_conv2d_gradients_and_second_derivatives(case):
    shape, (o, kh, kw), stride, padding, dilation, groups, bias = case
    rng = np.random.default_rng(1)
    n, c, h, w_ = shape
    x = cr.tensor(rng.standard_normal((1, c, min(h, 5), min(w_, 5))), requires_grad=True)
    w = cr.tensor(rng.standard_normal((o, c // groups, kh, kw)), requires_grad=True)
    b = cr.tensor(rng.standard_normal(o), requires_grad=True)

    def f(x, w, b):
        return F.conv2d(x, w, b, stride, padding, dilation, groups)

    assert gradcheck(f, (x, w, b), check_forward=True)
    assert gradgradcheck(f, (x, w, b))


def test_conv1d_matches_conv2d_reference_and_gradcheck():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 9))
    w = rng.standard_normal((6, 2, 3))
    b = rng.standard_normal(6)
    expected = reference_conv2d(x[:, :, None], w[:, :, None], b, (1, 2), (0, 0, 1, 1), (1, 2), 2)[:, :, 0]
    got = F.conv1d(cr.tensor(x), cr.tensor(w), cr.tensor(b), stride=2, padding=1, dilation=2, groups=2)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-10)
    same = F.conv1d(cr.tensor(x), cr.tensor(w[:, :, :2]), None, padding="same", groups=2)
    assert same.shape == (2, 6, 9)
    xt = cr.tensor(x[:1, :, :5], requires_grad=True)
    wt = cr.tensor(w, requires_grad=True)
    assert gradcheck(lambda a, k: F.conv1d(a, k, padding="same", groups=2), (xt, wt))


def test_unfold_and_fold_are_adjoint():
    """<unfold(x), y> == <x, fold(y)> for every geometry: fold is the transpose of unfold."""
    rng = np.random.default_rng(3)
    for stride, padding, dilation in [(1, 0, 1), (2, 1, 1), ((1, 2), (2, 1), (2, 1)), (3, 2, 2)]:
        x = rng.standard_normal((2, 3, 8, 7))
        cols = F.unfold(cr.tensor(x), (3, 2), stride, padding, dilation)
        y = rng.standard_normal(cols.shape)
        back = F.fold(cr.tensor(y), x.shape, (3, 2), stride, padding, dilation)
        assert back.shape == x.shape
        np.testing.assert_allclose(np.sum(cols.numpy() * y), np.sum(x * back.numpy()), rtol=1e-10)


def test_unfold_fold_gradients_of_gradients():
    rng = np.random.default_rng(4)
    x = cr.tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=True)
    assert gradgradcheck(lambda a: F.unfold(a, 2, 2, 1) ** 2, (x,))
    cols = cr.tensor(rng.standard_normal((2 * 4, 1 * 3 * 3)), requires_grad=True)
    assert gradcheck(lambda c: F.fold(c, (1, 2, 4, 4), 2, 2, 1), (cols,), check_forward=True)


def test_float32_stays_float32_and_float64_stays_float64():
    conv = nn.Conv2d(2, 3, 3, padding=1)
    assert conv.weight.dtype == np.float32
    x = cr.randn(2, 2, 5, 5, requires_grad=True)
    y = conv(x)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32 and conv.weight.grad.dtype == np.float32
    conv.double()
    assert conv(cr.tensor(np.ones((1, 2, 5, 5)))).dtype == np.float64


def test_lenet5_shapes():
    x = cr.zeros((3, 1, 28, 28))
    layers = [nn.Conv2d(1, 6, 5, padding=2), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.MaxPool2d(2)]
    shapes = []
    for layer in layers:
        x = layer(x)
        shapes.append(x.shape)
    assert shapes == [(3, 6, 28, 28), (3, 6, 14, 14), (3, 16, 10, 10), (3, 16, 5, 5)]


def test_conv_layer_config_round_trip_and_init_bounds():
    cr.manual_seed(0)
    conv = nn.Conv2d(4, 8, (3, 2), stride=2, padding=(1, 0), dilation=1, groups=2,
                     bias=False)
    config = json.loads(json.dumps(conv.get_config()))
    clone = type(conv)(**config)
    assert clone.weight.shape == conv.weight.shape == (8, 2, 3, 2) and clone.bias is None
    assert clone.get_config() == config
    layer = nn.Conv1d(3, 5, 4, padding="same")
    assert type(layer)(**layer.get_config()).get_config() == layer.get_config()
    # PyTorch's default: U(±1/√fan_in) for weight and bias
    big = nn.Conv2d(16, 64, 3)
    bound = 1 / np.sqrt(16 * 9)
    assert np.abs(big.weight.numpy()).max() <= bound and np.abs(big.weight.numpy()).max() > 0.9 * bound
    assert np.abs(big.bias.numpy()).max() <= bound
    before = big.weight.numpy().copy()
    big.reset_parameters()
    assert not np.allclose(before, big.weight.numpy())
    assert "kernel_size=(3, 3)" in repr(big)


def test_conv_errors_name_the_problem():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(cr.ShapeError, match="Conv2d"):
        conv(cr.zeros((2, 1, 8, 8)))
    with pytest.raises(cr.ShapeError, match="batch"):
        conv(cr.zeros((3, 8, 8)))
    with pytest.raises(cr.ShapeError, match="smaller than"):
        conv(cr.zeros((1, 3, 2, 2)))
    with pytest.raises(cr.ShapeError, match="stride"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(cr.ShapeError, match="groups"):
        nn.Conv2d(3, 4, 3, groups=2)


@pytest.mark.parametrize("chunk_bytes", [1, 6000])
def test_cache_sized_row_chunks_give_the_same_result(monkeypatch, chunk_bytes):
    """The kernels unfold a few output rows at a time: one row, or several with a partial last chunk."""
    from chainrule.kernels import conv as conv_ops

    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 9, 7))
    w = rng.standard_normal((6, 2, 3, 2))
    b = rng.standard_normal(6)
    g = rng.standard_normal((2, 6, 5, 7))
    expected = reference_conv2d(x, w, b, (2, 1), (1, 1, 1, 1), (1, 2), 2)

    def run():
        xt, wt, bt = (cr.tensor(a, requires_grad=True) for a in (x, w, b))
        y = F.conv2d(xt, wt, bt, stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
        y.backward(cr.tensor(g))
        return y.numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()

    whole = run()
    monkeypatch.setattr(conv_ops, "CHUNK_BYTES", chunk_bytes)
    chunked = run()
    np.testing.assert_allclose(chunked[0], expected, rtol=1e-10, atol=1e-10)
    for a, b_ in zip(whole, chunked):
        np.testing.assert_allclose(a, b_, rtol=1e-10, atol=1e-12)
    small = cr.tensor(x[:1, :2, :5, :4], requires_grad=True)
    kernel = cr.tensor(w[:2, :1], requires_grad=True)
    assert gradgradcheck(lambda a, k: F.conv2d(a, k, padding=1, groups=2), (small, kernel))


def test_conv_pool_chain_in_batch_innermost_memory():
    """Conv outputs live in (C, H, W, N) memory; pools, ReLU and the next conv take them as they are."""
    rng = np.random.default_rng(6)
    x = cr.tensor(rng.standard_normal((2, 1, 8, 8)), requires_grad=True)
    w1 = cr.tensor(rng.standard_normal((3, 1, 3, 3)), requires_grad=True)
    w2 = cr.tensor(rng.standard_normal((2, 3, 2, 2)), requires_grad=True)

    def net(x, w1, w2):
        h = F.max_pool2d(cr.relu(F.conv2d(x, w1, padding=1)), 2)
        return F.avg_pool2d(F.conv2d(h, w2), 3, 1, 1, count_include_pad=False)

    y = net(x, w1, w2)
    h_ref = reference_conv2d(x.numpy(), w1.numpy(), None, (1, 1), (1, 1, 1, 1))
    h_ref = np.maximum(h_ref, 0).reshape(2, 3, 4, 2, 4, 2).max(axis=(3, 5))
    z_ref = reference_conv2d(h_ref, w2.numpy())
    np.testing.assert_allclose(F.avg_pool2d(cr.tensor(z_ref), 3, 1, 1, False).numpy(), y.numpy(), rtol=1e-10)
    assert gradcheck(net, (x, w1, w2), check_forward=True)
