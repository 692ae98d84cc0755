"""The fused recurrence primitives: finite differences, double backward, and fast path == composed path."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.autograd.functional import grad_of
from chainrule.ops.recurrent import GRURecurrence, LSTMRecurrence, RNNRecurrence

T, N, H = 3, 2, 2


def _leaf(rng, *shape):
    return cr.Tensor(rng.standard_normal(shape) * 0.6, requires_grad=True)


def _cases(rng, reverse, T=T, N=N, H=H):  # noqa: N803 - the shapes' names
    """(name, function, inputs) for each primitive, in float64."""
    lstm_in = [_leaf(rng, T, N, 4 * H), _leaf(rng, 4 * H, H), _leaf(rng, N, H), _leaf(rng, N, H)]
    gru_in = [_leaf(rng, T, N, 3 * H), _leaf(rng, 3 * H, H), _leaf(rng, 3 * H), _leaf(rng, N, H)]
    rnn_in = [_leaf(rng, T, N, H), _leaf(rng, H, H), _leaf(rng, N, H)]
    return [
        ("lstm", lambda *a: LSTMRecurrence(reverse)(*a), lstm_in),
        ("gru", lambda *a: GRURecurrence(reverse)(*a), gru_in),
        ("gru_nobias", lambda x, w, h: GRURecurrence(reverse)(x, w, None, h),
         [gru_in[0], gru_in[1], gru_in[3]]),
        ("rnn_tanh", lambda *a: RNNRecurrence("tanh", reverse)(*a), rnn_in),
        ("rnn_relu", lambda *a: RNNRecurrence("relu", reverse)(*a), rnn_in),
    ]


@pytest.mark.parametrize("reverse", [False, True])
def test_first_derivatives_and_forward_mode_match_finite_differences(reverse):
    for name, f, inputs in _cases(np.random.default_rng(1), reverse):
        assert gradcheck(f, inputs, check_forward=True), name


@pytest.mark.parametrize("reverse", [False, True])
def test_second_derivatives_match_finite_differences(reverse):
    for name, f, inputs in _cases(np.random.default_rng(2), reverse):
        assert gradgradcheck(f, inputs), name


@pytest.mark.parametrize("reverse", [False, True])
def test_array_backward_equals_composed_backward(reverse):
    """The fast array-only vjp (plain backward) and the Tensor-op vjp (create_graph) agree."""
    rng = np.random.default_rng(3)
    for name, f, inputs in _cases(rng, reverse):
        out = f(*inputs)
        seed = cr.Tensor(rng.standard_normal(out.shape))
        fast = grad_of([out], inputs, [seed], retain_graph=True)
        composed = grad_of([f(*inputs)], inputs, [seed], create_graph=True)
        assert all(g.requires_grad for g in composed), name  # really the differentiable path
        for a, b in zip(fast, composed):
            np.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.kernels
def test_array_backward_equals_composed_backward_with_packed_recurrent_weights(monkeypatch):
    """Where MKL packs W_hh once per sequence (prepack), the fused op still equals the composed one."""
    from chainrule.kernels import mkl as blas

    packed = [0]
    if blas.active() == "mkl":
        matmul = blas.PackedRight.matmul

        def counting(self, a, out=None, accumulate=False):
            packed[0] += self.packed is not None
            return matmul(self, a, out, accumulate)

        monkeypatch.setattr(blas.PackedRight, "matmul", counting)
    rng = np.random.default_rng(5)
    for reverse in (False, True):
        for name, f, inputs in _cases(rng, reverse, T=4, N=32, H=48):
            out = f(*inputs)
            seed = cr.Tensor(rng.standard_normal(out.shape))
            fast = grad_of([out], inputs, [seed], retain_graph=True)
            composed = grad_of([f(*inputs)], inputs, [seed], create_graph=True)
            composed_out = f(*inputs).data
            np.testing.assert_allclose(out.data, composed_out, rtol=1e-10, atol=1e-12, err_msg=name)
            for a, b in zip(fast, composed):
                np.testing.assert_allclose(a.data, b.data, rtol=1e-9, atol=1e-11, err_msg=name)
    if blas.active() == "mkl":
        assert packed[0] > 0  # the products really came from packed weights


def test_composed_forward_equals_fused_forward():
    """The Tensor-op forward (used by create_graph and forward mode) computes what the fused one does."""
    rng = np.random.default_rng(4)
    for reverse in (False, True):
        ops = {"lstm": LSTMRecurrence(reverse), "gru": GRURecurrence(reverse),
               "rnn_tanh": RNNRecurrence("tanh", reverse), "rnn_relu": RNNRecurrence("relu", reverse)}
        for name, f, inputs in _cases(rng, reverse):
            if name in ops:
                composed = ops[name].forward_composed(*inputs)[0].data
                np.testing.assert_allclose(f(*inputs).data, composed, rtol=1e-12, err_msg=name)


def test_float32_stays_float32():
    rng = np.random.default_rng(5)
    x = cr.Tensor(rng.standard_normal((T, N, 4 * H)).astype(np.float32), requires_grad=True)
    w = cr.Tensor(rng.standard_normal((4 * H, H)).astype(np.float32), requires_grad=True)
    h0 = np.zeros((N, H), dtype=np.float32)
    out = LSTMRecurrence()(x, w, h0, h0)
    out.sum().backward()
    assert out.dtype == x.grad.dtype == w.grad.dtype == np.float32


def test_bad_shapes_raise_shape_errors():
    x = cr.Tensor(np.zeros((T, N, 4 * H)))
    with pytest.raises(cr.errors.ShapeError, match="lstmrecurrence"):
        LSTMRecurrence()(x, np.zeros((4 * H, H + 1)), np.zeros((N, H)), np.zeros((N, H)))
    with pytest.raises(ValueError, match="initial state"):
        LSTMRecurrence()(x, np.zeros((4 * H, H)), np.zeros((N + 1, H)), np.zeros((N, H)))
