"""Activation functions as functions and as layers, and the string registry that Dense uses.

The functions are the engine's stable primitives (``relu``, ``sigmoid``, ``tanh``, ``softmax``, ...);
the layers wrap them so that they can sit in a Sequential. ``get("relu")`` gives a layer instance;
``get(None)`` and ``get("linear")`` give None (no activation).

Conventions at kinks: relu'(0) = 0. The Heaviside step is 1 where x >= 0 and 0 where x < 0 (so
step(0) = 1, the threshold unit of the perceptron); its derivative is taken to be 0 everywhere.
"""

from chainrule.autograd.names import named
from chainrule.autograd.op import Op
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ConfigError
from chainrule.nn.layers.linear import layer_name
from chainrule.nn.module import Module
from chainrule.ops import activation, elementwise, reduce


class StepFunction(Op):
    """1 where x >= 0, else 0, in x's dtype; a zero derivative everywhere (it is piecewise constant)."""

    def forward(self, a):
        return (a >= 0).astype(a.dtype)

    def vjp(self, g):
        return (g * 0.0,)

    def jvp(self, da):
        return da * 0.0


# ---------------------------------------------------------------- functions
def _maybe_in_place(x, function, inplace, what):
    """``function(x)``, or with ``inplace`` x itself changed to it (PyTorch's ``inplace=True``)."""
    return x._replace_by(function, what) if inplace else function(x)


def relu(x, inplace=False):
    return _maybe_in_place(x, activation.relu, inplace, "relu(inplace=True)")


def _keep_logits(probabilities, kind, logits):
    """Remember what ``probabilities`` were made from, when no graph records it (under no_grad).

    Keras's losses of probabilities then use the logits form in evaluate and val_loss as in training
    (where the graph's softmax or sigmoid node gives them), so both report one value (Keras's
    TensorFlow backend keeps ``_keras_logits`` for the same reason).
    """
    if probabilities._node is None and isinstance(logits, Tensor):
        probabilities._keras_logits = (kind, logits)
    return probabilities


def sigmoid(x):
    return _keep_logits(activation.sigmoid(x), "sigmoid", x)


def tanh(x):
    return elementwise.tanh(x)


