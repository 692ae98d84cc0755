"""keras.layers SimpleRNN/LSTM/GRU/Bidirectional and Conv2DTranspose: Keras's shapes, weight layouts and
parameter counts; values and gradients against PyTorch."""

import numpy
import pytest

import chainrule as cr
from chainrule import keras
from chainrule.keras import layers

torch = pytest.importorskip("torch")
F = torch.nn.functional

X = numpy.random.default_rng(0).standard_normal((2, 5, 3)).astype("float32")


def _engine_rows(matrix, gates, order):
    """Keras's (…, gates·units) matrix with its gate blocks put in the engine's (PyTorch's) order."""
    blocks = numpy.split(matrix, gates, axis=-1)
    return numpy.concatenate([blocks[i] for i in numpy.argsort(order)], axis=-1)


def _torch_twin(layer, torch_class, gates, order, bidirectional=False):
    units = layer.forward_layer.units if bidirectional else layer.units
    twin = torch_class(3, units, batch_first=True, bidirectional=bidirectional)
    state = {}
    for suffix, weights in zip(["_l0", "_l0_reverse"], [layer.get_weights()] if not bidirectional else
                               [layer.forward_layer.get_weights(), layer.backward_layer.get_weights()]):
        kernel, recurrent, bias = weights
        state["weight_ih" + suffix] = torch.tensor(_engine_rows(kernel, gates, order).T)
        state["weight_hh" + suffix] = torch.tensor(_engine_rows(recurrent, gates, order).T)
        if bias.ndim == 2:  # GRU: input bias, recurrent bias
            state["bias_ih" + suffix] = torch.tensor(_engine_rows(bias[0], gates, order))
            state["bias_hh" + suffix] = torch.tensor(_engine_rows(bias[1], gates, order))
        else:
            state["bias_ih" + suffix] = torch.tensor(bias)
            state["bias_hh" + suffix] = torch.zeros(bias.shape)
    twin.load_state_dict(state)
    return twin


@pytest.mark.parametrize(("cls", "torch_class", "gates", "order", "count"), [
    (layers.SimpleRNN, "RNN", 1, (0,), 3 * 4 + 4 * 4 + 4),
    (layers.LSTM, "LSTM", 4, (0, 1, 2, 3), 4 * (4 * (3 + 4) + 4)),
    (layers.GRU, "GRU", 3, (1, 0, 2), 3 * 4 * (3 + 4) + 2 * 3 * 4),
])
def test_recurrent_layers_match_pytorch_and_count_as_keras(cls, torch_class, gates, order, count):
    layer = cls(4, return_sequences=True, return_state=True)
    sequence, *states = layer(X)
    assert sum(w.size for w in layer.get_weights()) == count
    assert len(states) == (2 if cls is layers.LSTM else 1)
    twin = _torch_twin(layer, getattr(torch.nn, torch_class), gates, order)
    expected, final = twin(torch.tensor(X))
    numpy.testing.assert_allclose(sequence.numpy(), expected.detach().numpy(), atol=1e-5)
    final_h = final[0] if isinstance(final, tuple) else final
    numpy.testing.assert_allclose(states[0].numpy(), final_h[0].detach().numpy(), atol=1e-5)
    assert cls(4)(X).shape == (2, 4)  # return_sequences=False: the last output only


