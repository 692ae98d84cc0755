"""Keras's regularisation layers besides Dropout: ``GaussianNoise`` and ``SpatialDropout1D``, active
only while training."""

from chainrule import random
from chainrule.keras.layers.base import SimpleLayer
from chainrule.nn.layers.linear import float_input


class GaussianNoise(SimpleLayer):
    """``GaussianNoise(stddev)``: adds N(0, stddev²) noise while training (a denoising autoencoder's
    input)."""

    def __init__(self, stddev, seed=None, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.stddev = float(stddev)

    def forward(self, x, training=False):
        x = float_input(self, x)
        if not training or self.stddev == 0:
            return x
        return x + random.generator().normal(0.0, self.stddev, x.shape).astype(x.dtype)

    def settings(self):
        return {"stddev": self.stddev}

class SpatialDropout1D(SimpleLayer):
    """``SpatialDropout1D(rate)`` on (batch, time, channels): whole channels dropped while training."""

    def __init__(self, rate, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.rate = float(rate)

    def forward(self, x, training=False):
        x = float_input(self, x)
        if not training or self.rate == 0:
            return x
        keep = random.generator().random((x.shape[0], 1, x.shape[2])) >= self.rate
        return x * (keep / (1 - self.rate)).astype(x.dtype)

    def settings(self):
        return {"rate": self.rate}
