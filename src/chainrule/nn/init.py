"""Weight initialisers, drawn from ``chainrule.manual_seed``'s generator so that runs repeat.

Each fills a tensor (usually a Parameter) in place and returns it, like ``torch.nn.init``. Fans follow
PyTorch: for a weight of shape (out, in, *kernel), fan_in = in·∏kernel and fan_out = out·∏kernel.

=================  =============================================  ==========================
name               distribution                                   scale
=================  =============================================  ==========================
xavier/glorot      U(−a, a) or N(0, σ²)                           a = g·√(6/(fan_in+fan_out)),
                                                                  σ = g·√(2/(fan_in+fan_out))
kaiming/he         U(−a, a) or N(0, σ²)                           σ = g/√fan, a = √3·σ
lecun              U(−a, a) or N(0, σ²)                           σ = 1/√fan_in, a = √3·σ
=================  =============================================  ==========================

The normal variants are untruncated (Keras truncates its glorot_normal and he_normal draws).
"""

import contextlib
import math
import threading

import numpy

from chainrule import random
from chainrule.autograd.tensor import mark_changed
from chainrule.backend import array_module
from chainrule.errors import ConfigError
from chainrule.gpu import move_array


def fans(shape):
    """(fan_in, fan_out) of a weight of ``shape``, as PyTorch computes them."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps activations' variance steady through ``nonlinearity`` (PyTorch's table)."""
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ConfigError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


_local = threading.local()


@contextlib.contextmanager
def skipped():
    """Within this block (in this thread) initialisers leave tensors as they are and draw nothing.

    The model loader builds layers this way: their arrays are about to be replaced by the file's, so
    filling them would only spend memory and time (and numbers from the random stream).
    """
    before = getattr(_local, "skip", False)
    _local.skip = True
    try:
        yield
    finally:
        _local.skip = before


def _skipping():
    return getattr(_local, "skip", False)


def _fill(tensor, values):
    # drawn on the host, copied to the tensor's device (a no-op for a NumPy tensor)
    values = move_array(values.astype(tensor.dtype, copy=False), array_module(tensor._data))
    tensor._data[...] = values
    mark_changed(tensor)
    return tensor


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """U(a, b); ``generator=`` a :class:`chainrule.Generator` to draw from instead of the library's."""
    if _skipping():
        return tensor
    draw = random.numpy_generator(generator).random(tensor.shape, dtype=numpy.float64)
    return _fill(tensor, a + (b - a) * draw)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """N(mean, std²); ``generator=`` as in :func:`uniform_`."""
    if _skipping():
        return tensor
    return _fill(tensor, mean + std * random.numpy_generator(generator).standard_normal(tensor.shape))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """N(mean, std²) cut to [a, b] (a and b are values, not multiples of std, as in PyTorch).

    Draws that fall outside are drawn again until none does; the bounds must leave some
    probability between them.
    """
    if _skipping():
        return tensor
    if not a < b or std <= 0:
        raise ConfigError(f"trunc_normal_: expected a < b and std > 0, got a={a}, b={b}, std={std}")
    draw = random.numpy_generator(generator)
    values = mean + std * draw.standard_normal(tensor.shape)
    for _ in range(1000):
        outside = (values < a) | (values > b)
        if not outside.any():
            return _fill(tensor, values)
        values[outside] = mean + std * draw.standard_normal(int(outside.sum()))
    raise ConfigError(f"trunc_normal_: [{a}, {b}] holds almost none of N({mean}, {std}²); widen the bounds")


def orthogonal_(tensor, gain=1.0, generator=None):
    """A (semi-)orthogonal matrix, as PyTorch's: the Q of a Gaussian matrix's QR (signs fixed by R's
    diagonal), reshaped to the tensor (rows = first dim) and scaled by ``gain``."""
    if _skipping():
        return tensor
    if tensor.ndim < 2:
        raise ConfigError(f"orthogonal_: expected a tensor of at least 2 dims, got shape {tensor.shape}")
    rows = tensor.shape[0]
    columns = math.prod(tensor.shape) // rows
    flat = random.numpy_generator(generator).standard_normal((rows, columns))
    if rows < columns:
        flat = flat.T
    q, r = numpy.linalg.qr(flat)
    q = q * numpy.sign(numpy.diag(r))
    if rows < columns:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def constant_(tensor, value):
    if _skipping():
        return tensor
    tensor._data[...] = value
    mark_changed(tensor)
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0)


def ones_(tensor):
    return constant_(tensor, 1)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = fans(tensor.shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = fans(tensor.shape)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan_in, fan_out = fans(tensor.shape)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def he_uniform_(tensor):
    """Kaiming uniform for ReLU: U(−√(6/fan_in), √(6/fan_in))."""
    return kaiming_uniform_(tensor, nonlinearity="relu")


def he_normal_(tensor):
    return kaiming_normal_(tensor, nonlinearity="relu")


def lecun_uniform_(tensor):
    bound = math.sqrt(3.0 / fans(tensor.shape)[0])
    return uniform_(tensor, -bound, bound)


def lecun_normal_(tensor):
    return normal_(tensor, 0.0, math.sqrt(1.0 / fans(tensor.shape)[0]))


def pytorch_default_(weight, bias=None):
    """PyTorch's default for Linear and Conv layers: weight ~ kaiming_uniform(a=√5), i.e.
    U(±1/√fan_in), and bias ~ U(±1/√fan_in)."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in = fans(weight.shape)[0]
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound)
    return weight


glorot_uniform_ = xavier_uniform_
glorot_normal_ = xavier_normal_

_BY_NAME = {
    "zeros": zeros_, "ones": ones_, "uniform": uniform_, "normal": normal_,
    "glorot_uniform": xavier_uniform_, "glorot_normal": xavier_normal_,
    "xavier_uniform": xavier_uniform_, "xavier_normal": xavier_normal_,
    "he_uniform": he_uniform_, "he_normal": he_normal_,
    "kaiming_uniform": kaiming_uniform_, "kaiming_normal": kaiming_normal_,
    "lecun_uniform": lecun_uniform_, "lecun_normal": lecun_normal_,
}


def get(name):
    """The initialiser called ``name`` (Keras's names and PyTorch's); a callable passes through."""
    if callable(name):
        return name
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConfigError(f"unknown initialiser {name!r}; known: {', '.join(sorted(_BY_NAME))}") from None
