"""``keras.layers.MultiHeadAttention``, Keras 3's: per head h, softmax(Qₕ Kₕᵀ / √key_dim) Vₕ, the
heads projected back to the query's width, written with ``einsum`` over Keras's own weight shapes
(the query, key and value kernels (d, heads, key_dim), the output kernel (heads, value_dim, d)), so
``set_weights`` takes a Keras layer's weights as they are."""

import math

from chainrule import ops
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ConfigError
from chainrule.keras.layers.base import SimpleLayer, new_weight, same
from chainrule.nn.layers.dropout import dropout
from chainrule.nn.layers.linear import float_input
from chainrule.shape_functions import einsum


class MultiHeadAttention(SimpleLayer):
    """``MultiHeadAttention(num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True)``:
    ``layer(query, value, key=None, attention_mask=None, return_attention_scores=False,
    use_causal_mask=False)``. Per head h: softmax(Qₕ Kₕᵀ / √key_dim) Vₕ, then the heads projected back
    to the query's width. ``attention_mask`` (B, T, S) is True (or 1) where a query may attend."""

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 name=None, **kwargs):
        super().__init__(name, **kwargs)
        if output_shape is not None or attention_axes is not None:
            raise ConfigError("MultiHeadAttention: output_shape and attention_axes are not supported by "
                              "chainrule.keras (only their defaults)")
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim is not None else self.key_dim
        self.dropout, self.use_bias = float(dropout), bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.built = False

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        h, k, v = self.num_heads, self.key_dim, self.value_dim
        shapes = {"query": (query_shape[-1], h, k), "key": (key_shape[-1], h, k),
                  "value": (value_shape[-1], h, v)}
        for part, shape in shapes.items():
            bias = new_weight(shape[1:], self.bias_initializer) if self.use_bias else None
            setattr(self, f"{part}_kernel", new_weight(shape, self.kernel_initializer))
            setattr(self, f"{part}_bias", bias)
        self.output_kernel = new_weight((h, v, query_shape[-1]), self.kernel_initializer)
        self.output_bias = new_weight((query_shape[-1],), self.bias_initializer) if self.use_bias else None
        self.built = True

    def forward(self, query, value, key=None, attention_mask=None, return_attention_scores=False,
                training=False, use_causal_mask=False):
        query, value = float_input(self, query), float_input(self, value)
        key = value if key is None else float_input(self, key)
        if not self.built:
            self.build(query.shape, value.shape, key.shape)
        q, k, v = (self._project(x, part) for x, part in ((query, "query"), (key, "key"), (value, "value")))
        scores = einsum("bthk,bshk->bhts", q, k) * (1.0 / math.sqrt(self.key_dim))
        allowed = self._allowed(attention_mask, use_causal_mask, scores.shape, query.xp)
        if allowed is not None:  # Keras adds a large negative number where attention is not allowed
            scores = ops.where(allowed, scores, query.xp.asarray(-1e9, dtype=scores.dtype))
        weights = ops.softmax(scores, -1)
        attended = einsum("bhts,bshv->bthv", dropout(weights, self.dropout, bool(training)), v)
        output = einsum("bthv,hvo->bto", attended, self.output_kernel)
        if self.output_bias is not None:
            output = output + self.output_bias
        return (output, weights) if return_attention_scores else output

    def _project(self, x, part):
        projected = einsum("bsd,dhk->bshk", x, getattr(self, f"{part}_kernel"))
        bias = getattr(self, f"{part}_bias")
        return projected if bias is None else projected + bias

    @staticmethod
    def _allowed(mask, causal, shape, xp):
        allowed = None
        if mask is not None:
            data = mask._data if isinstance(mask, Tensor) else xp.asarray(mask)
            allowed = (data != 0)[:, None]  # (B, 1, T, S): the same for every head
        if causal:
            lower = xp.tril(xp.ones(shape[-2:], dtype=bool))
            allowed = lower if allowed is None else allowed & lower
        return allowed

    def weight_layout(self):
        parts = []
        for part in ("query", "key", "value", "output"):
            parts.append(getattr(self, f"{part}_kernel"))
            if self.use_bias:
                parts.append(getattr(self, f"{part}_bias"))
        return [(t, same, same) for t in parts if t is not None]

    def settings(self):
        return {"num_heads": self.num_heads, "key_dim": self.key_dim, "value_dim": self.value_dim,
                "dropout": self.dropout, "use_bias": self.use_bias}
