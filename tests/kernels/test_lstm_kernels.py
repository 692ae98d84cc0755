"""The compiled LSTM gate kernels (chainrule.kernels.compiled.lstm) against the NumPy form they replace.

Each kernel runs on the same inputs as ``NumpyLSTMGates`` (kernels/lstm.py) and every array it
writes must agree to float32 rounding (the kernels' tanh is a rational approximation within a few
ulp). Then a whole LSTM training step is run twice, with CHAINRULE_NO_NUMBA=1 and without.
"""

import numpy as np
import pytest

pytest.importorskip("numba")

import chainrule as cr  # noqa: E402
import chainrule.nn as nn  # noqa: E402
from chainrule.autograd import gradcheck, gradgradcheck  # noqa: E402
from chainrule.kernels import lstm as recurrent  # noqa: E402
from chainrule.kernels import mkl as blas  # noqa: E402
from chainrule.kernels.compiled import lstm as kernels  # noqa: E402
from chainrule.kernels.lstm import NumpyLSTMGates, compiled_lstm_gates  # noqa: E402
from chainrule.ops.recurrent import LSTMRecurrence  # noqa: E402
from lstm_step import lstm_step  # noqa: E402

TOL = {"rtol": 2e-5, "atol": 2e-6}


def _f32(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def test_tanh_approximation_is_within_a_few_ulp_over_the_whole_range():
    x = np.linspace(-30, 30, 600_000, dtype=np.float32).reshape(600, -1)
    x = np.concatenate([x, np.geomspace(1e-30, 1, x.size, dtype=np.float32).reshape(x.shape)])
    out = np.empty_like(x)
    kernels.tanh_kernel(x, out)
    exact = np.tanh(x.astype(np.float64))
    assert np.abs(out - exact).max() < 4e-7
    assert np.all(np.abs(out - exact) <= 8 * np.spacing(np.abs(exact).astype(np.float32)))
    assert np.all(np.abs(out) <= 1) and np.all(np.sign(out) == np.sign(x))


def test_tanh_approximation_keeps_nan_and_saturates_at_infinity():
    x = np.array([[np.nan, np.inf, -np.inf, 0.0]], dtype=np.float32)
    out = np.empty_like(x)
    kernels.tanh_kernel(x, out)
    assert np.isnan(out[0, 0])
    np.testing.assert_allclose(out[0, 1:], [1, -1, 0], atol=1e-7)


@pytest.mark.parametrize("batch, hidden", [(5, 7), (64, 256), (1, 1)])
def test_forward_kernel_equals_numpy_form(batch, hidden):
    rng = np.random.default_rng(batch + hidden)
    a, xproj = _f32(rng, batch, 4 * hidden, scale=3), _f32(rng, batch, 4 * hidden, scale=3)
    c_prev, bias = _f32(rng, batch, hidden, scale=2), _f32(rng, 4 * hidden)
    ours = [a.copy()] + [np.empty_like(c_prev) for _ in range(2)]  # a, c, h
    ref = [a.copy()] + [np.empty_like(c_prev) for _ in range(2)]
    kernels.gates_forward_kernel(ours[0], xproj, bias, c_prev, *ours[1:])
    NumpyLSTMGates(np, hidden, np.float32).forward(ref[0], xproj, bias, c_prev, *ref[1:])
    for name, got, want in zip(["acts", "c", "h"], ours, ref):
        assert got.dtype == np.float32, name
        np.testing.assert_allclose(got, want, err_msg=name, **TOL)


@pytest.mark.parametrize("batch, hidden", [(5, 7), (64, 256)])
def test_backward_kernel_equals_numpy_form(batch, hidden):
    rng = np.random.default_rng(10 + batch)
    acts = rng.uniform(0.01, 0.99, (batch, 4 * hidden)).astype(np.float32)
    acts[:, 2 * hidden:3 * hidden] = rng.uniform(-0.99, 0.99, (batch, hidden))  # the tanh block g
    c_prev, g_out = _f32(rng, batch, hidden), _f32(rng, batch, hidden)
    cell = _f32(rng, batch, hidden, scale=2)
    dh, dc = _f32(rng, batch, hidden), _f32(rng, batch, hidden)
    dbias = rng.standard_normal(4 * hidden)  # an accumulator: the step adds to what is there
    ours = [acts.copy(), dh.copy(), dc.copy(), dbias.copy()]  # acts becomes da in place
    ref = [acts.copy(), dh.copy(), dc.copy(), dbias.copy()]
    kernels.gates_backward_kernel(ours[0], c_prev, cell, g_out, *ours[1:])
    NumpyLSTMGates(np, hidden, np.float32).backward(ref[0], c_prev, cell, g_out, *ref[1:])
    for name, got, want in zip(["da", "dh", "dc", "dbias"], ours, ref):
        np.testing.assert_allclose(got, want, err_msg=name, **TOL)


@pytest.mark.parametrize("batch, hidden", [(5, 7), (64, 256)])
def test_forward_without_xproj_equals_forward_on_the_sum(batch, hidden):
    """xproj=None (the product already added into a inside the GEMM) gives the same bits as passing it."""
    rng = np.random.default_rng(30 + batch)
    a, xproj = _f32(rng, batch, 4 * hidden, scale=3), _f32(rng, batch, 4 * hidden, scale=3)
    c_prev, bias = _f32(rng, batch, hidden, scale=2), _f32(rng, 4 * hidden)
    for gates in (kernels.gates_forward_kernel, NumpyLSTMGates(np, hidden, np.float32).forward):
        separate = [a.copy(), np.empty_like(c_prev), np.empty_like(c_prev)]
        summed = [a + xproj, np.empty_like(c_prev), np.empty_like(c_prev)]
        gates(separate[0], xproj, bias, c_prev, *separate[1:])
        gates(summed[0], None, bias, c_prev, *summed[1:])
        for name, got, want in zip(["acts", "c", "h"], summed, separate):
            np.testing.assert_array_equal(got, want, err_msg=name)


@pytest.mark.parametrize("batch, hidden", [(3, 33), (2, 1024)])
def test_forward_kernel_on_strided_rows_equals_numpy_form(batch, hidden):
    """Odd widths and row-strided views (every other row of a larger block) give the same values."""
    rng = np.random.default_rng(20 + hidden)
    a = _f32(rng, 2 * batch, 4 * hidden, scale=4)[::2]
    xproj = _f32(rng, 2 * batch, 4 * hidden, scale=4)[::2]
    c_prev, bias = _f32(rng, 2 * batch, hidden, scale=2)[1::2], _f32(rng, 4 * hidden)
    ours = [a.copy(), np.empty_like(c_prev), np.empty_like(c_prev)]
    ref = [a.copy(), np.empty_like(c_prev), np.empty_like(c_prev)]
    kernels.gates_forward_kernel(ours[0], xproj, bias, c_prev, *ours[1:])
    NumpyLSTMGates(np, hidden, np.float32).forward(ref[0], xproj, bias, c_prev, *ref[1:])
    for name, got, want in zip(["acts", "c", "h"], ours, ref):
        np.testing.assert_allclose(got, want, err_msg=name, **TOL)
    sigmoid_blocks = np.concatenate([ours[0][:, :2 * hidden], ours[0][:, 3 * hidden:]], axis=1)
    assert np.all((sigmoid_blocks >= 0) & (sigmoid_blocks <= 1)) and np.all(np.abs(ours[0]) <= 1)


def test_forward_kernel_propagates_nan_to_its_cell_only():
    rng = np.random.default_rng(21)
    hidden = 6
    a, xproj = _f32(rng, 2, 4 * hidden), _f32(rng, 2, 4 * hidden)
    c_prev, bias = _f32(rng, 2, hidden), _f32(rng, 4 * hidden)
    xproj[1, 2 * hidden + 3] = np.nan  # the g gate of cell (1, 3)
    c, h = np.empty_like(c_prev), np.empty_like(c_prev)
    kernels.gates_forward_kernel(a, xproj, bias, c_prev, c, h)
    assert np.isnan(a[1, 2 * hidden + 3]) and np.isnan(c[1, 3]) and np.isnan(h[1, 3])
    assert np.isnan(a).sum() == 1 and np.isnan(c).sum() == 1 and np.isnan(h).sum() == 1


def test_backward_kernel_sums_the_bias_gradient_row_by_row_in_float64():
    """dbias is the float64 sum of the rows of da taken in row order: the same bits on every run."""
    rng = np.random.default_rng(22)
    batch, hidden = 9, 13
    acts = rng.uniform(0.01, 0.99, (batch, 4 * hidden)).astype(np.float32)
    c_prev, cell, g_out = (_f32(rng, batch, hidden) for _ in range(3))
    dh, dc = _f32(rng, batch, hidden), _f32(rng, batch, hidden)
    dbias = rng.standard_normal(4 * hidden)
    expected = dbias.copy()
    kernels.gates_backward_kernel(acts, c_prev, cell, g_out, dh, dc, dbias)
    for row in acts:  # acts now holds da
        expected += row.astype(np.float64)
    np.testing.assert_array_equal(dbias, expected)


def test_steps_of_kernels_equal_steps_of_numpy_form():
    """Several steps forward then back, each state feeding the next, as the recurrence chains them."""
    rng = np.random.default_rng(23)
    steps, batch, hidden = 4, 3, 10
    xproj, rec = _f32(rng, steps, batch, 4 * hidden), _f32(rng, steps, batch, 4 * hidden)
    bias, c0 = _f32(rng, 4 * hidden), _f32(rng, batch, hidden)
    g_out = _f32(rng, steps, batch, hidden)
    results = []
    for fwd, bwd in [(kernels.gates_forward_kernel, kernels.gates_backward_kernel),
                     (NumpyLSTMGates(np, hidden, np.float32).forward,
                      NumpyLSTMGates(np, hidden, np.float32).backward)]:
        acts, cells = rec.copy(), np.empty((steps + 1, batch, hidden), np.float32)
        h = np.empty((steps, batch, hidden), np.float32)
        cells[0] = c0
        for t in range(steps):
            fwd(acts[t], xproj[t], bias, cells[t], cells[t + 1], h[t])
        dh, dc = np.zeros((batch, hidden), np.float32), np.zeros((batch, hidden), np.float32)
        dbias = np.zeros(4 * hidden)
        for t in reversed(range(steps)):
            bwd(acts[t], cells[t], cells[t + 1], g_out[t], dh, dc, dbias)
            dh = dh * np.float32(0.5)  # stands in for the recurrent product
        results.append([h, cells, acts, dc, dbias])
    for name, got, want in zip(["h", "c", "da", "dc", "dbias"], *results):
        np.testing.assert_allclose(got, want, err_msg=name, **TOL)


def test_kernels_apply_to_numpy_float32_only(monkeypatch):
    monkeypatch.delenv("CHAINRULE_NO_NUMBA", raising=False)
    assert compiled_lstm_gates(np.zeros(1, np.float32)) is not None
    assert compiled_lstm_gates(np.zeros(1, np.float64)) is None
    monkeypatch.setenv("CHAINRULE_NO_NUMBA", "1")
    assert compiled_lstm_gates(np.zeros(1, np.float32)) is None


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_layer_step_is_the_same_with_and_without_kernels(monkeypatch, bidirectional):
    compiled = lstm_step(bidirectional)
    monkeypatch.setenv("CHAINRULE_NO_NUMBA", "1")
    reference = lstm_step(bidirectional)
    for k, (got, want) in enumerate(zip(compiled, reference)):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=f"array {k}")


