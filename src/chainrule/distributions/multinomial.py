"""The multinomial distribution: the counts of ``total_count`` draws among K categories of ``probs``.

    log p(x) = log n! − Σ log xᵢ! + Σ xᵢ log pᵢ   (n = Σ xᵢ = total_count)
"""

import math

import numpy

from chainrule import ops
from chainrule.autograd.tensor import Tensor
from chainrule.distributions.categorical import Categorical
from chainrule.distributions.distribution import Distribution, shape_of


class Multinomial(Distribution):
    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int) or total_count < 0:
            raise ValueError(f"Multinomial: total_count must be a non-negative int, got {total_count!r}")
        self.total_count = total_count
        self._categorical = Categorical(probs, logits, validate_args)
        self.probs, self.logits = self._categorical.probs, self._categorical.logits
        super().__init__(self._categorical.batch_shape, self.probs.shape[-1:], validate_args)

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.probs * (1 - self.probs) * self.total_count

    def sample(self, sample_shape=()):
        """Counts (floats, as PyTorch's) of shape sample_shape + batch_shape + (K,)."""
        k = self.probs.shape[-1]
        draws = self._categorical.sample((self.total_count,) + shape_of(sample_shape))._data
        counts = (draws[..., None] == numpy.arange(k)).sum(axis=0)
        return Tensor(counts.astype(self.probs.dtype))

    def log_prob(self, value):
        value = value if isinstance(value, Tensor) else Tensor(numpy.asarray(value, self.probs.dtype))
        counts = value._data
        self._check((counts >= 0) & (counts == numpy.round(counts)), "counts must be non-negative integers")
        self._check(counts.sum(-1) <= self.total_count,  # PyTorch's support: at most total_count
                    f"counts must add up to at most total_count {self.total_count}")
        lgamma = numpy.vectorize(math.lgamma, otypes=[numpy.float64])
        constant = lgamma(counts.sum(-1) + 1) - lgamma(counts + 1).sum(-1)
        terms = value * ops.clip(self.logits, -numpy.finfo(self.probs.dtype).max, None)
        return ops.sum(terms, -1) + constant.astype(self.probs.dtype)

    def __repr__(self):
        return "Multinomial()"
