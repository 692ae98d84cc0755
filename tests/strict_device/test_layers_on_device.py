"""Every layer and every loss, forward and backward, on the device under test, equal to the same on NumPy."""

import copy

import numpy as np
import pytest
from device_under_test import RTOL, DeviceArray, to_host, xp

import chainrule as cr
from chainrule import gpu, nn


def _floats(*shape):
    return lambda rng: rng.standard_normal(shape)


def _indices(high, *shape):
    return lambda rng: rng.integers(0, high, shape)


LAYERS = {
    "Linear": (lambda: nn.Linear(4, 3), _floats(5, 4)),
    "Dense": (lambda: nn.Dense(3, activation="relu"), _floats(5, 4)),
    "ReLU": (nn.ReLU, _floats(2, 3)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.1), _floats(2, 3)),
    "Sigmoid": (nn.Sigmoid, _floats(2, 3)),
    "Tanh": (nn.Tanh, _floats(2, 3)),
    "Softplus": (nn.Softplus, _floats(2, 3)),
    "Softmax": (nn.Softmax, _floats(2, 3)),
    "LogSoftmax": (nn.LogSoftmax, _floats(2, 3)),
    "Step": (nn.Step, _floats(2, 3)),
    "Heaviside": (nn.Heaviside, _floats(2, 3)),
    "Conv1d": (lambda: nn.Conv1d(2, 3, 3, padding=1), _floats(2, 2, 7)),
    "Conv2d": (lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1), _floats(2, 2, 7, 7)),
    "MaxPool1d": (lambda: nn.MaxPool1d(2), _floats(2, 2, 8)),
    "AvgPool1d": (lambda: nn.AvgPool1d(2), _floats(2, 2, 8)),
    "MaxPool2d": (lambda: nn.MaxPool2d(2), _floats(2, 2, 6, 6)),
    "AvgPool2d": (lambda: nn.AvgPool2d(3, stride=2, padding=1), _floats(2, 2, 6, 6)),
    "GlobalAvgPool2d": (nn.GlobalAvgPool2d, _floats(2, 2, 4, 4)),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(3), _floats(6, 3)),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(2), _floats(3, 2, 4, 4)),
    "LayerNorm": (lambda: nn.LayerNorm(4), _floats(3, 4)),
    "Embedding": (lambda: nn.Embedding(10, 4, padding_idx=0), _indices(10, 3, 5)),
    "RNN": (lambda: nn.RNN(3, 4, num_layers=2), _floats(5, 2, 3)),
    "LSTM": (lambda: nn.LSTM(3, 4, batch_first=True), _floats(2, 5, 3)),
    "GRU": (lambda: nn.GRU(3, 4), _floats(5, 2, 3)),
    "RNNCell": (lambda: nn.RNNCell(3, 4), _floats(2, 3)),
    "LSTMCell": (lambda: nn.LSTMCell(3, 4), _floats(2, 3)),
    "GRUCell": (lambda: nn.GRUCell(3, 4), _floats(2, 3)),
    "Flatten": (nn.Flatten, _floats(2, 3, 4)),
    "Reshape": (lambda: nn.Reshape((4, 3)), _floats(2, 3, 4)),
    "Identity": (nn.Identity, _floats(2, 3)),
    # the layers PyTorch's door added (#12)
    "ELU": (nn.ELU, _floats(2, 3)),
    "GELU": (nn.GELU, _floats(2, 3)),
    "SELU": (nn.SELU, _floats(2, 3)),
    "SiLU": (nn.SiLU, _floats(2, 3)),
    "PReLU": (nn.PReLU, _floats(2, 3)),
    "Hardtanh": (nn.Hardtanh, _floats(2, 3)),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1),
                        _floats(2, 2, 4, 4)),
    "AdaptiveAvgPool2d": (lambda: nn.AdaptiveAvgPool2d((2, 3)), _floats(2, 2, 5, 7)),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4), _floats(3, 4, 3, 3)),
    "Upsample": (lambda: nn.Upsample(scale_factor=2), _floats(2, 2, 3, 3)),
    "Dropout2d": (lambda: nn.Dropout2d(0.5).eval(), _floats(2, 2, 3, 3)),
    "Sequential": (lambda: nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.0), nn.Linear(8, 2)),
                   _floats(3, 4)),
}


def _first(output):
    return output[0] if isinstance(output, tuple) else output


