"""Similarity and distance between vectors: ``F.normalize``, ``F.cosine_similarity``,
``F.pairwise_distance`` and their layers, as ``torch.nn`` has them; compositions of the ops."""

from chainrule import ops
from chainrule.functions import tensor_of
from chainrule.nn.module import Module


def normalize(input, p=2.0, dim=1, eps=1e-12):  # noqa: A002 - PyTorch's names
    """input / max(‖input‖_p, eps) along ``dim``."""
    x = tensor_of(input)
    size = ops.sum(ops.abs(x) ** p, dim, keepdims=True) ** (1.0 / p) if p != 2 else \
        ops.sqrt(ops.sum(x * x, dim, keepdims=True))
    return x / ops.maximum(size, eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """x1·x2 / (max(‖x1‖, eps) · max(‖x2‖, eps)) along ``dim``."""
    a, b = tensor_of(x1), tensor_of(x2)
    dot = ops.sum(a * b, dim)
    norms = ops.maximum(ops.sqrt(ops.sum(a * a, dim)), eps) * ops.maximum(ops.sqrt(ops.sum(b * b, dim)), eps)
    return dot / norms


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """‖x1 − x2 + eps‖_p along the last dim."""
    difference = tensor_of(x1) - x2 + eps
    if p == 2:
        return ops.sqrt(ops.sum(difference * difference, -1, keepdims=keepdim))
    return ops.sum(ops.abs(difference) ** p, -1, keepdims=keepdim) ** (1.0 / p)


class CosineSimilarity(Module):
    """cos(x1, x2) along ``dim``."""

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return cosine_similarity(x1, x2, self.dim, self.eps)

    def get_config(self):
        return {"dim": self.dim, "eps": self.eps}


class PairwiseDistance(Module):
    """‖x1 − x2 + eps‖_p along the last dim."""

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.p, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return pairwise_distance(x1, x2, self.p, self.eps, self.keepdim)

    def get_config(self):
        return {"p": self.p, "eps": self.eps, "keepdim": self.keepdim}
