"""PyTorch habits at the low level: what a PyTorch user types must work, or fail loudly.

Found by the QA pass over issues #2/#3: re-binding a Parameter (``layer.weight += 1``) silently
dropped it from ``parameters()``; an empty batch crashed convolution with ZeroDivisionError and
BatchNorm with a misleading message; integer images went through Conv2d/BatchNorm as float64.
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.errors import ConfigError, DTypeError, GraphError


def test_assigning_a_tensor_over_a_parameter_raises_instead_of_dropping_it():
    layer = nn.Linear(3, 2)
    with pytest.raises(TypeError, match=r"Linear\.weight is a Parameter"):
        layer.weight = cr.tensor(np.ones((2, 3), np.float32))
    with pytest.raises(GraphError, match="no_grad"):
        layer.weight += 1  # an in-place change of a leaf while a graph is recorded, as in PyTorch
    with cr.no_grad():
        before = layer.weight
        layer.weight += 1  # in place: the same Parameter, still registered
    assert layer.weight is before
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]


def test_assigning_a_parameter_or_none_over_a_parameter_still_works():
    layer = nn.Linear(3, 2)
    replacement = nn.Parameter(np.full((2, 3), 0.5, np.float32))
    layer.weight = replacement
    assert layer.weight is replacement and next(layer.parameters()) is replacement
    layer.bias = None
    assert layer.bias is None
    assert list(layer.state_dict()) == ["weight"]
    assert layer(cr.ones((1, 3))).data.tolist() == [[1.5, 1.5]]


def test_conv_on_an_empty_batch_gives_an_empty_output_and_zero_gradients():
    conv = nn.Conv2d(4, 2, 3, padding=1, groups=2)
    x = cr.tensor(np.zeros((0, 4, 5, 5), np.float32), requires_grad=True)
    y = conv(x)
    assert y.shape == (0, 2, 5, 5)
    y.sum().backward()
    assert x.grad.shape == (0, 4, 5, 5)
    assert not conv.weight.grad.data.any() and not conv.bias.grad.data.any()


def test_batchnorm_on_an_empty_batch_gives_an_empty_output_and_keeps_its_statistics():
    bn = nn.BatchNorm2d(3)
    bn.running_mean.data[...] = [1.0, 2.0, 3.0]
    x = cr.tensor(np.zeros((0, 3, 4, 4), np.float32), requires_grad=True)
    y = bn(x)
    assert y.shape == (0, 3, 4, 4) and y.dtype == np.float32
    y.sum().backward()
    assert bn.running_mean.data.tolist() == [1.0, 2.0, 3.0]
    assert bn.running_var.data.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("layer, shape", [(nn.Conv2d(1, 2, 3), (1, 1, 5, 5)), (nn.Conv1d(1, 2, 3), (1, 1, 5)),
                                          (nn.BatchNorm2d(1), (2, 1, 3, 3)), (nn.BatchNorm1d(1), (2, 1))])
def test_integer_input_to_a_float_layer_is_a_dtype_error(layer, shape):
    pixels = cr.tensor(np.zeros(shape, np.uint8))
    with pytest.raises(DTypeError, match=rf"{type(layer).__name__}.*uint8.*astype"):
        layer(pixels)


def test_replacing_a_sub_module_or_parameter_keeps_its_place_in_the_order():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    model.head = nn.Linear(2, 5)
    model.head = nn.Linear(2, 7)  # fine-tuning: swap the classifier for one with new classes
    model.__setattr__("0", nn.Linear(4, 3))
    assert [name for name, _ in model.named_children()] == ["0", "1", "2", "head"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias",
                                        "head.weight", "head.bias"]
    assert model.head.weight.shape == (7, 2)


def test_parameters_come_depth_first_like_pytorch():
    inner = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2)))
    model = nn.Sequential(inner, nn.Linear(2, 2))
    assert [name for name, _ in model.named_modules()] == ["", "0", "0.0", "0.1", "0.1.0", "1"]
    assert list(model.state_dict()) == ["0.0.weight", "0.0.bias", "0.1.0.weight", "0.1.0.bias",
                                        "1.weight", "1.bias"]
    assert [p.shape for p in model.parameters()] == [(2, 2), (2,)] * 3


def test_nested_model_parameters_zip_with_torch_by_position():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)), nn.Flatten(), nn.Linear(8, 3))
    theirs = torch.nn.Sequential(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2)),
                                 torch.nn.Flatten(), torch.nn.Linear(8, 3))
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_module_to_accepts_the_cpu_device_and_rejects_what_it_cannot_do():
    layer = nn.Linear(2, 2)
    assert layer.to("cpu") is layer and layer.weight.dtype == np.float32
    layer.to("cpu", np.float64)
    assert layer.weight.dtype == np.float64
    layer.to(dtype="float32")
    assert layer.bias.dtype == np.float32
    with pytest.raises(ConfigError, match="cuda.*cpu"):
        layer.to("cuda")
    with pytest.raises(ConfigError, match="floating"):
        layer.to(np.int64)
    assert layer.weight.dtype == np.float32


class _TiedLanguageModel(nn.Module):
    """An embedding whose matrix is also the output layer's weight (weight tying)."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Embedding(6, 4)
        self.decoder = nn.Linear(4, 6)
        self.decoder.weight = self.encoder.weight

    def forward(self, ids):
        return self.decoder(self.encoder(ids))


