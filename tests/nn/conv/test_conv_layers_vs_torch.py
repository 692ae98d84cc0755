"""Outputs and gradients of the convolution-family layers against PyTorch, weights copied across by name."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn

torch = pytest.importorskip("torch")


def _copy_weights(ours, theirs):
    """Load torch's state_dict into ours by name: names and shapes must agree exactly."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _compare(ours, theirs, x, rtol=1e-9, atol=1e-9, train=True):
    """Same input, same upstream gradient: outputs, input gradients and parameter gradients agree."""
    ours.train(train)
    theirs.train(train)
    xc = cr.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    y, yt = ours(xc), theirs(xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=rtol, atol=atol)
    g = np.random.default_rng(9).standard_normal(y.shape)
    y.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=atol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)


@pytest.mark.filterwarnings("ignore:Using padding=.same.:UserWarning")
@pytest.mark.parametrize("args,kwargs", [
    ((4, 6, 3), {}),
    ((4, 6, (3, 2)), {"stride": 2, "padding": (1, 2), "dilation": (1, 2), "groups": 2}),
    ((4, 4, 4), {"padding": "same", "groups": 4, "bias": False}),
    ((4, 2, 3), {"padding": "valid", "dilation": 2}),
])
def test_conv2d_like_torch(args, kwargs):
    ours, theirs = nn.Conv2d(*args, **kwargs).double(), torch.nn.Conv2d(*args, **kwargs).double()
    _copy_weights(ours, theirs)
    _compare(ours, theirs, np.random.default_rng(0).standard_normal((3, 4, 9, 8)))


@pytest.mark.parametrize("kwargs", [{}, {"stride": 2, "padding": 2, "dilation": 2, "groups": 2},
                                    {"padding": "same"}])
def test_conv1d_like_torch(kwargs):
    ours, theirs = nn.Conv1d(4, 6, 4, **kwargs).double(), torch.nn.Conv1d(4, 6, 4, **kwargs).double()
    _copy_weights(ours, theirs)
    _compare(ours, theirs, np.random.default_rng(1).standard_normal((2, 4, 13)))


def test_conv2d_float32_at_lenet_shapes_like_torch():
    ours, theirs = nn.Conv2d(1, 6, 5, padding=2), torch.nn.Conv2d(1, 6, 5, padding=2)
    _copy_weights(ours, theirs)
    x = np.random.default_rng(2).standard_normal((8, 1, 28, 28)).astype(np.float32)
    _compare(ours, theirs, x, rtol=1e-3, atol=1e-3)  # float32 sums over 6,272 terms


@pytest.mark.parametrize("ours,theirs,shape", [
    (nn.MaxPool2d(2), torch.nn.MaxPool2d(2), (2, 3, 8, 6)),
    (nn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1), (2, 3, 9, 7)),
    (nn.MaxPool2d(2, 1, dilation=2), torch.nn.MaxPool2d(2, 1, dilation=2), (2, 3, 7, 7)),
    (nn.AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1), (2, 3, 9, 7)),
    (nn.AvgPool2d(3, 2, 1, count_include_pad=False), torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False),
     (2, 3, 9, 7)),
    (nn.MaxPool1d(3, 2, 1), torch.nn.MaxPool1d(3, 2, 1), (2, 3, 10)),
    (nn.AvgPool1d(2), torch.nn.AvgPool1d(2), (2, 3, 10)),
])
def test_pools_like_torch(ours, theirs, shape):
    _compare(ours, theirs, np.random.default_rng(3).standard_normal(shape))


@pytest.mark.parametrize("ours_class,theirs_class,shape", [
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (6, 3)),
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (4, 3, 5)),
    (nn.BatchNorm2d, torch.nn.BatchNorm2d, (4, 3, 5, 2)),
])
def test_batch_norm_like_torch_including_running_stats(ours_class, theirs_class, shape):
    ours, theirs = ours_class(3, momentum=0.3).double(), theirs_class(3, momentum=0.3).double()
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.uniform_(-0.5, 0.5)
    _copy_weights(ours, theirs)
    rng = np.random.default_rng(4)
    for _ in range(2):
        _compare(ours, theirs, rng.standard_normal(shape) * 3 + 1)
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[name], value.numpy(), rtol=1e-10, err_msg=name)
    ours.zero_grad()
    theirs.zero_grad()
    _compare(ours, theirs, rng.standard_normal(shape), train=False)


def test_layer_norm_like_torch():
    ours, theirs = nn.LayerNorm((3, 4)).double(), torch.nn.LayerNorm((3, 4)).double()
    with torch.no_grad():
        theirs.weight.normal_()
        theirs.bias.normal_()
    _copy_weights(ours, theirs)
    _compare(ours, theirs, np.random.default_rng(5).standard_normal((2, 5, 3, 4)))


def test_embedding_like_torch():
    ours, theirs = nn.Embedding(7, 4, padding_idx=0), torch.nn.Embedding(7, 4, padding_idx=0)
    _copy_weights(ours, theirs)
    indices = np.array([[0, 3, 6], [3, 3, 0]])
    y, yt = ours(indices), theirs(torch.tensor(indices))
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy())
    g = np.random.default_rng(6).standard_normal(y.shape).astype(np.float32)
    y.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-6, atol=1e-6)
