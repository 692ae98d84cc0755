"""More of Keras's everyday layers, channels-last, against PyTorch: 1-D pooling, AveragePooling2D with
"same" padding (pads left out of each mean), UpSampling2D, ZeroPadding2D, LayerNormalization, and the
activation layers with Keras 3's defaults (#12)."""

import numpy
import pytest

import chainrule as cr
from chainrule import keras
from chainrule.keras import layers

torch = pytest.importorskip("torch")
F = torch.nn.functional

X4 = numpy.random.default_rng(0).standard_normal((2, 5, 7, 3))  # (N, H, W, C), float64
X3 = X4[:, 0]  # (N, T, C)


def _compare(layer, x, reference):
    """Values and input gradients of ``layer`` on ``x`` against ``reference`` (a torch function)."""
    x_cr = cr.tensor(x, requires_grad=True)
    y = layer(x_cr)
    x_t = torch.tensor(x, requires_grad=True)
    y_t = reference(x_t)
    numpy.testing.assert_allclose(y.numpy(), y_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    weights = numpy.cos(numpy.arange(y.size)).reshape(y.shape)
    (y * cr.tensor(weights)).sum().backward()
    (y_t * torch.tensor(weights)).sum().backward()
    numpy.testing.assert_allclose(x_cr.grad.numpy(), x_t.grad.numpy(), rtol=1e-10, atol=1e-12)


def _channels_first(function):
    return lambda t: function(t.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def _time_first(function):
    return lambda t: function(t.permute(0, 2, 1)).permute(0, 2, 1)


def test_one_dimensional_pooling():
    _compare(layers.MaxPooling1D(2), X3, _time_first(lambda t: F.max_pool1d(t, 2)))
    _compare(layers.AveragePooling1D(3, strides=2), X3, _time_first(lambda t: F.avg_pool1d(t, 3, 2)))


@pytest.mark.parametrize(("pool", "strides"), [(3, 1), (2, 2), (3, 2)])
def test_average_pooling_with_same_padding_leaves_the_pads_out_of_each_mean(pool, strides):
    # Keras's "same": output ⌈in / stride⌉, the odd pad at the end, each mean over the pixels covered
    def reference(t):
        pads = []
        for size in (7, 5):  # torch's F.pad lists the last axis first: W then H
            total = max((-(-size // strides) - 1) * strides + pool - size, 0)
            pads += [total // 2, total - total // 2]
        return _mean_of_covered(t, pads, pool, strides)

    _compare(layers.AveragePooling2D(pool, strides=strides, padding="same"), X4, _channels_first(reference))


def _mean_of_covered(t, pads, pool, strides):
    total = F.avg_pool2d(F.pad(t, pads), pool, strides) * pool * pool
    count = F.avg_pool2d(F.pad(torch.ones_like(t), pads), pool, strides) * pool * pool
    return total / count


def test_upsampling_zero_padding_and_layer_normalization():
    nearest = _channels_first(lambda t: F.interpolate(t, scale_factor=(2, 3)))
    _compare(layers.UpSampling2D((2, 3)), X4, nearest)
    _compare(layers.ZeroPadding2D(((1, 2), (0, 3))), X4, _channels_first(lambda t: F.pad(t, [0, 3, 1, 2])))
    norm = layers.LayerNormalization()
    _compare(norm, X4, lambda t: F.layer_norm(t, (3,), eps=1e-3))  # Keras's epsilon
    assert [w.shape for w in norm.get_weights()] == [(3,), (3,)]


def test_activation_layers_have_kerass_defaults_and_save(tmp_path):
    _compare(layers.LeakyReLU(), X3, lambda t: F.leaky_relu(t, 0.3))
    _compare(layers.ReLU(max_value=1.0), X3, lambda t: torch.clamp(t, 0.0, 1.0))
    _compare(layers.Softmax(axis=1), X3, lambda t: F.softmax(t, 1))
    model = keras.Sequential([keras.Input(shape=(5, 7, 3)), layers.ZeroPadding2D(1), layers.UpSampling2D(),
                              layers.AveragePooling2D(3, padding="same"), layers.LayerNormalization(),
                              layers.LeakyReLU(0.1), layers.Flatten(), layers.Dense(2), layers.Softmax()])
    model.save(tmp_path / "m.keras")
    x = X4.astype("float32")
    numpy.testing.assert_array_equal(keras.models.load_model(tmp_path / "m.keras").predict(x, verbose=0),
                                     model.predict(x, verbose=0))


def test_rescaling_lambda_and_the_backend_calls_keras_scripts_start_with(tmp_path):
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input(shape=(3,)), layers.Rescaling(1 / 255, offset=-1.0),
                              layers.Lambda(lambda x: x * 2), layers.Dense(1, kernel_initializer="ones")])
    assert [layer.name for layer in model.layers] == ["rescaling", "lambda", "dense"]  # names start afresh
    x = numpy.full((2, 3), 255.0, "float32")
    numpy.testing.assert_allclose(model.predict(x, verbose=0), numpy.zeros((2, 1)), atol=1e-6)
    with pytest.raises(cr.errors.ChainruleError, match="function is code"):
        model.save(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()
    assert (keras.backend.floatx(), keras.backend.epsilon(), keras.backend.image_data_format()) == (
        "float32", 1e-7, "channels_last")
