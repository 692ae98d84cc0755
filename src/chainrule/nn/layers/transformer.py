"""Multi-head attention and the transformer (encoder, decoder and both), as ``torch.nn`` has them
(weight names included, so a PyTorch ``state_dict`` loads).

Attention of queries Q over keys K and values V, per head h of size d = embed_dim / num_heads:

    headₕ = softmax(Qₕ Kₕᵀ / √d + mask) Vₕ,    Qₕ = query Wqₕᵀ + bqₕ (and Kₕ, Vₕ alike)
    output = concat(head₁ … headₕ) Woᵀ + bo

with Wq, Wk, Wv stacked in ``in_proj_weight`` (3·embed_dim, embed_dim) and Wo in ``out_proj``. Masks
follow PyTorch's ``MultiheadAttention``: a boolean mask is True where attention is NOT allowed, a
float mask is added to the scores; ``key_padding_mask`` (N, S) is True at padding.

An encoder layer is self-attention then a feed-forward block, each with dropout, a residual
connection and layer normalisation (after each, or before with ``norm_first=True``); a decoder layer
puts attention to the encoder's output (``memory``) between the two.
"""

import copy
import math

import numpy

from chainrule import ops
from chainrule.autograd.tensor import Tensor
from chainrule.backend import DEFAULT_FLOAT
from chainrule.errors import ConfigError, ShapeError
from chainrule.nn import init
from chainrule.nn.layers.containers import ModuleList
from chainrule.nn.layers.dropout import Dropout
from chainrule.nn.layers.linear import Linear
from chainrule.nn.layers.normalization import LayerNorm
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops.fused_linear import linear


