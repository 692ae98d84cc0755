"""L-BFGS with and without the strong-Wolfe line search, and the line search on its own."""

import numpy as np
import pytest
from optim_problems import QUADRATIC_TARGET, quadratic, quadratic_grad

import chainrule as cr
from chainrule.optim.lbfgs import strong_wolfe

optim = cr.optim


def rosenbrock_closure(opt, xy):
    def closure():
        opt.zero_grad()
        x, y = xy[0], xy[1]
        loss = (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2
        loss.backward()
        return loss

    return closure


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-5), (np.float32, 1e-4)])
def test_strong_wolfe_lbfgs_solves_rosenbrock(dtype, tolerance):
    xy = cr.Tensor(np.array([-1.2, 1.0], dtype=dtype), requires_grad=True)
    opt = optim.LBFGS([xy], line_search_fn="strong_wolfe", max_iter=100, tolerance_grad=1e-10,
                  tolerance_change=1e-12)
    closure = rosenbrock_closure(opt, xy)
    for _ in range(5):
        opt.step(closure)
    assert xy.dtype == dtype
    assert np.abs(xy.numpy() - 1.0).max() < tolerance, xy.numpy()
    assert opt.state[xy]["func_evals"] < 300  # a quasi-Newton method, not a crawl


def test_lbfgs_on_a_quadratic_is_exact_after_a_few_iterations():
    theta = cr.Tensor(np.zeros(4), requires_grad=True)
    opt = optim.LBFGS([theta], line_search_fn="strong_wolfe", history_size=10)

    def closure():
        theta.grad = cr.Tensor(quadratic_grad(theta.numpy()))
        return quadratic(theta.numpy())

    opt.step(closure)
    np.testing.assert_allclose(theta.numpy(), QUADRATIC_TARGET, atol=1e-6)


def test_lbfgs_keeps_at_most_history_size_pairs_and_needs_a_closure():
    xy = cr.Tensor(np.array([-1.2, 1.0]), requires_grad=True)
    opt = optim.LBFGS([xy], history_size=3, max_iter=10, lr=0.1)
    opt.step(rosenbrock_closure(opt, xy))
    assert len(opt.state[xy]["old_dirs"]) <= 3
    with pytest.raises(ValueError, match="closure"):
        opt.step()
    with pytest.raises(ValueError, match="line_search_fn"):
        optim.LBFGS([xy], line_search_fn="backtracking")
    with pytest.raises(ValueError, match="one parameter group"):
        optim.LBFGS([{"params": [xy]}, {"params": [cr.Tensor(np.zeros(2), requires_grad=True)]}])


def test_lbfgs_state_dict_resumes_identically():
    def make():
        xy = cr.Tensor(np.array([-1.2, 1.0]), requires_grad=True)
        return xy, optim.LBFGS([xy], max_iter=3, history_size=4, line_search_fn="strong_wolfe")

    xy, opt = make()
    closure = rosenbrock_closure(opt, xy)
    for _ in range(4):
        opt.step(closure)
    straight = xy.numpy().copy()

    xy, opt = make()
    closure = rosenbrock_closure(opt, xy)
    for _ in range(2):
        opt.step(closure)
    saved, midway = opt.state_dict(), xy.numpy().copy()
    xy, opt = make()
    xy.data[...] = midway
    opt.load_state_dict(saved)
    closure = rosenbrock_closure(opt, xy)
    for _ in range(2):
        opt.step(closure)
    np.testing.assert_array_equal(xy.numpy(), straight)


@pytest.mark.parametrize("t0", [1e-3, 1.0, 50.0])
def test_strong_wolfe_returns_a_step_meeting_both_conditions(t0):
    # f(x) = (x − 3)⁴ + x² along d = 1 from x = 0
    def f(x):
        return (x - 3.0) ** 4 + x * x

    def df(x):
        return 4.0 * (x - 3.0) ** 3 + 2.0 * x

    direction = np.array([1.0])

    def evaluate(t):
        return f(t), np.array([df(t)])

    f0, g0 = evaluate(0.0)
    slope0 = float(g0 @ direction)
    c1, c2 = 1e-4, 0.9
    f_t, g_t, t, evaluations = strong_wolfe(evaluate, t0, direction, f0, g0, slope0, c1=c1, c2=c2)
    assert f_t == pytest.approx(f(t)) and g_t[0] == pytest.approx(df(t))
    assert f(t) <= f0 + c1 * t * slope0
    assert abs(df(t)) <= c2 * abs(slope0)
    assert evaluations <= 25
