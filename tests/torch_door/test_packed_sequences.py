"""Packed sequences through RNN, LSTM and GRU against torch 2.13: with torch's weights loaded, the
padded outputs (zeros past each length), the final states at each sequence's own end, and every
gradient agree; bidirectional, two layers, batch-first, unsorted lengths."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_packed_sequence

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(7)


def _close(a, b, what):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=5e-5, atol=5e-6, err_msg=what)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [True, False])
def test_packed_recurrence_matches_torch(mode, bidirectional, batch_first):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, mode)(3, 4, num_layers=2, batch_first=batch_first, bidirectional=bidirectional)
    ours = getattr(cr.nn, mode)(3, 4, num_layers=2, batch_first=batch_first, bidirectional=bidirectional)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    lengths = [3, 5, 1, 5, 2]
    shape = (5, 6, 3) if batch_first else (6, 5, 3)
    values = RNG.standard_normal(shape).astype(np.float32)
    x, tx = cr.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    packed = pack_padded_sequence(x, cr.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
    tpacked = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths), batch_first=batch_first,
                                                      enforce_sorted=False)
    _close(packed.data, tpacked.data, "packed data")
    assert packed.batch_sizes.tolist() == tpacked.batch_sizes.tolist()
    out, state = ours(packed)
    tout, tstate = theirs(tpacked)
    padded, found = pad_packed_sequence(out, batch_first=batch_first, total_length=6)
    tpadded, tfound = torch.nn.utils.rnn.pad_packed_sequence(tout, batch_first=batch_first, total_length=6)
    _close(padded, tpadded, "padded output")
    assert found.tolist() == tfound.tolist()
    states = state if mode == "LSTM" else (state,)
    tstates = tstate if mode == "LSTM" else (tstate,)
    for s, ts in zip(states, tstates):
        _close(s, ts, "final state")
    weights = RNG.standard_normal(tuple(padded.shape)).astype(np.float32)
    loss = (padded * cr.tensor(weights)).sum() + sum((s * s).sum() for s in states)
    tloss = (tpadded * torch.tensor(weights)).sum() + sum((s * s).sum() for s in tstates)
    loss.backward()
    tloss.backward()
    _close(x.grad, tx.grad, "input gradient")
    mine = dict(ours.named_parameters())
    for name, parameter in theirs.named_parameters():
        _close(mine[name].grad, parameter.grad, f"d{name}")


def test_pack_sequence_and_the_sorted_rule():
    seqs = [cr.tensor([[1.0], [2.0], [3.0]]), cr.tensor([[4.0]])]
    packed = pack_sequence(seqs)
    assert packed.batch_sizes.tolist() == [2, 1, 1]
    padded, lengths = pad_packed_sequence(packed, batch_first=True, padding_value=-1.0)
    assert padded.numpy()[:, :, 0].tolist() == [[1.0, 2.0, 3.0], [4.0, -1.0, -1.0]]
    assert lengths.tolist() == [3, 1]
    with pytest.raises(ValueError, match="enforce_sorted"):
        pack_padded_sequence(cr.zeros(3, 2, 1), [1, 3])
    with pytest.raises(ValueError, match="lengths must lie"):
        pack_padded_sequence(cr.zeros(3, 2, 1), [4, 1])
