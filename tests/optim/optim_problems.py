"""Small problems with analytic gradients, shared by the optimiser tests."""

import numpy as np

import chainrule as cr
from chainrule.nn import Parameter


def rosenbrock(theta):
    """f(x, y) = (1 − x)² + 100 (y − x²)²; minimum 0 at (1, 1)."""
    x, y = theta
    return (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2


def rosenbrock_grad(theta):
    x, y = theta
    return np.array([-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)], dtype=theta.dtype)


QUADRATIC_SCALES = np.array([1.0, 3.0, 0.5, 2.0])
QUADRATIC_TARGET = np.array([1.0, -2.0, 0.5, 3.0])


def quadratic(theta):
    """f(θ) = ½ Σ cᵢ (θᵢ − tᵢ)², an ill-conditioned bowl with its minimum at t."""
    return 0.5 * float(np.sum(QUADRATIC_SCALES * (theta - QUADRATIC_TARGET) ** 2))


def quadratic_grad(theta):
    return (QUADRATIC_SCALES * (theta - QUADRATIC_TARGET)).astype(theta.dtype)


def wavy_grad(theta):
    """A nonlinear gradient field for step-by-step comparisons: g = a θ − b + 0.3 θ³ + 0.2 sin(3θ)."""
    a = np.linspace(0.5, 2.0, theta.size).reshape(theta.shape)
    b = np.linspace(-1.0, 1.0, theta.size).reshape(theta.shape)
    return (a * theta - b + 0.3 * theta**3 + 0.2 * np.sin(3.0 * theta)).astype(theta.dtype)


def run(optimizer_factory, theta0, grad_fn, steps):
    """Run ``steps`` updates of a chainrule optimiser on one parameter; returns its trajectory."""
    p = Parameter(np.array(theta0, copy=True))
    opt = optimizer_factory([p])
    path = []
    for _ in range(steps):
        p.grad = cr.Tensor(grad_fn(p.numpy()))
        opt.step()
        path.append(p.numpy().copy())
    return path