def test_a_tied_model_loads_its_own_state_dict_and_lists_the_tie_once_as_a_parameter():
    model = _TiedLanguageModel()
    state = model.state_dict()
    assert list(state) == ["encoder.weight", "decoder.weight", "decoder.bias"]
    model.load_state_dict(state)
    assert [name for name, _ in model.named_parameters()] == ["encoder.weight", "decoder.bias"]


def test_shared_modules_and_tied_weights_load_from_torch_under_every_name():
    torch = pytest.importorskip("torch")
    shared = torch.nn.Linear(3, 3)
    theirs = torch.nn.Sequential(shared, torch.nn.Tanh(), shared)
    layer = nn.Linear(3, 3)
    ours = nn.Sequential(layer, nn.Tanh(), layer)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(cr.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), atol=1e-6)


def test_forward_hooks_see_activations_and_can_be_removed():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    seen = []
    handle = model[1].register_forward_hook(lambda module, inputs, output: seen.append(output.shape))
    model(cr.zeros((5, 1, 4, 4)))
    assert seen == [(5, 2, 2, 2)]
    handle.remove()
    model(cr.zeros((5, 1, 4, 4)))
    assert len(seen) == 1


def test_hooks_that_return_values_replace_inputs_and_outputs():
    layer = nn.Linear(2, 1)
    nn.init.ones_(layer.weight)
    nn.init.zeros_(layer.bias)
    layer.register_forward_pre_hook(lambda module, inputs: inputs[0] * 2.0)
    layer.register_forward_hook(lambda module, inputs, output: output + 1.0)
    assert layer(cr.ones((1, 2))).data.tolist() == [[5.0]]


def test_freezing_with_requires_grad_and_own_parameters_with_recurse_false():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    assert model[0].requires_grad_(False) is model[0]
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True]
    assert list(model.parameters(recurse=False)) == []
    assert [name for name, _ in model[1].named_buffers(recurse=False)] == [
        "running_mean", "running_var", "num_batches_tracked"]
    assert model.get_submodule("1") is model[1] and model.cpu() is model
    with pytest.raises(AttributeError, match="'2'"):
        model.get_submodule("2")


def test_flatten_takes_pytorch_keywords():
    layer = nn.Flatten(start_dim=2, end_dim=3)
    assert layer(cr.zeros((2, 3, 4, 5, 6))).shape == (2, 3, 20, 6)
    assert type(layer)(**layer.get_config()).start_axis == 2
