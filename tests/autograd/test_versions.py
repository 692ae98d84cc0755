"""A tensor changed in place after the forward pass used it stops backward, instead of wrong gradients."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.errors import GraphError


def _retained_loss(layer):
    loss = (layer(cr.ones(4, 3)) ** 2).sum()
    loss.backward(retain_graph=True)
    return loss


@pytest.mark.parametrize("change", [
    lambda layer: cr.optim.SGD(layer.parameters(), lr=0.1).step(),
    lambda layer: cr.optim.Adam(layer.parameters()).step(),
    lambda layer: layer.load_state_dict(layer.state_dict()),
    lambda layer: cr.nn.init.zeros_(layer.weight),
    lambda layer: layer.weight.__isub__(1.0) if not cr.is_grad_enabled() else None,
])
def test_backward_through_a_weight_changed_since_the_forward_pass_raises(change):
    cr.manual_seed(0)
    layer = nn.Linear(3, 2)
    loss = _retained_loss(layer)
    with cr.no_grad():
        change(layer)
    with pytest.raises(GraphError, match="changed in place"):
        loss.backward()


def test_lbfgs_steps_count_as_changes():
    x = cr.tensor(np.array([1.5, -0.5]), requires_grad=True)
    loss = ((x - 1.0) ** 2).sum()
    loss.backward(retain_graph=True)
    opt = cr.optim.LBFGS([x], max_iter=2)

    def closure():
        opt.zero_grad()
        value = ((x - 1.0) ** 2).sum()
        value.backward()
        return value

    opt.step(closure)
    with pytest.raises(GraphError, match="changed in place"):
        loss.backward()


def test_changes_after_backward_or_to_unused_tensors_are_fine():
    cr.manual_seed(0)
    layer = nn.Linear(3, 2)
    opt = cr.optim.SGD(layer.parameters(), lr=0.1)
    for _ in range(3):  # the ordinary loop: forward, backward, step, forward again
        opt.zero_grad()
        (layer(cr.ones(4, 3)) ** 2).sum().backward()
        opt.step()
    other = cr.zeros(3)
    loss = (layer(cr.ones(4, 3)) ** 2).sum()
    other += 1.0  # not part of this graph
    loss.backward()
    assert layer.weight.grad is not None