def _run(layer, x):
    cr.manual_seed(5)  # the same weights for a layer built at its first call
    out = _first(layer(x))
    weights = np.random.default_rng(2).standard_normal(out.shape)
    (out * cr.Tensor(weights if isinstance(out._data, np.ndarray) else xp.asarray(weights))).sum().backward()
    return out


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_runs_on_the_device_as_on_numpy(name):
    make, draw = LAYERS[name]
    cr.manual_seed(0)
    host_layer = make().double()
    array = draw(np.random.default_rng(1))
    if array.dtype.kind == "f" and name != "Embedding":
        host_x = cr.Tensor(array, requires_grad=True)
        device_x = cr.Tensor(xp.asarray(array), requires_grad=True)
    else:
        host_x, device_x = cr.Tensor(array), cr.Tensor(xp.asarray(array))
    if name == "Dense":  # built at its first call, on the device of what it is given
        device_layer = copy.deepcopy(host_layer)
    else:
        device_layer = gpu.move_module(copy.deepcopy(host_layer), xp)
    expected, got = _run(host_layer, host_x), _run(device_layer, device_x)
    assert isinstance(got._data, DeviceArray)
    np.testing.assert_allclose(to_host(got._data), expected._data, rtol=RTOL, atol=RTOL)
    if host_x.requires_grad:
        np.testing.assert_allclose(to_host(device_x.grad._data), host_x.grad._data, rtol=RTOL, atol=RTOL)
    for (pname, p), (_, q) in zip(host_layer.named_parameters(), device_layer.named_parameters()):
        assert isinstance(q._data, DeviceArray), f"{name}.{pname} is not on the device"
        np.testing.assert_allclose(to_host(q.grad._data), p.grad._data, rtol=RTOL, atol=RTOL, err_msg=pname)
    for (bname, b), (_, c) in zip(host_layer.named_buffers(), device_layer.named_buffers()):
        np.testing.assert_allclose(to_host(c._data), b._data, rtol=RTOL, atol=RTOL, err_msg=bname)


def test_dropout_draws_its_mask_on_the_device_and_repeats_when_seeded():
    layer = nn.Dropout(0.5)
    x = cr.Tensor(xp.ones((64, 32)))
    cr.manual_seed(3)
    first = layer(x)._data
    cr.manual_seed(3)
    second = layer(x)._data
    assert isinstance(first, DeviceArray)
    kept = to_host(first)
    assert set(np.unique(kept)) == {0.0, 2.0} and 0.4 < (kept > 0).mean() < 0.6
    np.testing.assert_array_equal(kept, to_host(second))
    layer.eval()
    assert layer(x) is x


LOSSES = {
    "MSELoss": (nn.MSELoss(), _floats(4, 3), _floats(4, 3)),
    "L1Loss": (nn.L1Loss(), _floats(4, 3), _floats(4, 3)),
    "HuberLoss": (nn.HuberLoss(), _floats(4, 3), _floats(4, 3)),
    "SSELoss": (nn.SSELoss(), _floats(4, 3), _floats(4, 3)),
    "CrossEntropyLoss": (nn.CrossEntropyLoss(label_smoothing=0.1), _floats(4, 5), _indices(5, 4)),
    "NLLLoss": (nn.NLLLoss(), _floats(4, 5), _indices(5, 4)),
    "MultiMarginLoss": (nn.MultiMarginLoss(), _floats(4, 5), _indices(5, 4)),
    "BCEWithLogitsLoss": (nn.BCEWithLogitsLoss(), _floats(4, 3),
                          lambda rng: rng.integers(0, 2, (4, 3)) * 1.0),
    "BCELoss": (nn.BCELoss(), lambda rng: rng.uniform(0.1, 0.9, (4, 3)),
                lambda rng: rng.integers(0, 2, (4, 3)) * 1.0),
    "HingeLoss": (nn.HingeLoss(), _floats(4, 3), lambda rng: rng.choice([-1.0, 1.0], (4, 3))),
    "SparseCategoricalCrossentropy": (nn.SparseCategoricalCrossentropy(from_logits=True), _floats(4, 5),
                                      _indices(5, 4)),
    "CategoricalCrossentropy": (nn.CategoricalCrossentropy(from_logits=True), _floats(4, 5),
                                lambda rng: np.eye(5)[rng.integers(0, 5, 4)]),
    "BinaryCrossentropy": (nn.BinaryCrossentropy(from_logits=True), _floats(4, 1),
                           lambda rng: rng.integers(0, 2, (4, 1)) * 1.0),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_runs_on_the_device_as_on_numpy(name):
    loss, draw_input, draw_target = LOSSES[name]
    rng = np.random.default_rng(4)
    prediction, target = draw_input(rng), draw_target(rng)
    host_p = cr.Tensor(prediction, requires_grad=True)
    device_p = cr.Tensor(xp.asarray(prediction), requires_grad=True)
    expected, got = loss(host_p, cr.Tensor(target)), loss(device_p, cr.Tensor(xp.asarray(target)))
    expected.backward()
    got.backward()
    assert isinstance(got._data, DeviceArray) and isinstance(device_p.grad._data, DeviceArray)
    np.testing.assert_allclose(to_host(got._data), expected._data, rtol=RTOL)
    np.testing.assert_allclose(to_host(device_p.grad._data), host_p.grad._data, rtol=RTOL, atol=RTOL)
