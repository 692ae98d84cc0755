"""The categorical distribution over 0 … K − 1, given ``probs`` (any positive weights along the last
dim, normalised) or ``logits`` (log weights).

    log p(k) = log_softmax(logits)[k]          entropy = −Σ p log p
"""

from chainrule import ops
from chainrule.distributions.distribution import Distribution, as_parameter, shape_of
from chainrule.sampling import multinomial


class Categorical(Distribution):
    _shown = ("probs", "logits")

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Categorical: give either probs or logits, not both")
        if probs is not None:
            weights = as_parameter(probs)
            self.probs = weights / ops.sum(weights, -1, keepdims=True)
            self.logits = ops.log(ops.clip(self.probs, 1e-38, None))
        else:
            self.logits = ops.log_softmax(as_parameter(logits), -1)  # normalised, as PyTorch keeps them
            self.probs = ops.softmax(self.logits, -1)
        if self.probs.ndim < 1:
            raise ValueError("Categorical: probs or logits need at least one dim (the categories)")
        super().__init__(self.probs.shape[:-1], (), validate_args)
        if probs is not None:
            self._check((weights._data >= 0).all() and (weights._data.sum(-1) > 0).all(),
                        "probs must be non-negative with a positive sum along the last dim")

    @property
    def mean(self):
        raise NotImplementedError("Categorical has no mean (its values are labels); use probs")

    def sample(self, sample_shape=()):
        count = 1
        for n in shape_of(sample_shape):
            count *= n
        k = self.probs.shape[-1]
        rows = ops.reshape(self.probs.detach(), (-1, k))
        picked = multinomial(rows, count, replacement=True)  # (batch, count)
        picked = ops.transpose(picked)  # (count, batch)
        return ops.reshape(picked, shape_of(sample_shape) + self.batch_shape)

    def log_prob(self, value):
        k = self.probs.shape[-1]
        value = value if hasattr(value, "_data") else as_parameter(value)
        labels = value._data
        self._check((labels >= 0) & (labels < k) & (labels == labels.astype(int)),
                    f"log_prob of values outside the categories 0 … {k - 1}: {labels.ravel()[:6].tolist()}")
        labels = labels.astype(int)
        shape = value.xp.broadcast_shapes(labels.shape, self.batch_shape)
        logits = ops.broadcast_to(self.logits, shape + (k,))
        index = value.xp.broadcast_to(labels, shape)[..., None]
        grid = tuple(value.xp.indices(shape + (1,), sparse=True))[:-1] + (index,)
        return ops.reshape(ops.getitem(logits, grid), shape)

    def entropy(self):
        return -ops.sum(self.probs * self.logits, -1)
