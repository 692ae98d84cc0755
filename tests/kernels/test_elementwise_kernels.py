"""The compiled BCE and sigmoid kernels (kernels.compiled.elementwise) against the NumPy forms they replace.

Each case runs twice from the same inputs, once with CHAINRULE_NO_NUMBA=1 (the NumPy form in
ops/loss.py and ops/elementwise.py) and once with the kernels, and the values and gradients must agree
to float rounding; both are also checked against a float64 evaluation of the formula.
"""

import numpy as np
import pytest

pytest.importorskip("numba")

import chainrule as cr  # noqa: E402
from chainrule.kernels import compiled as fast  # noqa: E402
from chainrule.ops.activation import sigmoid  # noqa: E402
from chainrule.ops.loss import binary_cross_entropy  # noqa: E402

kernels = pytest.importorskip("chainrule.kernels.compiled.elementwise")

# C-ordered shapes of odd sizes: a 0-d array, and one of several blocks of bce_sum with a partial last one
SHAPES = [(7, 13), (1,), (), (3, 5, 2), (257, 300)]


def _probabilities(rng, shape, dtype, edges=True):
    """Probabilities with the awkward values in: 0, 1, a subnormal, values a hair from 0 and 1."""
    p = rng.random(shape).astype(dtype)
    if edges and p.size >= 6:
        flat = p.reshape(-1)
        tiny = np.finfo(dtype).smallest_subnormal
        flat[:6] = [0.0, 1.0, tiny, 1e-30, 1 - np.finfo(dtype).epsneg, 0.5]
    return p


def _bce_float64(p, t):
    """The clamped BCE, elementwise, in float64 (the reference for both forms)."""
    p, t = p.astype(np.float64), t.astype(np.float64)
    with np.errstate(divide="ignore"):
        log_p, log_q = np.maximum(np.log(p), -100.0), np.maximum(np.log1p(-p), -100.0)
    return -(t * log_p + (1 - t) * log_q)


def _both(monkeypatch, run):
    """``run()`` with the NumPy forms, then with the kernels: (reference, compiled)."""
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "1")
    reference = run()
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    assert fast.load("elementwise") is kernels
    return reference, run()


def _bce_value_and_grad(p, t, reduction):
    probs = cr.tensor(p, requires_grad=True)
    loss = binary_cross_entropy(probs, cr.tensor(t), reduction)
    loss.backward()
    return loss.numpy().copy(), probs.grad.numpy().copy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce_kernel_equals_numpy_form(monkeypatch, dtype, shape, reduction):
    rng = np.random.default_rng(3)
    p, t = _probabilities(rng, shape, dtype), rng.random(shape).astype(dtype)
    (ref_loss, ref_grad), (loss, grad) = _both(monkeypatch, lambda: _bce_value_and_grad(p, t, reduction))
    assert loss.dtype == ref_loss.dtype == dtype and grad.dtype == dtype
    rtol = 2e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(loss, ref_loss, rtol=rtol)
    exact = _bce_float64(p, t).sum() / (p.size if reduction == "mean" else 1)
    np.testing.assert_allclose(loss, exact, rtol=rtol)
    np.testing.assert_array_equal(grad, ref_grad)  # the same operations in the same order


def test_bce_kernel_on_a_large_array_stays_exact(monkeypatch):
    # a float32 BLAS dot drifts by ~1e-5 here; the kernel accumulates in float64
    rng = np.random.default_rng(4)
    p, t = rng.random((600, 1000), dtype=np.float32), rng.random((600, 1000), dtype=np.float32)
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    loss = binary_cross_entropy(cr.tensor(p), cr.tensor(t), "sum")
    np.testing.assert_allclose(loss.numpy(), _bce_float64(p, t).sum(), rtol=1e-7)


