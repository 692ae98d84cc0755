"""Linear, Dense and the fused linear primitive, against plain NumPy and (when installed) PyTorch."""

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.ops.fused_linear import Linear as LinearOp

rng = np.random.default_rng(0)


def leaf(array):
    return cr.Tensor(np.array(array, dtype=np.float64), requires_grad=True)


# ---------------------------------------------------------------- the fused primitive
@pytest.mark.parametrize("with_bias", [True, False])
def test_fused_linear_equals_the_composed_form_and_its_gradients(with_bias):
    x, w, b = rng.standard_normal((6, 4)), rng.standard_normal((3, 4)), rng.standard_normal(3)
    g = rng.standard_normal((6, 3))
    fused_in = [leaf(x), leaf(w), leaf(b)]
    composed_in = [leaf(x), leaf(w), leaf(b)]
    fused = F.linear(*fused_in[:2], fused_in[2] if with_bias else None)
    composed = composed_in[0] @ composed_in[1].T
    if with_bias:
        composed = composed + composed_in[2]
    assert isinstance(fused._node, LinearOp)
    np.testing.assert_allclose(fused.numpy(), composed.numpy(), rtol=1e-12)
    fused.backward(cr.Tensor(g))
    composed.backward(cr.Tensor(g))
    for a, b_ in zip(fused_in, composed_in):
        if b_.grad is None:
            assert a.grad is None
        else:
            np.testing.assert_allclose(a.grad.numpy(), b_.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("with_bias", [True, False])
def test_fused_linear_gradcheck_forward_mode_and_double_backward(with_bias):
    x, w, b = (leaf(rng.standard_normal(shape)) for shape in ((3, 4), (2, 4), (2,)))
    inputs = (x, w, b) if with_bias else (x, w)
    assert gradcheck(F.linear, inputs, check_forward=True)
    assert gradgradcheck(F.linear, inputs)


def test_fused_linear_skips_gradients_nobody_wants():
    x = rng.standard_normal((4, 3))
    w, b = leaf(rng.standard_normal((2, 3))), cr.Tensor(rng.standard_normal(2))
    out = F.linear(x, w, b)  # plain data in, a frozen bias
    grads = out._node.vjp(cr.Tensor(np.ones((4, 2))))
    assert grads[0] is None and grads[2] is None
    np.testing.assert_allclose(grads[1].numpy(), np.ones((2, 4)) @ x, rtol=1e-12)


def test_linear_of_a_batch_of_sequences_uses_the_last_axis():
    x, w, b = (leaf(rng.standard_normal(shape)) for shape in ((2, 3, 4), (5, 4), (5,)))
    out = F.linear(x, w, b)
    expected = np.einsum("nti,oi->nto", x.numpy(), w.numpy()) + b.numpy()
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    assert gradcheck(F.linear, (x, w, b), check_forward=True)


def test_fused_linear_keeps_float32():
    x = cr.Tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    layer = nn.Linear(3, 2)
    y = layer(x)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32 and layer.weight.grad.dtype == np.float32


def test_linear_rejects_a_wrong_bias():
    with pytest.raises(cr.ShapeError, match="bias"):
        F.linear(cr.ones((2, 3)), cr.ones((4, 3)), cr.ones(3))


# ---------------------------------------------------------------- nn.Linear
def test_linear_layer_matches_numpy_and_has_pytorch_layout():
    layer = nn.Linear(5, 3)
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    assert list(layer.state_dict()) == ["weight", "bias"]
    x = rng.standard_normal((7, 5)).astype(np.float32)
    expected = x @ layer.weight.numpy().T + layer.bias.numpy()
    np.testing.assert_allclose(layer(cr.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_linear_without_bias_registers_none():
    layer = nn.Linear(4, 2, bias=False)
    assert layer.bias is None and list(layer.state_dict()) == ["weight"]
    assert layer.get_config()["bias"] is False


def test_linear_default_init_is_pytorchs_uniform_bound():
    cr.manual_seed(3)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight.numpy(), layer.bias.numpy()):
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.95 * bound  # uniform, reaching the bound
    # variance of U(-a, a) is a²/3
    assert abs(layer.weight.numpy().var() - bound**2 / 3) < 0.05 * bound**2


def test_linear_reset_parameters_repeats_under_a_seed():
    layer = nn.Linear(4, 3)
    cr.manual_seed(11)
    layer.reset_parameters()
    first = layer.state_dict()
    cr.manual_seed(11)
    layer.reset_parameters()
    for key, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, first[key])


def test_linear_gradcheck_as_a_module():
    layer = nn.Linear(3, 2).double()
    x = leaf(rng.standard_normal((4, 3)))
    assert gradcheck(lambda x, w, b: layer(x), (x, layer.weight, layer.bias))


def test_linear_config_round_trip_and_repr():
    layer = nn.Linear(4, 2, bias=False)
    again = type(layer)(**layer.get_config())
    assert again.weight.shape == (2, 4) and again.bias is None
    assert "in_features=4, out_features=2, bias=False" in repr(layer)


def test_linear_wrong_width_names_the_layer():
    layer = nn.Linear(512, 10, name="fc")
    with pytest.raises(cr.ShapeError, match=r"Linear 'fc' expects \(batch, 512\), got \(8, 784\)"):
        layer(cr.ones((8, 784)))


def test_linear_matches_torch_with_weights_copied_by_name():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Linear(6, 4).double()
    ours = nn.Linear(6, 4).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((5, 6))
    g = rng.standard_normal((5, 4))
    tx = torch.tensor(x, requires_grad=True)
    theirs(tx).backward(torch.tensor(g))
    cx = leaf(x)
    out = ours(cx)
    out.backward(cr.Tensor(g))
    np.testing.assert_allclose(out.numpy(), theirs(tx).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), dict(theirs.named_parameters())[name].grad.numpy(),
                                   rtol=1e-12)


