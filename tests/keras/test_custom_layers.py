"""keras.layers.Layer: your own layers with build/add_weight/call/add_loss, trained by fit (#12)."""

import numpy
import pytest

import chainrule as cr
from chainrule import keras


class Linear(keras.layers.Layer):
    """keras.io's "Making new layers" example, with chainrule ops for keras.ops."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal",
                                 trainable=True, regularizer=keras.regularizers.l2(0.1))
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return cr.matmul(inputs, self.w) + self.b


class ActivityPenalty(keras.layers.Layer):
    def call(self, inputs):
        self.add_loss(cr.sum(inputs * inputs) * 0.5)
        return inputs


def test_a_custom_layer_builds_at_its_first_call_and_keeps_its_weights_as_shaped():
    layer = Linear(4)
    assert not layer.built
    out = layer(numpy.ones((2, 3), "float32"))
    assert out.shape == (2, 4) and layer.built
    assert [w.shape for w in layer.get_weights()] == [(3, 4), (4,)]
    assert list(layer.state_dict()) == ["w", "b"]


def test_fit_trains_a_custom_layer_and_adds_its_regularizer_and_added_losses():
    x = numpy.random.default_rng(0).standard_normal((16, 3)).astype("float32")
    y = x @ numpy.array([[1.0], [-2.0], [0.5]], "float32")
    model = keras.Sequential([keras.Input(shape=(3,)), Linear(1), ActivityPenalty()])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
    w, b = model.get_weights()
    prediction = x @ w + b
    expected = numpy.mean((prediction - y) ** 2) + 0.1 * (w ** 2).sum() + 0.5 * (prediction ** 2).sum()
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    frozen = Linear(2, trainable=False)
    frozen(numpy.ones((1, 3), "float32"))
    assert not any(w.requires_grad for w in frozen.weights)
