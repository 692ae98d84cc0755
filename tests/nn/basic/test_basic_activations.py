"""Activation functions and layers against plain NumPy formulas, gradcheck, and PyTorch."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.nn.layers import activation

rng = np.random.default_rng(1)


def leaf(array):
    return cr.Tensor(np.array(array, dtype=np.float64), requires_grad=True)


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


REFERENCES = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.Softplus(), lambda x: np.log1p(np.exp(x))),
    (nn.Softplus(beta=2.0), lambda x: np.log1p(np.exp(2 * x)) / 2),
    (nn.Softmax(), lambda x: np_softmax(x, -1)),
    (nn.Softmax(axis=0), lambda x: np_softmax(x, 0)),
    (nn.LogSoftmax(), lambda x: np.log(np_softmax(x, -1))),
    (nn.Step(), lambda x: (x >= 0).astype(x.dtype)),
]


@pytest.mark.parametrize("layer, reference", REFERENCES, ids=lambda v: type(v).__name__)
def test_activation_forward_matches_numpy(layer, reference):
    x = rng.standard_normal((4, 5)) * 3
    np.testing.assert_allclose(layer(cr.Tensor(x)).data, reference(x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layer, reference", REFERENCES[:-1], ids=lambda v: type(v).__name__)
def test_activation_gradients(layer, reference):
    x = rng.standard_normal((3, 4))
    x[np.abs(x) < 0.05] = 0.5  # keep finite differences away from the kinks of relu / leaky relu
    assert gradcheck(layer, (leaf(x),), check_forward=True)


@pytest.mark.parametrize("layer", [nn.Sigmoid(), nn.Tanh(), nn.Softplus(), nn.Softmax(), nn.LogSoftmax()],
                         ids=lambda v: type(v).__name__)
def test_smooth_activations_double_backward(layer):
    assert gradgradcheck(layer, (leaf(rng.standard_normal((2, 3))),))


def test_step_is_one_at_zero_and_has_zero_gradient():
    x = leaf([-2.0, -1e-9, 0.0, 1e-9, 3.0])
    y = F.step(x)
    np.testing.assert_array_equal(y.data, [0, 0, 1, 1, 1])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(5))
    assert nn.Heaviside is nn.Step and F.heaviside is F.step


def test_relu_gradient_at_zero_is_zero():
    x = leaf([-1.0, 0.0, 2.0])
    nn.ReLU()(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 0, 1])


def test_softplus_is_finite_for_large_inputs():
    y = F.softplus(cr.tensor([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(y.data, [0.0, np.log(2), 1000.0], rtol=1e-6)


def test_softmax_accepts_pytorch_dim():
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(F.softmax(cr.Tensor(x), dim=0).data, np_softmax(x, 0), rtol=1e-12)
    assert nn.Softmax(dim=0).axis == 0


def test_registry_gives_fresh_layers_and_none_for_linear():
    assert isinstance(activation.get("relu"), nn.ReLU)
    assert activation.get("relu") is not activation.get("relu")
    assert isinstance(activation.get("Softmax"), nn.Softmax)
    assert isinstance(activation.get("heaviside"), nn.Step)
    assert activation.get(None) is None and activation.get("linear") is None
    layer = nn.Tanh()
    assert activation.get(layer) is layer
    with pytest.raises(ValueError, match="unknown activation 'relux'"):
        activation.get("relux")
    assert activation.name_of(nn.LeakyReLU()) == "leaky_relu" and activation.name_of(None) == "linear"
    assert activation.name_of(nn.LeakyReLU(0.2)) is None  # the name alone would lose the slope


@pytest.mark.parametrize("layer", [nn.ReLU(), nn.LeakyReLU(0.3), nn.Softplus(beta=2.0), nn.Softmax(axis=0),
                                   nn.LogSoftmax(), nn.Step()], ids=lambda v: type(v).__name__)
def test_activation_config_round_trip(layer):
    again = type(layer)(**layer.get_config())
    x = cr.Tensor(rng.standard_normal((3, 2)))
    np.testing.assert_array_equal(again(x).data, layer(x).data)
    layer.reset_parameters()  # nothing to do, but part of every layer's contract
    assert list(layer.state_dict()) == []


def test_activations_match_torch():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    pairs = [(nn.ReLU(), tnn.ReLU()), (nn.Sigmoid(), tnn.Sigmoid()), (nn.Tanh(), tnn.Tanh()),
             (nn.LeakyReLU(0.1), tnn.LeakyReLU(0.1)), (nn.Softplus(beta=1.5), tnn.Softplus(beta=1.5)),
             (nn.Softmax(axis=1), tnn.Softmax(dim=1)), (nn.LogSoftmax(axis=1), tnn.LogSoftmax(dim=1))]
    x = rng.standard_normal((4, 6)) * 4
    g = rng.standard_normal((4, 6))
    for ours, theirs in pairs:
        cx, tx = leaf(x), torch.tensor(x, requires_grad=True)
        out, tout = ours(cx), theirs(tx)
        out.backward(cr.Tensor(g))
        tout.backward(torch.tensor(g))
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(cx.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_activations_keep_float32():
    x = cr.tensor(rng.standard_normal((2, 3)).astype(np.float32))
    for layer, _ in REFERENCES:
        assert layer(x).dtype == np.float32, type(layer).__name__
