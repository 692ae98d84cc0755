"""fit, evaluate, predict, save and load of a model on the device under test, against the same on NumPy.

The data stay NumPy arrays on the host; each batch moves to the model's device as it is drawn.
"""

import copy

import numpy as np
import pytest
from device_under_test import DeviceArray, xp

import chainrule as cr
from chainrule import gpu


def _data(n=40):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)


def _model(optimizer="adam"):
    cr.manual_seed(0)
    model = cr.Sequential([cr.nn.Dense(8, activation="relu", input_shape=(4,)), cr.nn.Dropout(0.2),
                           cr.nn.Dense(3)])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    return model


def _on_device(model):
    return gpu.move_module(copy.deepcopy(model), xp)


def _fit(model, x, y):
    cr.manual_seed(1)
    return model.fit(x, y, batch_size=8, epochs=2, validation_split=0.25, verbose=0).history


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "lbfgs"])
def test_fit_evaluate_predict_on_the_device(optimizer):
    x, y = _data()
    host = _model(optimizer)
    device = _on_device(host)
    device_history = _fit(device, x, y)
    assert all(isinstance(p._data, DeviceArray) for p in device.parameters())
    if optimizer != "adam":  # dropout draws its masks from the device's own stream: another sequence
        host.layers[1].p = device.layers[1].p = 0.0
    host_history = _fit(host, x, y) if optimizer == "adam" else None
    assert set(device_history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(np.isfinite(v).all() for v in device_history.values())
    if host_history is not None:  # same data order and weights: the first loss agrees before dropout differs
        assert device_history["loss"][0] == pytest.approx(host_history["loss"][0], rel=0.2)
    loss, accuracy = device.evaluate(x, y, batch_size=16)
    assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0
    predicted = device.predict(x, batch_size=16)
    assert isinstance(predicted, np.ndarray) and predicted.shape == (40, 3)
    host_copy = gpu.move_module(copy.deepcopy(device), np)
    np.testing.assert_allclose(predicted, host_copy.predict(x, batch_size=16), rtol=1e-5, atol=1e-6)
    expected_loss = host_copy.evaluate(x, y, batch_size=16)[0]
    assert device.evaluate(x, y, batch_size=16)[0] == pytest.approx(expected_loss, rel=1e-5)


def test_a_lazily_built_model_builds_on_its_device():
    x, y = _data()
    cr.manual_seed(0)
    model = cr.Sequential([cr.nn.Dense(8, activation="tanh"), cr.nn.Dense(3)])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="rmsprop")
    gpu.move_module(model, xp)
    model.fit(x, y, batch_size=10, epochs=1, verbose=0)
    assert [type(p._data) for p in model.parameters()] == [DeviceArray] * 4


def test_save_and_load_a_device_model(tmp_path):
    x, y = _data()
    device = _on_device(_model())
    device.fit(x, y, batch_size=8, epochs=1, verbose=0)
    expected = device.predict(x)
    device.save(tmp_path / "model.cr")
    device.save_weights(tmp_path / "weights.safetensors")
    loaded = cr.load_model(tmp_path / "model.cr")
    np.testing.assert_allclose(loaded.predict(x), expected, rtol=1e-6)
    again = _on_device(_model())
    again.load_weights(tmp_path / "weights.safetensors")
    assert all(isinstance(p._data, DeviceArray) for p in again.parameters())
    np.testing.assert_allclose(again.predict(x), expected, rtol=1e-6)
    assert isinstance(device.get_weights()[0], np.ndarray)


def test_a_device_run_resumes_from_its_checkpoint_on_the_device(tmp_path):
    x, y = _data()
    path = tmp_path / "checkpoint.cr"
    device = _on_device(_model())
    device.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[cr.callbacks.ModelCheckpoint(path)])
    again = _on_device(_model())
    history = again.fit(x, y, batch_size=8, epochs=2, verbose=0, resume_from=path).history
    assert len(history["loss"]) == 2 and np.isfinite(history["loss"]).all()
    state = again.optimizer.state
    assert state and all(isinstance(v, DeviceArray) for s in state.values() for v in s.values()
                         if getattr(v, "ndim", 0))


def test_numpy_of_a_device_tensor_raises_as_pytorch_does():
    tensor = cr.Tensor(xp.ones(3))
    message = r"can't convert cuda:0 device type tensor to numpy\. Use Tensor\.cpu\(\)"
    with pytest.raises(TypeError, match=message):
        tensor.numpy()
    with pytest.raises(TypeError):
        np.asarray(tensor)
