"""Ops on reused memory (kernels.workspace): same values and gradients as on fresh memory, step after step.

Every test here pools arrays of any size (``SMALLEST_BYTES = 0``), so the small shapes exercise reuse.
Two ways of catching an op that reads memory it did not write, or overwrites memory someone holds:
arrays handed out poisoned with NaN, and results of earlier steps kept and checked after later steps.
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.kernels import workspace
from chainrule.ops.conv import conv2d
from chainrule.ops.recurrent import BatchMajor, LSTMRecurrence


@pytest.fixture(autouse=True)
def pool_everything(monkeypatch):
    monkeypatch.setattr(workspace, "SMALLEST_BYTES", 0)
    workspace.clear()
    yield
    workspace.clear()


def poison(monkeypatch):
    """Make every reused array arrive full of NaN (or a huge integer), as stale memory might."""
    reusable, scratch = workspace.reusable, workspace.scratch

    def fill(array):
        array.fill(np.nan if array.dtype.kind in "fc" else np.iinfo(array.dtype).max)
        return array

    monkeypatch.setattr(workspace, "reusable", lambda *a, **k: fill(reusable(*a, **k)))
    monkeypatch.setattr(workspace, "scratch", lambda *a, **k: fill(scratch(*a, **k)))


def run(step, inputs):
    """Values and gradients of one step, copied out (so later steps cannot change them)."""
    leaves = [cr.Tensor(x, requires_grad=True) for x in inputs]
    out = step(*leaves)
    seed = np.random.default_rng(5).standard_normal(out.shape).astype(out.dtype)
    out.backward(cr.Tensor(seed))
    return [out.numpy().copy()] + [leaf.grad.numpy().copy() for leaf in leaves]


def reference(step, inputs):
    previous = workspace.set_limit(0)
    try:
        return run(step, inputs)
    finally:
        workspace.set_limit(previous)


def lstm_step(reverse):
    def step(x, w_hh, h0, c0, bias, w_ih):
        return LSTMRecurrence(reverse)(x, w_hh, h0, c0, bias, w_ih)
    return step


def lstm_inputs(rng, dtype, steps=5, batch=3, hidden=7, features=4):
    shapes = [(steps, batch, features), (4 * hidden, hidden), (batch, hidden), (batch, hidden),
              (4 * hidden,), (4 * hidden, features)]
    return [(rng.standard_normal(s) * 0.5).astype(dtype) for s in shapes]


def conv_step(x, w, b):
    return conv2d(x, w, b, padding=1, stride=(1, 2))


def conv_inputs(rng, dtype):
    shapes = [(3, 2, 7, 9), (4, 2, 3, 3), (4,)]
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


CASES = [("lstm", lstm_step(False), lstm_inputs), ("lstm reverse", lstm_step(True), lstm_inputs),
         ("conv", conv_step, conv_inputs)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, step, make", CASES)
def test_reused_poisoned_memory_gives_the_values_of_fresh_memory(monkeypatch, name, step, make, dtype):
    rng = np.random.default_rng(0)
    batches = [make(rng, dtype) for _ in range(3)]
    expected = [reference(step, inputs) for inputs in batches]
    poison(monkeypatch)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for inputs, want in zip(batches * 2, expected * 2):  # the second round runs on reused arrays
        for got, ref in zip(run(step, inputs), want):
            assert got.dtype == dtype
            np.testing.assert_allclose(got, ref, rtol=tolerance, atol=tolerance, err_msg=name)


@pytest.mark.parametrize("name, step, make", CASES)
def test_results_kept_from_earlier_steps_are_never_overwritten(name, step, make):
    rng = np.random.default_rng(1)
    kept = []
    for _ in range(4):
        inputs = make(rng, np.float32)
        leaves = [cr.Tensor(x, requires_grad=True) for x in inputs]
        out = step(*leaves)
        out.sum().backward()
        # keep the live tensors themselves, and copies of what they held when they were made
        kept.append([(t, t.numpy().copy()) for t in [out] + [leaf.grad for leaf in leaves]])
    for tensors in kept:
        for tensor, value in tensors:
            np.testing.assert_array_equal(tensor.numpy(), value, err_msg=name)


def test_an_lstm_layer_trains_on_reused_memory_as_on_fresh_memory():
    def losses(limit):
        previous = workspace.set_limit(limit)
        try:
            cr.manual_seed(3)
            embed, lstm, head = nn.Embedding(11, 6), nn.LSTM(6, 9, batch_first=True), nn.Linear(9, 11)
            params = list(embed.parameters()) + list(lstm.parameters()) + list(head.parameters())
            opt = cr.optim.Adam(params, lr=1e-2)
            rng = np.random.default_rng(4)
            tokens, targets = rng.integers(0, 11, (5, 8)), rng.integers(0, 11, 40)
            values = []
            for _ in range(4):
                out, _ = lstm(embed(cr.tensor(tokens)))
                loss = cr.nn.functional.cross_entropy(head(out.reshape(-1, 9)), cr.tensor(targets))
                opt.zero_grad()
                loss.backward()
                opt.step()
                values.append(loss.item())
            return values
        finally:
            workspace.set_limit(previous)

    np.testing.assert_allclose(losses(256 << 20), losses(0), rtol=1e-6)


@pytest.mark.parametrize("steps, extra", [(4, 1), (3, 0)])
def test_batch_major_is_the_transposed_prefix_with_its_gradients(steps, extra):
    rng = np.random.default_rng(2)
    source = rng.standard_normal((steps + extra, 3, 5))
    out = BatchMajor(steps)(cr.Tensor(source))
    assert out.numpy().flags.c_contiguous
    np.testing.assert_array_equal(out.numpy(), source[:steps].swapaxes(0, 1))
    transposed = cr.Tensor(rng.standard_normal((3, steps + extra, 5)).swapaxes(0, 1), requires_grad=True)
    assert gradcheck(lambda a: BatchMajor(steps)(a), [transposed], check_forward=True)
    assert gradgradcheck(lambda a: BatchMajor(steps)(a) ** 2, [transposed])


def test_batch_major_float32_stays_float32():
    source = cr.Tensor(np.ones((3, 2, 4), np.float32), requires_grad=True)
    out = BatchMajor(2)(source)
    out.backward(cr.Tensor(np.ones((2, 2, 4), np.float32)))
    assert out.dtype == np.float32 and source.grad.dtype == np.float32
    np.testing.assert_array_equal(source.grad.numpy()[2], 0)
    np.testing.assert_array_equal(source.grad.numpy()[:2], 1)


def test_a_retained_lstm_graph_differentiates_twice_on_reused_memory(monkeypatch):
    inputs = lstm_inputs(np.random.default_rng(6), np.float64)
    once = reference(lstm_step(False), inputs)
    poison(monkeypatch)
    leaves = [cr.Tensor(x, requires_grad=True) for x in inputs]
    out = lstm_step(False)(*leaves)
    seed = cr.Tensor(np.random.default_rng(5).standard_normal(out.shape))
    out.backward(seed, retain_graph=True)  # the backward overwrites the activations in place...
    out.backward(seed)  # ...so the second one recomputes the forward, on pooled memory again
    for leaf, want in zip(leaves, once[1:]):
        np.testing.assert_allclose(leaf.grad.numpy(), 2 * want, rtol=1e-12, atol=1e-12)
