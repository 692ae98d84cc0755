"""Every optimiser reaches the minimum of an ill-conditioned quadratic and of the Rosenbrock valley."""

import numpy as np
import pytest
from optim_problems import QUADRATIC_TARGET, quadratic_grad, rosenbrock, rosenbrock_grad, run

import chainrule as cr

optim = cr.optim
START = np.array([-1.2, 1.0])  # the classic start, on the far side of the banana-shaped valley

# name: (quadratic optimiser, Rosenbrock optimiser, Rosenbrock steps, distance to (1, 1) required)
CASES = {
    "gd": (lambda p: optim.GD(p, lr=0.1), lambda p: optim.GD(p, lr=2e-3), 10000, 1e-3),
    "sgd_momentum": (lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
                     lambda p: optim.SGD(p, lr=1e-3, momentum=0.9),
                     5000, 1e-4),
    "sgd_nesterov": (lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
                     lambda p: optim.SGD(p, lr=1e-3, momentum=0.9, nesterov=True), 5000, 1e-4),
    "rmsprop": (lambda p: optim.RMSprop(p, lr=1e-2), lambda p: optim.RMSprop(p, lr=3e-4), 10000, 0.05),
    "rmsprop_momentum": (lambda p: optim.RMSprop(p, lr=1e-2, momentum=0.5),
                         lambda p: optim.RMSprop(p, lr=3e-4, momentum=0.5), 10000, 1e-3),
    "rmsprop_centered": (lambda p: optim.RMSprop(p, lr=1e-2, centered=True),
                         lambda p: optim.RMSprop(p, lr=1e-3, centered=True, momentum=0.5), 5000, 1e-3),
    "adagrad": (lambda p: optim.Adagrad(p, lr=0.5), lambda p: optim.Adagrad(p, lr=0.3), 5000, 0.05),
    "adam": (lambda p: optim.Adam(p, lr=0.05), lambda p: optim.Adam(p, lr=0.02), 3000, 0.01),
    "amsgrad": (lambda p: optim.Adam(p, lr=0.05, amsgrad=True),
                lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
                10000, 0.02),
    "adamw": (lambda p: optim.AdamW(p, lr=0.05, weight_decay=0.0),
              lambda p: optim.AdamW(p, lr=0.02, weight_decay=0.0),
              3000, 0.01),
}


@pytest.mark.parametrize("name", list(CASES))
def test_converges_on_quadratic_and_rosenbrock(name):
    quadratic_opt, rosenbrock_opt, steps, tolerance = CASES[name]
    theta = run(quadratic_opt, np.zeros(4), quadratic_grad, 1000)[-1]
    np.testing.assert_allclose(theta, QUADRATIC_TARGET, atol=1e-4)
    theta = run(rosenbrock_opt, START, rosenbrock_grad, steps)[-1]
    assert np.abs(theta - 1.0).max() < tolerance, theta


def test_adadelta_converges_on_quadratic_and_reaches_the_rosenbrock_minimum():
    theta = run(lambda p: optim.Adadelta(p, lr=1.0), np.zeros(4), quadratic_grad, 1000)[-1]
    np.testing.assert_allclose(theta, QUADRATIC_TARGET, atol=1e-4)
    # Adadelta's steps grow with its own running average of past steps: on the Rosenbrock valley it
    # reaches the minimum's neighbourhood, then wanders slowly along the flat floor (torch.optim's
    # Adadelta follows the same path), so the check is the neighbourhood, not a tolerance of 1e-3.
    path = run(lambda p: optim.Adadelta(p, lr=0.1), START, rosenbrock_grad, 5000)
    assert rosenbrock(path[-1]) < 0.02 < 20.0 < rosenbrock(START)
    assert np.abs(path[-1] - 1.0).max() < 0.1, path[-1]


def test_weight_decay_pulls_the_minimum_towards_zero():
    # minimising ½c(θ − t)² + ½λθ² gives θ = c t / (c + λ): coupled decay is exactly that L2 penalty
    decay = 0.5
    theta = run(lambda p: optim.SGD(p, lr=0.1, momentum=0.5, weight_decay=decay), np.zeros(4), quadratic_grad,
                1000)[-1]
    from optim_problems import QUADRATIC_SCALES

    expected = QUADRATIC_SCALES * QUADRATIC_TARGET / (QUADRATIC_SCALES + decay)
    np.testing.assert_allclose(theta, expected, atol=1e-6)
