"""PyTorch's ``out=`` on the top-level functions, ``add``'s ``alpha`` and ``torch.accelerator``, against
torch itself: see ``torch_oracle``. The tensors tutorial writes ``torch.matmul(t, t.T, out=y3)``."""

import numpy as np
import pytest
from torch_oracle import A, B, idiom_test, registry

import chainrule as cr
from chainrule.errors import GraphError, ShapeError

IDIOMS, idiom = registry()
SQUARE = (A[:, :3] + 1).copy()  # positive, so that log and sqrt are defined


def _into(m, function, *args, **kwargs):
    """(what the call returned is out, out) for ``function(*args, out=out)``."""
    out = m.T.empty(0)
    returned = function(*args, out=out, **kwargs)
    return returned is out, out


@idiom
def tutorial_matmul_and_mul_into_out(m):
    tensor = m.T.tensor(A)
    y3 = m.T.rand_like(tensor @ tensor.T)
    returned = m.T.matmul(tensor, tensor.T, out=y3)
    z3 = m.T.rand_like(tensor)
    m.T.mul(tensor, tensor, out=z3)
    return returned is y3, y3, z3


@idiom
def binary_functions_into_out(m):
    a, b = m.T.tensor(SQUARE), m.T.tensor(B[:, :3])
    T = m.T
    return [_into(m, f, a, b) for f in (T.add, T.sub, T.mul, T.div, T.maximum, T.minimum, T.multiply,
                                        T.subtract, T.divide, T.matmul, T.mm, T.pow)]


@idiom
def unary_functions_into_out(m):
    a = m.T.tensor(SQUARE)
    T = m.T
    return [_into(m, f, a) for f in (T.exp, T.log, T.sqrt, T.abs, T.neg, T.sin, T.cos, T.tanh, T.sigmoid)]


@idiom
def joins_and_clamp_into_out(m):
    a, b = m.T.tensor(A), m.T.tensor(B)
    return (_into(m, m.T.cat, [a, b], 1), _into(m, m.T.stack, [a, b]), _into(m, m.T.clamp, a, -0.2, 0.3),
            _into(m, m.T.bmm, m.T.stack([a, b]), m.T.stack([a.T, b.T])))


@idiom
def out_of_the_right_shape_keeps_its_memory(m):
    out = m.T.zeros(3, 4)
    before = out.data_ptr()
    m.T.add(m.T.tensor(A), m.T.tensor(B), out=out)
    return out.data_ptr() == before, out


@idiom
def add_and_sub_with_alpha(m):
    a, b = m.T.tensor(A), m.T.tensor(B)
    return m.T.add(a, b, alpha=2), m.T.sub(a, b, alpha=0.5), m.T.add(a, 3, alpha=2), a.add(b, alpha=2)


@idiom
def a_float_result_into_an_integer_out_refuses(m):
    return m.T.add(m.T.tensor(A), m.T.tensor(B), out=m.T.zeros(3, 4, dtype=m.T.int64))


@idiom
def out_with_an_input_that_requires_grad_refuses(m):
    a = m.T.tensor(A, requires_grad=True)
    return m.T.mul(a, a, out=m.T.empty(3, 4))


@idiom
def out_under_no_grad_with_an_input_that_requires_grad(m):
    a = m.T.tensor(A, requires_grad=True)
    with m.T.no_grad():
        return m.T.mul(a, a, out=m.T.empty(3, 4))


@idiom
def accelerator_on_a_cpu_machine(m):
    device = m.T.accelerator.current_accelerator().type if m.T.accelerator.is_available() else "cpu"
    mps = "mps" if m.T.backends.mps.is_available() else "cpu"
    return device, mps, m.T.accelerator.device_count(), m.T.zeros(2, device=device).device


test_idiom_agrees_with_torch = idiom_test(IDIOMS)


def test_errors_say_what_to_do():
    a = cr.tensor(A, requires_grad=True)
    with pytest.raises(GraphError, match=r"mul\(\): functions with out=.*cr.no_grad"):
        cr.mul(a, a, out=cr.empty(3, 4))
    with pytest.raises(ShapeError, match=r"out has shape \(2, 2\) and the result \(3, 4\)"):
        cr.add(cr.tensor(A), 1, out=cr.zeros(2, 2))
    with pytest.raises(TypeError, match="cannot be cast to out's int64"):
        cr.add(cr.tensor(A), 1, out=cr.zeros(3, 4, dtype=cr.int64))
    with pytest.raises(TypeError, match="out must be a Tensor"):
        cr.add(cr.tensor(A), 1, out=np.zeros((3, 4)))


def test_out_counts_as_a_change_in_place():
    """A graph that read ``out`` before notices that it changed, as after any in-place write."""
    w = cr.tensor(A, requires_grad=True)
    out = cr.ones(3, 4)
    y = (w * out).sum()
    with cr.no_grad():
        cr.add(cr.tensor(A), 1, out=out)
    with pytest.raises(GraphError):
        y.backward()
