"""The register-tiled convolution kernels (chainrule.kernels.compiled.conv_tiles) against the im2col
form they replace.

Each case runs the same convolution twice: once with CHAINRULE_NO_NUMBA=1 (im2col and products, the
reference) and once with the kernels. Values and all three gradients (input, weight, bias), a
second-order gradient through the backward pass, and forward-mode tangents must agree. A spy on
``conv.tiles_for`` proves which path ran: the tiles wherever the stride across is 1.
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
from chainrule.ops.window import Window, batch_innermost  # noqa: E402

CASES = [  # (N, C, H, W), (O, kh, kw), stride, padding, dilation
    ((3, 1, 9, 9), (4, 5, 5), 1, 2, 1),  # LeNet-5's first layer, small
    ((3, 3, 8, 7), (5, 3, 3), 1, 0, 1),  # odd sizes, no padding, 5 channels: the 4-wide blocks' tail
    ((17, 3, 8, 8), (19, 3, 3), 1, 1, 1),  # several tiles of channels and columns, and their tails
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
def kernels_everywhere(monkeypatch, tiles_taken):
    """Numba on whatever the suite runs under; record whether the tiles took each primitive."""
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    return tiles_taken


def _across(case):
    stride = case[2]
    return stride if isinstance(stride, int) else stride[1]


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
    assert kernels_everywhere and all(kernels_everywhere) == (_across(case) == 1)
    for name, want, got in zip(("y", "dx", "dw", "db", "d(dx)/dg", "tangent"), reference, compiled):
        assert got.dtype == dtype, name  # float32 stays float32
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, rtol=0, atol=TOLERANCE[dtype] * scale, err_msg=name)


@pytest.mark.parametrize("layout", ["c-ordered", "strided"])
def test_any_input_layout_gives_the_same_values(layout, kernels_everywhere):
    case = CASES[5]
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


@pytest.mark.parametrize("case", [CASES[0], CASES[5]])
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


def _tiles_on(seed, out_channels, size, batch):
    """The tiles' forward and weight gradient, as a function, on a random 3-channel 3x3 problem:
    x (3, size + 2, size + 2, batch) padded, g (out_channels, size, size, batch)."""
    kernels = fast.load("conv_tiles")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, size + 2, size + 2, batch)).astype(np.float32)
    weight = rng.standard_normal((out_channels, 3, 3, 3)).astype(np.float32)
    g = rng.standard_normal((out_channels, size, size, batch)).astype(np.float32)

    def both():
        out, dw = np.empty_like(g), np.empty_like(weight)
        kernels.conv_forward(x, weight, np.zeros(out_channels, np.float32), out, (1, 1), (1, 1))
        kernels.conv_weight_grad(g, x, dw, (1, 1), (1, 1))
        return out, dw
    return both


def test_threads_may_call_the_kernels_at_once(monkeypatch):
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    both = _tiles_on(4, out_channels=5, size=10, batch=16)

    want = both()
    got = [None] * 4

    def work(k):
        for _ in range(20):
            got[k] = both()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(got))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in got:
        for a, b in zip(want, result):
            np.testing.assert_array_equal(b, a)  # each thread of a kernel owns its rows or chunks: same sums


def test_tiles_apply_with_stride_one_across_one_group_float_arrays_and_numba(monkeypatch):
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    floats = np.ones((2, 2), np.float32)
    assert conv.tiles_for(Window((3, 3), (2, 1), (0, 0, 0, 0), (1, 1)), 1, floats, floats) is not None
    assert conv.tiles_for(Window((3, 3), (1, 2), (0, 0, 0, 0), (1, 1)), 1, floats, floats) is None  # across
    assert conv.tiles_for(Window((3, 3), (1, 1), (0, 0, 0, 0), (1, 1)), 2, floats, floats) is None  # groups
    ints = np.ones((2, 2), np.int64)
    assert conv.tiles_for(Window((3, 3), (1, 1), (0, 0, 0, 0), (1, 1)), 1, ints, floats) is None
    monkeypatch.setattr(fast.load("conv_tiles"), "WORTHWHILE", False)  # a generic x86 target: 16-byte vectors
    assert conv.tiles_for(Window((3, 3), (1, 1), (0, 0, 0, 0), (1, 1)), 1, floats, floats) is None
    monkeypatch.undo()
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "1")
    assert conv.tiles_for(Window((3, 3), (1, 1), (0, 0, 0, 0), (1, 1)), 1, floats, floats) is None


@pytest.mark.parametrize("stride", [1, 2])
def test_the_tiles_say_they_run_on_numbas_threads(monkeypatch, stride):
    """So that the products beside them take one BLAS thread (chainrule.kernels.blas_route)."""
    from chainrule.kernels import blas_route

    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    told = []
    monkeypatch.setattr(blas_route, "parallel_kernels_run", lambda: told.append(True))
    x = cr.Tensor(np.ones((4, 2, 6, 6), np.float32), requires_grad=True)
    weight = cr.Tensor(np.ones((3, 2, 3, 3), np.float32), requires_grad=True)
    F.conv2d(x, weight, stride=stride).sum().backward()
    assert len(told) == (3 if stride == 1 else 0)  # forward, input and weight gradients on the tiles, or none
    if stride == 1:
        np.testing.assert_array_equal(x.grad.numpy()[0, 0, 0], [3, 6, 9, 9, 6, 3])  # taps of ones reaching it


def test_results_do_not_depend_on_the_number_of_threads(monkeypatch):
    """The weight gradient sums fixed chunks of rows in a fixed order; the forward owns its rows."""
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread only")
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    both = _tiles_on(6, out_channels=9, size=19, batch=24)
    results = []
    before = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            results.append(both())
    finally:
        numba.set_num_threads(before)
    for one, two in zip(*results):
        np.testing.assert_array_equal(two, one)
