"""nn.MultiheadAttention and the transformer encoder against torch 2.13: a torch state_dict loads by
name, and the outputs, attention weights and gradients agree, with every kind of mask."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(0)
N, L, S, E, H = 2, 4, 5, 8, 2


def _load(ours, theirs):
    """Our module with torch's weights, copied by name."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours


def _both(array, grad=True):
    return cr.tensor(array, requires_grad=grad), torch.tensor(array, requires_grad=grad)


def _close(a, b, what, rtol=2e-5, atol=2e-6):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol, err_msg=what)


MASKS = {
    "none": {},
    "causal bool": {"attn_mask": np.triu(np.ones((L, S), bool), 1)},
    "float": {"attn_mask": RNG.standard_normal((L, S)).astype(np.float32)},
    "per head": {"attn_mask": RNG.standard_normal((N * H, L, S)).astype(np.float32)},
    "key padding": {"key_padding_mask": np.array([[False] * S, [False, False, False, True, True]])},
}


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("mask", sorted(MASKS))
def test_multihead_attention_matches_torch(batch_first, mask):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, H, batch_first=batch_first)
    ours = _load(cr.nn.MultiheadAttention(E, H, batch_first=batch_first), theirs)
    shape = (lambda n, t: (n, t, E)) if batch_first else (lambda n, t: (t, n, E))
    arrays = [RNG.standard_normal(shape(N, t)).astype(np.float32) for t in (L, S, S)]
    (q, tq), (k, tk), (v, tv) = (_both(a) for a in arrays)
    kwargs = {name: value for name, value in MASKS[mask].items()}
    out, weights = ours(q, k, v, **{n: cr.tensor(m) for n, m in kwargs.items()})
    tout, tweights = theirs(tq, tk, tv, **{n: torch.tensor(m) for n, m in kwargs.items()})
    _close(out, tout, "output")
    _close(weights, tweights, "weights")
    (out.sum() + (weights * weights).sum()).backward()
    (tout.sum() + (tweights * tweights).sum()).backward()
    for a, b, what in ((q, tq, "dq"), (k, tk, "dk"), (v, tv, "dv")):
        _close(a.grad, b.grad, what)
    for name, parameter in theirs.named_parameters():
        _close(dict(ours.named_parameters())[name].grad, parameter.grad, f"d{name}")


def test_attention_weights_per_head_and_none():
    torch.manual_seed(1)
    theirs = torch.nn.MultiheadAttention(E, H, batch_first=True)
    ours = _load(cr.nn.MultiheadAttention(E, H, batch_first=True), theirs)
    x = RNG.standard_normal((N, L, E)).astype(np.float32)
    _, weights = ours(cr.tensor(x), cr.tensor(x), cr.tensor(x), average_attn_weights=False)
    _, tweights = theirs(*(torch.tensor(x),) * 3, average_attn_weights=False)
    _close(weights, tweights, "per-head weights")
    assert ours(cr.tensor(x), cr.tensor(x), cr.tensor(x), need_weights=False)[1] is None


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_matches_torch(norm_first, activation):
    torch.manual_seed(2)
    layer = torch.nn.TransformerEncoderLayer(E, H, 16, dropout=0.0, activation=activation, batch_first=True,
                                             norm_first=norm_first)
    theirs = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(E), enable_nested_tensor=False)
    ours_layer = cr.nn.TransformerEncoderLayer(E, H, 16, dropout=0.0, activation=activation, batch_first=True,
                                               norm_first=norm_first)
    ours = cr.nn.TransformerEncoder(ours_layer, 2, norm=cr.nn.LayerNorm(E))
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    _load(ours, theirs)
    x, tx = _both(RNG.standard_normal((N, L, E)).astype(np.float32))
    padding = np.array([[False] * L, [False, False, True, True]])
    causal = np.triu(np.ones((L, L), bool), 1)
    out = ours(x, mask=cr.tensor(causal), src_key_padding_mask=cr.tensor(padding))
    tout = theirs(tx, mask=torch.tensor(causal), src_key_padding_mask=torch.tensor(padding))
    _close(out, tout, "encoder output")
    weights = RNG.standard_normal(out.shape).astype(np.float32)  # (a LayerNorm output's Σx² is nearly flat)
    (out * cr.tensor(weights)).sum().backward()
    (tout * torch.tensor(weights)).sum().backward()
    _close(x.grad, tx.grad, "input gradient")


