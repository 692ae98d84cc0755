"""The NumPy form of the LSTM gates (kernels/lstm.py) against the cell's formulas written out plainly.

It runs wherever Numba is absent or switched off, and in float64 always; the compiled kernels are
tested against it (test_lstm_kernels.py), so it is checked here on its own, without Numba.
"""

import numpy as np
import pytest

from chainrule.kernels.lstm import NumpyLSTMGates


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _cell(pre, c_prev):
    """Activations, c and h of one step from the pre-activations, in float64."""
    i, f, g, o = np.split(pre, 4, axis=1)
    i, f, g, o = _sigmoid(i), _sigmoid(f), np.tanh(g), _sigmoid(o)
    c = f * c_prev + i * g
    return np.concatenate([i, f, g, o], axis=1), c, o * np.tanh(c)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-6)])
@pytest.mark.parametrize("batch, hidden", [(3, 5), (64, 16)])
def test_forward_and_backward_equal_the_formulas(dtype, tol, batch, hidden):
    rng = np.random.default_rng(batch * hidden)
    pre, xproj = (rng.standard_normal((batch, 4 * hidden)) * 2 for _ in range(2))
    bias, c_prev = rng.standard_normal(4 * hidden), rng.standard_normal((batch, hidden))
    g_out, dh, dc = (rng.standard_normal((batch, hidden)) for _ in range(3))
    acts, c, h = _cell(pre + xproj + bias, c_prev)

    gates = NumpyLSTMGates(np, hidden, dtype)
    a, ours_c, ours_h = pre.astype(dtype), np.empty((batch, hidden), dtype), np.empty((batch, hidden), dtype)
    gates.forward(a, xproj.astype(dtype), bias.astype(dtype), c_prev.astype(dtype), ours_c, ours_h)
    for name, got, want in [("acts", a, acts), ("c", ours_c, c), ("h", ours_h, h)]:
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=name)

    # backward from the same activations: dh += g_out; dc += dh o (1 - tanh^2 c); da; dc *= f
    i, f, g, o = np.split(acts, 4, axis=1)
    grad_h = dh + g_out
    grad_c = dc + grad_h * o * (1 - np.tanh(c) ** 2)
    da = np.concatenate([grad_c * g * i * (1 - i), grad_c * c_prev * f * (1 - f),
                         grad_c * i * (1 - g * g), grad_h * np.tanh(c) * o * (1 - o)], axis=1)
    ours = [acts.astype(dtype), dh.astype(dtype), dc.astype(dtype)]
    dbias = np.zeros(4 * hidden)
    NumpyLSTMGates(np, hidden, dtype).backward(ours[0], c_prev.astype(dtype), c.astype(dtype),
                                                g_out.astype(dtype), ours[1], ours[2], dbias)
    for name, got, want in [("da", ours[0], da), ("dh", ours[1], grad_h), ("dc", ours[2], grad_c * f),
                            ("dbias", dbias, da.sum(axis=0))]:
        np.testing.assert_allclose(got, want, rtol=10 * tol, atol=10 * tol, err_msg=name)


def test_a_new_bias_array_is_taken_by_the_same_object():
    rng = np.random.default_rng(0)
    gates = NumpyLSTMGates(np, 2, np.float64)
    c_prev = rng.standard_normal((3, 2))
    for bias in (np.zeros(8), np.ones(8)):
        pre = rng.standard_normal((3, 8))
        a, c, h = pre.copy(), np.empty((3, 2)), np.empty((3, 2))
        gates.forward(a, None, bias, c_prev, c, h)
        np.testing.assert_allclose(a, _cell(pre + bias, c_prev)[0], rtol=1e-12)
