"""``Embedding``: a lookup table of vectors, one row of ``weight`` (num_embeddings, embedding_dim) per index.

The lookup is a primitive whose backward adds each output gradient into the row it came from
(rows looked up several times accumulate). The row ``padding_idx`` never receives a gradient, as in
PyTorch, so a padding vector stays what it was set to (zeros by default).
"""

import numpy

from chainrule import arguments
from chainrule.autograd.op import Op
from chainrule.autograd.tensor import Tensor
from chainrule.backend import DEFAULT_FLOAT, array_module
from chainrule.errors import DTypeError, ShapeError
from chainrule.nn import init
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter


class EmbeddingLookup(Op):
    """weight (V, D) -> weight[indices] (*indices.shape, D); ``mask_padding`` zeroes rows of padding_idx."""

    def __init__(self, indices, padding_idx=None, mask_padding=False):
        self.indices, self.padding_idx, self.mask_padding = indices, padding_idx, mask_padding

    def forward(self, weight):
        rows = self.xp.take(weight, self.indices, axis=0)
        if self.mask_padding and self.padding_idx is not None:
            rows[self.indices == self.padding_idx] = 0
        return rows

    def vjp(self, g):
        weight = self.inputs[0]
        return (EmbeddingScatter(self.indices, self.padding_idx, weight.shape[0])(g),)

    def jvp(self, dweight):
        return EmbeddingLookup(self.indices, self.padding_idx, self.mask_padding)(dweight)


class EmbeddingScatter(Op):
    """The adjoint of a lookup: g (*indices.shape, D) summed into rows of zeros (V, D), padding row 0."""

    def __init__(self, indices, padding_idx, num_embeddings):
        self.indices, self.padding_idx, self.num_embeddings = indices, padding_idx, num_embeddings

    def forward(self, g):
        out = self.xp.zeros((self.num_embeddings, g.shape[-1]), dtype=g.dtype)
        self.xp.add.at(out, self.indices.reshape(-1), g.reshape(-1, g.shape[-1]))  # repeated rows add up
        if self.padding_idx is not None:
            out[self.padding_idx] = 0
        return out

    def vjp(self, gg):
        return (EmbeddingLookup(self.indices, self.padding_idx, mask_padding=True)(gg),)

    def jvp(self, dg):
        return EmbeddingScatter(self.indices, self.padding_idx, self.num_embeddings)(dg)


def _check_padding_idx(padding_idx, num_embeddings, where):
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ShapeError(f"{where}: padding_idx={padding_idx} must lie in [-{num_embeddings}, "
                         f"{num_embeddings})")
    return padding_idx % num_embeddings


def embedding(indices, weight, padding_idx=None):
    """Rows of ``weight`` (V, D) at integer ``indices`` -> (*indices.shape, D), as ``F.embedding``."""
    weight = weight if isinstance(weight, Tensor) else Tensor(weight)
    data = indices._data if isinstance(indices, Tensor) else numpy.asarray(indices)
    if not numpy.issubdtype(data.dtype, numpy.integer):
        raise DTypeError(f"embedding: indices must be integers, got {data.dtype}: convert them with "
                         ".astype('int64')")
    num_embeddings = weight.shape[0]
    if data.size and (data.min() < 0 or data.max() >= num_embeddings):
        raise ShapeError(f"embedding: indices must lie in [0, {num_embeddings}), got values from "
                         f"{data.min()} to {data.max()}")
    xp = array_module(weight._data)
    padding_idx = _check_padding_idx(padding_idx, num_embeddings, "embedding")
    return EmbeddingLookup(xp.asarray(data), padding_idx)(weight)


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, as ``torch.nn.Embedding``.

    weight ~ N(0, 1), with the row ``padding_idx`` (if given) zeroed and excluded from gradients.

        >>> import chainrule.nn as nn
        >>> nn.Embedding(65, 64)([[1, 2, 3]]).shape
        (1, 3, 64)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None):
        super().__init__()
        num_embeddings = arguments.integer(num_embeddings, "num_embeddings", "Embedding")
        embedding_dim = arguments.integer(embedding_dim, "embedding_dim", "Embedding")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _check_padding_idx(padding_idx, num_embeddings, "Embedding")
        self.weight = Parameter(numpy.empty((num_embeddings, embedding_dim), dtype=DEFAULT_FLOAT))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, indices):
        return embedding(indices, self.weight, self.padding_idx)

    def get_config(self):
        return {"num_embeddings": self.num_embeddings, "embedding_dim": self.embedding_dim,
                "padding_idx": self.padding_idx}

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else text + f", padding_idx={self.padding_idx}"