def test_lstm_step_is_the_same_with_the_product_added_inside_the_gemm_or_after(monkeypatch):
    """The forward's two forms (h W_hhᵀ added onto the projection by the GEMM, or kept apart and added
    by the gates) give one step, on whichever BLAS runs here (MKL even for these small products)."""
    monkeypatch.setattr(blas, "SMALL_PRODUCT", 1)
    monkeypatch.setattr(recurrent, "gemm_accumulates", lambda: True)
    got = lstm_step(False)
    monkeypatch.setattr(recurrent, "gemm_accumulates", lambda: False)
    want = lstm_step(False)
    for k, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"array {k}")


@pytest.mark.parametrize("reverse", [False, True])
def test_recurrence_with_its_bias_input_matches_finite_differences(reverse):
    """The bias folded into the op (float64: the NumPy form) against finite differences, both orders."""
    rng = np.random.default_rng(4)
    shapes = [(3, 2, 8), (8, 2), (2, 2), (2, 2), (8,)]  # xproj, weight_hh, h0, c0, bias (H = 2)
    inputs = [cr.Tensor(rng.standard_normal(s) * 0.6, requires_grad=True) for s in shapes]
    assert gradcheck(lambda *a: LSTMRecurrence(reverse)(*a), inputs, check_forward=True)
    assert gradgradcheck(lambda *a: LSTMRecurrence(reverse)(*a), inputs)


