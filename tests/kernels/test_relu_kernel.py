"""The compiled ReLU backward (chainrule.kernels.compiled.relu) against the NumPy form ``g * (x > 0)``.

The kernel runs on arrays that share one dense memory order (C-ordered, batch-innermost, transposed);
anything else declines to the NumPy form. Both must give the same gradient, bit for bit, including
NaN and infinities, and the memory reused from call to call must never be an array someone holds.
"""

import numpy as np
import pytest

pytest.importorskip("numba")

import chainrule as cr  # noqa: E402
from chainrule import autograd  # noqa: E402
from chainrule.kernels import activation  # noqa: E402
from chainrule.kernels import compiled as fast  # noqa: E402
from chainrule.ops.window import batch_innermost  # noqa: E402


def _batch_inner(values):
    out = batch_innermost(np, values.shape, values.dtype)
    out[...] = values
    return out


def _relu_gradient(x, g, numba):
    """(relu(x), dL/dx for upstream g, whether the kernel ran), with the kernels on or off."""
    calls = []
    with pytest.MonkeyPatch.context() as patch, np.errstate(invalid="ignore"):  # NumPy's inf · 0
        patch.setenv(fast.DISABLE_VARIABLE, "0" if numba else "1")
        patch.setattr(activation, "LARGE_BYTES", 0)  # small odd shapes take the fast forms too
        if numba:
            kernels = fast.load("relu")
            kernel = kernels.relu_backward
            patch.setattr(kernels, "relu_backward", lambda *arrays: calls.append(kernel(*arrays)))
        xt = cr.Tensor(x, requires_grad=True)
        y = cr.relu(xt)
        (dx,) = autograd.grad(y, [xt], [cr.Tensor(g)])
    return y.numpy(), dx.numpy(), bool(calls)


def _layouts(rng, dtype):
    """Pairs (x, g) in various memory orders, with zeros, NaN and infinities among them."""
    x = rng.standard_normal((17, 3, 5, 4)).astype(dtype)
    x[0, 0, 0, :2] = 0.0
    x[1, 1, 1, 1] = np.nan
    x[2, 2, 2, 2] = np.inf
    g = rng.standard_normal(x.shape).astype(dtype)
    g[3, 0, 0, 0], g[3, 0, 0, 1] = np.inf, np.nan  # where x ≤ 0 NumPy makes NaN of inf · 0
    x[3, 0, 0, :2] = -1.0
    wide = rng.standard_normal((9, 24)).astype(dtype)
    return {
        "C-ordered": (x, g),
        "batch-innermost": (_batch_inner(x), _batch_inner(g)),
        "transposed": (wide.T, np.ascontiguousarray(wide).T * 2),
        "mixed orders (declined)": (_batch_inner(x), g),
        "strided (declined)": (wide[:, ::2], wide[:, 1::2]),
        "one element": (x[:1, :1, :1, :1].copy(), g[:1, :1, :1, :1].copy()),
        "empty": (x[:0].copy(), g[:0].copy()),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_equals_the_numpy_form_in_every_layout(dtype):
    for name, (x, g) in _layouts(np.random.default_rng(0), dtype).items():
        y_ref, dx_ref, _ = _relu_gradient(x, g, numba=False)
        y, dx, compiled = _relu_gradient(x, g, numba=True)
        assert compiled == ("declined" not in name), name
        for got, expected in ((y, y_ref), (dx, dx_ref)):
            assert got.dtype == dtype and got.shape == x.shape, name
            np.testing.assert_array_equal(got, expected, err_msg=name)
        if "declined" not in name and x.size > 1:  # results keep the input's memory order
            assert y.strides == x.strides and dx.strides == x.strides, name


def _large_gradient(x, g):
    xt = cr.Tensor(x, requires_grad=True)
    (dx,) = autograd.grad(cr.relu(xt), [xt], [cr.Tensor(g)])
    return dx


def test_reused_memory_never_overwrites_what_someone_holds():
    rng = np.random.default_rng(1)
    x = _batch_inner(rng.standard_normal((64, 8, 12, 12)).astype(np.float32))  # large enough to reuse
    held = []
    for _ in range(3):
        dx = _large_gradient(x, x)
        held.append((dx, dx.numpy().copy()))
        _large_gradient(-x, x)  # a gradient nobody keeps: its memory may be reused
    for kept, snapshot in held:
        np.testing.assert_array_equal(kept.numpy(), snapshot)
    assert len({id(kept.numpy().base) for kept, _ in held}) == 3  # three distinct arrays


@pytest.mark.parametrize("numba", ["0", "1"])
def test_memory_comes_back_once_nothing_holds_it(monkeypatch, numba):
    monkeypatch.setenv(fast.DISABLE_VARIABLE, numba)
    x = np.random.default_rng(3).standard_normal((128, 1024)).astype(np.float32)
    address = _large_gradient(x, x).numpy().__array_interface__["data"][0]  # dropped at once
    again = _large_gradient(x, x).numpy()
    assert again.__array_interface__["data"][0] == address
    np.testing.assert_array_equal(again, x * (x > 0))


def test_second_derivatives_still_follow_the_graph():
    x = cr.tensor(np.random.default_rng(2).standard_normal((4, 5)), requires_grad=True)
    square_of_relu = lambda a: cr.relu(a) ** 2  # noqa: E731
    assert autograd.gradcheck(square_of_relu, (x,), check_forward=True)
    assert autograd.gradgradcheck(square_of_relu, (x,))
