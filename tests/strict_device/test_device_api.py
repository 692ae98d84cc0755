"""PyTorch's device door on the device under test: cr.device, device=, .to, .cuda, .cpu, .numpy."""

import numpy as np
import pytest
from device_under_test import DeviceArray, to_host

import chainrule as cr
from chainrule import nn


def test_tensors_move_to_the_device_and_back():
    host = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    on_device = host.to("cuda")
    assert isinstance(on_device._data, DeviceArray) and on_device.device.type == "cuda" and on_device.is_cuda
    assert host.cuda().device == on_device.device and host.to(cr.device("cuda")).is_cuda
    back = (on_device * 2).cpu()
    assert back.device == cr.device("cpu")
    np.testing.assert_array_equal(back.numpy(), [[2.0, 4.0], [6.0, 8.0]])
    assert on_device.to("cuda") is on_device


def test_numpy_of_a_device_tensor_says_to_use_cpu_first():
    on_device = cr.ones(3, device="cuda")
    message = r"can't convert cuda:0 device type tensor to numpy\. Use Tensor\.cpu\(\)"
    with pytest.raises(TypeError, match=message):
        on_device.numpy()
    with pytest.raises(TypeError):
        np.asarray(on_device)


@pytest.mark.parametrize("make", [cr.zeros, cr.ones, cr.randn, cr.rand])
def test_creation_functions_take_a_device(make):
    made = make(2, 3, device="cuda")
    assert isinstance(made._data, DeviceArray) and made.shape == (2, 3)


def test_module_to_moves_parameters_gradients_and_buffers():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model(cr.randn(5, 3)).sum().backward()
    assert model.to("cuda") is model
    assert all(isinstance(t._data, DeviceArray) for t in [*model.parameters(), *model.buffers()])
    assert all(isinstance(p.grad._data, DeviceArray) for p in model.parameters())
    out = model(cr.randn(5, 3, device="cuda"))
    assert out.is_cuda
    model.cpu()
    assert all(isinstance(t._data, np.ndarray) for t in [*model.parameters(), *model.buffers()])


def test_a_keras_model_on_the_device_fits_from_host_arrays():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = (x.sum(axis=1) > 0).astype(np.int64)
    model = cr.Sequential([nn.Dense(8, activation="relu"), nn.Dense(2)])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.to("cuda")  # before it is built: its layers are built on the device
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0).history
    assert all(p.is_cuda for p in model.parameters())
    assert history["loss"][-1] < history["loss"][0]
    predicted = model.predict(x)
    assert isinstance(predicted, np.ndarray) and predicted.shape == (32, 2)
    np.testing.assert_allclose(predicted, to_host(model(cr.tensor(x, device="cuda"))._data), rtol=1e-6)