def test_bias_input_equals_bias_added_to_the_projection():
    rng = np.random.default_rng(5)
    xproj, w_hh = _f32(rng, 4, 3, 20), _f32(rng, 20, 5)
    h0, c0, bias = _f32(rng, 3, 5), _f32(rng, 3, 5), _f32(rng, 20)
    states = [cr.tensor(w_hh), cr.tensor(h0), cr.tensor(c0)]
    folded = LSTMRecurrence()(cr.tensor(xproj), *states, cr.tensor(bias))
    added = LSTMRecurrence()(cr.tensor(xproj + bias), *states)
    np.testing.assert_allclose(folded.data, added.data, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("reverse", [False, True])
def test_recurrence_projecting_its_input_matches_finite_differences(reverse):
    """With weight_ih as sixth input the op projects x itself: first and second derivatives, forward mode."""
    rng = np.random.default_rng(6)
    shapes = [(3, 2, 3), (8, 2), (2, 2), (2, 2), (8,), (8, 3)]  # x, weight_hh, h0, c0, bias, weight_ih
    inputs = [cr.Tensor(rng.standard_normal(s) * 0.6, requires_grad=True) for s in shapes]
    assert gradcheck(lambda *a: LSTMRecurrence(reverse)(*a), inputs, check_forward=True)
    assert gradgradcheck(lambda *a: LSTMRecurrence(reverse)(*a), inputs)


def test_projecting_op_equals_projection_outside_and_skips_frozen_gradients():
    rng = np.random.default_rng(7)
    x, w_ih, w_hh = _f32(rng, 5, 3, 4), _f32(rng, 24, 4), _f32(rng, 24, 6)
    h0, c0, bias = _f32(rng, 3, 6), _f32(rng, 3, 6), _f32(rng, 24)
    inside = LSTMRecurrence()(cr.tensor(x), cr.tensor(w_hh), cr.tensor(h0), cr.tensor(c0), cr.tensor(bias),
                              cr.tensor(w_ih))
    outside = LSTMRecurrence()(cr.tensor(x @ w_ih.T), cr.tensor(w_hh), cr.tensor(h0), cr.tensor(c0),
                               cr.tensor(bias))
    np.testing.assert_allclose(inside.data, outside.data, rtol=1e-5, atol=1e-6)
    frozen = [cr.tensor(v) for v in (x, w_hh, h0, c0)]
    frozen += [cr.tensor(bias, requires_grad=True), cr.tensor(w_ih)]
    LSTMRecurrence()(*frozen).sum().backward()
    assert frozen[4].grad is not None and all(t.grad is None for t in frozen[:4] + frozen[5:])


def test_second_backward_through_a_retained_graph_recomputes_the_overwritten_activations():
    rng = np.random.default_rng(8)
    lstm = nn.LSTM(3, 4)
    x = cr.tensor(_f32(rng, 5, 2, 3), requires_grad=True)
    out, _ = lstm(x)
    loss = (out * out).sum()
    loss.backward(retain_graph=True)
    first = [x.grad.data.copy()] + [p.grad.data.copy() for p in lstm.parameters()]
    loss.backward()  # accumulates: exactly twice the first gradients
    second = [x.grad.data] + [p.grad.data for p in lstm.parameters()]
    for a, b in zip(first, second):
        np.testing.assert_allclose(b, 2 * a, rtol=1e-5, atol=1e-7)
