"""The batch-norm kernel (chainrule.kernels.normalization) against the reference op, beyond the seam table:
the layer's running statistics, inputs far from zero in float32, a backward pass run twice, layouts."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.autograd import seam
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


@pytest.mark.parametrize("dtype,tolerance", [(np.float32, 1e-4), (np.float64, 1e-10)])
def test_layer_step_and_running_statistics_equal_the_reference(dtype, tolerance, ran):
    rng = np.random.default_rng(0)
    # far from zero: a one-pass variance (E[x²] − μ²) would lose every digit here in float32
    x = _batch_inner((rng.standard_normal((16, 3, 5, 7)) * 0.01 + 100).astype(dtype))
    fast = _train_step(x, reference=False)
    assert ran, "the kernel did not run on a batch-innermost input"
    assert is_batch_innermost(fast[0])  # the layout the next layers (ReLU, pooling) keep
    for got, want in zip(fast, _train_step(x, reference=True)):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance * 10)


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
