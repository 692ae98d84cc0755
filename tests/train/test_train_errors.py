"""Wrong input is caught at the first batch, before any weight changes, with a hint."""

import numpy as np
import pytest

import chainrule as cr


def _compiled(mlp_factory, loss):
    model = mlp_factory()
    model.compile(loss=loss, optimizer="sgd", metrics=["accuracy"])
    return model


def test_integer_labels_for_categorical_crossentropy(blobs, mlp_factory):
    x, y = blobs
    model = _compiled(mlp_factory, "categorical_crossentropy")
    before = model.state_dict()
    hint = r"one-hot.*to_categorical\(y, 3\).*sparse_categorical_crossentropy"
    with pytest.raises(cr.ShapeError, match=hint):
        model.fit(x, y, epochs=1, verbose=0)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_one_hot_targets_for_sparse_categorical_crossentropy(blobs, mlp_factory):
    x, y = blobs
    model = _compiled(mlp_factory, "sparse_categorical_crossentropy")
    with pytest.raises(cr.ShapeError, match="categorical_crossentropy.*argmax"):
        model.fit(x, np.eye(3, dtype="float32")[y], epochs=1, verbose=0)
    with pytest.raises(cr.ShapeError, match="one-hot"):
        model.evaluate(x, np.eye(3, dtype="float32")[y])


def test_wrong_number_of_classes(blobs, mlp_factory):
    x, y = blobs
    model = _compiled(mlp_factory, "categorical_crossentropy")
    with pytest.raises(cr.ShapeError, match="3 units"):
        model.fit(x, np.eye(5, dtype="float32")[y], epochs=1, verbose=0)


def test_float_labels_that_are_whole_numbers_are_accepted_others_are_not(blobs, mlp_factory):
    x, y = blobs
    model = _compiled(mlp_factory, "sparse_categorical_crossentropy")
    model.fit(x, y.astype("float32"), epochs=1, verbose=0)
    with pytest.raises(cr.DTypeError, match="whole numbers"):
        model.fit(x, y + 0.5, epochs=1, verbose=0)


def test_regression_targets_of_the_wrong_width(blobs):
    x, _ = blobs
    model = cr.Sequential([cr.nn.Dense(2, input_shape=(4,))])
    model.compile(loss="mse", optimizer="sgd")
    with pytest.raises(cr.ShapeError, match=r"\(batch, 2\)"):
        model.fit(x, np.zeros((len(x), 3), "float32"), verbose=0)


def test_dense_fed_the_wrong_width_names_the_layer(blobs, mlp_factory):
    x, y = blobs
    model = _compiled(mlp_factory, "sparse_categorical_crossentropy")
    with pytest.raises(cr.ShapeError, match=r"Dense 'dense.*expects \(batch, 4\)"):
        model.fit(x[:, :3], y, verbose=0)


def test_x_and_y_of_different_lengths(blobs, mlp_factory):
    x, y = blobs
    model = _compiled(mlp_factory, "sparse_categorical_crossentropy")
    with pytest.raises(cr.ShapeError, match="same number of rows"):
        model.fit(x, y[:-1], verbose=0)
    with pytest.raises(cr.ChainruleError, match="no targets"):
        model.fit(x, verbose=0)


def test_not_compiled_and_unknown_names(mlp_factory, blobs):
    x, y = blobs
    model = mlp_factory()
    with pytest.raises(cr.ChainruleError, match="not compiled.*compile"):
        model.fit(x, y)
    with pytest.raises(ValueError, match="known names are .*categorical_crossentropy"):
        model.compile(loss="categorial_crossentropy")
    with pytest.raises(ValueError, match="known names are .*rmsprop"):
        model.compile(loss="mse", optimizer="rmsporp")
    with pytest.raises(cr.ChainruleError, match="known metrics"):
        model.compile(loss="mse", metrics=["accuracyy"])


