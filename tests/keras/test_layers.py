"""keras.layers: channels-last layouts, Keras's weight layouts and defaults, values against PyTorch."""

import numpy
import pytest

from chainrule import keras
from chainrule.errors import ShapeError
from chainrule.keras import layers

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _images(shape=(2, 7, 7, 3), seed=0):
    return numpy.random.default_rng(seed).standard_normal(shape)


def _torch_conv(x, layer, stride, padding):
    kernel, bias = layer.get_weights()
    weight = torch.tensor(kernel).permute(3, 2, 0, 1)  # Keras (kh, kw, in, out) -> PyTorch (out, in, kh, kw)
    image = torch.tensor(x).permute(0, 3, 1, 2)
    if padding:
        image = F.pad(image, padding)
    return F.conv2d(image, weight, torch.tensor(bias), stride=stride).permute(0, 2, 3, 1).numpy()


@pytest.mark.parametrize(("strides", "padding", "torch_pad"), [
    (1, "valid", None), (1, "same", (1, 1, 1, 1)), (2, "same", (1, 1, 1, 1)), (2, "valid", None),
])
def test_conv2d_is_channels_last_with_kerass_kernel_layout(strides, padding, torch_pad):
    x = _images()
    layer = layers.Conv2D(4, kernel_size=(3, 3), strides=strides, padding=padding)
    layer.build((None, 7, 7, 3))
    layer.set_weights([w.astype("float32") for w in (_images((3, 3, 3, 4), 1), _images((4,), 2))])
    layer.weight.data = layer.weight.numpy().astype("float64")
    layer.bias.data = layer.bias.numpy().astype("float64")
    numpy.testing.assert_allclose(layer(x).numpy(), _torch_conv(x, layer, strides, torch_pad), atol=1e-10)


def test_same_padding_puts_the_odd_row_at_the_end_as_keras():
    layer = layers.Conv2D(1, kernel_size=2, padding="same", use_bias=False, kernel_initializer="ones")
    out = layer(numpy.arange(9, dtype="float32").reshape(1, 3, 3, 1)).numpy()[0, :, :, 0]
    assert out.shape == (3, 3)
    assert out[0, 0] == 0 + 1 + 3 + 4 and out[2, 2] == 8  # the last row and column see zeros after them


def test_conv1d_and_pooling_layers_against_pytorch():
    x = _images((2, 9, 3))
    conv = layers.Conv1D(5, 3)
    y = conv(x.astype("float32")).numpy()
    kernel, bias = conv.get_weights()
    expected = F.conv1d(torch.tensor(x, dtype=torch.float32).permute(0, 2, 1),
                        torch.tensor(kernel).permute(2, 1, 0), torch.tensor(bias)).permute(0, 2, 1).numpy()
    numpy.testing.assert_allclose(y, expected, atol=1e-5)
    images = _images((2, 6, 6, 3))
    nchw = torch.tensor(images).permute(0, 3, 1, 2)
    numpy.testing.assert_allclose(layers.MaxPooling2D()(images).numpy(),
                                  F.max_pool2d(nchw, 2).permute(0, 2, 3, 1).numpy())
    numpy.testing.assert_allclose(layers.AveragePooling2D(pool_size=3, strides=1)(images).numpy(),
                                  F.avg_pool2d(nchw, 3, 1).permute(0, 2, 3, 1).numpy())
    numpy.testing.assert_allclose(layers.GlobalAveragePooling2D()(images).numpy(), images.mean(axis=(1, 2)))
    numpy.testing.assert_allclose(layers.GlobalMaxPooling2D()(images).numpy(), images.max(axis=(1, 2)))
    numpy.testing.assert_allclose(layers.GlobalAveragePooling1D()(x).numpy(), x.mean(axis=1))
    numpy.testing.assert_allclose(layers.GlobalMaxPooling1D(keepdims=True)(x).numpy(),
                                  x.max(axis=1, keepdims=True))
    assert layers.MaxPooling2D(padding="same")(_images((1, 5, 5, 2))).shape == (1, 3, 3, 2)


