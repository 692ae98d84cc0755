"""Gradient clipping by global norm and by value."""

import math

import numpy as np
import pytest

import chainrule as cr


def with_grads(*grads):
    params = []
    for g in grads:
        p = cr.Tensor(np.zeros_like(g), requires_grad=True)
        p.grad = cr.Tensor(np.array(g, copy=True))
        params.append(p)
    return params


def test_clip_grad_norm_scales_everything_by_one_factor():
    a, b = np.array([3.0, 0.0], np.float32), np.array([[0.0, 4.0]], np.float32)
    params = with_grads(a, b)
    total = cr.optim.clip_grad_norm_(params, max_norm=1.0)
    assert total == pytest.approx(5.0)
    factor = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad.data, a * factor, rtol=1e-6)
    np.testing.assert_allclose(params[1].grad.data, b * factor, rtol=1e-6)
    assert params[0].grad.dtype == np.float32


def test_clip_grad_norm_leaves_small_gradients_and_other_norms():
    params = with_grads(np.array([0.3, -0.4]))
    assert cr.optim.clip_grad_norm_(params, max_norm=1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(params[0].grad.data, [0.3, -0.4])
    params = with_grads(np.array([1.0, -2.0]), np.array([3.0]))
    assert cr.optim.clip_grad_norm_(params, 10.0, norm_type=1) == pytest.approx(6.0)
    assert cr.optim.clip_grad_norm_(params, 10.0, norm_type=math.inf) == pytest.approx(3.0)
    assert cr.optim.clip_grad_norm_(params, 10.0, norm_type=3) == pytest.approx(36.0 ** (1 / 3))
    assert cr.optim.clip_grad_norm_([cr.Tensor(np.zeros(2), requires_grad=True)], 1.0) == 0.0


def test_clipping_a_gradient_shared_by_two_parameters_scales_it_once():
    a = cr.Tensor(np.zeros(2, np.float32), requires_grad=True)
    b = cr.Tensor(np.zeros(2, np.float32), requires_grad=True)
    (3.0 * (a + b)).sum().backward()
    cr.optim.clip_grad_norm_([a, b], max_norm=1.0)
    expected = 3.0 / (math.sqrt(4 * 9.0) + 1e-6)
    np.testing.assert_allclose(a.grad.data, expected, rtol=1e-6)
    np.testing.assert_allclose(b.grad.data, expected, rtol=1e-6)


def test_clip_grad_value_clamps_each_entry():
    params = with_grads(np.array([-3.0, 0.2, 5.0], np.float32))
    cr.optim.clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad.data, np.array([-1.0, 0.2, 1.0], np.float32))
    assert params[0].grad.dtype == np.float32
