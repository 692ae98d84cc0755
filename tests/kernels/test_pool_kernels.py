"""The compiled max-pool kernels (chainrule.kernels.compiled.pool) against the NumPy form they replace.

Each case runs twice on the same batch-innermost input (the layout a convolution hands to a pool,
where the kernels apply): once with CHAINRULE_NO_NUMBA=1 (the NumPy masks) and once with the kernels.
Values, gradients, backward-of-backward (the gather) and forward-mode tangents must agree: both
forms pick the same element of each window (only where windows overlap do they add the gradients
that land on one element in another order).
"""

import numpy as np
import pytest

pytest.importorskip("numba")

import chainrule as cr  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402
from chainrule import autograd  # noqa: E402
from chainrule.kernels import compiled as fast  # noqa: E402
from chainrule.kernels import pool  # noqa: E402
from chainrule.ops.window import batch_innermost, is_batch_innermost  # noqa: E402

BATCH = pool.KERNEL_MIN_BATCH

WINDOWS = [  # kernel, stride, padding, dilation, ceil_mode
    (2, None, 0, 1, False),  # LeNet-5's: windows tile the image
    (3, 2, 1, 1, False),  # overlapping, padded
    ((3, 2), (1, 2), (1, 0), 1, False),
    (2, 1, 0, 2, False),  # dilated
    (3, 2, 1, 1, True),  # a last partial window
    ((2, 3), (2, 3), 0, 1, True),
]


def _batch_inner(values):
    """``values`` (N, C, H, W) copied into batch-innermost memory, as a convolution's output."""
    out = batch_innermost(np, values.shape, values.dtype)
    out[...] = values
    return out


def _compiled(y):
    """True when the max-pool that made y ran the kernels (asked before its backward pass frees it)."""
    winners = y._node.winners  # the NumPy form computes its masks later, on the first derivative
    return winners is not None and winners.offsets is not None


def _pool_and_derivatives(x_values, g_values, v_values, window, numba):
    """(y, dx, the gather of v through the backward pass, the forward-mode tangent), one form."""
    kernel, stride, padding, dilation, ceil_mode = window
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(fast.DISABLE_VARIABLE, "0" if numba else "1")
        x = cr.Tensor(_batch_inner(x_values), requires_grad=True)
        g = cr.Tensor(g_values, requires_grad=True)
        y = F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
        assert _compiled(y) == numba  # the path meant
        (dx,) = autograd.grad(y, [x], [g], create_graph=True)
        (dg,) = autograd.grad(dx, [g], [cr.Tensor(v_values)])
        _, tangent = autograd.jvp(lambda a: F.max_pool2d(a, kernel, stride, padding, dilation, ceil_mode),
                                  (cr.Tensor(_batch_inner(x_values)),), (cr.Tensor(v_values),))
    return y.numpy(), dx.numpy(), dg.numpy(), tangent.numpy()


def _draw(rng, dtype, shape, ties=False):
    values = rng.integers(0, 3, shape) if ties else rng.standard_normal(shape)
    return values.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("window", WINDOWS, ids=[str(w) for w in WINDOWS])
def test_kernels_equal_the_numpy_form(window, dtype):
    rng = np.random.default_rng(0)
    x = _draw(rng, dtype, (BATCH + 3, 2, 7, 9), ties=window[0] == 2)  # ties: the first maximum wins
    out_shape = F.max_pool2d(cr.tensor(x[:1]), *window).shape[1:]
    g = _draw(rng, dtype, (len(x),) + out_shape)
    v = _draw(rng, dtype, x.shape)
    reference = _pool_and_derivatives(x, g, v, window, numba=False)
    compiled = _pool_and_derivatives(x, g, v, window, numba=True)
    tolerance = 1e-6 if dtype == np.float32 else 1e-14  # overlapping windows add in another order
    for got, expected in zip(compiled, reference):
        assert got.dtype == dtype and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