def leaky_relu(x, negative_slope=0.01, inplace=False):
    return _maybe_in_place(x, lambda v: activation.leaky_relu(v, negative_slope), inplace,
                           "leaky_relu(inplace=True)")


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + e^(βx))/β, and x itself where βx > threshold (PyTorch's linear tail)."""
    if beta == 1.0:
        soft = activation.softplus(x)
    else:
        soft = activation.softplus(x * float(beta)) * (1.0 / beta)
    data = x._data if hasattr(x, "data") else x
    return named(elementwise.where(data * beta > threshold, x, soft), "SoftplusBackward0")


def step(x):
    """The Heaviside step: 1 where x >= 0, else 0; gradient zero."""
    return StepFunction()(x)


heaviside = step


def softmax(x, axis=-1, dim=None):
    """exp(x)/Σexp(x) along ``axis`` (``dim`` is accepted as PyTorch's name for it)."""
    axis = axis if dim is None else dim
    out = reduce.softmax(x, axis)
    return _keep_logits(out, "softmax", x) if axis in (-1, out.ndim - 1) else out


def log_softmax(x, axis=-1, dim=None):
    """log softmax along ``axis`` (``dim`` is accepted as PyTorch's name for it)."""
    return reduce.log_softmax(x, axis if dim is None else dim)


# ---------------------------------------------------------------- layers
class _Activation(Module):
    """A parameter-free layer applying one function; subclasses set ``function``."""

    inplace = False  # PyTorch's inplace=True: the layer changes its input and returns it

    def __init__(self, name=None):
        super().__init__()
        self.name = layer_name(self, name)

    def reset_parameters(self):
        """Nothing to initialise."""

    def get_config(self):
        return {"name": self.name}


class ReLU(_Activation):
    """max(x, 0); ``inplace=True`` changes the input itself, as PyTorch's."""

    def __init__(self, inplace=False, name=None):
        super().__init__(name)
        self.inplace = bool(inplace)

    def forward(self, x):
        return relu(x, self.inplace)


class Sigmoid(_Activation):
    """1/(1 + e^(−x))."""

    def forward(self, x):
        return sigmoid(x)


class Tanh(_Activation):
    """tanh(x)."""

    def forward(self, x):
        return tanh(x)


class Step(_Activation):
    """The Heaviside step (1 where x >= 0, else 0): the threshold logic unit; its gradient is zero."""

    def forward(self, x):
        return step(x)


Heaviside = Step


class LeakyReLU(_Activation):
    """x where x > 0, negative_slope·x elsewhere."""

    def __init__(self, negative_slope=0.01, inplace=False, name=None):
        super().__init__(name)
        self.negative_slope = float(negative_slope)
        self.inplace = bool(inplace)

    def forward(self, x):
        return leaky_relu(x, self.negative_slope, self.inplace)

    def get_config(self):
        return {"negative_slope": self.negative_slope, "name": self.name}

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Softplus(_Activation):
    """log(1 + e^(βx))/β, linear above ``threshold`` (PyTorch's defaults β = 1, threshold = 20)."""

    def __init__(self, beta=1.0, threshold=20.0, name=None):
        super().__init__(name)
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, x):
        return softplus(x, self.beta, self.threshold)

    def get_config(self):
        return {"beta": self.beta, "threshold": self.threshold, "name": self.name}

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class _AlongAxis(_Activation):
    def __init__(self, axis=-1, name=None, dim=None):
        super().__init__(name)
        self.axis = int(axis if dim is None else dim)

    def get_config(self):
        return {"axis": self.axis, "name": self.name}

    def extra_repr(self):
        return f"axis={self.axis}"


class Softmax(_AlongAxis):
    """exp(x)/Σexp(x) along ``axis`` (default the last; ``dim=`` is accepted as PyTorch's name)."""

    def forward(self, x):
        return softmax(x, self.axis)


class LogSoftmax(_AlongAxis):
    """log softmax along ``axis`` (default the last; ``dim=`` is accepted as PyTorch's name)."""

    def forward(self, x):
        return log_softmax(x, self.axis)


# ---------------------------------------------------------------- the registry
_REGISTRY = {
    "relu": ReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
    "log_softmax": LogSoftmax,
    "leaky_relu": LeakyReLU,
    "softplus": Softplus,
    "step": Step,
    "heaviside": Step,
}
_NO_ACTIVATION = (None, "linear", "identity", "none")


def get(identifier):
    """An activation layer from a name ("relu", "softmax", ...); None or "linear" give None.

    A Module or other callable is returned as it is.
    """
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _NO_ACTIVATION:
            return None
        if key not in _REGISTRY:
            known = ", ".join(sorted(_REGISTRY))
            raise ConfigError(f"unknown activation {identifier!r}: known names are {known}, or 'linear'")
        return _REGISTRY[key]()
    if identifier is None or callable(identifier):
        return identifier
    raise TypeError(f"activation must be a name, a layer or a function, got {type(identifier).__name__}")


def name_of(identifier):
    """The registry name of an activation (a name, a layer with default settings, or None), else None."""
    if identifier is None:
        return "linear"
    if isinstance(identifier, str):
        return "linear" if identifier.lower() in _NO_ACTIVATION else identifier.lower()
    for key, cls in _REGISTRY.items():
        if type(identifier) is cls and _settings(identifier) == _settings(cls(name="default")):
            return key
    return None  # a function, or a layer whose settings a bare name would lose (LeakyReLU(0.2))


def _settings(layer):
    return {k: v for k, v in layer.get_config().items() if k != "name"}