def test_summary_without_a_known_input_shape_says_what_to_pass():
    model = cr.Sequential([cr.nn.Dense(3), cr.nn.Dense(1)])
    with pytest.raises(cr.ChainruleError, match="input_shape"):
        model.summary()


def test_predict_on_one_unbatched_sample_says_to_add_the_batch_axis(blobs, mlp_factory):
    x, _ = blobs
    model = mlp_factory()  # input_shape=(4,)
    expected = r"batch of shape \(batch, 4\).*one sample of shape \(4,\).*x\[None\]"
    with pytest.raises(cr.ShapeError, match=expected):
        model.predict(x[0])
    assert model.predict(x[:1]).shape == (1, 3)


def _unchanged(model, before):
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


@pytest.mark.parametrize("loss, metric, targets, hint", [
    ("sparse_categorical_crossentropy", "top_k_categorical_accuracy", "labels",
     "'sparse_top_k_categorical_accuracy'"),
    ("categorical_crossentropy", "sparse_top_k_categorical_accuracy", "one-hot",
     "'top_k_categorical_accuracy'"),
    ("sparse_categorical_crossentropy", "categorical_accuracy", "labels", "'sparse_categorical_accuracy'"),
])
def test_a_metric_given_targets_of_the_other_kind_says_so_before_any_step(blobs, mlp_factory, loss, metric,
                                                                          targets, hint):
    x, y = blobs
    model = mlp_factory()
    model.compile(loss=loss, optimizer="sgd", metrics=[metric])
    before = model.state_dict()
    with pytest.raises(cr.ShapeError, match=f"metric '{metric}'.*hint: .*{hint}"):
        model.fit(x, y if targets == "labels" else np.eye(3, dtype="float32")[y], epochs=1, verbose=0)
    _unchanged(model, before)


def test_validation_targets_of_the_wrong_kind_fail_before_the_first_epoch(blobs, mlp_factory):
    x, y = blobs
    model = _compiled(mlp_factory, "categorical_crossentropy")
    before = model.state_dict()
    with pytest.raises(cr.ShapeError, match="validation_data.*to_categorical"):
        model.fit(x, np.eye(3, dtype="float32")[y], epochs=1, verbose=0, validation_data=(x, y))
    _unchanged(model, before)


def test_binary_crossentropy_refuses_targets_outside_zero_and_one(blobs):
    x, y = blobs  # labels 0, 1, 2
    model = cr.Sequential([cr.nn.Dense(1, activation="sigmoid", input_shape=(4,))])
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    before = model.state_dict()
    with pytest.raises(cr.errors.ConfigError, match=r"\[0, 1\].*from 0 to 2.*sparse_categorical"):
        model.fit(x, y, epochs=1, verbose=0)
    _unchanged(model, before)


def test_callback_slips_are_named(blobs, mlp_factory, tmp_path):
    x, y = blobs
    model = _compiled(mlp_factory, "sparse_categorical_crossentropy")
    with pytest.raises(cr.ChainruleError, match=r"list of Callback.*callbacks=\[EarlyStopping"):
        model.fit(x, y, verbose=0, callbacks=cr.callbacks.EarlyStopping())
    with pytest.raises(cr.ChainruleError, match=r"EarlyStopping\(\), not EarlyStopping"):
        model.fit(x, y, verbose=0, callbacks=[cr.callbacks.EarlyStopping])
    with pytest.raises(cr.ChainruleError, match="schedule\\(epoch, lr\\)"):
        cr.callbacks.LearningRateScheduler(lambda epoch, lr, extra: lr)
    cr.callbacks.LearningRateScheduler(lambda epoch, lr, scale=0.5: lr * scale)  # a default is fine
    checkpoint = cr.callbacks.ModelCheckpoint(tmp_path / "m-{val_loss:.2f}.chainrule")
    expected = "val_loss.*expected fields among: epoch, loss.*validation_data"
    with pytest.raises(cr.ChainruleError, match=expected):
        model.fit(x, y, verbose=0, callbacks=[checkpoint])
    assert list(tmp_path.iterdir()) == []
