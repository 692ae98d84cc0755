"""``layer.trainable = False`` freezes the layer (#12): it was a plain attribute; the layer kept training."""

import numpy

import chainrule as cr


def _data():
    rng = numpy.random.default_rng(0)
    return rng.random((16, 3), dtype=numpy.float32), rng.random((16, 1), dtype=numpy.float32)


def test_frozen_layer_keeps_its_weights_through_fit_and_the_other_layer_trains():
    x, y = _data()
    model = cr.Sequential([cr.nn.Dense(4, activation="relu", input_shape=(3,)), cr.nn.Dense(1)])
    model.layers[0].trainable = False
    model.compile(loss="mse", optimizer="sgd")
    before = model.get_weights()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    after = model.get_weights()
    assert [numpy.array_equal(a, b) for a, b in zip(before, after, strict=True)] == [True, True, False, False]


def test_a_lazy_layer_frozen_before_it_builds_stays_frozen():
    x, y = _data()
    model = cr.Sequential([cr.nn.Dense(4), cr.nn.Dense(1)])
    model.layers[0].trainable = False
    model.compile(loss="mse", optimizer="adam")
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    first = model.layers[0]
    assert not first.weight.requires_grad and not first.bias.requires_grad
    snapshot = first.weight.numpy().copy()
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    numpy.testing.assert_array_equal(first.weight.numpy(), snapshot)


def test_summary_counts_frozen_weights_as_non_trainable_and_thawing_trains_again():
    model = cr.Sequential([cr.nn.Dense(4, input_shape=(3,)), cr.nn.Dense(1)])
    model.trainable = False
    assert not model.layers[1].trainable
    text = model.summary(print_fn=lambda _: None)
    assert "Trainable params: 0" in text and "Non-trainable params: 21" in text
    model.layers[1].trainable = True
    text = model.summary(print_fn=lambda _: None)
    assert "Trainable params: 5" in text and "Non-trainable params: 16" in text
    assert model.layers[1].weight.requires_grad and not model.layers[0].weight.requires_grad
