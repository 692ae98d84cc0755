"""What every distribution shares: shapes, ``sample`` from ``rsample`` or a draw, argument checks."""

import numpy

from chainrule import ops
from chainrule.autograd.mode import no_grad
from chainrule.autograd.tensor import Tensor
from chainrule.backend import DEFAULT_FLOAT


def as_parameter(value):
    """A parameter as a floating tensor: a number becomes a 0-d default-float tensor (PyTorch's rule)."""
    if isinstance(value, Tensor):
        return value if value.dtype.kind == "f" else ops.astype(value, DEFAULT_FLOAT)
    return Tensor(numpy.asarray(value, dtype=DEFAULT_FLOAT))


def shape_of(sample_shape):
    return (sample_shape,) if isinstance(sample_shape, int) else tuple(sample_shape)


class Distribution:
    """``batch_shape``: independent distributions side by side; ``event_shape``: the shape of one draw."""

    batch_shape = ()
    event_shape = ()
    has_rsample = False

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self.batch_shape, self.event_shape = tuple(batch_shape), tuple(event_shape)
        self.validate = validate_args is not False

    def sample(self, sample_shape=()):
        """A draw of shape sample_shape + batch_shape + event_shape, outside the graph."""
        with no_grad():
            return self.rsample(sample_shape).detach()

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no reparameterised sample (rsample); "
                                  "use sample()")

    @property
    def stddev(self):
        return ops.sqrt(self.variance)

    def _extended(self, sample_shape):
        return shape_of(sample_shape) + self.batch_shape + self.event_shape

    def _check(self, ok, what):
        if self.validate and not bool(numpy.all(ok)):
            raise ValueError(f"{type(self).__name__}: {what}")

    def _value(self, value, support_ok, support):
        value = value if isinstance(value, Tensor) else as_parameter(value)
        self._check(support_ok(value._data), f"log_prob of values outside the support {support}: "
                    f"{value.numpy().ravel()[:6].tolist()}")
        return value

    def __repr__(self):
        shown = ", ".join(f"{name}: {tuple(getattr(self, name).shape)}" for name in self._shown)
        return f"{type(self).__name__}({shown})"