# ---------------------------------------------------------------- nn.Dense
def test_dense_builds_at_the_first_call():
    layer = nn.Dense(3)
    assert not layer.built and layer.weight is None and list(layer.state_dict()) == []
    x = rng.standard_normal((2, 5)).astype(np.float32)
    y = layer(cr.tensor(x))
    assert layer.built and layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    expected = x @ layer.weight.numpy().T + layer.bias.numpy()
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert np.all(layer.bias.numpy() == 0)  # bias_initializer="zeros"


def test_dense_glorot_uniform_bound():
    cr.manual_seed(0)
    layer = nn.Dense(200, input_dim=300)
    bound = math.sqrt(6 / (300 + 200))
    assert np.abs(layer.weight.numpy()).max() <= bound
    assert np.abs(layer.weight.numpy()).max() > 0.95 * bound


def test_dense_input_shape_or_input_dim_build_at_construction():
    assert nn.Dense(4, input_shape=(7,)).weight.shape == (4, 7)
    assert nn.Dense(4, input_dim=7).weight.shape == (4, 7)
    layer = nn.Dense(4)
    layer.build((None, 9))
    assert layer.built and layer.weight.shape == (4, 9)


def test_dense_activation_by_name_and_none():
    x = cr.tensor(rng.standard_normal((3, 4)).astype(np.float32))
    relu_layer = nn.Dense(5, activation="relu", input_dim=4)
    pre = x.numpy() @ relu_layer.weight.numpy().T + relu_layer.bias.numpy()
    np.testing.assert_allclose(relu_layer(x).numpy(), np.maximum(pre, 0), rtol=1e-5, atol=1e-6)
    soft = nn.Dense(5, activation="softmax", input_dim=4)(x).numpy()
    np.testing.assert_allclose(soft.sum(axis=1), 1, rtol=1e-5)
    assert nn.Dense(2, activation=None).activation is None
    assert nn.Dense(2, activation="linear").activation is None


def test_dense_wrong_width_error_names_the_layer_and_hints():
    layer = nn.Dense(10, input_dim=512, name="dense_2")
    with pytest.raises(cr.ShapeError, match=r"Dense 'dense_2' expects \(batch, 512\), got \(128, 784\)"):
        layer(cr.ones((128, 784)))
    with pytest.raises(cr.ShapeError, match="Flatten missing"):
        layer(cr.ones((4, 28, 28)))


def test_dense_auto_names_are_keras_style_and_unique():
    names = [nn.Dense(1).name for _ in range(3)]
    assert len(set(names)) == 3 and all(n.startswith("dense") for n in names)


def test_dense_config_round_trip_gives_a_built_equivalent_layer():
    layer = nn.Dense(3, activation="tanh", use_bias=False, kernel_initializer="he_normal")
    assert type(layer)(**layer.get_config()).built is False
    layer(cr.ones((2, 6)))
    config = layer.get_config()
    again = type(layer)(**config)
    assert again.built and again.weight.shape == (3, 6) and again.bias is None
    assert config["activation"] == "tanh" and config["kernel_initializer"] == "he_normal"
    again.load_state_dict(layer.state_dict())
    x = cr.tensor(rng.standard_normal((2, 6)).astype(np.float32))
    np.testing.assert_allclose(again(x).numpy(), layer(x).numpy())


def test_dense_with_an_activation_that_a_name_cannot_describe_refuses_to_give_a_config():
    layer = nn.Dense(3, activation=nn.LeakyReLU(0.2))
    y = layer(cr.tensor([[-1.0, 2.0]]))
    pre = y.numpy()  # compare with the formula
    z = np.array([[-1.0, 2.0]], dtype=np.float32) @ layer.weight.numpy().T + layer.bias.numpy()
    np.testing.assert_allclose(pre, np.where(z > 0, z, 0.2 * z), rtol=1e-6)
    with pytest.raises(ValueError, match="no registered name"):
        layer.get_config()
    assert nn.Dense(3, activation=nn.ReLU()).get_config()["activation"] == "relu"


def test_dense_gradcheck():
    layer = nn.Dense(2, activation="sigmoid", input_dim=3).double()
    x = leaf(rng.standard_normal((4, 3)))
    assert gradcheck(lambda x, w, b: layer(x), (x, layer.weight, layer.bias))