def test_lstm_starts_with_kerass_forget_bias_and_set_weights_round_trips():
    layer = layers.LSTM(3, input_shape=(5, 2))
    bias = layer.get_weights()[2]
    numpy.testing.assert_array_equal(bias, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    weights = [numpy.random.default_rng(i).standard_normal(w.shape).astype("float32")
               for i, w in enumerate(layer.get_weights())]
    layer.set_weights(weights)
    for got, expected in zip(layer.get_weights(), weights, strict=True):
        numpy.testing.assert_array_equal(got, expected)


def test_bidirectional_matches_pytorchs_bidirectional_lstm_and_trains_in_a_model():
    layer = layers.Bidirectional(layers.LSTM(4, return_sequences=True))
    out = layer(X)
    assert out.shape == (2, 5, 8) and sum(w.size for w in layer.get_weights()) == 2 * 128
    twin = _torch_twin(layer, torch.nn.LSTM, 4, (0, 1, 2, 3), bidirectional=True)
    numpy.testing.assert_allclose(out.numpy(), twin(torch.tensor(X))[0].detach().numpy(), atol=1e-5)
    model = keras.Sequential([keras.Input(shape=(5, 3)), layers.Bidirectional(layers.GRU(4)),
                              layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(X, numpy.ones((2, 1), "float32"), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.parametrize(("strides", "padding"), [(1, "valid"), (2, "valid"), (2, "same"), (3, "same")])
def test_conv2d_transpose_values_and_gradients_match_pytorch(strides, padding):
    x = numpy.random.default_rng(1).standard_normal((2, 4, 5, 3))
    layer = layers.Conv2DTranspose(2, 3, strides=strides, padding=padding)
    layer.build(x.shape)
    kernel = numpy.random.default_rng(2).standard_normal((3, 3, 2, 3))
    layer.weight.data = layer.weight.numpy().astype("float64")  # float64, then set: compared at 1e-10
    layer.bias.data = layer.bias.numpy().astype("float64")
    layer.set_weights([kernel, numpy.array([0.5, -1.0])])
    x_cr = cr.tensor(x, requires_grad=True)
    y = layer(x_cr)
    assert y.shape == ((2, 4 * strides, 5 * strides, 2) if padding == "same"
                       else (2, 3 * strides + 3, 4 * strides + 3, 2))
    x_t = torch.tensor(x, requires_grad=True)
    w_t = torch.tensor(kernel.transpose(3, 2, 0, 1), requires_grad=True)  # Keras -> (in, out, kh, kw)
    full = F.conv_transpose2d(x_t.permute(0, 3, 1, 2), w_t, torch.tensor([0.5, -1.0], dtype=torch.float64),
                              stride=strides).permute(0, 2, 3, 1)
    if padding == "same":
        start = max(3 - strides, 0) // 2
        full = full[:, start:start + 4 * strides, start:start + 5 * strides]
    numpy.testing.assert_allclose(y.numpy(), full.detach().numpy(), atol=1e-10)
    weights = numpy.random.default_rng(3).standard_normal(y.shape)
    (y * cr.tensor(weights)).sum().backward()
    (full * torch.tensor(weights)).sum().backward()
    numpy.testing.assert_allclose(x_cr.grad.numpy(), x_t.grad.numpy(), atol=1e-10)
    numpy.testing.assert_allclose(layer.weight.grad.numpy(), w_t.grad.numpy(), atol=1e-10)


def test_a_sequential_text_model_with_bidirectional_saves_and_loads(tmp_path):
    tokens = numpy.random.default_rng(4).integers(0, 20, (16, 6))
    labels = (tokens[:, 0] > 9).astype("float32")
    model = keras.Sequential([keras.Input(shape=(6,), dtype="int64"), layers.Embedding(20, 4),
                              layers.Bidirectional(layers.LSTM(3), merge_mode="sum"),
                              layers.Dense(1, activation="sigmoid")])
    assert model.count_params() == 20 * 4 + 2 * 4 * (3 * (4 + 3) + 3) + 4
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(tokens, labels, epochs=1, verbose=0)
    model.save(tmp_path / "text.keras")
    loaded = keras.models.load_model(tmp_path / "text.keras")
    assert loaded.layers[1].merge_mode == "sum"
    numpy.testing.assert_allclose(loaded.predict(tokens), model.predict(tokens), rtol=1e-6)


@pytest.mark.parametrize(("kernel", "strides", "padding"), [
    (1, 2, "same"), (1, 2, "valid"), (2, 3, "same"), (2, 3, "valid"), ((1, 3), 2, "same"),
    ((3, 1), 2, "valid"),
])
def test_conv2d_transpose_with_a_kernel_smaller_than_its_stride_has_kerass_shape(kernel, strides, padding):
    x = numpy.random.default_rng(5).standard_normal((2, 3, 4, 2))
    layer = layers.Conv2DTranspose(3, kernel, strides=strides, padding=padding)
    layer.build(x.shape)
    kh, kw = layer.kernel_size
    layer.weight.data = numpy.random.default_rng(6).standard_normal((2, 3, kh, kw))
    layer.bias.data = numpy.array([0.5, -1.0, 2.0])
    y = layer(cr.tensor(x))
    # Keras's deconv_output_length: "same" in·s, "valid" (in − 1)·s + max(k, s)
    expected_shape = (2, 3 * strides, 4 * strides, 3) if padding == "same" else \
        (2, 2 * strides + max(kh, strides), 3 * strides + max(kw, strides), 3)
    assert y.shape == expected_shape
    # PyTorch: output_padding s − k on each axis whose kernel is smaller than the stride (zeros + bias there)
    extra = tuple(max(strides - k, 0) for k in (kh, kw))
    full = torch.nn.functional.conv_transpose2d(
        torch.tensor(x).permute(0, 3, 1, 2), torch.tensor(layer.weight.numpy()),
        torch.tensor(layer.bias.numpy()), stride=strides, output_padding=extra).permute(0, 2, 3, 1).numpy()
    top, left = (max(kh - strides, 0) // 2, max(kw - strides, 0) // 2) if padding == "same" else (0, 0)
    expected = full[:, top:top + y.shape[1], left:left + y.shape[2]]
    numpy.testing.assert_allclose(y.numpy(), expected, atol=1e-10)
