"""BatchNorm and LayerNorm against plain NumPy: train vs eval, running statistics, gradients."""

import json

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.autograd import gradcheck, gradgradcheck


def numpy_batch_norm_train(x, gamma, beta, eps):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mu = x.mean(axis=axes)
    var = x.var(axis=axes)  # biased, for normalising
    y = (x - mu.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return y * gamma.reshape(shape) + beta.reshape(shape), mu, x.var(axis=axes, ddof=1)


@pytest.mark.parametrize("layer_class,shape", [(nn.BatchNorm1d, (8, 3)), (nn.BatchNorm1d, (4, 3, 5)),
                                               (nn.BatchNorm2d, (4, 3, 2, 5))])
def test_batch_norm_train_then_eval_matches_numpy(layer_class, shape):
    rng = np.random.default_rng(0)
    layer = layer_class(3, momentum=0.2).double()
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    layer.weight.data[...] = gamma
    layer.bias.data[...] = beta
    running_mean, running_var = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = rng.standard_normal(shape) * 2 + 1
        y = layer(cr.tensor(x))
        expected, mu, unbiased = numpy_batch_norm_train(x, gamma, beta, 1e-5)
        np.testing.assert_allclose(y.numpy(), expected, rtol=1e-10, atol=1e-10)
        running_mean = 0.8 * running_mean + 0.2 * mu
        running_var = 0.8 * running_var + 0.2 * unbiased
    np.testing.assert_allclose(layer.running_mean.numpy(), running_mean, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var.numpy(), running_var, rtol=1e-12)
    assert int(layer.num_batches_tracked.item()) == 3 and layer.num_batches_tracked.dtype == np.int64

    layer.eval()
    x = rng.standard_normal(shape)
    stats = (1, -1) + (1,) * (len(shape) - 2)
    expected = ((x - running_mean.reshape(stats)) / np.sqrt(running_var.reshape(stats) + 1e-5)
                * gamma.reshape(stats) + beta.reshape(stats))
    np.testing.assert_allclose(layer(cr.tensor(x)).numpy(), expected, rtol=1e-10, atol=1e-10)
    assert int(layer.num_batches_tracked.item()) == 3  # eval does not touch the statistics


def test_batch_norm_cumulative_average_and_no_running_stats():
    rng = np.random.default_rng(1)
    layer = nn.BatchNorm1d(2, momentum=None).double()
    batches = [rng.standard_normal((6, 2)) for _ in range(3)]
    for x in batches:
        layer(cr.tensor(x))
    np.testing.assert_allclose(layer.running_mean.numpy(), np.mean([b.mean(0) for b in batches], axis=0))
    free = nn.BatchNorm2d(2, track_running_stats=False, affine=False)
    assert list(free.state_dict()) == [] and free.weight is None
    x = rng.standard_normal((3, 2, 2, 2)).astype(np.float32)
    free.eval()  # without running statistics, eval still normalises with the batch's
    y = free(cr.tensor(x)).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)


def test_batch_norm_keeps_float32_and_state_dict_names():
    layer = nn.BatchNorm2d(4)
    y = layer(cr.randn(2, 4, 3, 3))
    assert y.dtype == np.float32 and layer.running_var.dtype == np.float32
    names = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert list(layer.state_dict()) == names
    config = json.loads(json.dumps(layer.get_config()))
    assert type(layer)(**config).get_config() == config
    with pytest.raises(cr.ShapeError, match="more than one value"):
        nn.BatchNorm1d(4)(cr.randn(1, 4))
    with pytest.raises(cr.ShapeError, match="BatchNorm2d"):
        layer(cr.randn(2, 3, 3, 3))


def test_batch_norm_gradients_in_training_mode():
    rng = np.random.default_rng(2)
    x = cr.tensor(rng.standard_normal((4, 2, 3)), requires_grad=True)
    w = cr.tensor(rng.standard_normal(2), requires_grad=True)
    b = cr.tensor(rng.standard_normal(2), requires_grad=True)

    def f(x, w, b):
        return F.batch_norm(x, None, None, w, b, training=True)

    assert gradcheck(f, (x, w, b))
    assert gradgradcheck(f, (x, w, b))


def test_layer_norm_matches_numpy_and_gradcheck():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4, 5))
    layer = nn.LayerNorm((4, 5)).double()
    layer.weight.data[...] = rng.standard_normal((4, 5))
    layer.bias.data[...] = rng.standard_normal((4, 5))
    mu = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)
    expected = (x - mu) / np.sqrt(var + 1e-5) * layer.weight.numpy() + layer.bias.numpy()
    np.testing.assert_allclose(layer(cr.tensor(x)).numpy(), expected, rtol=1e-10, atol=1e-10)
    small = cr.tensor(x[:1, :2, 0, :3], requires_grad=True)
    w = cr.tensor(rng.standard_normal(3), requires_grad=True)
    assert gradcheck(lambda a, w: F.layer_norm(a, 3, w, None), (small, w))
    config = json.loads(json.dumps(layer.get_config()))
    assert type(layer)(**config).get_config() == config
    with pytest.raises(cr.ShapeError, match="trailing"):
        layer(cr.randn(2, 5, 4))
