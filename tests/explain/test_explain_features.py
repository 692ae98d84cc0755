"""top_activations, maximize_activation and activations: checked against what they should compute."""

import numpy
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ChainruleError


def _conv_model():
    cr.manual_seed(0)
    return cr.Sequential([nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)])


def test_activations_are_the_layers_output():
    model = _conv_model()
    x = numpy.random.default_rng(0).random((5, 1, 8, 8)).astype("float32")
    caught = cr.explain.activations(model, "1", x, batch_size=2)  # by name, in chunks
    expected = model[1](model[0](cr.tensor(x))).data
    numpy.testing.assert_allclose(caught, expected, rtol=1e-5, atol=1e-7)  # float32, batch-size rounding
    numpy.testing.assert_allclose(cr.explain.activations(model, model[0], x), model[0](cr.tensor(x)).data,
                                  rtol=1e-6)


def test_top_activations_rank_inputs_by_each_filters_largest_response():
    model = _conv_model()
    x = numpy.random.default_rng(1).random((20, 1, 8, 8)).astype("float32")
    top = cr.explain.top_activations(model, "1", x, k=4)
    maps = model[1](model[0](cr.tensor(x))).data  # (20, 4, 6, 6)
    responses = maps.max(axis=(2, 3))  # brute force: each filter's largest value per input
    assert top.indices.shape == (4, 4) and top.values.shape == (4, 4)
    for unit in range(4):
        best = sorted(range(20), key=lambda i: -responses[i, unit])[:4]
        assert list(top.indices[unit]) == best
        numpy.testing.assert_allclose(top.values[unit], responses[best, unit], rtol=1e-6)
        assert numpy.array_equal(top.inputs(x, unit), x[best])


def test_top_activations_of_dense_units():
    cr.manual_seed(1)
    model = cr.Sequential([nn.Linear(3, 2), nn.Sigmoid()])
    x = numpy.random.default_rng(2).normal(size=(10, 3)).astype("float32")
    top = cr.explain.top_activations(model, model[1], x, k=20)  # k larger than the data: all of it
    values = model(cr.tensor(x)).data
    assert top.indices.shape == (2, 10)
    for unit in range(2):
        assert numpy.all(numpy.diff(values[top.indices[unit], unit]) <= 0)


def test_maximize_activation_of_a_linear_unit_reaches_w_over_two_lambda():
    """a(x) − λ‖x‖² with a = w·x + b is maximal at x* = w / (2λ)."""
    cr.manual_seed(2)
    model = cr.Sequential([nn.Linear(4, 3)])
    for p in model.parameters():
        p.data = p.data.astype("float64")
    x, history = cr.explain.maximize_activation(model, "0", unit=1, input_shape=(4,), steps=300, lr=0.5,
                                                l2=0.5)
    numpy.testing.assert_allclose(x, model[0].weight.data[1] / (2 * 0.5), rtol=1e-6)
    assert history[-1] > history[0] and numpy.all(numpy.diff(history) >= -1e-12)


def test_maximize_activation_of_a_filter_raises_its_response():
    model = _conv_model()
    x, history = cr.explain.maximize_activation(model, "1", unit=2, input_shape=(1, 8, 8), steps=30)
    assert x.shape == (1, 8, 8)
    before = model[1](model[0](cr.tensor(numpy.zeros((1, 1, 8, 8), "float32")))).data[0, 2].mean()
    after = model[1](model[0](cr.tensor(x[None].astype("float32")))).data[0, 2].mean()
    assert after > before and history[-1] > history[0]


def test_unknown_layers_and_units_are_named():
    model = _conv_model()
    with pytest.raises(ChainruleError, match="no layer 'conv9'.*'0'"):
        cr.explain.top_activations(model, "conv9", numpy.zeros((2, 1, 8, 8), "float32"))
    with pytest.raises(ChainruleError, match="not a layer"):
        cr.explain.activations(model, nn.ReLU(), numpy.zeros((2, 1, 8, 8), "float32"))
    with pytest.raises(ChainruleError, match="unit 7 does not exist"):
        cr.explain.maximize_activation(model, "0", unit=7, input_shape=(1, 8, 8), steps=1)
