"""keras.activations: Keras 3's names and defaults, values and gradients against PyTorch (#12)."""

import numpy
import pytest

import chainrule as cr
from chainrule import keras
from chainrule.errors import ConfigError
from chainrule.keras import layers

torch = pytest.importorskip("torch")
F = torch.nn.functional

X = numpy.linspace(-7.0, 7.0, 57) + 0.013  # float64, and no point on a kink (0, ±3, 6)


@pytest.mark.parametrize(("name", "reference"), [
    ("relu", F.relu), ("relu6", F.relu6), ("leaky_relu", lambda t: F.leaky_relu(t, 0.2)),  # Keras's slope
    ("elu", F.elu), ("selu", F.selu), ("gelu", F.gelu), ("silu", F.silu), ("swish", F.silu),
    ("sigmoid", torch.sigmoid), ("hard_sigmoid", lambda t: F.relu6(t + 3) / 6),
    ("hard_silu", lambda t: t * F.relu6(t + 3) / 6),  # Keras 3's formulas (torch's own use a float32 1/6)
    ("tanh", torch.tanh), ("softplus", F.softplus), ("softsign", F.softsign), ("exponential", torch.exp),
    ("mish", F.mish), ("softmax", lambda t: F.softmax(t, -1)),
    ("log_softmax", lambda t: F.log_softmax(t, -1)),
])
def test_each_activation_matches_pytorch_in_value_and_gradient(name, reference):
    x = cr.tensor(X, requires_grad=True)
    y = keras.activations.get(name)(x)
    x_t = torch.tensor(X, requires_grad=True)
    y_t = reference(x_t)
    numpy.testing.assert_allclose(y.numpy(), y_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    weights = numpy.cos(X)
    (y * cr.tensor(weights)).sum().backward()
    (y_t * torch.tensor(weights)).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), x_t.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_relu_options_and_the_names_layers_use(tmp_path):
    y = keras.activations.relu(X, negative_slope=0.1, max_value=4.0, threshold=1.0).numpy()
    numpy.testing.assert_allclose(y, numpy.minimum(numpy.where(X >= 1.0, X, 0.1 * (X - 1.0)), 4.0))
    assert keras.activations.get("linear") is None and keras.activations.get(None) is None
    with pytest.raises(ConfigError, match="unknown activation 'swishy'"):
        layers.Dense(2, activation="swishy")
    model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(4, activation="gelu"),
                              layers.Activation("hard_sigmoid"),
                              layers.Dense(2, activation=keras.activations.selu)])
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    names = [layer.activation_name for layer in loaded.layers]
    assert names == ["gelu", "hard_sigmoid", "selu"]
    x = numpy.random.default_rng(0).standard_normal((5, 3)).astype("float32")
    numpy.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
