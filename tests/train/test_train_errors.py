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