@pytest.mark.parametrize("layout", ["transposed", "strided", "broadcast target", "float64 target"])
def test_bce_layouts_the_kernel_declines_give_the_same_result(monkeypatch, layout):
    rng = np.random.default_rng(5)
    p = _probabilities(rng, (9, 11), np.float32)
    t = rng.random((9, 11)).astype(np.float32)
    viewed = layout in ("transposed", "strided")
    t_used = {"transposed": t.T, "strided": t[:, ::2], "broadcast target": t[:1],
              "float64 target": t.astype(np.float64)}[layout]

    def run():
        probs = cr.tensor(p, requires_grad=True)
        loss = binary_cross_entropy(_view(probs, layout) if viewed else probs, cr.tensor(t_used))
        loss.backward()
        return loss.numpy().copy(), probs.grad.numpy().copy()

    (ref_loss, ref_grad), (loss, grad) = _both(monkeypatch, run)
    np.testing.assert_allclose(loss, ref_loss, rtol=2e-6)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-6)
    p_used = {"transposed": p.T, "strided": p[:, ::2]}.get(layout, p)
    exact = _bce_float64(p_used, np.broadcast_to(t_used, p_used.shape)).mean()
    np.testing.assert_allclose(loss, exact, rtol=2e-6)


def test_bce_nan_propagates_in_both_forms(monkeypatch):
    p = np.array([0.2, np.nan, 0.7], np.float32)
    t = np.array([0.0, 1.0, 1.0], np.float32)
    for loss, grad in _both(monkeypatch, lambda: _bce_value_and_grad(p, t, "mean")):
        assert np.isnan(loss)
        assert np.isnan(grad[1]) and np.isfinite(grad[[0, 2]]).all()


def test_bce_clamps_each_log_at_minus_100(monkeypatch):
    p = np.array([0.0, 1.0, 0.0, 1.0], np.float32)
    t = np.array([1.0, 0.0, 0.0, 1.0], np.float32)
    for loss, grad in _both(monkeypatch, lambda: _bce_value_and_grad(p, t, "sum")):
        assert loss == pytest.approx(200.0)
        # p(1 − p) = 0 is clamped at 1e-12: the gradient is (p − t)/1e-12, finite
        np.testing.assert_allclose(grad, [-1e12, 1e12, 0.0, 0.0], rtol=1e-6)


def _sigmoid_value_and_grad(x, g):
    xt = cr.tensor(x, requires_grad=True)
    y = sigmoid(xt)
    y.backward(cr.tensor(g))
    return y.numpy().copy(), xt.grad.numpy().copy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_sigmoid_kernel_equals_numpy_form(monkeypatch, dtype, shape):
    rng = np.random.default_rng(6)
    x = (rng.standard_normal(shape) * 8).astype(dtype)
    if x.size >= 8:
        x.reshape(-1)[:8] = [0.0, -20.0, 20.0, 88.5, 89.0, -104.0, 1000.0, -1000.0]
    g = rng.standard_normal(shape).astype(dtype)
    (ref_y, ref_grad), (y, grad) = _both(monkeypatch, lambda: _sigmoid_value_and_grad(x, g))
    assert y.dtype == dtype and grad.dtype == dtype
    with np.errstate(over="ignore"):
        exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    tiny = np.finfo(dtype).tiny  # below the smallest normal number both forms may give 0
    for values in (y, ref_y):
        np.testing.assert_allclose(values, exact, rtol=4 * np.finfo(dtype).eps, atol=tiny)
    np.testing.assert_allclose(y, ref_y, rtol=4 * np.finfo(dtype).eps, atol=tiny)
    # the gradient is the same arithmetic on each form's own y; where y is near 1, 1 − y keeps
    # the difference of the two y's in absolute terms, so compare to an ulp of 1 times |g|
    np.testing.assert_array_equal(grad, (1 - y) * y * g)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(grad, ref_grad, rtol=8 * eps, atol=4 * eps * np.abs(g).max())


def test_sigmoid_limits_and_nan(monkeypatch):
    x = np.array([np.inf, -np.inf, np.nan, 100.0, -100.0], np.float32)
    for y, grad in _both(monkeypatch, lambda: _sigmoid_value_and_grad(x, np.ones_like(x))):
        np.testing.assert_array_equal(y[[0, 1, 3]], [1.0, 0.0, 1.0])
        assert 0 <= y[4] < 1e-38 and np.isnan(y[2]) and np.isnan(grad[2])


def _view(tensor, layout):
    """A non-contiguous view of a 2-D tensor, made by Tensor ops (``cr.tensor`` would copy)."""
    return tensor.T if layout == "transposed" else tensor[:, ::2]


