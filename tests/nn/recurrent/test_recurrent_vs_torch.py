"""Outputs and gradients equal PyTorch's, with the weights copied across by name (skipped without torch)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn

torch = pytest.importorskip("torch")


def _twins(mode, **kwargs):
    ours = getattr(nn, mode)(3, 4, **kwargs).double()
    theirs = getattr(torch.nn, mode)(3, 4, **kwargs).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _compare_grads(ours, theirs, pairs):
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.numpy(), p.grad.numpy(), rtol=1e-9,
                                   atol=1e-11, err_msg=name)
    for mine, their in pairs:
        np.testing.assert_allclose(mine.grad.numpy(), their.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("mode, kwargs", [
    ("LSTM", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    ("LSTM", {"bias": False}),
    ("GRU", {"num_layers": 2, "bidirectional": True}),
    ("GRU", {"batch_first": True}),
    ("RNN", {"num_layers": 2, "nonlinearity": "relu", "bidirectional": True}),
    ("RNN", {"batch_first": True}),
])
def test_sequence_layers_match_torch(mode, kwargs):
    ours, theirs = _twins(mode, **kwargs)
    rng = np.random.default_rng(0)
    directions = 2 if kwargs.get("bidirectional") else 1
    layers = kwargs.get("num_layers", 1)
    x = rng.standard_normal((2, 5, 3) if kwargs.get("batch_first") else (5, 2, 3))
    states = [rng.standard_normal((layers * directions, 2, 4)) for _ in range(2 if mode == "LSTM" else 1)]
    x_ours, x_theirs = cr.Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    s_ours = [cr.Tensor(s.copy(), requires_grad=True) for s in states]
    s_theirs = [torch.tensor(s, requires_grad=True) for s in states]
    out, state = ours(x_ours, tuple(s_ours) if mode == "LSTM" else s_ours[0])
    ref_out, ref_state = theirs(x_theirs, tuple(s_theirs) if mode == "LSTM" else s_theirs[0])
    finals = state if mode == "LSTM" else (state,)
    ref_finals = ref_state if mode == "LSTM" else (ref_state,)
    np.testing.assert_allclose(out.numpy(), ref_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(finals, ref_finals):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    # a loss that weighs every output differently, so that every gradient path is exercised
    weights = [rng.standard_normal(t.shape) for t in (out, *finals)]
    loss = sum((t * w).sum() for t, w in zip((out, *finals), weights))
    ref_loss = sum((t * torch.tensor(w)).sum() for t, w in zip((ref_out, *ref_finals), weights))
    loss.backward()
    ref_loss.backward()
    _compare_grads(ours, theirs, [(x_ours, x_theirs), *zip(s_ours, s_theirs)])


@pytest.mark.parametrize("mode", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cells_match_torch(mode):
    ours, theirs = _twins(mode)
    rng = np.random.default_rng(1)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    x_ours, x_theirs = cr.Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    if mode == "LSTMCell":
        h_ours, c_ours = ours(x_ours, (cr.tensor(h), cr.tensor(c)))
        h_theirs, c_theirs = theirs(x_theirs, (torch.tensor(h), torch.tensor(c)))
        (h_ours * 2 + c_ours * 3).sum().backward()
        (h_theirs * 2 + c_theirs * 3).sum().backward()
        np.testing.assert_allclose(c_ours.numpy(), c_theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    else:
        h_ours, h_theirs = ours(x_ours, cr.tensor(h)), theirs(x_theirs, torch.tensor(h))
        (h_ours * h_ours).sum().backward()
        (h_theirs * h_theirs).sum().backward()
    np.testing.assert_allclose(h_ours.numpy(), h_theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    _compare_grads(ours, theirs, [(x_ours, x_theirs)])


def test_float32_lstm_matches_torch():
    ours = nn.LSTM(8, 16)
    theirs = torch.nn.LSTM(8, 16)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((20, 4, 8)).astype(np.float32)
    out, _ = ours(cr.tensor(x))
    ref, _ = theirs(torch.tensor(x))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-5)
