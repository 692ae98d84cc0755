"""The direct convolution kernels (chainrule.kernels.compiled.conv) against the im2col form they replace.

Each case runs the same convolution twice: once with CHAINRULE_NO_NUMBA=1 (im2col and products, the
reference) and once with the kernels, with the applicability thresholds lowered so that small, fast
shapes take the kernel path. Values and all three gradients (input, weight, bias), a second-order
gradient through the backward pass, and forward-mode tangents must agree. A spy on
``conv.direct_kernels`` proves which path ran.
"""

import threading

import numpy as np
import pytest

pytest.importorskip("numba")

import chainrule as cr  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402
from chainrule import autograd  # noqa: E402
from chainrule.autograd import gradcheck, gradgradcheck  # noqa: E402
from chainrule.kernels import compiled as fast  # noqa: E402
from chainrule.kernels import conv  # noqa: E402
from chainrule.ops.window import batch_innermost  # noqa: E402

CASES = [  # (N, C, H, W), (O, kh, kw), stride, padding, dilation
    ((3, 1, 9, 9), (4, 5, 5), 1, 2, 1),  # LeNet-5's first layer, small
    ((3, 3, 8, 7), (5, 3, 3), 1, 0, 1),  # odd sizes, no padding, 5 channels: the 4-wide blocks' tail
    ((3, 2, 9, 8), (3, 3, 3), 2, 1, 1),  # stride 2
    ((1, 2, 11, 10), (3, 3, 3), 1, 2, 2),  # dilation 2, batch 1
    ((3, 2, 10, 9), (6, 3, 2), (2, 1), (1, 0), (1, 2)),  # mixed strides and dilations, a 3x2 kernel
    ((3, 2, 7, 8), (2, 4, 4), 1, "same", 1),  # an even kernel: more padding at the bottom and right
    ((3, 2, 6, 6), (2, 3, 3), 1, 4, 1),  # padding wider than the kernel: rows that see only zeros
]
TOLERANCE = {np.float32: 2e-5, np.float64: 1e-12}


def _batch_inner(values):
    out = batch_innermost(np, values.shape, values.dtype)
    out[...] = values
    return out


LAYOUTS = {
    "batch-innermost": _batch_inner,
    "c-ordered": np.ascontiguousarray,
    "strided": lambda v: np.repeat(v, 2, axis=3)[..., ::2],  # not contiguous in either order
}


@pytest.fixture
def kernels_everywhere(monkeypatch):
    """Let every shape take the kernel path; record which path each primitive took."""
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")  # whatever the suite runs under
    monkeypatch.setattr(conv, "DIRECT_MAX_OUT_CHANNELS", 1 << 30)
    monkeypatch.setattr(conv, "DIRECT_MIN_BATCH", 1)
    taken = []
    real = conv.direct_applies

    def spy(*args):
        result = real(*args)
        taken.append(result)
        return result

    monkeypatch.setattr(conv, "direct_applies", spy)
    return taken


def _run(case, dtype, layout, numba, seed=0):
    """(y, dx, dw, db, d(dx)/dg applied to v, tangent) of one convolution, on one path."""
    (n, c, h, w), (o, kh, kw), stride, padding, dilation = case
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight_values = rng.standard_normal((o, c, kh, kw)).astype(dtype)
    bias_values = rng.standard_normal(o).astype(dtype)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(fast.DISABLE_VARIABLE, "0" if numba else "1")
        x = cr.Tensor(LAYOUTS[layout](values), requires_grad=True)
        weight = cr.Tensor(weight_values, requires_grad=True)
        bias = cr.Tensor(bias_values, requires_grad=True)

        def f(a, b):
            return F.conv2d(a, b, bias, stride, padding, dilation)

        y = f(x, weight)
        g = cr.Tensor(rng.standard_normal(y.shape).astype(dtype), requires_grad=True)
        dx, dw, db = autograd.grad(y, [x, weight, bias], [g], create_graph=True)
        v = cr.Tensor(rng.standard_normal(dx.shape).astype(dtype))
        (dg,) = autograd.grad(dx, [g], [v])  # the input gradient's own derivative: a convolution
        _, tangent = autograd.jvp(f, (cr.Tensor(values), cr.Tensor(weight_values)),
                                  (cr.Tensor(v.numpy()), cr.Tensor(weight_values[::-1].copy())))
    return [t.numpy() for t in (y, dx, dw, db, dg, tangent)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_kernels_equal_im2col(case, dtype, kernels_everywhere):
    reference = _run(case, dtype, "batch-innermost", numba=False)
    assert not any(kernels_everywhere)
    kernels_everywhere.clear()
    compiled = _run(case, dtype, "batch-innermost", numba=True)
    assert kernels_everywhere and all(kernels_everywhere)
    for name, want, got in zip(("y", "dx", "dw", "db", "d(dx)/dg", "tangent"), reference, compiled):
        assert got.dtype == dtype, name  # float32 stays float32
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, rtol=0, atol=TOLERANCE[dtype] * scale, err_msg=name)


