"""The uniform distribution on [low, high): log p = −log(high − low) inside, −inf outside."""

from chainrule import ops, random
from chainrule.distributions.distribution import Distribution, as_parameter


class Uniform(Distribution):
    has_rsample = True
    _shown = ("low", "high")

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = as_parameter(low), as_parameter(high)
        shape = self.low.xp.broadcast_shapes(self.low.shape, self.high.shape)
        super().__init__(shape, (), validate_args)
        self._check(self.low._data < self.high._data, "low must be below high")

    @property
    def mean(self):
        return ops.broadcast_to((self.low + self.high) * 0.5, self.batch_shape)

    @property
    def variance(self):
        width = self.high - self.low
        return ops.broadcast_to(width * width / 12.0, self.batch_shape)

    def rsample(self, sample_shape=()):
        draw = random.generator().random(self._extended(sample_shape)).astype(self.low.dtype)
        return self.low + (self.high - self.low) * draw

    def log_prob(self, value):
        low, high = self.low._data, self.high._data
        value = self._value(value, lambda v: (v >= low) & (v <= high), f"[{low}, {high}]")
        xp = value.xp
        inside = (value._data >= low) & (value._data < high)  # high itself has density 0, as PyTorch's
        outside = ops.where(inside, xp.zeros((), value.dtype), xp.asarray(-xp.inf, dtype=value.dtype))
        return outside - ops.log(self.high - self.low)

    def entropy(self):
        return ops.broadcast_to(ops.log(self.high - self.low), self.batch_shape)
