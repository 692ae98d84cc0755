import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import MinMax, NotFittedError, Standardize, from_categorical, to_categorical
from chainrule.errors import DTypeError, ShapeError


def test_to_categorical_and_back():
    labels = np.array([3, 0, 9, 3])
    one_hot = to_categorical(labels, 10)
    assert one_hot.shape == (4, 10) and one_hot.dtype == np.float32
    assert np.all(one_hot.sum(axis=1) == 1)
    assert one_hot[2, 9] == 1 and one_hot[1, 0] == 1
    np.testing.assert_array_equal(from_categorical(one_hot), labels)
    assert to_categorical([[1], [2]]).shape == (2, 3)  # trailing axis of 1 dropped, classes inferred
    assert to_categorical(np.array([1.0, 0.0]), 2, dtype="float64").dtype == np.float64
    assert to_categorical(cr.tensor([1, 0]), 2).shape == (2, 2)


def test_to_categorical_rejects_bad_labels():
    with pytest.raises(ValueError, match="below num_classes=3.*label 5"):
        to_categorical([0, 5], 3)
    with pytest.raises(ValueError, match=">= 0"):
        to_categorical([-1, 2], 3)
    with pytest.raises(DTypeError, match="whole numbers"):
        to_categorical([0.3, 0.7])


def test_standardize_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    train = rng.normal(5.0, 2.0, size=(200, 3)).astype(np.float32)
    test = rng.normal(50.0, 9.0, size=(40, 3)).astype(np.float32)
    scaler = Standardize().fit(train)
    out_train = scaler.transform(train)
    out_test = scaler.transform(test)
    assert out_train.dtype == np.float32 and out_test.dtype == np.float32  # no float64 promotion
    np.testing.assert_allclose(out_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out_train.std(axis=0), 1, atol=1e-5)
    # test data is mapped with the training mean and std, not its own
    np.testing.assert_allclose(out_test, (test - train.mean(0)) / train.std(0), rtol=1e-4)
    assert out_test.mean() > 10
    np.testing.assert_allclose(scaler.inverse_transform(out_test), test, rtol=1e-5)


def test_minmax_maps_training_range_and_leaves_constant_features_finite():
    train = np.array([[0.0, 7.0], [10.0, 7.0], [5.0, 7.0]])
    scaler = MinMax(feature_range=(-1, 1))
    out = scaler.fit_transform(train)
    np.testing.assert_allclose(out[:, 0], [-1, 1, 0])
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(scaler.transform(np.array([[20.0, 7.0]])), [[3.0, -1.0]])  # no clipping
    np.testing.assert_allclose(scaler.inverse_transform(out), train)
    assert scaler.transform(np.array([[1, 7]], dtype=np.uint8)).dtype == np.float32


def test_transform_before_fit_and_wrong_shape_raise():
    for scaler in (Standardize(), MinMax()):
        with pytest.raises(NotFittedError, match="fit"):
            scaler.transform(np.zeros((2, 3)))
    scaler = Standardize().fit(np.ones((4, 3)))
    with pytest.raises(ShapeError, match=r"\(1, 3\).*\(4, 5\)"):
        scaler.transform(np.ones((4, 5)))


def test_state_round_trips_through_json():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 255, size=(30, 4, 4)).astype(np.float32)
    for scaler in (Standardize(), MinMax(feature_range=(0, 2)), Standardize(axis=None)):
        scaler.fit(images)
        state = json.loads(json.dumps(scaler.get_state()))
        restored = type(scaler)().set_state(state)
        np.testing.assert_allclose(restored.transform(images), scaler.transform(images), rtol=1e-6)
    with pytest.raises(ValueError, match="Standardize"):
        MinMax().set_state(Standardize().fit(images).get_state())


def test_data_mistakes_are_chainrule_errors_that_stay_value_errors():
    for bad_call in (lambda: cr.data.to_categorical(np.array([0, 5]), 3),
                     lambda: cr.data.DataLoader(cr.data.TensorDataset(np.zeros((4, 2))), batch_size=0)):
        with pytest.raises(cr.errors.ConfigError) as info:
            bad_call()
        assert isinstance(info.value, ValueError)
