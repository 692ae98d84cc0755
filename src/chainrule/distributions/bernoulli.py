"""The Bernoulli distribution: 1 with probability p, else 0. Given ``probs`` or ``logits`` (log odds).

    log p(x) = x·log p + (1 − x)·log(1 − p), from the logits in the stable form −BCE(logits, x)
    entropy = −p log p − (1 − p) log(1 − p)
"""

from chainrule import ops, random
from chainrule.distributions.distribution import Distribution, as_parameter
from chainrule.ops import loss as fused


class Bernoulli(Distribution):
    _shown = ("probs", "logits")

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Bernoulli: give either probs or logits, not both")
        if probs is not None:
            self.probs = as_parameter(probs)
            clipped = ops.clip(self.probs, 1e-7, 1 - 1e-7)  # PyTorch's probs_to_logits clamps too
            self.logits = ops.log(clipped) - ops.log1p(-clipped)
        else:
            self.logits = as_parameter(logits)
            self.probs = ops.sigmoid(self.logits)
        super().__init__(self.probs.shape, (), validate_args)
        if probs is not None:
            values = self.probs._data
            self._check((values >= 0) & (values <= 1),
                        f"probs must lie in [0, 1], got {values.ravel()[:6].tolist()}")

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        draw = random.generator().random(self._extended(sample_shape)) < self.probs._data
        return as_parameter(draw).detach() if draw.dtype == self.probs.dtype else \
            ops.astype(as_parameter(draw), self.probs.dtype).detach()

    def log_prob(self, value):
        value = self._value(value, lambda v: (v == 0) | (v == 1), "{0, 1}")
        logits, value = ops.broadcast_to(self.logits, _joint(self.logits, value)), value
        return -fused.sigmoid_binary_cross_entropy(logits, ops.broadcast_to(value, logits.shape), "none")

    def entropy(self):
        return fused.sigmoid_binary_cross_entropy(self.logits, self.probs, "none")


def _joint(a, b):
    return a.xp.broadcast_shapes(a.shape, b.shape)
