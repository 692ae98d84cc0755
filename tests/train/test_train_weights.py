"""Keras's weights as arrays: Model.count_params, get_weights and set_weights."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ChainruleError, ShapeError


def dense_model(hidden=3, features=2):
    return cr.Sequential([cr.nn.Dense(hidden, activation="tanh", input_shape=(features,)), cr.nn.Dense(1)])


def test_get_weights_lists_copies_of_the_parameters_in_parameter_order():
    model = dense_model()
    weights = model.get_weights()
    params = list(model.parameters())
    assert [w.shape for w in weights] == [(3, 2), (3,), (1, 3), (1,)]
    assert len(weights) == len(params)
    for w, p in zip(weights, params, strict=True):
        assert isinstance(w, np.ndarray) and w.dtype == np.float32
        np.testing.assert_array_equal(w, p.numpy())
    weights[0][...] = 123.0  # a copy: changing it leaves the model alone
    assert not np.any(params[0].numpy() == 123.0)


def test_set_weights_makes_two_models_compute_the_same_function():
    source, target = dense_model(), dense_model()
    x = cr.random.generator().normal(size=(5, 2)).astype("float32")
    assert not np.allclose(source.predict(x), target.predict(x))
    target.set_weights(source.get_weights())
    np.testing.assert_array_equal(target.predict(x), source.predict(x))
    # by hand: tanh(x W1ᵀ + b1) W2ᵀ + b2 with the source's arrays
    w1, b1, w2, b2 = source.get_weights()
    np.testing.assert_allclose(target.predict(x), np.tanh(x @ w1.T + b1) @ w2.T + b2, rtol=1e-5, atol=1e-6)


def test_set_weights_keeps_the_parameter_dtype_and_accepts_tensors():
    model = dense_model()
    new = [np.full(w.shape, 0.5, dtype=np.float64) for w in model.get_weights()]
    new[1] = cr.Tensor(new[1])
    model.set_weights(new)
    for p in model.parameters():
        assert p.dtype == np.float32
        np.testing.assert_array_equal(p.numpy(), np.float32(0.5))


def test_a_wrong_shape_names_index_and_both_shapes_and_changes_nothing():
    model = dense_model()
    before = model.get_weights()
    new = [w + 1 for w in before]
    new[2] = np.zeros((3, 1), np.float32)  # transposed kernel of the second layer
    with pytest.raises(ShapeError) as info:
        model.set_weights(new)
    message = str(info.value)
    assert "weight 2" in message and "(1, 3)" in message and "(3, 1)" in message
    assert "1.weight" in message
    for w, p in zip(before, model.parameters(), strict=True):  # not even the good ones were copied
        np.testing.assert_array_equal(p.numpy(), w)


def test_a_wrong_number_of_arrays_or_a_lone_array_is_refused():
    model = dense_model()
    weights = model.get_weights()
    with pytest.raises(ShapeError, match="expects 4 arrays.*got 3"):
        model.set_weights(weights[:3])
    with pytest.raises(ChainruleError, match="list of arrays"):
        model.set_weights(weights[0])


def test_training_continues_after_set_weights():
    x = cr.random.generator().normal(size=(16, 2)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = dense_model()
    model.compile(loss="mse", optimizer="sgd")
    model.fit(x, y, epochs=1, verbose=0)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    assert model.evaluate(x, y) == pytest.approx(float(np.mean(y ** 2)), rel=1e-5)
    history = model.fit(x, y, epochs=2, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    assert any(np.any(w != 0) for w in model.get_weights())  # the optimiser moved them again


def test_count_params_counts_every_weight_as_summary_does():
    model = dense_model(hidden=5, features=4)
    assert model.count_params() == (4 * 5 + 5) + (5 * 1 + 1)
    assert model.count_params() == sum(w.size for w in model.get_weights())
    with_norm = cr.Sequential([cr.nn.Dense(6, input_shape=(3,)), cr.nn.BatchNorm1d(6), cr.nn.Dense(2)])
    # BatchNorm: weight and bias (parameters) and running mean and variance (buffers), as Keras counts
    assert with_norm.count_params() == (3 * 6 + 6) + 4 * 6 + (6 * 2 + 2)
    assert f"Total params: {with_norm.count_params():,}" in with_norm.summary(print_fn=lambda text: None)


def test_a_lazy_model_has_no_weights_until_it_sees_data():
    model = cr.Sequential([cr.nn.Dense(3), cr.nn.Dense(1)])
    for method in (model.count_params, model.get_weights):
        with pytest.raises(ChainruleError, match="no weights yet"):
            method()
    model.predict(np.ones((2, 7), "float32"))
    assert [w.shape for w in model.get_weights()] == [(3, 7), (3,), (1, 3), (1,)]
    assert model.count_params() == 7 * 3 + 3 + 3 + 1


def test_a_wrapped_module_lists_the_module_parameters():
    model = cr.Model(cr.nn.Sequential(cr.nn.Linear(2, 4), cr.nn.ReLU(), cr.nn.Linear(4, 1)))
    assert [w.shape for w in model.get_weights()] == [(4, 2), (4,), (1, 4), (1,)]
    model.set_weights([np.ones((4, 2)), np.zeros(4), np.ones((1, 4)), np.zeros(1)])
    np.testing.assert_allclose(model.predict(np.array([[1.0, 2.0]], "float32")), [[12.0]])
