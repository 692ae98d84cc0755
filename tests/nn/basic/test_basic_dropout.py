"""Dropout: the expected value is kept, eval is the identity, and the mask comes from the seeded stream."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F


def test_dropout_keeps_the_expected_value():
    cr.manual_seed(0)
    x = cr.ones((400, 500))
    y = nn.Dropout(0.3)(x).numpy()
    assert abs(y.mean() - 1.0) < 0.01
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)


def test_dropout_is_the_identity_in_eval_mode():
    layer = nn.Dropout(0.5)
    x = cr.randn(10, 10)
    layer.eval()
    assert layer(x) is x
    layer.train()
    assert np.any(layer(x).numpy() != x.numpy())


def test_dropout_mask_is_16_bits_per_element_from_the_generator():
    x = cr.tensor(np.arange(1.0, 14.0, dtype=np.float32).reshape(13, 1))  # 13: not a multiple of 4
    cr.manual_seed(42)
    y = F.dropout(x, 0.25, training=True)
    words = np.random.default_rng(42).bit_generator.random_raw(4)  # the rule, recomputed by hand
    bits = np.frombuffer(words.tobytes(), dtype=np.uint16)[:13].reshape(13, 1)
    np.testing.assert_allclose(y.numpy(), np.where(bits >= 0.25 * 65536, x.numpy() / 0.75, 0), rtol=1e-6)
    assert y.dtype == np.float32
    # the next draw continues the generator's stream after the words this mask used
    assert cr.random.generator().bit_generator.random_raw() == \
        np.random.default_rng(42).bit_generator.random_raw(5)[4]


def test_dropout_gradient_is_the_scaled_mask():
    cr.manual_seed(5)
    x = cr.Tensor(np.ones((6, 7)), requires_grad=True)
    y = F.dropout(x, 0.5)
    y.backward(cr.Tensor(np.full((6, 7), 2.0)))
    np.testing.assert_allclose(x.grad.numpy(), 2.0 * y.numpy())
    assert y.dtype == np.float64


def test_dropout_edge_probabilities_and_errors():
    x = cr.randn(3, 3)
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="p must lie in"):
        nn.Dropout(1.5)


def test_dropout_config_and_repr():
    layer = nn.Dropout(0.2)
    assert type(layer)(**layer.get_config()).p == 0.2
    assert "p=0.2" in repr(layer) and list(layer.state_dict()) == []


def test_dropout_matches_torch_statistics():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.functional.dropout(torch.ones(200, 200), 0.4).numpy()
    ours = F.dropout(cr.ones((200, 200)), 0.4).numpy()
    assert set(np.unique(np.round(theirs, 5))) == set(np.unique(np.round(ours, 5)))
    assert abs(theirs.mean() - ours.mean()) < 0.03
