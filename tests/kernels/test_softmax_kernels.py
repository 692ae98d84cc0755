"""The compiled softmax cross-entropy (chainrule.kernels.compiled.softmax) against the NumPy form it replaces.

Each case runs twice from the same inputs, once with CHAINRULE_NO_NUMBA=1 (the NumPy form in
ops/loss.py) and once with the kernels, and both are checked against a float64 evaluation of the formula.

Tolerances, and why: the shifted logits, their exponentials and the gradient's arithmetic are the same
float operations in the same order in both forms; only the row sum Zᵢ differs (float64 in the kernel,
NumPy's pairwise sum in the dtype), which moves log Zᵢ and each probability by about one rounding. So
a loss agrees within 4 ulps of the size of its terms (log Zᵢ and the picked shifted logit), and each
gradient element within 4 ulps of itself plus 2 ulps of the upstream scale (the label's entry p − 1).
"""

import numpy as np
import pytest

pytest.importorskip("numba")

import chainrule as cr  # noqa: E402
from chainrule.autograd import gradcheck, gradgradcheck  # noqa: E402
from chainrule.kernels import compiled as fast  # noqa: E402
from chainrule.kernels import workspace
from chainrule.ops.loss import softmax_cross_entropy  # noqa: E402

kernels = pytest.importorskip("chainrule.kernels.compiled.softmax")

SHAPES = [(1, 7), (5, 1), (13, 65), (33, 1000), (200, 3), (3, 5000)]
REDUCTIONS = ["mean", "sum", "none"]


@pytest.fixture
def count_kernel_calls(monkeypatch):
    """Count the compiled forward passes that ran (not those that declined), so a test sees it used."""
    calls = {"forward": 0, "gradient": 0}
    forward, gradient = kernels.hard_label_forward, kernels.hard_label_gradient

    def counted(name, function):
        def wrapper(*args):
            result = function(*args)
            calls[name] += result is not None
            return result
        return wrapper

    monkeypatch.setattr(kernels, "hard_label_forward", counted("forward", forward))
    monkeypatch.setattr(kernels, "hard_label_gradient", counted("gradient", gradient))
    return calls


def _both(monkeypatch, run):
    """``run()`` with the NumPy form, then with the kernels: (reference, compiled)."""
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "1")
    reference = run()
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    assert fast.load("softmax") is kernels
    return reference, run()


def _value_and_grad(x, target, reduction, **options):
    """The loss and the logits' gradient, with a fixed upstream gradient (random for "none")."""
    logits = cr.Tensor(x, requires_grad=True)
    loss = softmax_cross_entropy(logits, target, reduction, **options)
    upstream = np.random.default_rng(9).standard_normal(loss.shape).astype(x.dtype) + 2
    loss.backward(cr.Tensor(upstream))
    return loss.numpy().copy(), logits.grad.numpy().copy(), upstream


def _exact_terms(x, target):
    """(log Zᵢ, picked shifted logit) in float64: ℓᵢ = log Zᵢ − pickedᵢ."""
    x = x.astype(np.float64)
    shifted = x - x.max(axis=1, keepdims=True)
    return np.log(np.exp(shifted).sum(axis=1)), shifted[np.arange(len(target)), target]