def test_dense_get_and_set_weights_in_kerass_layout():
    layer = layers.Dense(3, input_shape=(2,), kernel_initializer="ones", bias_initializer="zeros")
    kernel = numpy.arange(6, dtype="float32").reshape(2, 3)
    layer.set_weights([kernel, numpy.ones(3, "float32")])
    numpy.testing.assert_array_equal(layer.get_weights()[0], kernel)
    numpy.testing.assert_array_equal(layer.kernel.numpy(), kernel)
    numpy.testing.assert_allclose(layer(numpy.array([[1.0, 2.0]], "float32")).numpy(), [[7.0, 10.0, 13.0]])
    with pytest.raises(ShapeError, match=r"expects shape \(2, 3\)"):
        layer.set_weights([kernel.T, numpy.ones(3)])
    numpy.testing.assert_array_equal(layer.get_weights()[0], kernel)  # a refused list changes nothing


def test_batch_normalization_uses_kerass_momentum_epsilon_and_biased_variance():
    x = _images((8, 3), 4).astype("float32") * 3 + 1
    layer = layers.BatchNormalization()
    assert (layer.momentum, layer.epsilon) == (0.99, 0.001)
    # called on its own, a layer infers (Keras): the moving statistics, which do not move
    numpy.testing.assert_allclose(layer(x).numpy(), x / numpy.sqrt(1 + 1e-3), rtol=1e-5)
    y = layer(x, training=True).numpy()
    mean, var = x.mean(axis=0), x.var(axis=0)
    numpy.testing.assert_allclose(y, (x - mean) / numpy.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)
    gamma, beta, moving_mean, moving_variance = layer.get_weights()
    numpy.testing.assert_allclose(moving_mean, 0.01 * mean, rtol=1e-5)
    numpy.testing.assert_allclose(moving_variance, 0.99 + 0.01 * var, rtol=1e-5)
    layer.trainable = False  # Keras 3: a frozen BatchNormalization runs in inference mode
    numpy.testing.assert_allclose(layer(x, training=True).numpy(),
                                  (x - moving_mean) / numpy.sqrt(moving_variance + 1e-3), rtol=1e-5)
    numpy.testing.assert_array_equal(layer.get_weights()[2], moving_mean)


def test_embedding_takes_input_dim_output_dim_and_kerass_uniform_init():
    layer = layers.Embedding(input_dim=50, output_dim=4)
    table = layer.get_weights()[0]
    assert table.shape == (50, 4) and numpy.abs(table).max() <= 0.05
    out = layer(numpy.array([[1, 2, 3]]))
    numpy.testing.assert_array_equal(out.numpy()[0], table[[1, 2, 3]])


def test_activation_reshape_flatten_and_automatic_names():
    assert layers.Conv2D(1, 1).name.startswith("conv2d")
    assert layers.MaxPooling2D().name.startswith("max_pooling2d")
    assert layers.BatchNormalization().name.startswith("batch_normalization")
    x = numpy.arange(12, dtype="float32").reshape(1, 12) - 6
    numpy.testing.assert_array_equal(layers.Activation("relu")(x).numpy(), numpy.maximum(x, 0))
    assert layers.Reshape((3, 4))(x).shape == (1, 3, 4)
    assert layers.Flatten()(x.reshape(1, 2, 2, 3)).shape == (1, 12)


def test_unknown_or_unsupported_keywords_are_refused_not_ignored():
    with pytest.raises(TypeError, match="activaton"):
        layers.Dense(3, activaton="relu")
    with pytest.raises(Exception, match="noise_shape"):
        layers.Dropout(0.5, noise_shape=(None, 1))
    with pytest.raises(Exception, match="kernel_constraint"):
        layers.Conv2D(3, 3, kernel_constraint="max_norm")
    with pytest.raises(Exception, match="mask_zero"):
        layers.Embedding(10, 2, mask_zero=True)
    assert layers.Dense(3, kernel_constraint=None, dtype="float32").units == 3  # defaults pass
    model = keras.Sequential([layers.Dense(1, input_shape=(2,))])
    with pytest.raises(TypeError, match="epoch"):
        model.compile(optimizer="sgd", loss="mse")
        model.fit(numpy.ones((2, 2), "float32"), numpy.ones((2, 1), "float32"), epoch=3)