def test_outputs_stay_batch_innermost_and_any_gradient_layout_is_taken(monkeypatch):
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    rng = np.random.default_rng(1)
    x = cr.Tensor(_batch_inner(_draw(rng, np.float32, (BATCH, 3, 8, 6))), requires_grad=True)
    y = F.max_pool2d(x, 2)
    assert _compiled(y) and is_batch_innermost(y.numpy()) and is_batch_innermost(y._node.winners.offsets)
    wide = rng.standard_normal((BATCH, 3, 4, 6)).astype(np.float32)
    g = wide[:, :, :, ::2]  # neither C-ordered nor batch-innermost
    (dx,) = autograd.grad(y, [x], [cr.Tensor(g)])
    assert is_batch_innermost(dx.numpy())
    expected = np.zeros(x.shape, np.float32)
    values = x.numpy().reshape(BATCH, 3, 4, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(BATCH, 3, 4, 3, 4)
    first = values.argmax(-1)  # numpy's argmax takes the first maximum too
    rows, cols = np.divmod(first, 2)
    n, c, i, j = np.indices(first.shape)
    expected[n, c, 2 * i + rows, 2 * j + cols] = g
    np.testing.assert_array_equal(dx.numpy(), expected)


def test_nan_propagates_and_takes_the_gradient_as_in_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((BATCH, 1, 4, 4)).astype(np.float32)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan  # two NaN in one window: PyTorch picks the last
    x[1, 0, 3, 3] = np.nan
    g = np.random.default_rng(3).standard_normal((BATCH, 1, 2, 2)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(xt, 2).backward(torch.tensor(g))
    for numba in (False, True):
        y, dx, _, _ = _pool_and_derivatives(x, g, x, (2, None, 0, 1, False), numba)
        np.testing.assert_array_equal(y, torch.nn.functional.max_pool2d(torch.tensor(x), 2).numpy())
        np.testing.assert_array_equal(dx, xt.grad.numpy())


def test_minus_infinity_inputs_beside_padding_agree():
    x = np.full((BATCH, 1, 3, 3), -np.inf, np.float32)
    x[:, 0, 1, 1] = np.random.default_rng(4).standard_normal(BATCH)
    g = np.ones((BATCH, 1, 2, 2), np.float32)
    v = np.ones_like(x)
    window = (2, 2, 1, 1, False)  # the first offset of the corner windows is padding
    for got, expected in zip(_pool_and_derivatives(x, g, v, window, True),
                             _pool_and_derivatives(x, g, v, window, False)):
        np.testing.assert_array_equal(got, expected)


def test_the_kernels_decline_what_they_do_not_cover():
    rng = np.random.default_rng(5)
    shape = (BATCH, 2, 6, 6)
    cases = [
        cr.tensor(rng.standard_normal(shape).astype(np.float32)),  # C-ordered
        cr.Tensor(_batch_inner(rng.standard_normal((BATCH - 1,) + shape[1:]).astype(np.float32))),  # few
        cr.Tensor(_batch_inner(rng.standard_normal(shape).astype(np.float16))),  # a dtype without kernels
    ]
    for x in cases:
        x.requires_grad_(True)
        y = F.max_pool2d(x, 2)
        assert not _compiled(y)
        y.sum().backward()
        assert x.grad.shape == x.shape


def test_a_double_backward_through_the_kernels_checks_against_finite_differences(monkeypatch):
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    rng = np.random.default_rng(6)
    values = rng.permutation(BATCH * 2 * 5 * 4).reshape(BATCH, 2, 5, 4) * 0.1  # no ties
    x = cr.Tensor(_batch_inner(values), requires_grad=True)
    square_of_pool = lambda a: F.max_pool2d(a, 3, 2, 1) ** 2  # noqa: E731
    assert _compiled(F.max_pool2d(x, 3, 2, 1))
    assert autograd.gradcheck(square_of_pool, (x,), check_forward=True)
    assert autograd.gradgradcheck(square_of_pool, (x,))


def test_a_kernel_module_that_failed_to_load_leaves_the_numpy_form(monkeypatch):
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    monkeypatch.setattr(fast, "_failed", {"pool"})  # as after an ImportError, warned about once
    x = cr.Tensor(_batch_inner(np.arange(BATCH * 16, dtype=np.float32).reshape(BATCH, 1, 4, 4)),
                  requires_grad=True)
    y = F.max_pool2d(x, 2)
    assert not _compiled(y)
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), x.numpy()[:, :, 1::2, 1::2])  # increasing: the last wins
    np.testing.assert_array_equal(x.grad.numpy()[:, :, 1::2, 1::2], 1)
    assert x.grad.numpy().sum() == y.numpy().size


def test_inference_without_gradients_keeps_the_numpy_form(monkeypatch):
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    asked = []
    real = fast.for_arrays
    monkeypatch.setattr(fast, "for_arrays",
                        lambda name, *args, **kw: asked.append(name) or real(name, *args, **kw))
    values = np.random.default_rng(7).standard_normal((BATCH, 2, 6, 6)).astype(np.float32)
    with cr.no_grad():  # the argmax offsets would be written for nothing
        y = F.max_pool2d(cr.Tensor(_batch_inner(values)), 2)
    assert "pool" not in asked
    np.testing.assert_array_equal(y.numpy(), values.reshape(BATCH, 2, 3, 2, 3, 2).max(axis=(3, 5)))
