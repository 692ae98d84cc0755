"""A functional keras.Model of several outputs: a loss per output (list or dict), loss_weights, metrics
per output, Keras's log names, targets as a list or a dict, and files (#12)."""

import numpy
import pytest

import chainrule as cr
from chainrule import keras
from chainrule.errors import ConfigError, ShapeError
from chainrule.keras import layers

RNG = numpy.random.default_rng(1)
X = RNG.standard_normal((30, 3)).astype("float32")
Y_REG = (X @ numpy.array([[1.0], [-2.0], [0.5]], "float32"))
Y_CLS = (X[:, 0] > 0).astype("int64") + (X[:, 1] > 0).astype("int64")


def _model():
    inputs = keras.Input(shape=(3,))
    hidden = layers.Dense(8, activation="tanh")(inputs)
    return keras.Model(inputs, [layers.Dense(1, name="reg")(hidden),
                                layers.Dense(3, activation="softmax", name="cls")(hidden)])


def _compiled(**overrides):
    model = _model()
    model.compile(**{"optimizer": keras.optimizers.Adam(learning_rate=0.02),
                     "loss": {"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                     "loss_weights": [1.0, 0.5], "metrics": {"cls": ["accuracy"]}, **overrides})
    return model


def test_the_total_loss_is_the_weighted_sum_of_each_outputs_loss_and_logs_are_named_as_keras_does():
    model = _compiled()
    assert model.output_names == ["reg", "cls"]
    reg, cls = model.predict(X, verbose=0)
    mse = numpy.mean((reg - Y_REG) ** 2)
    cross_entropy = -numpy.log(cls[numpy.arange(30), Y_CLS]).mean()
    accuracy = (cls.argmax(1) == Y_CLS).mean()
    results = model.evaluate(X, [Y_REG, Y_CLS], verbose=0)
    expected = [mse + 0.5 * cross_entropy, mse, cross_entropy, accuracy]
    numpy.testing.assert_allclose(results, expected, rtol=1e-5)
    by_name = model.evaluate(X, {"cls": Y_CLS, "reg": Y_REG}, verbose=0, return_dict=True)
    assert list(by_name) == ["loss", "reg_loss", "cls_loss", "cls_accuracy"]
    history = model.fit(X, [Y_REG, Y_CLS], epochs=5, batch_size=10, verbose=0, validation_split=0.2)
    assert list(history.history) == ["loss", "reg_loss", "cls_loss", "cls_accuracy",
                                     "val_loss", "val_reg_loss", "val_cls_loss", "val_cls_accuracy"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_loss"][-1] == pytest.approx(
        model.evaluate(X[24:], [Y_REG[24:], Y_CLS[24:]], verbose=0)[0], rel=1e-6)


def test_one_loss_for_every_output_and_only_the_weighted_outputs_train():
    model = _model()
    model.compile(optimizer="sgd", loss="mse", loss_weights={"reg": 0.0})  # "cls" keeps weight 1
    before = [w.copy() for w in model.get_layer("reg").get_weights()]
    model.fit(X, [Y_REG, numpy.eye(3, dtype="float32")[Y_CLS]], epochs=1, verbose=0)
    for got, expected in zip(model.get_layer("reg").get_weights(), before, strict=True):
        numpy.testing.assert_array_equal(got, expected)


def test_a_model_of_several_outputs_saves_its_compile_state_and_reloads(tmp_path):
    model = _compiled()
    model.fit(X, [Y_REG, Y_CLS], epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.output_names == ["reg", "cls"]
    numpy.testing.assert_array_equal(loaded.evaluate(X, [Y_REG, Y_CLS], verbose=0),
                                     model.evaluate(X, [Y_REG, Y_CLS], verbose=0))
    assert set(loaded.fit(X, [Y_REG, Y_CLS], verbose=0).history) == {"loss", "reg_loss", "cls_loss",
                                                                      "cls_accuracy"}


def test_mistakes_with_several_outputs_are_clear_errors():
    with pytest.raises(ConfigError, match="2 outputs"):
        _compiled(loss=["mse"])
    with pytest.raises(ConfigError, match="unknown \\['out'\\]"):
        _compiled(loss={"reg": "mse", "out": "mse"})
    model = _compiled()
    with pytest.raises(ShapeError, match="2 outputs \\['reg', 'cls'\\]"):
        model.fit(X, Y_REG, verbose=0)
    with pytest.raises(ConfigError, match="loss_weights"):
        model.fit(X, [Y_REG, Y_CLS], sample_weight=numpy.ones(30), verbose=0)


def test_dicts_of_inputs_or_outputs_in_the_constructor_are_refused_with_the_way_round():
    inputs = keras.Input(shape=(3,), name="features")
    with pytest.raises(cr.errors.ChainruleError, match="name the tensors"):
        keras.Model(inputs, {"reg": layers.Dense(1)(inputs)})
