"""Sequential (both styles), ModuleList, ModuleDict, and the shape layers Flatten, Reshape, Identity."""

from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.autograd import gradcheck

rng = np.random.default_rng(2)


def numpy_mlp(model, x):
    h = np.maximum(x @ model[0].weight.numpy().T + model[0].bias.numpy(), 0)
    return h @ model[2].weight.numpy().T + model[2].bias.numpy()


def test_sequential_pytorch_and_keras_styles_agree():
    layers = [nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)]
    torch_style = nn.Sequential(*layers)
    keras_style = nn.Sequential(layers)
    added = nn.Sequential()
    for layer in layers:
        added.add(layer)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    expected = numpy_mlp(torch_style, x)
    for model in (torch_style, keras_style, added):
        np.testing.assert_allclose(model(cr.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)
        assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_sequential_indexing_len_iteration_and_slices():
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    assert len(model) == 3 and isinstance(model[1], nn.Tanh) and model[-1] is model[2]
    assert [type(m).__name__ for m in model] == ["Linear", "Tanh", "Linear"]
    assert model.layers == list(model)
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is model[0]
    assert model["2"] is model[2]
    assert model.pop() is not None and len(model) == 2


def test_sequential_of_named_layers_and_its_repr():
    model = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(model.state_dict()) == ["fc.weight", "fc.bias"]
    text = repr(model)
    assert "(fc): Linear(in_features=2, out_features=2, bias=True)" in text and "(act): ReLU()" in text


def test_sequential_matches_torch_with_state_dict_copied():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 2)).double()
    ours = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2)).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(ours(cr.Tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12)


def test_sequential_gradcheck_through_lazy_dense():
    model = nn.Sequential([nn.Dense(3, activation="tanh"), nn.Dense(2)])
    model(cr.ones((1, 4)))  # build
    model.double()
    x = cr.Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    assert gradcheck(model, (x,))


def test_containers_reject_non_layers_with_a_hint():
    with pytest.raises(TypeError, match="nn.ReLU instead of nn.ReLU()"):
        nn.Sequential(nn.ReLU)
    with pytest.raises(TypeError):
        nn.ModuleList([3])


def test_modulelist_registers_parameters():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
            self.blocks.append(nn.Linear(2, 1))

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    net = Net()
    assert len(net.blocks) == 3 and net.blocks[-1].out_features == 1
    assert list(net.state_dict())[:2] == ["blocks.0.weight", "blocks.0.bias"]
    assert len(list(net.parameters())) == 6
    net.blocks.insert(0, nn.Identity())
    assert isinstance(net.blocks[0], nn.Identity) and "blocks.3.weight" in net.state_dict()
    del net.blocks[0]
    assert "blocks.3.weight" not in net.state_dict()
    assert net(cr.ones((1, 2))).shape == (1, 1)


def test_moduledict_registers_parameters():
    heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})
    heads["c"] = nn.Linear(2, 2, bias=False)
    assert set(heads) == {"a", "b", "c"} and "b" in heads and len(heads) == 3
    assert "c.weight" in heads.state_dict() and "c.bias" not in heads.state_dict()
    assert heads["b"].out_features == 3
    assert [k for k, _ in heads.items()] == ["a", "b", "c"]


# ---------------------------------------------------------------- shape layers
def test_flatten_matches_numpy_reshape():
    x = rng.standard_normal((2, 3, 4, 5))
    np.testing.assert_array_equal(nn.Flatten()(cr.Tensor(x)).numpy(), x.reshape(2, -1))
    np.testing.assert_array_equal(nn.Flatten(1, 2)(cr.Tensor(x)).numpy(), x.reshape(2, 12, 5))
    assert gradcheck(nn.Flatten(), (cr.Tensor(x[:, :2, :2, :2].copy(), requires_grad=True),))


def test_reshape_is_per_sample():
    x = rng.standard_normal((3, 784))
    y = nn.Reshape((1, 28, 28))(cr.Tensor(x))
    np.testing.assert_array_equal(y.numpy(), x.reshape(3, 1, 28, 28))
    assert nn.Reshape((-1, 7))(cr.Tensor(x)).shape == (3, 112, 7)
    with pytest.raises(cr.ShapeError, match="Reshape"):
        nn.Reshape((5, 5))(cr.Tensor(x))


def test_identity_and_configs_round_trip():
    x = cr.randn(2, 2)
    assert nn.Identity(54, unused="ignored")(x) is x
    for layer in (nn.Flatten(2), nn.Reshape((4, 2)), nn.Identity()):
        again = type(layer)(**layer.get_config())
        assert again.get_config() == layer.get_config()
