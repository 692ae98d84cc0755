"""A Keras Sequential is built as soon as its input shape is known, so one saved before its first call
reloads with the same weights; one with no input shape reloads unbuilt and builds at its first call (#12)."""

import numpy
import pytest

import chainrule as cr
from chainrule import keras
from chainrule.keras import layers

X = numpy.random.default_rng(0).standard_normal((3, 6, 6, 1)).astype("float32")


@pytest.mark.parametrize("compiled", [False, True])
def test_a_sequential_saved_before_its_first_call_reloads_with_its_weights(tmp_path, compiled):
    model = keras.Sequential([keras.Input(shape=(6, 6, 1)), layers.Conv2D(2, 3), layers.BatchNormalization(),
                              layers.Flatten(), layers.Dense(3)])
    assert len(model.weights) == 2 + 4 + 2  # built at once, as Keras builds it
    if compiled:
        model.compile(optimizer="adam", loss="mse")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    for got, expected in zip(loaded.get_weights(), model.get_weights(), strict=True):
        numpy.testing.assert_array_equal(got, expected)
    numpy.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_input_shape_on_the_first_layer_builds_the_model_as_in_keras(tmp_path):
    model = keras.Sequential([layers.Flatten(input_shape=(6, 6, 1)), layers.Dense(4, activation="relu"),
                              layers.Dense(2)])
    assert model.count_params() == 36 * 4 + 4 + 4 * 2 + 2
    lines = []
    model.summary(print_fn=lines.append)
    assert "(None, 36)" in lines[0] and model.output_shape == (None, 2)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    numpy.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_an_engine_sequential_with_a_lazy_layer_is_saved_built(tmp_path):
    model = cr.Sequential([cr.nn.Dense(4, input_shape=(3,)), cr.nn.Dense(2)])  # the second waits for data
    model.save(tmp_path / "m.chainrule")
    loaded = cr.load_model(tmp_path / "m.chainrule")
    x = numpy.ones((2, 3), "float32")
    numpy.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_a_sequential_without_an_input_shape_reloads_unbuilt_and_builds_at_its_first_call(tmp_path):
    model = keras.Sequential([layers.Dense(4), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.weights == [] and type(loaded.optimizer) is keras.optimizers.Adam
    history = loaded.fit(numpy.ones((4, 5), "float32"), numpy.zeros((4, 2), "float32"), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and [w.shape for w in loaded.get_weights()][0] == (5, 4)


def test_keras_embedding_takes_floating_ids_as_keras_does():
    layer = layers.Embedding(10, 3)
    ids = numpy.array([[1, 4, 9]])
    numpy.testing.assert_array_equal(layer(ids.astype("float32")).numpy(), layer(ids).numpy())


def test_an_embeddings_input_dim_is_its_vocabulary_and_input_length_its_input_shape(tmp_path):
    tokens = numpy.random.default_rng(1).integers(0, 20, (4, 6))
    lazy = keras.Sequential([layers.Embedding(20, 4), layers.GlobalAveragePooling1D(), layers.Dense(1)])
    assert len(lazy.weights) == 1  # input_dim=20 is not an input shape: the Dense waits for data
    with pytest.raises(cr.errors.ChainruleError, match="not known yet"):
        _ = lazy.input_shape
    lazy.save(tmp_path / "lazy.keras")
    assert keras.models.load_model(tmp_path / "lazy.keras").predict(tokens, verbose=0).shape == (4, 1)
    sized = keras.Sequential([layers.Embedding(20, 4, input_length=6), layers.Flatten(), layers.Dense(1)])
    assert sized.count_params() == 20 * 4 + 24 + 1 and sized.output_shape == (None, 1)
    sized.save(tmp_path / "sized.keras")
    loaded = keras.models.load_model(tmp_path / "sized.keras")
    numpy.testing.assert_array_equal(loaded.predict(tokens, verbose=0), sized.predict(tokens, verbose=0))
