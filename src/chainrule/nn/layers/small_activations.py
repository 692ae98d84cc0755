"""The smaller activations of ``torch.nn``: ReLU6, Hardsigmoid, Hardswish, LogSigmoid, Softsign,
Mish, CELU, GLU, Softmin, Softmax2d, Threshold and the shrinks, each a function of ``F`` and its layer;
compositions of the ops."""

from chainrule import ops
from chainrule.errors import ShapeError
from chainrule.functions import tensor_of
from chainrule.nn.layers.activation import _Activation
from chainrule.nn.module import Module


def relu6(input, inplace=False):  # noqa: A002
    return ops.clip(tensor_of(input), 0.0, 6.0)


def hardsigmoid(input, inplace=False):  # noqa: A002
    """relu6(x + 3) / 6."""
    return ops.clip(tensor_of(input) / 6.0 + 0.5, 0.0, 1.0)


def hardswish(input, inplace=False):  # noqa: A002
    """x · relu6(x + 3) / 6."""
    x = tensor_of(input)
    return x * hardsigmoid(x)


def logsigmoid(input):  # noqa: A002
    """log σ(x) = −softplus(−x), stable for large |x|."""
    return -ops.softplus(-tensor_of(input))


def softsign(input):  # noqa: A002
    x = tensor_of(input)
    return x / (ops.abs(x) + 1.0)


def mish(input, inplace=False):  # noqa: A002
    """x · tanh(softplus(x))."""
    x = tensor_of(input)
    return x * ops.tanh(ops.softplus(x))


def celu(input, alpha=1.0, inplace=False):  # noqa: A002
    """max(0, x) + min(0, α(e^(x/α) − 1))."""
    x = tensor_of(input)
    return ops.maximum(x, 0.0) + ops.minimum((ops.exp(ops.minimum(x, 0.0) / alpha) - 1.0) * alpha, 0.0)


def glu(input, dim=-1):  # noqa: A002
    """a · σ(b), a and b the two halves of ``input`` along ``dim``."""
    x = tensor_of(input)
    if x.shape[dim] % 2:
        raise ShapeError(f"glu: dim {dim} of shape {tuple(x.shape)} must have an even size to halve")
    a, b = ops.split(x, 2, dim)
    return a * ops.sigmoid(b)


def softmin(input, dim=None):  # noqa: A002
    return ops.softmax(-tensor_of(input), -1 if dim is None else dim)


def threshold(input, threshold, value, inplace=False):  # noqa: A002
    """x where x > threshold, else ``value``."""
    x = tensor_of(input)
    return ops.where(x._data > threshold, x, x.xp.asarray(value, dtype=x.dtype))


def softshrink(input, lambd=0.5):  # noqa: A002
    x = tensor_of(input)
    return x - ops.clip(x, -lambd, lambd)


def hardshrink(input, lambd=0.5):  # noqa: A002
    x = tensor_of(input)
    return ops.where(x.xp.abs(x._data) > lambd, x, x.xp.zeros((), x.dtype))


def tanhshrink(input):  # noqa: A002
    x = tensor_of(input)
    return x - ops.tanh(x)



def _activation(name, function, doc, **defaults):
    """A parameter-free layer applying ``function`` with its options fixed at construction."""

    def __init__(self, *args, inplace=False, name=None, **options):
        _Activation.__init__(self, name)
        settings = dict(defaults)
        settings.update(zip(list(defaults), args))
        settings.update(options)
        self.options, self.inplace = settings, bool(inplace)

    def forward(self, x):
        if self.inplace:  # PyTorch's inplace=True: the input itself becomes the result
            return x._replace_by(lambda v: function(v, **self.options), f"{name}(inplace=True)")
        return function(x, **self.options)

    def extra_repr(self):
        return ", ".join(f"{k}={v!r}" for k, v in self.options.items())

    def get_config(self):  # what a model file keeps (chainrule.io)
        return {**self.options, "inplace": self.inplace, "name": self.name}

    return type(name, (_Activation,), {"__init__": __init__, "forward": forward, "extra_repr": extra_repr,
                                       "get_config": get_config, "__doc__": doc})


ReLU6 = _activation("ReLU6", relu6, "min(max(x, 0), 6).")
Hardsigmoid = _activation("Hardsigmoid", hardsigmoid, "relu6(x + 3) / 6.")
Hardswish = _activation("Hardswish", hardswish, "x · relu6(x + 3) / 6.")
LogSigmoid = _activation("LogSigmoid", logsigmoid, "log σ(x).")
Softsign = _activation("Softsign", softsign, "x / (1 + |x|).")
Mish = _activation("Mish", mish, "x · tanh(softplus(x)).")
Tanhshrink = _activation("Tanhshrink", tanhshrink, "x − tanh(x).")
CELU = _activation("CELU", celu, "max(0, x) + min(0, α(e^(x/α) − 1)).", alpha=1.0)
GLU = _activation("GLU", glu, "a · σ(b), the halves of the input along dim.", dim=-1)
Softmin = _activation("Softmin", softmin, "softmax(−x) along dim.", dim=None)
Softshrink = _activation("Softshrink", softshrink, "x − clip(x, −λ, λ).", lambd=0.5)
Hardshrink = _activation("Hardshrink", hardshrink, "x where |x| > λ, else 0.", lambd=0.5)
Threshold = _activation("Threshold", threshold, "x where x > threshold, else value.", threshold=None,
                        value=None)


class Softmax2d(Module):
    """Softmax over the channels of each position of (N, C, H, W)."""

    def forward(self, x):
        return ops.softmax(x, -3)

    def get_config(self):
        return {}
