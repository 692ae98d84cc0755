"""keras.losses beyond the common five: Keras 3's formulas (ε = 1e-7), by name and as classes, values and
gradients against the same formulas in PyTorch (#12)."""

import math

import numpy
import pytest

import chainrule as cr
from chainrule import keras

torch = pytest.importorskip("torch")

RNG = numpy.random.default_rng(3)
Y_PRED = RNG.uniform(0.05, 1.0, (6, 4))
Y_TRUE = RNG.uniform(0.0, 1.0, (6, 4))
LABELS = numpy.eye(4)[RNG.integers(0, 4, 6)]
EPS = 1e-7


def _unit(x):
    return x / torch.sqrt(torch.clamp((x * x).sum(-1, keepdim=True), min=1e-12))


REFERENCES = {  # Keras 3's definitions (keras/src/losses/losses.py), written in torch
    "kl_divergence": lambda y, p: (y.clamp(EPS, 1) * torch.log(y.clamp(EPS, 1) / p.clamp(EPS, 1))).sum(-1),
    "mape": lambda y, p: 100 * (torch.abs((y - p) / torch.clamp(torch.abs(y), min=EPS))).mean(-1),
    "msle": lambda y, p: ((torch.log1p(p.clamp(min=EPS)) - torch.log1p(y.clamp(min=EPS))) ** 2).mean(-1),
    "log_cosh": lambda y, p: torch.log(torch.cosh(p - y)).mean(-1),
    "poisson": lambda y, p: (p - y * torch.log(p + EPS)).mean(-1),
    "cosine_similarity": lambda y, p: -(_unit(y) * _unit(p)).sum(-1),
    "squared_hinge": lambda y, p: (torch.clamp(1 - (2 * y - 1) * p, min=0) ** 2).mean(-1),  # 0/1 labels
    "categorical_hinge": lambda y, p: torch.clamp(((1 - y) * p).max(-1).values - (y * p).sum(-1) + 1, min=0),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_each_loss_follows_kerass_formula_in_value_and_gradient(name):
    y_true = LABELS if "hinge" in name else Y_TRUE
    prediction = cr.tensor(Y_PRED, requires_grad=True)
    per_sample = keras.losses.get(name)(y_true, prediction)
    reference_prediction = torch.tensor(Y_PRED, requires_grad=True)
    expected = REFERENCES[name](torch.tensor(y_true), reference_prediction)
    numpy.testing.assert_allclose(per_sample.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    per_sample.sum().backward()
    expected.sum().backward()
    numpy.testing.assert_allclose(prediction.grad.numpy(), reference_prediction.grad.numpy(), rtol=1e-8,
                                  atol=1e-12)


def test_the_classes_average_over_the_batch_and_compile_takes_the_names():
    loss = keras.losses.KLDivergence()(Y_TRUE, cr.tensor(Y_PRED))
    assert float(loss.numpy()) == pytest.approx(float(keras.losses.kld(Y_TRUE, Y_PRED).numpy().mean()))
    assert float(keras.losses.LogCosh()(Y_TRUE, Y_PRED).numpy()) == pytest.approx(
        numpy.log(numpy.cosh(Y_PRED - Y_TRUE)).mean(), rel=1e-10)
    assert math.isclose(float(keras.losses.CosineSimilarity(axis=0)(Y_TRUE, Y_PRED).numpy()),
                        -numpy.mean(numpy.sum(Y_TRUE / numpy.linalg.norm(Y_TRUE, axis=0) * Y_PRED
                                              / numpy.linalg.norm(Y_PRED, axis=0), axis=0)), rel_tol=1e-10)
    x = RNG.random((16, 4)).astype("float32")
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(4, activation="softmax")])
    model.compile(optimizer="adam", loss="kld")
    expected = keras.losses.kl_divergence(x / x.sum(1, keepdims=True), model.predict(x, verbose=0))
    assert model.evaluate(x, x / x.sum(1, keepdims=True), verbose=0) == pytest.approx(
        float(expected.numpy().mean()), rel=1e-5)