def test_encoder_trains_a_sequence_classifier():
    """A tiny transformer learns to tell whether a sequence's first token is its largest."""
    cr.manual_seed(0)
    layer = cr.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    encoder = cr.nn.TransformerEncoder(layer, 1)
    embed, head = cr.nn.Linear(1, 8), cr.nn.Linear(8, 2)
    parameters = list(encoder.parameters()) + list(embed.parameters()) + list(head.parameters())
    optimizer = cr.optim.Adam(parameters, lr=0.01)
    data = RNG.standard_normal((256, 5, 1)).astype(np.float32)
    labels = (data[:, 0, 0] == data.max(axis=(1, 2))).astype(np.int64)
    losses = []
    for _ in range(60):
        logits = head(encoder(embed(cr.tensor(data))).mean(1))
        loss = cr.nn.functional.cross_entropy(logits, cr.tensor(labels))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]


def test_bad_sizes_are_named():
    with pytest.raises(cr.ShapeError, match="divisible by num_heads"):
        cr.nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="activation"):
        cr.nn.TransformerEncoderLayer(8, 2, activation="tanh")


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")  # torch's note on its own speed
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_decoder_transformer_matches_torch(batch_first, norm_first):
    torch.manual_seed(3)
    theirs = torch.nn.Transformer(E, H, 2, 2, 16, dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    ours = cr.nn.Transformer(E, H, 2, 2, 16, dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    _load(ours, theirs)
    shape = (lambda t: (N, t, E)) if batch_first else (lambda t: (t, N, E))
    (src, tsrc), (tgt, ttgt) = (_both(RNG.standard_normal(shape(t)).astype(np.float32)) for t in (S, L))
    causal = cr.nn.Transformer.generate_square_subsequent_mask(L)
    tcausal = torch.nn.Transformer.generate_square_subsequent_mask(L)
    _close(causal, tcausal, "square subsequent mask")
    padding = np.array([[False] * S, [False, False, False, False, True]])
    out = ours(src, tgt, tgt_mask=causal, src_key_padding_mask=cr.tensor(padding),
               memory_key_padding_mask=cr.tensor(padding))
    tout = theirs(tsrc, ttgt, tgt_mask=tcausal, src_key_padding_mask=torch.tensor(padding),
                  memory_key_padding_mask=torch.tensor(padding))
    _close(out, tout, "transformer output")
    weights = RNG.standard_normal(out.shape).astype(np.float32)
    (out * cr.tensor(weights)).sum().backward()
    (tout * torch.tensor(weights)).sum().backward()
    _close(src.grad, tsrc.grad, "source gradient")
    _close(tgt.grad, ttgt.grad, "target gradient")
    mine = dict(ours.named_parameters())
    for name, parameter in theirs.named_parameters():  # float32 sums over two stacks of layers
        _close(mine[name].grad, parameter.grad, f"d{name}", rtol=2e-4, atol=2e-5)


def test_a_custom_activation_is_not_saved_as_another():
    """A model file holds no code: a layer with an activation function of its own refuses to be
    described by its config, rather than coming back with relu."""
    for layer in (cr.nn.TransformerEncoderLayer(E, H, activation=cr.tanh),
                  cr.nn.TransformerDecoderLayer(E, H, activation=cr.tanh),
                  cr.nn.Transformer(E, H, 1, 1, 16, activation=cr.tanh)):
        with pytest.raises(cr.ChainruleError, match="custom activation"):
            layer.get_config()
    assert cr.nn.Transformer(E, H, 1, 1, 16, activation="gelu").get_config()["activation"] == "gelu"
