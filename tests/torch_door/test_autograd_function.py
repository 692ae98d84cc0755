"""cr.autograd.Function: your own op with static forward/backward and a ctx, as PyTorch's "Learning
PyTorch with Examples" writes LegendrePolynomial3; against torch, finite differences and forward mode."""

import numpy as np
import pytest
from torch_oracle import A, idiom_test, registry

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.errors import ChainruleError

IDIOMS, idiom = registry()


def _legendre(m):
    class LegendrePolynomial3(m.T.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    return LegendrePolynomial3


@idiom
def legendre_values_and_gradients(m):
    P3 = _legendre(m).apply
    c = m.T.tensor(0.1, requires_grad=True)
    d = m.T.tensor(0.3, requires_grad=True)
    x = m.T.tensor(A)
    y = P3(c + d * x)
    (y * y).sum().backward()
    return y, c.grad, d.grad


@idiom
def needs_input_grad_and_a_number_argument(m):
    class Scale(m.T.autograd.Function):
        @staticmethod
        def forward(ctx, x, factor):
            ctx.factor, ctx.flags = factor, ctx.needs_input_grad
            return x * factor

        @staticmethod
        def backward(ctx, g):
            return g * ctx.factor, None

    x = m.T.tensor(A, requires_grad=True)
    y = Scale.apply(x, 3.0)
    y.sum().backward()
    return x.grad, y.requires_grad


test_idiom_agrees_with_torch = idiom_test(IDIOMS)


class Cube(cr.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x ** 2

    @staticmethod
    def jvp(ctx, dx):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * dx


def test_finite_differences_second_order_and_forward_mode():
    x = cr.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    assert gradcheck(Cube.apply, (x,))
    assert gradgradcheck(Cube.apply, (x,))  # saved_tensors hands back x itself: d²/dx² reaches it
    _, tangent = cr.jvp(Cube.apply, (x.detach(),), (cr.ones(5, dtype=cr.float64),))
    np.testing.assert_allclose(tangent.numpy(), 3 * x.numpy() ** 2)


def test_what_cannot_work_says_so():
    class NoJvp(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, g

    class TwoOut(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x, x

    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match="jvp"):
        cr.jvp(NoJvp.apply, (x.detach(),), (cr.ones(2),))
    with pytest.raises(ChainruleError, match="2 gradients for 1 inputs"):
        NoJvp.apply(x).sum().backward()
    with pytest.raises(ChainruleError, match="return one tensor"):
        TwoOut.apply(x)
