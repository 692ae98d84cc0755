"""Regularizers add Keras's penalties to the loss that fit trains on and reports (#12)."""

import numpy
import pytest

from chainrule import keras
from chainrule.keras import layers, regularizers


def _data(n=16, d=6, seed=0):
    rng = numpy.random.default_rng(seed)
    return rng.random((n, d), dtype=numpy.float32)


def _sparse_autoencoder(strength):
    """The lectures' sparse autoencoder: an L1 activity penalty on the code layer."""
    model = keras.Sequential([
        keras.Input(shape=(6,)),
        layers.Dense(3, activation="relu", activity_regularizer=regularizers.l1(strength)),
        layers.Dense(6, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_keras_formulas_and_defaults():
    x = numpy.array([[1.0, -2.0], [0.5, 0.0]])
    assert float(regularizers.l1(0.1)(x).item()) == pytest.approx(0.1 * 3.5)
    assert float(regularizers.l2(0.1)(x).item()) == pytest.approx(0.1 * 5.25)  # no ½
    assert float(regularizers.l1_l2(l1=0.1, l2=0.2)(x).item()) == pytest.approx(0.35 + 1.05)
    assert regularizers.L1().l1 == 0.01 and regularizers.L2().l2 == 0.01
    assert regularizers.l1_l2().get_config() == {"l1": 0.0, "l2": 0.0}


def test_the_activity_penalty_is_part_of_the_training_loss():
    x = _data()
    model = _sparse_autoencoder(0.5)
    code_layer, decoder = model.layers
    codes = numpy.maximum(x @ code_layer.get_weights()[0] + code_layer.get_weights()[1], 0)
    reconstruction = 1 / (1 + numpy.exp(-(codes @ decoder.get_weights()[0] + decoder.get_weights()[1])))
    mse = numpy.mean((reconstruction - x) ** 2)
    penalty = 0.5 * numpy.abs(codes).sum()  # Keras 3: the whole batch's penalty, not divided by its size
    loss = model.train_on_batch(x, x)  # the loss of the batch before the step
    assert penalty > 0.01
    assert loss == pytest.approx(mse + penalty, rel=1e-5)


def test_fit_reports_the_penalised_loss_and_the_penalty_shrinks_the_codes():
    x = _data(64)
    keras.utils.set_random_seed(0)
    plain = _sparse_autoencoder(0.0)
    keras.utils.set_random_seed(0)
    sparse = _sparse_autoencoder(0.05)
    plain_history = plain.fit(x, x, epochs=20, batch_size=16, verbose=0, shuffle=False)
    sparse_history = sparse.fit(x, x, epochs=20, batch_size=16, verbose=0, shuffle=False)
    assert sparse_history.history["loss"][0] > plain_history.history["loss"][0]
    code = keras.Sequential([sparse.layers[0]])
    reference = keras.Sequential([plain.layers[0]])
    assert numpy.abs(code.predict(x)).sum() < numpy.abs(reference.predict(x)).sum()


def test_kernel_and_bias_regularizers_join_model_losses_and_evaluate():
    x, y = _data(8, 3), _data(8, 2, seed=1)
    model = keras.Sequential([layers.Dense(2, input_shape=(3,), kernel_regularizer=regularizers.l2(0.1),
                                           bias_regularizer="l1")])
    model.compile(optimizer="sgd", loss="mse")
    kernel, bias = model.get_weights()
    bias = bias + 0.25
    model.set_weights([kernel, bias])
    penalties = 0.1 * (kernel ** 2).sum() + 0.01 * numpy.abs(bias).sum()
    expected = numpy.mean((x @ kernel + bias - y) ** 2) + penalties
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)
    assert len(model.losses) == 2
