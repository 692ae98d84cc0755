"""Functional keras.Model: saved whole (architecture, weights, compile state) and reloaded; several
inputs (a list or a dict keyed by the Inputs' names) in predict, fit, evaluate, summary and files (#12)."""

import numpy
import pytest

from chainrule import keras
from chainrule.errors import FormatError, ShapeError
from chainrule.io import safetensors_file
from chainrule.keras import layers

RNG = numpy.random.default_rng(0)
XA = RNG.standard_normal((24, 3)).astype("float32")
XB = RNG.standard_normal((24, 2)).astype("float32")
Y = (XA[:, :1] + XB[:, 1:] > 0).astype("int64").ravel()


def _two_inputs():
    a, b = keras.Input(shape=(3,), name="a"), keras.Input(shape=(2,), name="b")
    hidden = layers.Dense(4, activation="relu")(a)
    joined = layers.Concatenate()([hidden, b])
    summed = layers.Add()([layers.Dense(2)(joined), layers.Dense(2)(b)])
    return keras.Model([a, b], layers.Activation("softmax")(summed))


def _expected(model, xa, xb):
    w = model.get_weights()
    joined = numpy.concatenate([numpy.maximum(xa @ w[0] + w[1], 0), xb], axis=1)
    logits = joined @ w[2] + w[3] + xb @ w[4] + w[5]
    return numpy.exp(logits) / numpy.exp(logits).sum(1, keepdims=True)


def test_a_model_of_two_inputs_predicts_from_a_list_or_a_dict_keyed_by_input_names():
    model = _two_inputs()
    expected = _expected(model, XA, XB)
    numpy.testing.assert_allclose(model.predict([XA, XB], verbose=0), expected, rtol=1e-5, atol=1e-7)
    by_name = model.predict({"b": XB, "a": XA}, verbose=0)
    numpy.testing.assert_allclose(by_name, expected, rtol=1e-5, atol=1e-7)
    numpy.testing.assert_allclose(model([XA, XB]).numpy(), expected, rtol=1e-5, atol=1e-7)
    with pytest.raises(ShapeError, match="2 inputs"):
        model.predict(XA)
    with pytest.raises(ShapeError, match="missing \\['b'\\]"):
        model.predict({"a": XA})
    with pytest.raises(ShapeError, match="input 1 \\('b'\\) expects samples of shape \\(2,\\)"):
        model.predict([XA, XA])


def test_a_model_of_two_inputs_fits_evaluates_and_summarises():
    model = _two_inputs()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit([XA, XB], Y, epochs=4, batch_size=8, verbose=0, validation_split=0.25)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    # Keras's validation_split holds out the last samples of every input
    probabilities = _expected(model, XA[18:], XB[18:])
    loss, accuracy = model.evaluate({"a": XA[18:], "b": XB[18:]}, Y[18:], verbose=0)
    assert loss == pytest.approx(-numpy.log(probabilities[numpy.arange(6), Y[18:]]).mean(), rel=1e-5)
    assert history.history["val_loss"][-1] == pytest.approx(loss, rel=1e-6)
    assert accuracy == pytest.approx((probabilities.argmax(1) == Y[18:]).mean())
    history = model.fit({"a": XA, "b": XB}, Y, epochs=1, verbose=0, validation_data=([XA, XB], Y),
                        sample_weight=numpy.ones(24))
    assert len(history.history["val_loss"]) == 1
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Total params: 36" in text and "(None, 6)" in text  # the concatenation of (None, 4) and (None, 2)
    assert model.input_shape == [(None, 3), (None, 2)] and model.output_shape == (None, 2)
    assert model.metrics_names == ["loss", "accuracy"]


@pytest.mark.parametrize("suffix", [".keras", ".safetensors"])
def test_a_functional_model_of_two_inputs_saves_whole_and_reloads_compiled(tmp_path, suffix):
    model = _two_inputs()
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit([XA, XB], Y, epochs=1, verbose=0)
    model.save(tmp_path / f"m{suffix}")
    loaded = keras.models.load_model(tmp_path / f"m{suffix}")
    assert type(loaded) is keras.Model and loaded.name == model.name
    assert [(t.name, t.shape) for t in loaded.inputs] == [("a", (None, 3)), ("b", (None, 2))]
    assert type(loaded.optimizer) is keras.optimizers.RMSprop and loaded.optimizer.learning_rate == 0.01
    numpy.testing.assert_array_equal(loaded.predict([XA, XB], verbose=0), model.predict([XA, XB], verbose=0))
    assert loaded.evaluate([XA, XB], Y, verbose=0) == model.evaluate([XA, XB], Y, verbose=0)
    # the optimiser's state came back too: one more epoch moves both alike
    model.fit([XA, XB], Y, epochs=1, verbose=0, shuffle=False)
    loaded.fit([XA, XB], Y, epochs=1, verbose=0, shuffle=False)
    for got, expected in zip(loaded.get_weights(), model.get_weights(), strict=True):
        numpy.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


