"""The zoo's models: their sizes, their shapes, and that each one learns."""

import numpy
import pytest

import chainrule as cr
from chainrule import zoo
from chainrule.autograd.tensor import Tensor
from chainrule.zoo import char_rnn, lenet, perceptron, xor


def test_registry_names_every_family_and_refuses_unknown_names():
    assert {"tlu", "perceptron", "xor", "backprop", "mlp", "mlp_torch", "autoencoder", "deep_autoencoder",
            "lenet5", "char_rnn", "gan"} <= set(zoo.names())
    for name in zoo.names():
        assert zoo.get(name).name == name
    with pytest.raises(cr.ChainruleError, match="unknown zoo model 'nope'"):
        zoo.get("nope")


@pytest.mark.parametrize("name, count", [("autoencoder", 50_992), ("deep_autoencoder", 222_384),
                                         ("lenet5", 61_706), ("mlp", 669_706), ("mlp_torch", 669_706)])
def test_parameter_counts(name, count):
    entry = zoo.get(name)
    model = entry.build()
    text = model.summary(input_shape=entry.input_shape, print_fn=lambda _: None)
    assert model.num_parameters() == count
    assert f"Total params: {count:,}" in text


def test_lenet5_output_shapes():
    model = lenet.build()
    x = Tensor(numpy.zeros((2, 1, 28, 28), dtype=numpy.float32))
    shapes = []
    for layer in model.layers:
        x = layer(x)
        shapes.append(x.shape)
    assert shapes == [(2, 6, 28, 28), (2, 6, 28, 28), (2, 6, 14, 14), (2, 16, 10, 10), (2, 16, 10, 10),
                      (2, 16, 5, 5), (2, 400), (2, 120), (2, 84), (2, 10)]


@pytest.mark.parametrize("name", ["tlu", "perceptron", "xor", "backprop", "mlp", "mlp_torch", "autoencoder",
                                  "deep_autoencoder", "lenet5", "char_rnn", "gan"])
def test_every_model_learns_in_a_few_steps(name):
    before, after = zoo.get(name).smoke_test()
    assert numpy.isfinite(after)
    assert after < before


def test_perceptron_converges_on_separable_data_and_not_on_xor():
    cr.manual_seed(3)
    x, y = perceptron.separable_data(60)
    unit = perceptron.perceptron(2)
    converged, mistakes = perceptron.fit_perceptron(unit, x, y, max_epochs=200)
    assert converged and mistakes[-1] == 0
    assert numpy.array_equal(unit(x).numpy(), y)

    converged, mistakes = perceptron.fit_perceptron(perceptron.perceptron(2), perceptron.XOR_INPUTS,
                                                    perceptron.XOR_TARGETS, max_epochs=200)
    assert not converged
    assert min(mistakes) >= 1  # some point is always wrong: no line separates XOR


def test_xor_network_gets_all_four_points_right():
    cr.manual_seed(0)
    model, errors, _ = xor.learn_xor()
    assert xor.accuracy(model) == 1.0
    assert errors[-1] < 0.05


def test_char_rnn_samples_only_vocabulary_characters():
    cr.manual_seed(0)
    vocabulary = "ab c\n"
    model = char_rnn.build(vocabulary, embedding_dim=4, hidden_size=8)
    text = char_rnn.sample(model, length=200, temperature=2.0, prime="ab")
    assert len(text) == 200 and text.startswith("ab")
    assert set(text) <= set(vocabulary)
    with pytest.raises(ValueError):
        char_rnn.sample(model, length=10, temperature=0.0)


def test_char_rnn_sequences_shift_targets_by_one():
    x, y = char_rnn.sequences(numpy.arange(10), length=3)
    assert x.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert y.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    with pytest.raises(cr.ChainruleError, match="at least 4"):
        char_rnn.sequences(numpy.arange(3), length=3)
