"""The primitives rewritten for the benchmarked steps equal their plain composed forms.

Sigmoid is computed in place as 1/(1 + e^(−x)); binary cross-entropy sums through one temporary; their
backward passes work on arrays. Each is checked against the textbook formula in float64 (and the
float32 results against the float64 ones), including saturated inputs.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

EXTREMES = np.array([-1000.0, -100.0, -88.0, -30.0, -1.0, 0.0, 1e-3, 2.0, 30.0, 100.0, 1000.0])


def _reference_sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_matches_the_formula_everywhere(dtype):
    x = np.concatenate([EXTREMES, np.random.default_rng(0).standard_normal(200) * 10]).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # saturation must not warn
        y = cr.sigmoid(cr.tensor(x)).numpy()
    assert y.dtype == dtype
    # exact to rounding, except that results below the smallest normal number may come out as 0
    np.testing.assert_allclose(y, _reference_sigmoid(x), rtol=2e-6 if dtype == np.float32 else 1e-14,
                               atol=np.finfo(dtype).tiny)
    assert np.all((y >= 0) & (y <= 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_backward_matches_recorded_backward(dtype):
    x = cr.tensor(np.random.default_rng(1).standard_normal((5, 7)).astype(dtype), requires_grad=True)
    upstream = np.random.default_rng(2).standard_normal((5, 7)).astype(dtype)
    (fast,) = cr.autograd.grad([cr.sigmoid(x)], [x], [cr.tensor(upstream)])
    (recorded,) = cr.autograd.grad([cr.sigmoid(x)], [x], [cr.tensor(upstream)], create_graph=True)
    y = _reference_sigmoid(x.numpy())
    np.testing.assert_allclose(fast.numpy(), upstream * y * (1 - y), rtol=1e-5)
    np.testing.assert_allclose(fast.numpy(), recorded.numpy(), rtol=1e-5)
    assert fast.dtype == dtype


def _reference_bce(p, t):
    p, t = p.astype(np.float64), t.astype(np.float64)
    with np.errstate(divide="ignore"):
        log_p, log_q = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)
    return -(t * log_p + (1 - t) * log_q)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_matches_the_formula(reduction):
    rng = np.random.default_rng(3)
    p = np.concatenate([[0.0, 1.0, 1e-30, 1 - 1e-7], rng.random(300)]).astype(np.float32)
    t = np.concatenate([[0.0, 1.0, 1.0, 0.0], rng.random(300)]).astype(np.float32)
    probs = cr.tensor(p, requires_grad=True)
    loss = F.binary_cross_entropy(probs, cr.tensor(t), reduction=reduction)
    expected = _reference_bce(p, t)
    expected = {"mean": expected.mean(), "sum": expected.sum(), "none": expected}[reduction]
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-5)
    loss.backward(cr.ones_like(loss))
    scale = 1.0 / p.size if reduction == "mean" else 1.0
    p64 = p.astype(np.float64)
    expected_grad = scale * (p64 - t) / np.maximum(p64 * (1 - p64), 1e-12)
    np.testing.assert_allclose(probs.grad.numpy(), expected_grad, rtol=1e-4)


def test_binary_cross_entropy_summed_equals_elementwise_sum():
    rng = np.random.default_rng(4)
    p, t = rng.random((64, 33)).astype(np.float32), (rng.random((64, 33)) > 0.5).astype(np.float32)
    total = F.binary_cross_entropy(cr.tensor(p), cr.tensor(t), reduction="sum")
    each = F.binary_cross_entropy(cr.tensor(p), cr.tensor(t), reduction="none")
    np.testing.assert_allclose(total.numpy(), each.numpy().astype(np.float64).sum(), rtol=1e-5)


def test_binary_cross_entropy_target_gradient():
    rng = np.random.default_rng(5)
    p, t = rng.random(20), rng.random(20)
    target = cr.tensor(t, requires_grad=True)
    F.binary_cross_entropy(cr.tensor(p), target, reduction="sum").backward()
    np.testing.assert_allclose(target.grad.numpy(), -(np.log(p) - np.log1p(-p)), rtol=1e-12)
