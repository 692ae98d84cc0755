"""Embedding: row lookup, accumulation of repeated rows, and no gradient for the padding index."""

import json

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule import autograd
from chainrule.autograd import gradcheck, gradgradcheck


def test_lookup_returns_rows_and_repeated_rows_accumulate():
    table = np.arange(12.0).reshape(4, 3)
    weight = cr.tensor(table, requires_grad=True)
    indices = np.array([[1, 3], [1, 0]])
    out = F.embedding(indices, weight)
    np.testing.assert_array_equal(out.numpy(), table[indices])
    g = np.random.default_rng(0).standard_normal((2, 2, 3))
    out.backward(cr.tensor(g))
    expected = np.zeros((4, 3))
    for (i, j), row in np.ndenumerate(indices):
        expected[row] += g[i, j]
    np.testing.assert_allclose(weight.grad.numpy(), expected)


def test_padding_index_gets_no_gradient():
    cr.manual_seed(0)
    layer = nn.Embedding(5, 4, padding_idx=2)
    np.testing.assert_array_equal(layer.weight.numpy()[2], 0)
    out = layer(cr.tensor([[2, 1, 2], [4, 2, 1]]))
    np.testing.assert_array_equal(out.numpy()[0, 0], 0)
    (out * out + out).sum().backward()
    grad = layer.weight.grad.numpy()
    np.testing.assert_array_equal(grad[2], 0)
    assert np.all(grad[1] != 0) and np.all(grad[4] != 0)
    np.testing.assert_array_equal(grad[[0, 3]], 0)


def test_embedding_gradcheck_and_second_order_through_padding():
    rng = np.random.default_rng(1)
    weight = cr.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    f = lambda w: F.embedding([[0, 3, 3], [1, 2, 0]], w, padding_idx=1) ** 2  # noqa: E731
    assert gradgradcheck(f, (weight,))
    g = cr.tensor(rng.standard_normal((2, 3, 2)), requires_grad=True)
    (dw,) = autograd.grad(F.embedding([[0, 1]], weight, padding_idx=1), [weight], [g[:1, :2]],
                          create_graph=True)
    (dg,) = autograd.grad((dw * dw).sum(), [g])
    assert np.all(dg.numpy()[0, 1] == 0)  # the padding lookup carried nothing, either way
    assert gradcheck(lambda w: F.embedding([2, 2, 0], w), (weight,), check_forward=True)


def test_embedding_init_config_and_errors():
    cr.manual_seed(0)
    layer = nn.Embedding(1000, 50)
    assert layer.weight.dtype == np.float32
    assert abs(layer.weight.numpy().std() - 1) < 0.02 and abs(layer.weight.numpy().mean()) < 0.02
    config = json.loads(json.dumps(nn.Embedding(7, 3, padding_idx=-1).get_config()))
    assert config["padding_idx"] == 6 and nn.Embedding(**config).padding_idx == 6
    with pytest.raises(cr.ShapeError, match=r"\[0, 1000\)"):
        layer(cr.tensor([3, 1000]))
    with pytest.raises(cr.DTypeError, match="integers"):
        layer(cr.tensor([1.0, 2.0]))
    with pytest.raises(cr.ShapeError, match="padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)