def _check(x, target, reduction, reference, compiled):
    (ref_loss, ref_grad, upstream), (loss, grad, _) = reference, compiled
    dtype = x.dtype
    eps = np.finfo(dtype).eps
    assert loss.dtype == ref_loss.dtype == dtype and grad.dtype == ref_grad.dtype == dtype
    assert loss.shape == ref_loss.shape and grad.shape == ref_grad.shape == x.shape
    log_z, picked = _exact_terms(x, target)
    exact, size = log_z - picked, np.abs(log_z) + np.abs(picked)
    if reduction != "none":
        divisor = len(target) if reduction == "mean" else 1
        exact, size = exact.sum() / divisor, size.sum() / divisor
    for value in (loss, ref_loss):
        np.testing.assert_allclose(value, exact, rtol=0, atol=4 * eps * np.max(size) + 1e-300)
    np.testing.assert_allclose(loss, ref_loss, rtol=0, atol=4 * eps * np.max(size) + 1e-300)
    scale = (upstream / len(target) if reduction == "mean" else upstream).reshape(-1, 1)
    np.testing.assert_allclose(grad, ref_grad, rtol=4 * eps, atol=2 * eps * np.max(np.abs(scale)))
    probs = np.exp(x.astype(np.float64) - x.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    probs[np.arange(len(target)), target] -= 1
    np.testing.assert_allclose(grad, probs * scale, rtol=8 * eps, atol=4 * eps * np.max(np.abs(scale)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_kernel_equals_numpy_form(monkeypatch, count_kernel_calls, dtype, shape, reduction):
    rng = np.random.default_rng(shape[0] * shape[1])
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    target = rng.integers(0, shape[1], shape[0])
    reference, compiled = _both(monkeypatch, lambda: _value_and_grad(x, target, reduction))
    assert count_kernel_calls == {"forward": 1, "gradient": 1}
    _check(x, target, reduction, reference, compiled)


@pytest.mark.parametrize("layout", ["transposed", "every other column", "every other row"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_contiguous_logits(monkeypatch, count_kernel_calls, layout, dtype):
    rng = np.random.default_rng(11)
    base = (rng.standard_normal((40, 66)) * 3).astype(dtype)
    x = {"transposed": base.T, "every other column": base[:, ::2], "every other row": base[::2]}[layout]
    assert not x.flags.c_contiguous
    target = rng.integers(0, x.shape[1], x.shape[0]).astype(np.int32)
    # straight into the primitive, so that the view itself reaches the kernel
    reference, compiled = _both(monkeypatch, lambda: _value_and_grad(x, target, "mean"))
    assert count_kernel_calls["forward"] == 1
    _check(np.ascontiguousarray(x), target, "mean", reference, compiled)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_row_maximum_is_found_in_every_column(monkeypatch, dtype):
    # softmax ignores the shift, except that e^(x − m) overflows unless m is the true maximum: put one
    # large logit in each column in turn (every lane of the maximum's loop and its tail), far above
    # the rest, so that a wrong maximum shows as inf/NaN
    c = 8 * 8 + 3
    x = np.random.default_rng(1).standard_normal((c, c)).astype(dtype)
    x[np.arange(c), np.arange(c)] = 800.0
    target = (np.arange(c) + 1) % c
    reference, compiled = _both(monkeypatch, lambda: _value_and_grad(x, target, "none"))
    assert np.isfinite(compiled[0]).all() and np.isfinite(compiled[1]).all()
    _check(x, target, "none", reference, compiled)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nan_and_infinite_logits_behave_as_in_numpy(monkeypatch, dtype, reduction):
    x = np.random.default_rng(2).standard_normal((7, 12)).astype(dtype)
    x[1, 3] = np.nan  # a NaN: its row is NaN
    x[2, 0] = np.nan  # a NaN first in its row (where the running maximum starts)
    x[3, 5] = np.inf  # +inf: inf − inf is NaN, so the row is NaN
    x[4, :] = -np.inf  # all −inf: −inf − (−inf) is NaN
    x[5, 2] = -np.inf  # one −inf among finite logits: probability 0, finite loss
    target = np.array([0, 1, 2, 3, 4, 2, 6])  # row 5 picks its −inf: loss +inf
    with np.errstate(invalid="ignore"):
        (ref_loss, ref_grad, _), (loss, grad, _) = _both(monkeypatch,
                                                         lambda: _value_and_grad(x, target, reduction))
    np.testing.assert_array_equal(np.isnan(loss), np.isnan(ref_loss))
    np.testing.assert_array_equal(np.isnan(grad), np.isnan(ref_grad))
    np.testing.assert_allclose(loss, ref_loss, rtol=4 * np.finfo(dtype).eps)
    np.testing.assert_allclose(grad, ref_grad, rtol=4 * np.finfo(dtype).eps, atol=1e-30)
    if reduction == "none":
        assert np.isnan(loss[[1, 2, 3, 4]]).all() and loss[5] == np.inf and np.isfinite(loss[[0, 6]]).all()


def test_one_class_gives_zero_loss_and_gradient(monkeypatch):
    x = np.random.default_rng(3).standard_normal((6, 1)).astype(np.float32)
    target = np.zeros(6, np.int64)
    (ref_loss, ref_grad, _), (loss, grad, _) = _both(monkeypatch, lambda: _value_and_grad(x, target, "none"))
    np.testing.assert_array_equal(loss, ref_loss)
    np.testing.assert_array_equal(loss, np.zeros(6, np.float32))
    np.testing.assert_array_equal(grad, ref_grad)
    np.testing.assert_array_equal(grad, np.zeros((6, 1), np.float32))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_no_rows_is_left_to_the_numpy_form(monkeypatch, count_kernel_calls, reduction):
    x, target = np.zeros((0, 5), np.float32), np.zeros(0, np.int64)
    reference, compiled = _both(monkeypatch, lambda: _value_and_grad(x, target, reduction))
    assert count_kernel_calls["forward"] == 0
    for ref, got in zip(reference[:2], compiled[:2]):
        np.testing.assert_array_equal(got, ref)  # nan for "mean", 0 for "sum", empty for "none"
        assert got.dtype == ref.dtype == np.float32


@pytest.mark.parametrize("case", ["ignored label hit", "ignore_index 0", "label -1 (wraps)",
                                  "smoothing", "weight"])
def test_cases_the_kernel_declines_give_the_numpy_result(monkeypatch, count_kernel_calls, case):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((9, 6)).astype(np.float32)
    target = rng.integers(0, 6, 9)
    options = {}
    if case == "ignored label hit":
        target[4] = -100
    elif case == "ignore_index 0":
        target[[0, 5]] = 0
        options["ignore_index"] = 0
    elif case == "label -1 (wraps)":
        target[2] = -1  # the primitive itself indexes as NumPy does; F.cross_entropy refuses this label
    elif case == "smoothing":
        options["label_smoothing"] = 0.1
    else:
        options["weight"] = rng.random(6).astype(np.float32)
    reference, compiled = _both(monkeypatch, lambda: _value_and_grad(x, target, "mean", **options))
    assert count_kernel_calls["forward"] == 0
    np.testing.assert_allclose(compiled[0], reference[0], rtol=1e-6)
    np.testing.assert_allclose(compiled[1], reference[1], rtol=1e-6, atol=1e-9)


def test_switched_off_keeps_the_numpy_form(monkeypatch):
    def refuse(*args):
        raise AssertionError("the compiled form ran under CHAINRULE_NO_NUMBA=1")

    monkeypatch.setattr(kernels, "hard_label_forward", refuse)
    monkeypatch.setattr(kernels, "hard_label_gradient", refuse)
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "1")
    x = cr.Tensor(np.random.default_rng(5).standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    cr.nn.functional.cross_entropy(x, cr.tensor(np.array([0, 2, 1, 1]))).backward()
    assert x.grad is not None
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    with pytest.raises(AssertionError, match="compiled form ran"):
        cr.nn.functional.cross_entropy(x, cr.tensor(np.array([0, 2, 1, 1])))


def test_reused_memory_never_overwrites_what_a_caller_holds(monkeypatch, count_kernel_calls):
    # every array pooled, so the small probabilities and gradients here come from the workspace
    monkeypatch.setattr(workspace, "SMALLEST_BYTES", 0)
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    workspace.clear()
    rng = np.random.default_rng(6)
    held = []
    for _ in range(3):
        x = rng.standard_normal((8, 5)).astype(np.float32)
        target = rng.integers(0, 5, 8)
        logits = cr.Tensor(x, requires_grad=True)
        loss = softmax_cross_entropy(logits, target, "sum")
        loss.backward(retain_graph=True)
        first = logits.grad.numpy().copy()
        logits.grad = None
        loss.backward()  # a second backward pass reads the kept probabilities again
        np.testing.assert_array_equal(logits.grad.numpy(), first)
        held.append((logits.grad.numpy(), first))
    for grad, value in held:  # gradients of earlier steps were not handed out again
        np.testing.assert_array_equal(grad, value)
    assert count_kernel_calls == {"forward": 3, "gradient": 6}
    workspace.clear()


def test_gradients_of_gradients_with_the_kernels_on(monkeypatch):
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    rng = np.random.default_rng(7)
    x = cr.Tensor(rng.standard_normal((4, 5)), requires_grad=True)
    target = rng.integers(0, 5, 4)
    gradcheck(lambda z: softmax_cross_entropy(z, target, "mean"), [x])
    gradcheck(lambda z: softmax_cross_entropy(z, target, "none"), [x])
    gradgradcheck(lambda z: softmax_cross_entropy(z, target, "sum"), [x])


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x = (rng.standard_normal((300, 65)) * 3).astype(np.float32)
    target = rng.integers(0, 65, 300)
    logits = cr.Tensor(x, requires_grad=True)
    cr.nn.functional.cross_entropy(logits, cr.tensor(target)).backward()
    expected = torch.tensor(x, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(expected, torch.tensor(target))
    loss.backward()
    np.testing.assert_allclose(cr.nn.functional.cross_entropy(cr.Tensor(x), cr.tensor(target)).numpy(),
                               loss.item(), rtol=2e-6)
    np.testing.assert_allclose(logits.grad.numpy(), expected.grad.numpy(), rtol=1e-5, atol=1e-9)
