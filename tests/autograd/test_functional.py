"""Function transforms (grad, value_and_grad, vjp, jvp, hvp, jacobian) and gradcheck itself."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.op import Op
from chainrule.errors import GradcheckError
from chainrule.ops import elementwise, linalg, reduce


def _f(x, y):
    return (cr.sin(x) * y).sum() + (y ** 2).sum()


def test_grad_with_int_and_tuple_argnums():
    x = cr.tensor(np.array([0.5, 1.0]))
    y = cr.tensor(np.array([2.0, -1.0]))
    gx = cr.grad(_f)(x, y)
    np.testing.assert_allclose(gx.numpy(), np.cos(x.numpy()) * y.numpy())
    gy = cr.grad(_f, argnums=1)(x, y)
    np.testing.assert_allclose(gy.numpy(), np.sin(x.numpy()) + 2 * y.numpy())
    both = cr.grad(_f, argnums=(0, 1))(x, y)
    assert isinstance(both, tuple) and len(both) == 2
    np.testing.assert_allclose(both[1].numpy(), gy.numpy())


def test_nested_grad_gives_higher_derivatives():
    x = cr.tensor(np.array(0.7))
    f = lambda t: cr.sin(t) * t  # noqa: E731
    d1 = cr.grad(f)
    d2 = cr.grad(lambda t: d1(t).sum())
    d3 = cr.grad(lambda t: d2(t).sum())
    v = 0.7
    assert np.isclose(d1(x).item(), np.cos(v) * v + np.sin(v))
    assert np.isclose(d2(x).item(), -np.sin(v) * v + 2 * np.cos(v))
    assert np.isclose(d3(x).item(), -np.cos(v) * v - 3 * np.sin(v))


def test_value_and_grad():
    x = cr.tensor(np.array([1.0, 2.0, 3.0]))
    value, g = cr.value_and_grad(lambda t: (t * t).sum())(x)
    assert np.isclose(value.item(), 14.0)
    np.testing.assert_allclose(g.numpy(), 2 * x.numpy())


def test_vjp_returns_one_gradient_per_primal():
    a = cr.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    b = cr.tensor(np.array([0.5, -1.0]))
    out, vjp_fn = cr.vjp(lambda p, q: p @ q, a, b)
    np.testing.assert_allclose(out.numpy(), a.numpy() @ b.numpy())
    u = np.array([1.0, 10.0])
    ga, gb = vjp_fn(cr.tensor(u))
    np.testing.assert_allclose(ga.numpy(), np.outer(u, b.numpy()))
    np.testing.assert_allclose(gb.numpy(), a.numpy().T @ u)


def test_jvp_is_true_forward_mode(monkeypatch):
    """No reverse rule may run while jvp pushes tangents."""

    def forbidden(self, g):
        raise AssertionError(f"jvp called the reverse rule of {self.name}")

    for cls in (elementwise.Mul, elementwise.Tanh, elementwise.Add, linalg.MatMul, reduce.Sum, Op):
        monkeypatch.setattr(cls, "vjp", forbidden)
    a = cr.tensor(np.array([[0.1, 0.2], [0.3, 0.4]]))
    v = cr.tensor(np.array([[1.0, 0.0], [0.0, 2.0]]))
    out, tangent = cr.jvp(lambda x: cr.tanh(x @ x * 2 + x).sum(), (a,), (v,))
    # reference: central differences along v
    f = lambda x: np.tanh(x @ x * 2 + x).sum()  # noqa: E731
    eps = 1e-6
    expected = (f(a.numpy() + eps * v.numpy()) - f(a.numpy() - eps * v.numpy())) / (2 * eps)
    assert np.isclose(tangent.item(), expected, rtol=1e-6)
    assert np.isclose(out.item(), f(a.numpy()))


def test_hvp_matches_an_explicit_hessian():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 3))  # noqa: N806 - a matrix
    x0 = rng.standard_normal(3)
    v = rng.standard_normal(3)

    def f(x):
        return cr.sum(cr.sin(cr.tensor(A) @ x)) + (x ** 4).sum()

    (hv,) = cr.hvp(f, (cr.tensor(x0),), (cr.tensor(v),))
    # H = A^T diag(-sin(A x)) A + diag(12 x^2)
    hessian = A.T @ np.diag(-np.sin(A @ x0)) @ A + np.diag(12 * x0**2)
    np.testing.assert_allclose(hv.numpy(), hessian @ v, rtol=1e-10)


def test_hvp_returns_one_product_per_primal():
    x, y = cr.tensor(np.array([1.0, 2.0])), cr.tensor(np.array(3.0))
    hx, hy = cr.hvp(lambda a, b: (a * a * b).sum(), (x, y), (cr.tensor(np.ones(2)), cr.tensor(np.array(1.0))))
    # f = b Σ a²: H_aa = 2b I, H_ab = 2a, H_bb = 0
    np.testing.assert_allclose(hx.numpy(), 2 * 3.0 * np.ones(2) + 2 * x.numpy())
    np.testing.assert_allclose(hy.numpy(), 2 * x.numpy().sum())


def test_jacobian_matches_finite_differences():
    x0 = np.array([0.2, -0.4, 1.1])

    def f(x):
        return cr.stack([cr.sin(x[0] * x[1]), x.sum() ** 2])

    jac = cr.jacobian(f)(cr.tensor(x0))
    assert jac.shape == (2, 3)
    eps = 1e-6
    numeric = np.zeros((2, 3))
    for j in range(3):
        step = np.zeros(3)
        step[j] = eps
        numeric[:, j] = (f(cr.tensor(x0 + step)).numpy() - f(cr.tensor(x0 - step)).numpy()) / (2 * eps)
    np.testing.assert_allclose(jac.numpy(), numeric, rtol=1e-6, atol=1e-8)


class _WrongSquare(Op):
    """x² with a deliberately wrong derivative (3x instead of 2x)."""

    def forward(self, a):
        return a * a

    def vjp(self, g):
        return (g * 3 * self.inputs[0],)

    def jvp(self, da):
        return da * 2 * self.inputs[0]


def test_gradcheck_names_the_wrong_element():
    x = cr.tensor(np.array([0.0, 0.0, 2.0]), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 0\[2\]"):
        cr.autograd.gradcheck(lambda t: _WrongSquare()(t), [x])


def test_gradcheck_passes_a_correct_op_and_rejects_float32():
    x = cr.tensor(np.array([0.5, 2.0]), requires_grad=True)
    assert cr.autograd.gradcheck(lambda t: t * t, [x], check_forward=True)
    assert cr.autograd.gradgradcheck(lambda t: t * t * t, [x])
    with pytest.raises(TypeError, match="float64"):
        cr.autograd.gradcheck(lambda t: t * t, [cr.tensor([1.0], requires_grad=True)])


def test_transforms_of_constant_functions_give_zeros():
    x = cr.tensor(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(cr.grad(lambda t: cr.tensor(1.0))(x).numpy(), [0.0, 0.0])
    assert cr.jacobian(lambda t: cr.ones(3))(x).shape == (3, 2)
    _, vjp_fn = cr.vjp(lambda t: cr.ones(2), x)
    np.testing.assert_array_equal(vjp_fn(cr.ones(2))[0].numpy(), [0.0, 0.0])


def test_autograd_grad_of_input_without_grad_raises():
    x = cr.tensor([1.0])
    with pytest.raises(cr.GraphError, match="requires_grad=True"):
        cr.autograd.grad((x * 2).sum(), [x])


def test_forward_over_reverse_gives_the_hessian_vector_product():
    def f(t):
        return (t ** 3).sum() + (cr.sin(t) * t[0]).sum()

    x, v = cr.tensor(np.array([1.0, 2.0])), cr.tensor(np.array([1.0, 0.5]))
    _, forward_over_reverse = cr.jvp(cr.grad(f), (x,), (v,))
    (reverse_over_reverse,) = cr.hvp(f, (x,), (v,))
    a, b = x.numpy()
    hessian = np.array([[6 * a + 2 * np.cos(a) - a * np.sin(a), np.cos(b)],
                        [np.cos(b), 6 * b - a * np.sin(b)]])
    np.testing.assert_allclose(reverse_over_reverse.numpy(), hessian @ v.numpy(), rtol=1e-12)
    np.testing.assert_allclose(forward_over_reverse.numpy(), hessian @ v.numpy(), rtol=1e-12)
