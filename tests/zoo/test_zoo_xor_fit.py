"""XOR trained by Model.fit: the reported loss is ½·Σ(t − out)² of the weights BEFORE each update."""

import numpy
import pytest

import chainrule as cr
from chainrule.zoo import xor


def _sigmoid(z):
    return 1.0 / (1.0 + numpy.exp(-z))


def _numpy_errors(weights, epochs, lr):
    """Full-batch gradient descent by hand (backpropagation written out); the error before each update."""
    w1, b1, w2, b2 = (numpy.array(w, dtype=numpy.float64) for w in weights)
    x, t = xor.INPUTS, xor.TARGETS
    errors = []
    for _ in range(epochs):
        hidden = _sigmoid(x @ w1.T + b1)
        out = _sigmoid(hidden @ w2.T + b2)
        errors.append(0.5 * float(numpy.sum((t - out) ** 2)))
        delta_out = (out - t) * out * (1 - out)
        delta_hidden = (delta_out @ w2) * hidden * (1 - hidden)
        w2, b2 = w2 - lr * delta_out.T @ hidden, b2 - lr * delta_out.sum(axis=0)
        w1, b1 = w1 - lr * delta_hidden.T @ x, b1 - lr * delta_hidden.sum(axis=0)
    return errors


def _weights(model):
    return [model[0].weight.data, model[0].bias.data, model[2].weight.data, model[2].bias.data]


def test_fit_reports_the_error_before_each_update_in_float64():
    model = xor.build(textbook=True)  # float64: fit must agree with NumPy to rounding
    expected = _numpy_errors(_weights(model), epochs=4, lr=0.5)
    errors = xor.fit_xor(model, epochs=4, lr=0.5)
    assert errors == pytest.approx(expected, rel=1e-12)
    # the first number is the untrained network's error, not the error after the first update
    assert abs(errors[0] - expected[1]) > 1e-4


def test_fit_reports_the_same_errors_for_random_float32_weights():
    cr.manual_seed(1)
    model = xor.build()
    expected = _numpy_errors(_weights(model), epochs=5, lr=5.0)
    errors = xor.fit_xor(model, epochs=5, lr=5.0)
    assert errors == pytest.approx(expected, rel=1e-5)
    assert model[0].weight.dtype == numpy.float32  # trained in float32, never promoted
