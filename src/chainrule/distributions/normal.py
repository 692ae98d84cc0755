"""The normal distribution N(loc, scale²).

    log p(x) = −(x − μ)²/(2σ²) − log σ − ½ log 2π          entropy = ½ + ½ log 2π + log σ
    rsample = μ + σ·ε, ε ~ N(0, 1): the reparameterisation trick, differentiable in μ and σ
"""

import math

from chainrule import ops, random
from chainrule.distributions.distribution import Distribution, as_parameter
from chainrule.maths import erf

_HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


class Normal(Distribution):
    has_rsample = True
    _shown = ("loc", "scale")

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = as_parameter(loc), as_parameter(scale)
        super().__init__(self.loc.xp.broadcast_shapes(self.loc.shape, self.scale.shape), (), validate_args)
        self._check(self.scale._data > 0,
                    f"scale must be positive, got {self.scale.numpy().ravel()[:6].tolist()}")

    @property
    def mean(self):
        return ops.broadcast_to(self.loc, self.batch_shape)

    @property
    def variance(self):
        return ops.broadcast_to(self.scale * self.scale, self.batch_shape)

    def rsample(self, sample_shape=()):
        noise = random.generator().standard_normal(self._extended(sample_shape)).astype(self.loc.dtype)
        return self.loc + self.scale * noise

    def log_prob(self, value):
        value = self._value(value, lambda v: v == v, "of the real numbers (no NaN)")
        z = (value - self.loc) / self.scale
        return -0.5 * z * z - ops.log(self.scale) - _HALF_LOG_TWO_PI

    def cdf(self, value):
        return 0.5 * (1 + erf((as_parameter(value) - self.loc) / (self.scale * math.sqrt(2))))

    def entropy(self):
        return ops.broadcast_to(0.5 + _HALF_LOG_TWO_PI + ops.log(self.scale), self.batch_shape)