def _heads(x, heads):
    """(N, L, E) → (N, heads, L, E / heads)."""
    n, length, embed = x.shape
    return ops.transpose(ops.reshape(x, (n, length, heads, embed // heads)), (0, 2, 1, 3))


def _blocked(mask, xp, dtype):
    """A mask as a tensor of additive scores: −inf where a boolean mask is True, a float mask as it is."""
    data = mask._data if isinstance(mask, Tensor) else xp.asarray(mask)
    if data.dtype == bool:
        return Tensor(xp.where(data, -xp.inf, 0).astype(dtype))
    return mask if isinstance(mask, Tensor) else Tensor(data.astype(dtype))


class MultiheadAttention(Module):
    """``attn(query, key, value)`` → (output, weights averaged over the heads, or None)."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False):
        super().__init__()
        if embed_dim % num_heads:
            raise ShapeError(f"MultiheadAttention: embed_dim {embed_dim} must be divisible by num_heads "
                             f"{num_heads}")
        if add_bias_kv or add_zero_attn or kdim not in (None, embed_dim) or vdim not in (None, embed_dim):
            raise NotImplementedError("MultiheadAttention: add_bias_kv, add_zero_attn and key or value sizes "
                                      "other than embed_dim are not supported here")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        self.in_proj_weight = Parameter(numpy.empty((3 * embed_dim, embed_dim), dtype=DEFAULT_FLOAT))
        if bias:
            self.in_proj_bias = Parameter(numpy.empty(3 * embed_dim, dtype=DEFAULT_FLOAT))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        self.reset_parameters()

    def reset_parameters(self):
        init.xavier_uniform_(self.in_proj_weight)  # PyTorch's _reset_parameters
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        if not self.batch_first:  # (L, N, E) in and out
            query, key, value = (ops.swapaxes(t, 0, 1) for t in (query, key, value))
        e = self.embed_dim
        w, b = self.in_proj_weight, self.in_proj_bias
        projected = [linear(t, w[i * e:(i + 1) * e], None if b is None else b[i * e:(i + 1) * e])
                     for i, t in enumerate((query, key, value))]
        q, k, v = (_heads(t, self.num_heads) for t in projected)
        scores = q @ ops.swapaxes(k, -1, -2) * (1.0 / math.sqrt(self.head_dim))  # (N, H, L, S)
        xp = scores.xp
        if is_causal and attn_mask is None:
            attn_mask = xp.triu(xp.ones(scores.shape[-2:], dtype=bool), 1)
        if attn_mask is not None:
            added = _blocked(attn_mask, xp, scores.dtype)
            if added.ndim == 3:  # (N·H, L, S), PyTorch's per-head form
                added = ops.reshape(added, scores.shape)
            scores = scores + added
        if key_padding_mask is not None:  # (N, S): one row of each sample's keys
            padding = _blocked(key_padding_mask, xp, scores.dtype)
            scores = scores + ops.reshape(padding, (scores.shape[0], 1, 1, -1))
        weights = ops.softmax(scores, -1)
        if self.training and self.dropout > 0:
            from chainrule.nn.layers.dropout import dropout

            weights = dropout(weights, self.dropout, training=True)
        heads = weights @ v  # (N, H, L, d)
        n, _, length, _ = heads.shape
        output = self.out_proj(ops.reshape(ops.transpose(heads, (0, 2, 1, 3)), (n, length, e)))
        if not self.batch_first:
            output = ops.swapaxes(output, 0, 1)
        if not need_weights:
            return output, None
        return output, (ops.mean(weights, 1) if average_attn_weights else weights)

    def get_config(self):
        return {"embed_dim": self.embed_dim, "num_heads": self.num_heads, "dropout": self.dropout,
                "bias": self.in_proj_bias is not None, "batch_first": self.batch_first}


def _layer_config(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                  norm_first, bias):
    """The settings of an encoder or decoder layer, as its get_config gives them."""
    return {"d_model": d_model, "nhead": nhead, "dim_feedforward": dim_feedforward, "dropout": dropout,
            "layer_norm_eps": layer_norm_eps, "batch_first": batch_first, "norm_first": norm_first,
            "bias": bias, "activation": activation}


def _saved(layer):
    """``layer``'s settings for a model file, which holds no code: a custom activation function refuses."""
    if not isinstance(layer._config["activation"], str):
        raise ConfigError(f"{type(layer).__name__}: a custom activation function is code, which a model file "
                          "does not hold; save the state_dict instead, or use activation='relu' or 'gelu'")
    return dict(layer._config)


def _activation(name):
    from chainrule.nn.layers.activation import relu
    from chainrule.nn.layers.smooth_activations import gelu

    if callable(name):
        return name
    functions = {"relu": relu, "gelu": gelu}
    if name not in functions:
        raise ValueError(f"TransformerEncoderLayer: activation must be 'relu', 'gelu' or a function, got "
                         f"{name!r}")
    return functions[name]


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward block (d_model → dim_feedforward → d_model), each with
    dropout, a residual connection and LayerNorm."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout, bias=bias, batch_first=batch_first)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)
        self.activation = _activation(activation)
        self.norm_first = norm_first
        self._config = _layer_config(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                                     batch_first, norm_first, bias)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._attend(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._attend(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._feed_forward(x))

    def _attend(self, x, mask, padding, is_causal):
        out, _ = self.self_attn(x, x, x, key_padding_mask=padding, need_weights=False, attn_mask=mask,
                                is_causal=is_causal)
        return self.dropout1(out)

    def _feed_forward(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def get_config(self):
        return _saved(self)


def _stacked(layer, layer_class, num_layers, norm):
    """``num_layers`` copies of ``layer`` and the final ``norm``, each built from its config when a
    model file gives a dict."""
    layer = layer_class(**layer) if isinstance(layer, dict) else layer
    norm = LayerNorm(**norm) if isinstance(norm, dict) else norm
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)]), norm


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` (each with weights of its own), then ``norm`` if given.

    A model file keeps the layer's and the norm's configs; given as dicts, they are built from them.
    """

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True):
        super().__init__()
        self.layers, self.norm = _stacked(encoder_layer, TransformerEncoderLayer, num_layers, norm)
        self.num_layers = num_layers

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)

    def get_config(self):
        norm = None if self.norm is None else self.norm.get_config()
        return {"encoder_layer": self.layers[0].get_config(), "num_layers": self.num_layers, "norm": norm}


class TransformerDecoderLayer(Module):
    """Self-attention over the target, attention to the encoder's ``memory``, and a feed-forward block,
    each with dropout, a residual connection and LayerNorm (after each, or before with ``norm_first``)."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout, bias=bias, batch_first=batch_first)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout, bias=bias, batch_first=batch_first)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm1, self.norm2, self.norm3 = (LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
                                              for _ in range(3))
        self.dropout1, self.dropout2, self.dropout3 = Dropout(dropout), Dropout(dropout), Dropout(dropout)
        self.activation = _activation(activation)
        self.norm_first = norm_first
        self._config = _layer_config(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                                     batch_first, norm_first, bias)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = tgt
        blocks = (
            (self.norm1, lambda h: self._attend(self.self_attn, self.dropout1, h, h, tgt_mask,
                                                tgt_key_padding_mask, tgt_is_causal)),
            (self.norm2, lambda h: self._attend(self.multihead_attn, self.dropout2, h, memory, memory_mask,
                                                memory_key_padding_mask, memory_is_causal)),
            (self.norm3, self._feed_forward),
        )
        for norm, block in blocks:
            x = x + block(norm(x)) if self.norm_first else norm(x + block(x))
        return x

    @staticmethod
    def _attend(attention, dropout, x, source, mask, padding, is_causal):
        out, _ = attention(x, source, source, key_padding_mask=padding, need_weights=False, attn_mask=mask,
                           is_causal=is_causal)
        return dropout(out)

    def _feed_forward(self, x):
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def get_config(self):
        return _saved(self)


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer``, then ``norm`` if given."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers, self.norm = _stacked(decoder_layer, TransformerDecoderLayer, num_layers, norm)
        self.num_layers = num_layers

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask,
                      bool(tgt_is_causal), memory_is_causal)
        return x if self.norm is None else self.norm(x)

    def get_config(self):
        norm = None if self.norm is None else self.norm.get_config()
        return {"decoder_layer": self.layers[0].get_config(), "num_layers": self.num_layers, "norm": norm}


class Transformer(Module):
    """The encoder-decoder transformer of "Attention is all you need", as ``torch.nn.Transformer``:
    ``model(src, tgt)``, with a final LayerNorm after the encoder and after the decoder."""

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation="relu", custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True):
        super().__init__()
        options = {"dim_feedforward": dim_feedforward, "dropout": dropout, "activation": activation,
                   "layer_norm_eps": layer_norm_eps, "batch_first": batch_first, "norm_first": norm_first,
                   "bias": bias}
        self.encoder = custom_encoder or TransformerEncoder(
            TransformerEncoderLayer(d_model, nhead, **options), num_encoder_layers,
            LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
        self.decoder = custom_decoder or TransformerDecoder(
            TransformerDecoderLayer(d_model, nhead, **options), num_decoder_layers,
            LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        custom = custom_encoder is not None or custom_decoder is not None
        self._config = None if custom else {
            "d_model": d_model, "nhead": nhead, "num_encoder_layers": num_encoder_layers,
            "num_decoder_layers": num_decoder_layers, **options}

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None,
                tgt_is_causal=None, memory_is_causal=False):
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask,
                            tgt_is_causal, memory_is_causal)

    def get_config(self):
        if self._config is None:
            raise ConfigError("Transformer: a custom encoder or decoder is code a model file does not hold; "
                              "save its state_dict instead")
        return _saved(self)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """The causal mask of a length-``sz`` sequence: 0 on and below the diagonal, −inf above it."""
        mask = numpy.triu(numpy.full((sz, sz), -numpy.inf, dtype=dtype or DEFAULT_FLOAT), 1)
        return Tensor(mask)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                                 scale=None):
    """softmax(Q Kᵀ · scale + mask) V, scale 1/√d by default; a boolean mask keeps where True,
    a float mask is added; ``is_causal`` keeps each position's past and itself."""
    q, k = (t if isinstance(t, Tensor) else Tensor(t) for t in (query, key))
    scores = q @ ops.swapaxes(k, -1, -2) * (1.0 / math.sqrt(q.shape[-1]) if scale is None else scale)
    xp = q.xp
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
        attn_mask = Tensor(xp.tril(xp.ones(scores.shape[-2:], dtype=bool)))
    if attn_mask is not None:
        mask = attn_mask._data if isinstance(attn_mask, Tensor) else xp.asarray(attn_mask)
        if mask.dtype == bool:
            scores = ops.where(mask, scores, xp.asarray(-xp.inf, dtype=scores.dtype))
        else:
            scores = scores + attn_mask
    weights = ops.softmax(scores, -1)
    if dropout_p > 0:
        from chainrule.nn.layers.dropout import dropout

        weights = dropout(weights, dropout_p, training=True)
    return weights @ value