@pytest.mark.parametrize("layout", ["transposed", "strided"])
def test_sigmoid_layouts_the_kernel_declines_give_the_same_result(monkeypatch, layout):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((6, 10)) * 4).astype(np.float32)
    g = rng.standard_normal(_view(cr.tensor(x), layout).shape).astype(np.float32)
    assert kernels.sigmoid(_view(cr.tensor(x), layout).numpy()) is None

    def run():
        xt = cr.tensor(x, requires_grad=True)
        y = sigmoid(_view(xt, layout))
        y.backward(cr.tensor(g))
        return y.numpy().copy(), xt.grad.numpy().copy()

    (ref_y, ref_grad), (y, grad) = _both(monkeypatch, run)
    np.testing.assert_array_equal(y, ref_y)  # both ran the NumPy form
    np.testing.assert_array_equal(grad, ref_grad)


def test_sigmoid_of_integers_is_the_numpy_form(monkeypatch):
    x = np.arange(-3, 4)
    assert kernels.sigmoid(x) is None
    reference, compiled = _both(monkeypatch, lambda: sigmoid(cr.tensor(x)).numpy())
    assert compiled.dtype == reference.dtype == np.float32  # the default float
    np.testing.assert_array_equal(compiled, reference)


def test_gradient_kernels_decline_what_they_cannot_take():
    p = np.full((3, 4), 0.5, np.float32)
    assert kernels.bce_probs_gradient(p, p, np.ones((3, 4), np.float32), 1e-12) is None  # per-element scale
    assert kernels.bce_probs_gradient(p, p[:1], 1.0, 1e-12) is None  # broadcast target
    assert kernels.bce_sum(p, p.astype(np.float64)) is None  # mixed dtypes
    assert kernels.sigmoid_gradient(p, p.T.copy().T) is None  # Fortran-ordered gradient
    assert kernels.sigmoid_gradient(p, p) is not None


def test_double_backward_still_goes_through_tensor_ops(monkeypatch):
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    rng = np.random.default_rng(8)
    x = cr.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    t = cr.tensor(rng.random((4, 5)))
    cr.autograd.gradgradcheck(lambda a: binary_cross_entropy(sigmoid(a), t), (x,))
    cr.autograd.gradcheck(lambda a: binary_cross_entropy(sigmoid(a), t, "sum"), (x,), check_forward=True)


def test_reused_outputs_never_overwrite_what_the_caller_keeps(monkeypatch):
    # arrays of 100 KB: large enough for the workspace to reuse them between calls
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    rng = np.random.default_rng(9)
    xs = [rng.standard_normal((128, 200)).astype(np.float32) for _ in range(3)]
    kept = []
    for x in xs:
        xt = cr.tensor(x, requires_grad=True)
        y = sigmoid(xt)
        loss = binary_cross_entropy(y, cr.tensor(np.full(x.shape, 0.25, np.float32)))
        loss.backward()
        kept.append((x, y, xt.grad))
    for x, y, grad in kept:  # each step's output and gradient are still that step's
        expected_y = 1 / (1 + np.exp(-x.astype(np.float64)))
        np.testing.assert_allclose(y.numpy(), expected_y, rtol=1e-6)
        np.testing.assert_allclose(grad.numpy(), (expected_y - 0.25) / x.size, rtol=1e-4, atol=1e-12)


def test_sigmoid_then_bce_match_torch_in_float32(monkeypatch):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    x = (rng.standard_normal((33, 47)) * 6).astype(np.float32)
    t = rng.random((33, 47)).astype(np.float32)
    tx = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.binary_cross_entropy(torch.sigmoid(tx), torch.tensor(t))
    expected.backward()

    def run():
        xt = cr.tensor(x, requires_grad=True)
        loss = binary_cross_entropy(sigmoid(xt), cr.tensor(t))
        loss.backward()
        return loss.numpy().copy(), xt.grad.numpy().copy()

    for loss, grad in _both(monkeypatch, run):
        # p rounds differently near 1 in each library, and log(1 − p) magnifies that: 1e-5, not 1e-6
        np.testing.assert_allclose(loss, expected.item(), rtol=2e-5)
        np.testing.assert_allclose(grad, tx.grad.numpy(), rtol=1e-4, atol=1e-9)
