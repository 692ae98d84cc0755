"""keras.models: Sequential add/pop, functional Model, fit's Keras arguments, weights, saving (#12)."""

import numpy
import pytest

import chainrule as cr
from chainrule import keras
from chainrule.keras import layers
from chainrule.train.callbacks import Callback


def _data(n=40, seed=0):
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype("float32")
    return x, (x[:, :1] > 0).astype("int64").ravel()


def _classifier(**compile_args):
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(8, activation="relu"),
                              layers.Dense(2, activation="softmax")])
    model.compile(**{"optimizer": "adam", "loss": "sparse_categorical_crossentropy", **compile_args})
    return model


class Steps(Callback):
    def on_train_begin(self, logs=None):
        self.steps = self.params["steps"]


def test_sequential_add_pop_and_input_first():
    model = keras.Sequential()
    model.add(keras.Input(shape=(4,)))
    model.add(layers.Dense(3))
    model.add(layers.Dense(9))
    assert model.pop().units == 9
    assert model.count_params() == 15 and [layer.units for layer in model.layers] == [3]


def test_batch_size_none_means_32_and_evaluate_is_a_scalar_without_metrics():
    x, y = _data(70)
    model = _classifier()
    steps = Steps()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[steps])
    assert steps.steps == 3  # ⌈70 / 32⌉
    loss = model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float)
    assert model.predict(x, verbose=0).shape == (70, 2)


def test_validation_split_holds_out_the_last_samples_as_keras_does():
    x, y = _data(40)
    model = _classifier(metrics=["accuracy"])
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0, validation_split=0.25, shuffle=False)
    expected = model.evaluate(x[30:], y[30:], verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(expected[0], rel=1e-6)
    assert history.history["val_accuracy"][0] == pytest.approx(expected[1])


def test_sample_and_class_weights_scale_each_samples_loss():
    x, y = _data(16)
    model = _classifier()
    probabilities = model.predict(x)
    per_sample = -numpy.log(probabilities[numpy.arange(16), y])
    weights = numpy.linspace(0.0, 2.0, 16)
    assert model.evaluate(x, y, sample_weight=weights, verbose=0) == pytest.approx(
        (per_sample * weights).sum() / 16, rel=1e-5)
    keras.utils.set_random_seed(1)
    a = _classifier()
    keras.utils.set_random_seed(1)
    b = _classifier()
    probabilities = a.predict(x)
    per_sample = -numpy.log(probabilities[numpy.arange(16), y])
    ha = a.fit(x, y, epochs=1, batch_size=16, verbose=0, class_weight={0: 1.0, 1: 3.0})
    hb = b.fit(x, y, epochs=1, batch_size=16, verbose=0, sample_weight=numpy.where(y == 1, 3.0, 1.0))
    assert ha.history["loss"][0] == pytest.approx(hb.history["loss"][0], rel=1e-6)
    assert ha.history["loss"][0] == pytest.approx((per_sample * numpy.where(y == 1, 3.0, 1.0)).sum() / 16,
                                                  rel=1e-5)


def test_functional_model_over_input_tensors():
    inputs = keras.Input(shape=(4,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    outputs = layers.Dense(2, activation="softmax")(layers.Dropout(0.1)(hidden))
    model = keras.Model(inputs=inputs, outputs=outputs)
    assert model.count_params() == 4 * 8 + 8 + 8 * 2 + 2
    assert [w.shape for w in model.get_weights()] == [(4, 8), (8,), (8, 2), (2,)]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = _data()
    history = model.fit(x, y, epochs=2, verbose=0)
    assert len(history.history["accuracy"]) == 2
    expected = numpy.maximum(x @ model.get_weights()[0] + model.get_weights()[1], 0) @ model.get_weights()[2]
    expected = numpy.exp(expected + model.get_weights()[3])
    numpy.testing.assert_allclose(model.predict(x), expected / expected.sum(1, keepdims=True), rtol=1e-4)


def test_summary_counts_frozen_layers_as_non_trainable():
    model = _classifier()
    model.layers[0].trainable = False
    lines = []
    assert model.summary(print_fn=lines.append) is None  # as Keras's: the text goes to print_fn
    text = "\n".join(lines)
    assert "Trainable params: 18" in text and "Non-trainable params: 40" in text
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".safetensors"])
def test_save_and_load_model_under_any_suffix(tmp_path, suffix):
    x, y = _data()
    model = keras.Sequential([keras.Input(shape=(4,)),
                              layers.Dense(8, activation="relu",
                                           kernel_regularizer=keras.regularizers.l2(0.01)),
                              layers.BatchNormalization(), layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / f"m{suffix}"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is keras.Sequential and type(loaded.optimizer) is keras.optimizers.RMSprop
    assert loaded.optimizer.learning_rate == 0.01
    numpy.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6)
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)
    loaded.fit(x, y, epochs=1, verbose=0)  # compiled, and it trains on


def test_keras_losses_take_y_true_first_and_match_the_strings():
    y_true = numpy.array([[0.0, 1.0], [1.0, 0.0]], "float32")
    y_pred = numpy.array([[0.2, 0.8], [0.6, 0.4]], "float32")
    per_sample = keras.losses.categorical_crossentropy(y_true, y_pred).numpy()
    numpy.testing.assert_allclose(per_sample, -numpy.log([0.8, 0.6]), rtol=1e-6)
    loss = keras.losses.CategoricalCrossentropy()(y_true, y_pred, sample_weight=numpy.array([1.0, 0.0]))
    assert float(loss.numpy()) == pytest.approx(-numpy.log(0.8) / 2, rel=1e-6)
    numpy.testing.assert_allclose(keras.losses.MeanSquaredError()(y_true, y_pred).numpy(),
                                  numpy.mean((y_true - y_pred) ** 2), rtol=1e-6)
    x, y = _data()
    by_class = _classifier(loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    assert set(by_class.fit(x, y, verbose=0).history) == {"loss", "accuracy"}


def test_to_categorical_and_offline_mnist_warns_once_and_never_downloads():
    numpy.testing.assert_array_equal(keras.utils.to_categorical([0, 2], 3), [[1, 0, 0], [0, 0, 1]])
    assert keras.utils.to_categorical([1]).dtype == numpy.float32
    with pytest.warns(UserWarning, match="embedded subset") as caught:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    assert len(caught) == 1
    assert x_train.shape == (4000, 28, 28) and x_train.dtype == numpy.uint8 and y_test.shape == (1000,)


def test_a_subclassed_model_defines_call_and_trains():
    class TwoLayers(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(8, activation="relu")
            self.out = layers.Dense(2, activation="softmax")

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    model = TwoLayers()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = _data(64)
    history = model.fit(x, y, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert [w.shape for w in model.get_weights()] == [(4, 8), (8,), (8, 2), (2,)]


def test_a_functional_model_is_named_functional_and_saves_its_weights(tmp_path):
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, layers.Dense(2)(inputs))
    assert model.name.startswith("functional")
    model.save_weights(tmp_path / "f.weights")
    twin_inputs = keras.Input(shape=(4,))
    twin = keras.Model(twin_inputs, layers.Dense(2)(twin_inputs))
    twin.load_weights(tmp_path / "f.weights")
    x, _ = _data(5)
    numpy.testing.assert_array_equal(twin.predict(x), model.predict(x))


def test_a_functional_model_with_two_branches_merged_by_concatenate_and_add():
    inputs = keras.Input(shape=(4,))
    left = layers.Dense(3, activation="relu")(inputs)
    right = layers.Dense(3, activation="tanh")(inputs)
    joined = layers.Concatenate()([left, right])
    summed = layers.Add()([left, right])
    outputs = layers.Dense(2, activation="softmax")(layers.Concatenate(axis=-1)([joined, summed]))
    model = keras.Model(inputs, outputs)
    assert model.count_params() == 2 * (4 * 3 + 3) + 9 * 2 + 2
    x, y = _data(32)
    w = model.get_weights()
    a, b = numpy.maximum(x @ w[0] + w[1], 0), numpy.tanh(x @ w[2] + w[3])
    logits = numpy.concatenate([a, b, a + b], axis=1) @ w[4] + w[5]
    expected = numpy.exp(logits) / numpy.exp(logits).sum(1, keepdims=True)
    numpy.testing.assert_allclose(model.predict(x), expected, rtol=1e-4, atol=1e-6)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_a_chainrule_nn_loss_layer_keeps_its_own_argument_order_in_keras_compile():
    x, y = _data(16)
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2)])
    model.compile(optimizer="adam", loss=cr.nn.CrossEntropyLoss())
    logits = model.predict(x)
    expected = numpy.mean(numpy.log(numpy.exp(logits).sum(1)) - logits[numpy.arange(16), y])
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_validation_sample_weights_apply_to_the_validation_loss():
    x, y = _data(40)
    weights = numpy.linspace(0.5, 2.0, 40)
    model = _classifier()
    history = model.fit(x[:30], y[:30], epochs=1, batch_size=10, verbose=0, shuffle=False,
                        validation_data=(x[30:], y[30:], weights[30:]))
    expected = model.evaluate(x[30:], y[30:], sample_weight=weights[30:], verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-6)
    split = _classifier()
    history = split.fit(x, y, epochs=1, batch_size=10, verbose=0, shuffle=False, validation_split=0.25,
                        sample_weight=weights)
    expected = split.evaluate(x[30:], y[30:], sample_weight=weights[30:], verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-6)