@pytest.mark.parametrize("layout", ["c-ordered", "strided"])
def test_any_input_layout_gives_the_same_values(layout, kernels_everywhere):
    case = CASES[2]
    reference = _run(case, np.float64, "batch-innermost", numba=False)
    kernels_everywhere.clear()
    compiled = _run(case, np.float64, layout, numba=True)
    assert kernels_everywhere and all(kernels_everywhere)
    for want, got in zip(reference, compiled):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_outputs_are_batch_innermost(kernels_everywhere):
    x = cr.Tensor(_batch_inner(np.random.default_rng(1).standard_normal((4, 2, 6, 6)).astype(np.float32)),
                  requires_grad=True)
    y = F.conv2d(x, cr.Tensor(np.ones((3, 2, 3, 3), np.float32), requires_grad=True), padding=1)
    assert all(kernels_everywhere)
    assert y.numpy().transpose(1, 2, 3, 0).flags.c_contiguous
    (dx,) = autograd.grad(y, [x], [cr.Tensor(_batch_inner(np.ones(y.shape, np.float32)))])
    assert dx.numpy().transpose(1, 2, 3, 0).flags.c_contiguous


@pytest.mark.parametrize("case", [CASES[0], CASES[4]])
def test_gradcheck_through_kernels(case, kernels_everywhere):
    (n, c, h, w), (o, kh, kw), stride, padding, dilation = case
    rng = np.random.default_rng(2)
    x = cr.Tensor(_batch_inner(rng.standard_normal((min(n, 2), c, h, w))), requires_grad=True)
    weight = cr.Tensor(rng.standard_normal((o, c, kh, kw)), requires_grad=True)
    bias = cr.Tensor(rng.standard_normal(o), requires_grad=True)

    def f(a, b, s):
        return F.conv2d(a, b, s, stride, padding, dilation)

    gradcheck(f, (x, weight, bias), check_forward=True)
    gradgradcheck(f, (x, weight, bias))
    assert kernels_everywhere and all(kernels_everywhere)


def test_nan_and_inf_propagate_as_in_im2col(kernels_everywhere):
    case = CASES[0]
    (n, c, h, w), (o, kh, kw), _, padding, _ = case
    values = np.random.default_rng(3).standard_normal((n, c, h, w)).astype(np.float32)
    values[1, 0, 4, 4] = np.nan
    values[2, 0, 1, 7] = np.inf
    weight = np.ones((o, c, kh, kw), np.float32)
    results = []
    for numba in (False, True):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(fast.DISABLE_VARIABLE, "0" if numba else "1")
            w_tensor = cr.Tensor(weight, requires_grad=True)
            y = F.conv2d(cr.Tensor(_batch_inner(values)), w_tensor, padding=padding)
            (dw,) = autograd.grad(y, [w_tensor], [cr.Tensor(np.ones(y.shape, np.float32))])
            results.append((np.isnan(y.numpy()), np.isinf(y.numpy()), np.isnan(dw.numpy())))
    assert results[0][0].any() and results[0][1].any() and results[0][2].all()
    for want, got in zip(*results):
        np.testing.assert_array_equal(got, want)


def test_threads_may_call_the_kernels_at_once(monkeypatch):
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    kernels = fast.load("conv")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 12, 12, 16)).astype(np.float32)  # (C, Hp, Wp, N)
    weight = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    g = rng.standard_normal((5, 10, 10, 16)).astype(np.float32)

    def all_three():
        out, dw, dx = np.empty_like(g), np.empty_like(weight), np.empty_like(x)
        kernels.conv_forward(x, weight, np.zeros(5, np.float32), out, (1, 1), (1, 1))
        kernels.conv_weight_grad(g, x, dw, (1, 1), (1, 1))
        kernels.conv_input_grad(g, weight, dx, (1, 1), (1, 1), (0, 0))
        return out, dw, dx

    want = all_three()
    got = [None] * 4

    def work(k):
        for _ in range(20):
            got[k] = all_three()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(got))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in got:
        for a, b in zip(want, result):
            np.testing.assert_array_equal(b, a)  # each thread of a kernel owns its rows: same sums


def test_rule_keeps_im2col_where_it_is_faster(monkeypatch):
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    batch = conv.DIRECT_MIN_BATCH
    few = (conv.DIRECT_MAX_OUT_CHANNELS, 6, 5, 5)
    assert conv.direct_applies(few, batch, 1)
    wide = (conv.DIRECT_MAX_OUT_CHANNELS + 1, 6, 5, 5)
    assert not conv.direct_applies(wide, batch, 1)  # many output channels
    assert not conv.direct_applies(few, batch - 1, 1)  # a small batch
    assert not conv.direct_applies(few, batch, 2)  # groups
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "1")
    assert not conv.direct_applies(few, batch, 1)


@pytest.mark.parametrize("path", ["direct", "im2col"])
def test_the_direct_kernels_say_they_run_on_numbas_threads(monkeypatch, path):
    """So that the products beside them take one BLAS thread (chainrule.kernels.blas_route)."""
    from chainrule.kernels import blas_route

    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    monkeypatch.setattr(blas_route, "_parallel_kernels", False)
    told = []
    monkeypatch.setattr(blas_route, "parallel_kernels_run", lambda: told.append(True))
    if path == "im2col":
        monkeypatch.setattr(conv, "DIRECT_MAX_OUT_CHANNELS", 0)
    x = cr.Tensor(np.ones((conv.DIRECT_MIN_BATCH, 2, 6, 6), np.float32), requires_grad=True)
    weight = cr.Tensor(np.ones((3, 2, 3, 3), np.float32), requires_grad=True)
    F.conv2d(x, weight).sum().backward()
    assert len(told) == (3 if path == "direct" else 0)  # forward, input and weight gradients
    np.testing.assert_array_equal(x.grad.numpy()[0, 0, 0], [3, 6, 9, 9, 6, 3])  # taps of ones reaching it
