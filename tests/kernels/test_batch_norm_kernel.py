"""The batch-norm kernel (chainrule.kernels.normalization) against the reference op, beyond the seam table:
the layer's running statistics, inputs far from zero in float32, a backward pass run twice, layouts."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.autograd import seam
from chainrule.kernels import compiled
from chainrule.ops.normalization import BatchNormalize
from chainrule.ops.window import batch_innermost, is_batch_innermost


def _batch_inner(values):
    out = batch_innermost(np, values.shape, values.dtype)
    out[...] = values
    return out


@pytest.fixture
def ran(monkeypatch):
    """Counts the kernel's forward calls."""
    kernel, calls = seam.registered(BatchNormalize), []

    def forward(*args):
        calls.append(1)
        return kernel.forward(*args)

    monkeypatch.setitem(seam._registry, BatchNormalize, seam.Kernel(forward, kernel.vjp_arrays,
                                                                    applies=kernel.applies))
    return calls


def _train_step(x, reference):
    """(output, dx, dγ, dβ, running mean, running var) of one BatchNorm2d step on x."""
    layer = nn.BatchNorm2d(x.shape[1], momentum=0.3).to(x.dtype)
    layer.weight.data[...] = np.linspace(0.5, 2.0, x.shape[1])
    layer.bias.data[...] = np.linspace(-1.0, 1.0, x.shape[1])
    xt = cr.Tensor(x, requires_grad=True)
    with cr.use_reference_ops(reference):
        y = layer(xt)
        seed = np.random.default_rng(5).standard_normal(x.shape).astype(x.dtype)
        y.backward(cr.tensor(seed))
    return (y.numpy(), xt.grad.numpy(), layer.weight.grad.numpy(), layer.bias.grad.numpy(),
            layer.running_mean.numpy(), layer.running_var.numpy())


@pytest.fixture(params=["compiled", "numpy"])
def form(request, monkeypatch):
    """Each kernel form: the Numba one (where installed) and the NumPy one."""
    if request.param == "compiled":
        pytest.importorskip("numba")
        monkeypatch.delenv(compiled.DISABLE_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(compiled.DISABLE_VARIABLE, "1")
    return request.param


def _far_from_zero(dtype):
    # far from zero: a one-pass variance (E[x²] − μ²) would lose every digit here in float32
    values = np.random.default_rng(0).standard_normal((16, 3, 5, 7)) * 0.01 + 100
    return _batch_inner(values.astype(dtype))


def test_layer_step_and_running_statistics_equal_the_reference_in_float64(form, ran):
    x = _far_from_zero(np.float64)
    fast = _train_step(x, reference=False)
    assert ran, "the kernel did not run on a batch-innermost input"
    assert is_batch_innermost(fast[0])  # the layout the next layers (ReLU, pooling) keep
    for got, want in zip(fast, _train_step(x, reference=True)):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-9)


def test_float32_step_is_as_accurate_as_the_reference(form, ran):
    """In float32 the forms round differently (the compiled one sums in float64), so each output is
    compared with the float64 computation on the same values: no further from it than the reference."""
    x = _far_from_zero(np.float32)
    fast = _train_step(x, reference=False)
    assert ran
    exact = _train_step(x.astype(np.float64), reference=True)
    for got, want, truth in zip(fast, _train_step(x, reference=True), exact):
        assert got.dtype == np.float32
        error, reference_error = np.abs(got - truth).max(), np.abs(want - truth).max()
        assert error <= 1.5 * reference_error + 1e-6 * np.abs(truth).max()


def test_other_layouts_and_mixed_dtypes_keep_the_reference(ran):
    x = np.random.default_rng(1).standard_normal((4, 3, 2, 2)).astype(np.float32)
    nn.BatchNorm2d(3)(cr.tensor(x))  # C-ordered
    nn.BatchNorm2d(3).double()(cr.Tensor(_batch_inner(x)))  # float32 input, float64 γ and β
    assert not ran


def test_backward_twice_with_retain_graph_gives_the_same_gradients(ran):
    x = cr.Tensor(_batch_inner(np.random.default_rng(2).standard_normal((8, 2, 3, 3))), requires_grad=True)
    y = nn.BatchNorm2d(2).double()(x)
    loss = (y * y * y).sum()
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    x.grad = None
    loss.backward()
    assert ran
    np.testing.assert_array_equal(x.grad.numpy(), first)


def test_without_affine_parameters_equals_the_reference(form, ran):
    """γ and β absent (affine=False): the kernels scale by 1 and shift by 0."""
    x = _batch_inner(np.random.default_rng(3).standard_normal((8, 4, 3, 5)))
    results = []
    for reference in (False, True):
        xt = cr.Tensor(x, requires_grad=True)
        with cr.use_reference_ops(reference):
            y = nn.BatchNorm2d(4, affine=False).double()(xt)
            (y * y * y).sum().backward()
        results.append((y.numpy(), xt.grad.numpy()))
    assert ran
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
