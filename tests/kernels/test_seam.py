"""Every registered kernel equals its reference op, forward and backward, from ONE table.

A row names the op class a kernel is registered on and a small computation that reaches it; the
computation runs twice on the same inputs, with the kernels and under ``use_reference_ops()``, and
the outputs and every input's gradient must agree. Adding a kernel adds a row: the last test fails
for a registered op class without one. Where a kernel's conditions hold here (its ``applies``, Numba,
MKL), the row also proves that the kernel ran.
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.autograd import seam
from chainrule.kernels import compiled
from chainrule.nn.layers.embedding import EmbeddingScatter
from chainrule.ops import activation, fused_linear, loss, normalization, pool, recurrent
from chainrule.ops import conv as conv_ops
from chainrule.ops.window import Window
from chainrule.optim import SGD, Adam, AdamW, RMSprop
from fresh_process import run_python

TOLERANCE = {np.float32: {"rtol": 2e-4, "atol": 2e-5}, np.float64: {"rtol": 1e-9, "atol": 1e-11}}


def _conv(x, w, b):
    return F.relu(F.conv2d(x, w, b, padding=1))


def _conv_double_backward(x, w):
    """First derivatives recorded (ConvInputGrad, ConvWeightGrad run as ops), then differentiated."""
    y = F.conv2d(x, w, padding=1)
    dx, dw = cr.autograd.grad((y * y).sum(), (x, w), create_graph=True)
    return (dx * dx).sum() + (dw * dw).sum()


def _pooled(x, w):
    return F.max_pool2d(F.conv2d(x, w, padding=1), 2)  # a convolution's output: batch-innermost


def _pool_double_backward(x, w):
    y = _pooled(x, w)
    (dx,) = cr.autograd.grad((y * y).sum(), (x,), create_graph=True)  # the gather runs in its vjp
    return (dx * dx).sum()


def _conv_batch_norm(x, w, gamma, beta):
    """BatchNorm of a convolution's output (batch-innermost), then a product that is not: the
    gradient arriving at the batch norm has another layout than its input."""
    y = F.batch_norm(F.conv2d(x, w, padding=1), None, None, gamma, beta, training=True)
    return y * y.transpose(0, 1, 3, 2)


def _conv_batch_norm_plain(x, w):
    return F.batch_norm(F.conv2d(x, w, padding=1), None, None, training=True)


def _recurrent(layer_class, batch_first=False):
    def run(x):
        cr.manual_seed(0)
        layer = layer_class(5, 7, batch_first=batch_first).to(x.dtype)
        return layer(x)[0]

    return run


def _embedding(weight):
    indices = np.array([[1, 3, 3], [0, 9, 1]])
    return F.embedding(cr.tensor(indices), weight)


# (op class, function of the inputs, input shapes, domain per input: "real" or "prob")
ROWS = [
    (activation.Relu, F.relu, [(300, 256)], None),
    (activation.Sigmoid, cr.sigmoid, [(40, 50)], None),
    (loss.SoftmaxCrossEntropy, lambda x: F.cross_entropy(x, cr.tensor(np.arange(64) % 10)), [(64, 10)], None),
    (loss.BinaryCrossEntropy, lambda p, t: F.binary_cross_entropy(p, t), [(32, 20), (32, 20)], "prob"),
    (fused_linear.Linear, F.linear, [(33, 6), (5, 6), (5,)], None),
    (conv_ops.Convolution, _conv, [(16, 3, 8, 8), (6, 3, 3, 3), (6,)], None),
    (conv_ops.Convolution, _conv, [(4, 3, 8, 8), (32, 3, 3, 3), (32,)], None),
    (conv_ops.ConvInputGrad, _conv_double_backward, [(16, 2, 6, 6), (4, 2, 3, 3)], None),
    (conv_ops.ConvWeightGrad, _conv_double_backward, [(16, 2, 6, 6), (4, 2, 3, 3)], None),
    (pool.MaxPool, _pooled, [(16, 2, 8, 8), (4, 2, 3, 3)], None),
    (pool.MaxPoolScatter, _pooled, [(16, 2, 8, 8), (4, 2, 3, 3)], None),
    (pool.MaxPoolGather, _pool_double_backward, [(16, 2, 8, 8), (4, 2, 3, 3)], None),
    (normalization.BatchNormalize, _conv_batch_norm, [(8, 3, 6, 6), (5, 3, 3, 3), (5,), (5,)], None),
    (normalization.BatchNormalize, _conv_batch_norm_plain, [(7, 2, 5, 5), (4, 2, 3, 3)], None),
    (recurrent.RNNRecurrence, _recurrent(nn.RNN), [(6, 3, 5)], None),
    (recurrent.GRURecurrence, _recurrent(nn.GRU), [(6, 3, 5)], None),
    (recurrent.LSTMRecurrence, _recurrent(nn.LSTM), [(6, 3, 5)], None),
    (recurrent.BatchMajor, _recurrent(nn.LSTM, batch_first=True), [(3, 6, 5)], None),
    (EmbeddingScatter, _embedding, [(10, 4)], None),
]
OPTIMIZERS = {SGD, Adam, AdamW, RMSprop}  # update kernels: tests/kernels/test_optimizer_kernels.py


def _inputs(shapes, domain, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if domain == "prob":
        return [rng.uniform(0.05, 0.95, shape).astype(dtype) for shape in shapes]
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


def _run(function, arrays):
    tensors = [cr.tensor(a, requires_grad=True) for a in arrays]
    out = function(*tensors)
    seed = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
    out.backward(cr.tensor(seed))
    return [out.numpy()] + [t.grad.numpy() for t in tensors]


@pytest.fixture
def ran(monkeypatch):
    """Wraps the kernel registered for a class; the returned list counts its forward and vjp calls."""

    def watch(cls):
        kernel = seam.registered(cls)
        calls = []

        def counted(function):
            if function is None:
                return None

            def call(*args):
                calls.append(function.__name__)
                return function(*args)

            return call

        wrapped = seam.Kernel(counted(kernel.forward), counted(kernel.vjp_arrays), kernel.update,
                              kernel.applies, kernel.modules, kernel.dtypes)
        monkeypatch.setitem(seam._registry, cls, wrapped)
        return calls

    return watch


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row[0].__name__}{row[2][0]}")
def test_kernel_equals_reference(row, dtype, ran):
    cls, function, shapes, domain = row
    arrays = _inputs(shapes, domain, dtype)
    calls = ran(cls)
    with cr.use_reference_ops(False):  # whatever CHAINRULE_REFERENCE the suite runs under
        fast = _run(function, arrays)
    with cr.use_reference_ops():
        before = len(calls)
        reference = _run(function, arrays)
        assert len(calls) == before, "a kernel ran inside use_reference_ops()"
    for got, want in zip(fast, reference):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, **TOLERANCE[dtype])
    if cls.__module__ != pool.__name__ or compiled.enabled():  # the pool's kernels are Numba's alone
        assert calls, f"the {cls.__name__} kernel did not run"


def test_every_registered_op_has_a_row():
    covered = {row[0] for row in ROWS} | OPTIMIZERS
    missing = [cls.__name__ for cls in seam._registry if cls not in covered]
    assert not missing, f"kernels registered without a row in ROWS: {missing}"


def test_reference_mode_switch_nests_and_restores():
    assert not seam.reference_mode() or seam.REFERENCE_VARIABLE  # whatever the suite runs under
    start = seam.reference_mode()
    with cr.use_reference_ops():
        assert seam.reference_mode()
        with cr.use_reference_ops(False):
            assert not seam.reference_mode()
        assert seam.reference_mode()
    assert seam.reference_mode() == start


def test_kernel_for_decides_on_module_dtype_and_applies(monkeypatch):
    class Probe(activation.Relu):
        pass

    seen = []
    monkeypatch.setitem(seam._registry, Probe, seam.Kernel(applies=lambda op, *a: seen.append(a) or True))
    with cr.use_reference_ops(False):
        assert seam.kernel_for(Probe, np, [np.ones(2, np.float32)]) is not None
        assert seam.kernel_for(Probe, np, [np.ones(2, np.float16)]) is None  # dtype not taken
        assert seam.kernel_for(Probe, np, [np.ones(2).view(np.matrix)]) is None  # a subclass of ndarray

        class FakeModule:
            __name__ = "cupy"

        assert seam.kernel_for(Probe, FakeModule, [np.ones(2)]) is None  # NumPy-only kernel
        with cr.use_reference_ops():
            assert seam.kernel_for(Probe, np, [np.ones(2)]) is None
    assert len(seen) == 1  # applies is asked last, only where everything else holds


def test_reference_environment_variable_runs_everything_on_the_reference():

    script = ("import chainrule as cr, numpy as np\n"
              "from chainrule.autograd import seam\n"
              "assert seam.reference_mode()\n"
              "x = cr.tensor(np.ones((300, 256), np.float32), requires_grad=True)\n"
              "y = cr.relu(x)\n"
              "assert y._node.kernel is None\n")
    run_python(script, **{seam.REFERENCE_VARIABLE: "1"})


def test_window_of_reference_conv_is_plain_im2col():
    """The reference convolution is one product over im2col's columns (a student can check it by hand)."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3))
    window = Window((3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    cols = conv_ops.im2col(np, x, window, 5, 5)
    with cr.use_reference_ops():
        y = F.conv2d(cr.tensor(x), cr.tensor(w), padding=1).numpy()
    np.testing.assert_allclose((w.reshape(4, -1) @ cols).reshape(4, 5, 5, 2).transpose(3, 0, 1, 2), y)