def test_a_loss_object_with_its_defaults_is_saved_by_name_and_loads_compiled(tmp_path, recwarn):
    x, y = _data(16)
    model = _classifier(loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    model.fit(x, y, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert not [w for w in recwarn if "loss function" in str(w.message)]
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)


@pytest.mark.parametrize("verbose, lines", [(0, 0), (1, 3), (2, 3)])
def test_fit_verbose_as_keras(capsys, verbose, lines):
    """Keras's verbose: 0 silent, 2 one plain line per epoch and nothing else (no bar, no summary
    lines), 1 a bar on a terminal, else one line per epoch."""
    x, y = _data()
    _classifier().fit(x, y, epochs=3, verbose=verbose)
    printed = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(printed) == lines
    assert all(line.startswith(f"Epoch {i + 1}/3") for i, line in enumerate(printed))
    assert not any("lr:" in line for line in printed)


@pytest.mark.parametrize("verbose", [3, True, "yes"])
def test_fit_verbose_refuses_what_keras_has_not(verbose):
    x, y = _data()
    with pytest.raises(cr.errors.ConfigError, match="verbose must be"):
        _classifier().fit(x, y, epochs=1, verbose=verbose)


def test_callbacks_see_keras_verbose_in_params():
    """A user's callback reads ``self.params["verbose"]`` as the value given to fit, as in Keras."""
    seen = []

    class Reads(Callback):
        def on_train_begin(self, logs=None):
            seen.append(self.params["verbose"])

    x, y = _data()
    for verbose in (0, 1, 2):
        _classifier().fit(x, y, epochs=1, verbose=verbose, callbacks=[Reads()])
    assert seen == [0, 1, 2]
