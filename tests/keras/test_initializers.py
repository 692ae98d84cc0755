"""keras.initializers: Keras's names, ranges and variances (not PyTorch's), used by keras.layers (#12)."""

import numpy
import pytest

from chainrule import keras
from chainrule.keras import initializers, layers
from chainrule.nn import Parameter


def _drawn(initializer, shape):
    keras.utils.set_random_seed(0)
    return initializer(Parameter(numpy.empty(shape, dtype="float64"))).numpy()


def test_uniform_and_normal_are_kerass_small_ranges():
    values = _drawn(initializers.get("uniform"), (200, 200))
    assert values.min() >= -0.05 and values.max() <= 0.05 and values.min() < -0.049
    assert _drawn(initializers.get("random_normal"), (200, 200)).std() == pytest.approx(0.05, rel=0.02)


@pytest.mark.parametrize(("name", "variance"), [
    ("glorot_uniform", 2 / (300 + 100)), ("glorot_normal", 2 / (300 + 100)), ("he_uniform", 2 / 300),
    ("he_normal", 2 / 300), ("lecun_uniform", 1 / 300), ("lecun_normal", 1 / 300),
])
def test_variance_scaling_has_the_intended_variance_with_kerass_fans(name, variance):
    values = _drawn(initializers.get(name), (100, 300))  # the engine's (units, in): fan_in 300, fan_out 100
    assert values.var() == pytest.approx(variance, rel=0.03)
    if name.endswith("_normal"):  # truncated at two standard deviations of the untruncated normal
        assert numpy.abs(values).max() <= 2 * numpy.sqrt(variance) / initializers.TRUNCATED_STD + 1e-12


def test_orthogonal_and_the_layers_use_these_initializers():
    q = _drawn(initializers.Orthogonal(), (12, 3))
    numpy.testing.assert_allclose(q.T @ q, numpy.eye(3), atol=1e-12)
    lstm = layers.LSTM(3, input_shape=(4, 2))
    recurrent = lstm.get_weights()[1]  # Keras's (units, 4·units): orthonormal rows
    numpy.testing.assert_allclose(recurrent @ recurrent.T, numpy.eye(3), atol=1e-5)
    dense = layers.Dense(50, input_shape=(40,), kernel_initializer="random_uniform", bias_initializer="ones")
    kernel, bias = dense.get_weights()
    assert numpy.abs(kernel).max() <= 0.05 and (bias == 1).all()
    assert numpy.abs(layers.Embedding(30, 4).get_weights()[0]).max() <= 0.05
