"""cr.explain.saliency: each method checked against what it means, not only its shape."""

import numpy
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ChainruleError, ShapeError


def _mlp(dtype="float64"):
    cr.manual_seed(0)
    model = cr.Sequential([nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3), nn.Softmax()])
    for p in model.parameters():
        p.data = p.data.astype(dtype)
    return model


def _conv(dtype="float64"):
    cr.manual_seed(1)
    model = cr.Sequential([nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                           nn.Linear(3 * 4 * 4, 5), nn.Dropout(0.5), nn.Softmax()])
    for p in model.parameters():
        p.data = p.data.astype(dtype)
    return model


def _inputs(shape, seed=0):
    return numpy.random.default_rng(seed).normal(size=shape)


def _finite_difference(model, x, target, eps=1e-6):
    """∂f_target/∂x value by value, by central differences (float64)."""
    grad = numpy.zeros_like(x)
    for index in numpy.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        f_up, _ = cr.explain.scores(model, up[None], target)
        f_down, _ = cr.explain.scores(model, down[None], target)
        grad[index] = (f_up[0] - f_down[0]) / (2 * eps)
    return grad


def test_gradient_is_the_derivative_of_the_predicted_class():
    model, x = _mlp(), _inputs((3, 4))
    maps = cr.explain.saliency(model, x)
    _, predicted = cr.explain.scores(model, x)
    assert numpy.array_equal(predicted, model(cr.tensor(x)).data.argmax(axis=1))
    for i in range(3):
        numpy.testing.assert_allclose(maps[i], _finite_difference(model, x[i], int(predicted[i])),
                                      rtol=1e-6, atol=1e-9)


def test_gradient_of_a_chosen_target_per_sample():
    model, x = _mlp(), _inputs((2, 4), seed=3)
    maps = cr.explain.saliency(model, x, target=[2, 0])
    numpy.testing.assert_allclose(maps[0], _finite_difference(model, x[0], 2), rtol=1e-6, atol=1e-9)
    numpy.testing.assert_allclose(maps[1], _finite_difference(model, x[1], 0), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("build, shape", [(_mlp, (3, 4)), (_conv, (2, 1, 8, 8))])
def test_integrated_gradients_are_complete(build, shape):
    """Σ attributions = f(x) − f(baseline), to within the trapezoid rule's error for the given steps."""
    model, x = build(), _inputs(shape, seed=5)
    baseline = numpy.full(shape[1:], 0.1)
    attributions = cr.explain.saliency(model, x, method="integrated_gradients", steps=200, baseline=baseline)
    f_x, targets = cr.explain.scores(model, x)
    f_0, _ = cr.explain.scores(model, numpy.broadcast_to(baseline, shape), targets)
    sums = attributions.reshape(len(x), -1).sum(axis=1)
    numpy.testing.assert_allclose(sums, f_x - f_0, atol=2e-3 * numpy.abs(f_x - f_0).max())
    # fewer steps, a coarser quadrature: the error grows, it does not vanish by construction
    coarse = cr.explain.saliency(model, x, method="integrated_gradients", steps=2, baseline=baseline)
    assert numpy.abs(coarse.reshape(len(x), -1).sum(1) - (f_x - f_0)).max() >= \
        numpy.abs(sums - (f_x - f_0)).max()


def test_integrated_gradients_of_a_linear_model_are_weight_times_input():
    cr.manual_seed(2)
    model = nn.Linear(5, 2)
    model.weight.data = model.weight.data.astype("float64")
    model.bias.data = model.bias.data.astype("float64")
    x = _inputs((4, 5))
    attributions = cr.explain.saliency(model, x, target=1, method="integrated_gradients", steps=3)
    numpy.testing.assert_allclose(attributions, x * model.weight.data[1], rtol=1e-12)


def test_smoothgrad_averages_gradients_of_noisy_copies():
    model, x = _mlp(), _inputs((2, 4), seed=7)
    exact = cr.explain.saliency(model, x, target=1)
    numpy.testing.assert_allclose(cr.explain.saliency(model, x, target=1, method="smoothgrad", noise=0.0,
                                                      steps=3), exact, rtol=1e-12)
    noisy = cr.explain.saliency(model, x, target=1, method="smoothgrad", steps=400, noise=0.05, seed=4)
    again = cr.explain.saliency(model, x, target=1, method="smoothgrad", steps=400, noise=0.05, seed=4)
    assert numpy.array_equal(noisy, again)  # the seed makes it reproducible
    assert not numpy.allclose(noisy, exact, rtol=1e-6)  # the noise did something ...
    numpy.testing.assert_allclose(noisy, exact, atol=0.1 * numpy.abs(exact).max())  # ... but little


def test_saliency_runs_in_eval_mode_and_restores_the_mode():
    model = _conv()
    model.train()
    x = _inputs((2, 1, 8, 8))
    first = cr.explain.saliency(model, x, target=0)
    second = cr.explain.saliency(model, x, target=0)
    assert numpy.array_equal(first, second)  # dropout was off
    assert all(m.training for m in model.modules())


def test_float32_model_gives_float32_maps():
    model = _conv("float32")
    maps = cr.explain.saliency(model, _inputs((1, 1, 8, 8)).astype("float32"), method="integrated_gradients",
                               steps=4)
    assert maps.dtype == numpy.float32 and maps.shape == (1, 1, 8, 8)


def test_bad_arguments_are_named():
    model, x = _mlp(), _inputs((2, 4))
    with pytest.raises(ChainruleError, match="unknown method"):
        cr.explain.saliency(model, x, method="lime")
    with pytest.raises(ChainruleError, match="out of range"):
        cr.explain.saliency(model, x, target=3)
    with pytest.raises(ShapeError, match="one per sample"):
        cr.explain.saliency(model, x, target=[0, 1, 2])
    with pytest.raises(ShapeError, match="baseline"):
        cr.explain.saliency(model, x, method="integrated_gradients", baseline=numpy.zeros(3))
    with pytest.raises(ShapeError, match="batch"):
        cr.explain.saliency(model, numpy.float64(1.0))
    with pytest.raises(ChainruleError, match="floating point"):
        cr.explain.saliency(model, numpy.ones((2, 4), dtype=int))
