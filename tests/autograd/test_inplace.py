"""In-place operators: the course's hand-written gradient descent must really change the weights."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.errors import DTypeError, GraphError, ShapeError


def test_manual_gradient_descent_updates_the_parameters_in_place():
    cr.manual_seed(0)
    layer = nn.Linear(3, 2)
    (layer(cr.randn(4, 3)) ** 2).mean().backward()
    expected = {name: p.data - 0.1 * p.grad.data for name, p in layer.named_parameters()}
    with cr.no_grad():
        for p in layer.parameters():
            p -= 0.1 * p.grad
    for name, p in layer.named_parameters():
        assert np.allclose(p.data, expected[name])
    assert len(list(layer.parameters())) == 2


@pytest.mark.parametrize("update", [
    lambda t: t.__iadd__(1.0), lambda t: t.__isub__(1.0),
    lambda t: t.__imul__(2.0), lambda t: t.__itruediv__(2.0),
])
def test_updating_a_leaf_that_requires_grad_while_recording_raises(update):
    leaf = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GraphError, match="no_grad"):
        update(leaf)
    assert leaf.tolist() == [1.0, 2.0]


def test_in_place_on_a_non_leaf_keeps_the_gradient_right():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = a * 3.0
    b *= a  # b = 3a², db/da = 6a
    b.sum().backward()
    assert np.allclose(a.grad.data, [6.0, 12.0])


def test_in_place_keeps_dtype_and_identity_and_owns_shared_arrays():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    grad = a.grad
    grad *= 0.5  # must not change b.grad, which came from the same backward
    assert grad is a.grad and a.grad.dtype == np.float32
    assert np.allclose(b.grad.data, [1.0, 1.0]) and np.allclose(a.grad.data, [0.5, 0.5])


def test_in_place_errors_name_the_problem():
    ints = cr.tensor([1, 2])
    with pytest.raises(DTypeError, match="int64"):
        ints += 0.5
    with pytest.raises(ShapeError, match=r"\(3,\)"):
        cr.zeros(2).__iadd__(cr.ones(3))


def test_item_assignment_outside_the_graph_and_its_error_inside():
    x = cr.zeros(2, 3)
    x[0, 1] = 5.0
    x[cr.tensor([1])] = cr.ones(3)
    assert x.tolist() == [[0.0, 5.0, 0.0], [1.0, 1.0, 1.0]]
    w = cr.zeros(3, requires_grad=True)
    with pytest.raises(GraphError, match="where"):
        w[0] = 1.0
    with cr.no_grad():
        w[0] = 1.0
    assert w.tolist() == [1.0, 0.0, 0.0]