def test_shared_layers_nested_models_and_several_outputs_round_trip(tmp_path):
    inputs = keras.Input(shape=(3,))
    shared = layers.Dense(3, activation="tanh")
    twice = shared(shared(inputs))  # one layer, two calls: its weights once in the file
    block = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(4), layers.BatchNormalization()])
    model = keras.Model(inputs, [layers.Dense(1)(block(twice)), layers.Dense(2, activation="softmax")(twice)])
    assert model.count_params() == 12 + (16 + 16) + 5 + 8
    outputs = model.predict(XA, verbose=0)
    assert isinstance(outputs, list) and [o.shape for o in outputs] == [(24, 1), (24, 2)]
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert len(loaded.layers) == 4 and len(loaded.get_weights()) == len(model.get_weights()) == 2 + 6 + 2 + 2
    for got, expected in zip(loaded.predict(XA, verbose=0), outputs, strict=True):
        numpy.testing.assert_array_equal(got, expected)


def _rewrite(path, **changes):
    tensors, metadata = safetensors_file.read(path)
    safetensors_file.write(path, tensors, {**metadata, **changes})


@pytest.mark.parametrize("breakage", [
    lambda g: g["nodes"][0].update(layer=99),  # a layer that is not in the file
    lambda g: g["nodes"][0].update(args=[{"node": 5, "index": 0}]),  # a tensor not made yet
    lambda g: g.update(inputs=[{"shape": [None, -3], "dtype": "float32"}]),  # a size that is not one
    lambda g: g["nodes"].reverse(),  # the calls out of order
])
def test_a_broken_wiring_is_a_format_error_and_loads_nothing(tmp_path, breakage):
    import json

    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, layers.Dense(2)(layers.Dense(4)(inputs)))
    model.save(tmp_path / "m.keras")
    _, metadata = safetensors_file.read(tmp_path / "m.keras")
    architecture = json.loads(metadata["architecture"])
    breakage(architecture["graph"])
    _rewrite(tmp_path / "m.keras", architecture=json.dumps(architecture))
    with pytest.raises(FormatError, match="m.keras"):
        keras.models.load_model(tmp_path / "m.keras")


def test_loading_the_weights_of_another_functional_model_changes_nothing(tmp_path):
    inputs = keras.Input(shape=(3,))
    other = keras.Model(inputs, layers.Dense(5)(inputs))
    other.save(tmp_path / "other.keras")
    model = _two_inputs()
    before = model.get_weights()
    with pytest.raises(FormatError, match="nothing was changed"):
        model.load_weights(tmp_path / "other.keras")
    for got, expected in zip(model.get_weights(), before, strict=True):
        numpy.testing.assert_array_equal(got, expected)


def test_kerass_merge_layers_and_their_functional_forms_match_numpy_and_save(tmp_path):
    a, b = keras.Input(shape=(3,), name="a"), keras.Input(shape=(3,), name="b")
    merged = [layers.Subtract()([a, b]), layers.multiply([a, b]), layers.Average()([a, b, a]),
              layers.maximum([a, b]), layers.Minimum()([a, b]), layers.add([a, b]),
              layers.concatenate([a, b], axis=-1)]
    model = keras.Model([a, b], merged)
    xa, xb = XA[:5], XA[5:10] * 2
    expected = [xa - xb, xa * xb, (2 * xa + xb) / 3, numpy.maximum(xa, xb), numpy.minimum(xa, xb), xa + xb,
                numpy.concatenate([xa, xb], axis=1)]
    for got, want in zip(model.predict([xa, xb], verbose=0), expected, strict=True):
        numpy.testing.assert_allclose(got, want, rtol=1e-6)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    for got, want in zip(loaded.predict([xa, xb], verbose=0), expected, strict=True):
        numpy.testing.assert_allclose(got, want, rtol=1e-6)
    with pytest.raises(ShapeError, match="one shape"):
        layers.Add()([XA, XB])  # (24, 3) and (24, 2): refused, not broadcast
    with pytest.raises(ShapeError, match="exactly two"):
        layers.Subtract()([XA, XA, XA])


def test_a_subclassed_model_is_refused_whole_and_saves_its_weights(tmp_path):
    class Small(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs)

    model = Small()
    model(XA)
    with pytest.raises(Exception, match="save_weights"):
        model.save(tmp_path / "m.keras", custom_objects={"Small": Small})
    assert not (tmp_path / "m.keras").exists()
    model.save_weights(tmp_path / "m.weights")
    twin = Small()
    twin(XA)
    twin.load_weights(tmp_path / "m.weights")
    numpy.testing.assert_array_equal(twin.predict(XA, verbose=0), model.predict(XA, verbose=0))


def test_a_single_input_model_takes_its_array_in_a_list():
    """Keras accepts ``fit([x], y)`` for a model of one input; a list of plain lists stays sample data."""
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit([x], y, epochs=1, verbose=0)
    numpy.testing.assert_array_equal(model.predict([x], verbose=0), model.predict(x, verbose=0))
    assert model.evaluate([x], y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
    sequential = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2)])
    assert sequential.predict([x], verbose=0).shape == (32, 2)
    assert sequential.predict([[0.1, 0.2, 0.3, 0.4]], verbose=0).shape == (1, 2)
