"""The whole-sequence LSTM kernels (chainrule.kernels.compiled.lstm_sequence) against the per-step form.

The per-step form runs the compiled gate kernels with NumPy's products between them; the sequence
kernels split the batch's rows between Numba's threads and multiply on register tiles. Every array
they write must agree to float32 rounding, and be the same bits whatever the number of parts.
"""

import numpy as np
import pytest

pytest.importorskip("numba")

import chainrule as cr  # noqa: E402
import chainrule.nn as nn  # noqa: E402
from chainrule.kernels import blas_route, threads  # noqa: E402
from chainrule.kernels import lstm as recurrent  # noqa: E402
from chainrule.kernels.compiled import lstm as gates  # noqa: E402
from chainrule.kernels.compiled import lstm_sequence as sequence  # noqa: E402
from lstm_step import lstm_step  # noqa: E402

TOL = {"rtol": 2e-5, "atol": 4e-6}


def _f32(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def _per_step_forward(proj, projected, w, bias, h0, c0, order):
    """acts, c_prev, out as kernels/lstm.py's per-step loop leaves them."""
    steps, batch, hidden = proj.shape[0], proj.shape[1], w.shape[1]
    acts = proj.copy() if projected else np.empty_like(proj)
    c_prev = np.empty((steps, batch, hidden), np.float32)
    out = np.empty((steps + 1, batch, hidden), np.float32)
    c_prev[order[0]], h = c0, h0
    for k, t in enumerate(order):
        cell = c_prev[order[k + 1]] if k + 1 < steps else out[steps]
        if projected:
            other = h @ w.T
        else:
            acts[t], other = h @ w.T, proj[t]
        gates.gates_forward_kernel(acts[t], other, bias, c_prev[t], cell, out[t])
        h = out[t]
    return acts, c_prev, out


def _per_step_backward(acts, w, c_prev, out, g, order):
    steps, batch, hidden = c_prev.shape
    da, dh, dc = acts.copy(), np.zeros((batch, hidden), np.float32), g[steps].copy()
    dbias = np.zeros(4 * hidden)
    for k in range(steps - 1, -1, -1):
        t = order[k]
        cell = c_prev[order[k + 1]] if k + 1 < steps else out[steps]
        gates.gates_backward_kernel(da[t], c_prev[t], cell, g[t], dh, dc, dbias)
        dh = da[t] @ w
    return da, dh, dc, dbias


@pytest.mark.parametrize("batch", [21, 64])
@pytest.mark.parametrize("projected", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
def test_sequence_kernels_equal_the_per_step_form_for_any_number_of_parts(batch, projected, reverse):
    rng = np.random.default_rng(batch + 2 * projected + reverse)
    steps, hidden = 6, 40
    w = _f32(rng, 4 * hidden, hidden, scale=0.3)
    proj, bias = _f32(rng, steps, batch, 4 * hidden), _f32(rng, 4 * hidden)
    h0, c0 = _f32(rng, batch, hidden), _f32(rng, batch, hidden)
    g = _f32(rng, steps + 1, batch, hidden)
    order = list(range(steps))[::-1] if reverse else list(range(steps))
    want = _per_step_forward(proj, projected, w, bias, h0, c0, order)
    want_back = _per_step_backward(want[0], w, want[1], want[2], g, order)
    first = None
    for parts in (1, 2, 3):
        acts = proj.copy() if projected else np.empty_like(proj)
        c_prev, out = np.empty_like(want[1]), np.empty_like(want[2])
        w_t = np.ascontiguousarray(w.T)
        xproj = None if projected else proj
        threads.run_at_once(sequence.forward_calls(acts, xproj, w_t, bias, h0, c0, c_prev, out, order, parts))
        for name, got, expected in zip(["acts", "c_prev", "out"], (acts, c_prev, out), want):
            np.testing.assert_allclose(got, expected, err_msg=name, **TOL)
        dh, dc = np.zeros_like(h0), g[steps].copy()
        calls, blocks = sequence.backward_calls(acts, w, c_prev, out, g, dh, dc, order, True, parts)
        threads.run_at_once(calls)
        dbias = sequence.bias_gradient(blocks)
        for name, got, expected in zip(["da", "dh", "dc", "dbias"], (acts, dh, dc, dbias), want_back):
            np.testing.assert_allclose(got, expected, err_msg=name, **TOL)
        results = [acts, c_prev, out, dh, dc, dbias]
        first = first or results
        for got, expected in zip(results, first):  # the same bits whatever the parts
            np.testing.assert_array_equal(got, expected)


def test_without_the_gradient_of_h0_the_last_product_is_skipped():
    rng = np.random.default_rng(3)
    steps, batch, hidden = 3, 9, 5
    w = _f32(rng, 4 * hidden, hidden)
    acts = rng.uniform(0.1, 0.9, (steps, batch, 4 * hidden)).astype(np.float32)
    c_prev = _f32(rng, steps, batch, hidden)
    out, g = _f32(rng, steps + 1, batch, hidden), _f32(rng, steps + 1, batch, hidden)
    dh = np.zeros((batch, hidden), np.float32)
    order = list(range(steps))
    calls, _ = sequence.backward_calls(acts, w, c_prev, out, g, dh, g[steps].copy(), order, False, parts=2)
    threads.run_at_once(calls)
    np.testing.assert_allclose(dh, g[0] + (acts[1] @ w), rtol=1e-5, atol=1e-6)  # dh += g_out at step 0 only


def test_the_layer_runs_the_sequence_kernels_where_products_make_way_and_equals_per_step(monkeypatch):
    monkeypatch.setattr(blas_route, "products_make_way", lambda: True)
    calls = []
    for name in ("forward_calls", "backward_calls"):
        real = getattr(sequence, name)
        monkeypatch.setattr(sequence, name,
                            lambda *a, _real=real, _name=name: calls.append(_name) or _real(*a))
    got = lstm_step(True, sequences=20)
    assert calls.count("forward_calls") == 4 and calls.count("backward_calls") == 4  # 2 layers x 2 ways
    monkeypatch.setattr(recurrent, "sequence_kernels", lambda *arguments: None)
    want = lstm_step(True, sequences=20)
    for k, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=f"array {k}")


@pytest.mark.parametrize("count", [1, 3])
def test_the_layer_makes_as_many_parts_as_the_products_have_threads(monkeypatch, count):
    """OPENBLAS_NUM_THREADS=1 (an MPI rank per core) keeps the sequence on one thread as well."""
    monkeypatch.setattr(blas_route, "products_make_way", lambda: True)
    monkeypatch.setattr(blas_route, "thread_count", lambda: count)
    seen = []
    real = threads.run_at_once
    monkeypatch.setattr(threads, "run_at_once", lambda calls: seen.append(len(calls)) or real(calls))
    lstm = nn.LSTM(4, 5)
    out, _ = lstm(cr.randn(8, 24, 4))  # 24 rows: three blocks of 8
    out.sum().backward()
    assert seen == [count, count]


@pytest.mark.parametrize("steps, batch", [(64, 1), (7, 64), (1, 64)])
def test_sampling_and_short_sequences_keep_the_per_step_form(monkeypatch, steps, batch):
    """One sequence sampled a character at a time, or a few steps: packing W_hh would not pay."""
    monkeypatch.setattr(blas_route, "products_make_way", lambda: True)
    monkeypatch.setattr(sequence, "forward_calls", lambda *a: pytest.fail("the sequence form ran"))
    with cr.no_grad():
        out, _ = nn.LSTM(4, 5)(cr.randn(steps, batch, 4))
    assert out.shape == (steps, batch, 5)


def test_thread_count_is_the_openblas_setting(monkeypatch):
    class Library:
        def __init__(self, threads):
            self.threads = threads

        def get_num_threads(self):
            return self.threads

    monkeypatch.setattr(blas_route, "_openblas", (Library(3), Library(1)))
    assert blas_route.thread_count() == 3
    monkeypatch.setattr(blas_route, "_openblas", ())
    assert blas_route.thread_count() == 1


def test_the_sequence_kernels_apply_to_float32_where_products_make_way(monkeypatch):
    monkeypatch.setattr(blas_route, "products_make_way", lambda: True)
    assert recurrent.sequence_kernels(8, 4, np.zeros(1, np.float32)) is sequence
    assert recurrent.sequence_kernels(8, 4, np.zeros(1, np.float64)) is None
    assert recurrent.sequence_kernels(7, 64, np.zeros(1, np.float32)) is None  # too few steps to pay
    assert recurrent.sequence_kernels(64, 3, np.zeros(1, np.float32)) is None  # or rows (sampling: 1)
    monkeypatch.setattr(blas_route, "products_make_way", lambda: False)  # MKL, or no control of OpenBLAS
    assert recurrent.sequence_kernels(8, 4, np.zeros(1, np.float32)) is None
