"""More of Keras's everyday layers, channels-last: LayerNormalization, UpSampling2D, ZeroPadding2D,
Cropping2D, Rescaling, Lambda, the sequence reshapers (RepeatVector, TimeDistributed, Permute,
Identity), and the activations as layers (ReLU, LeakyReLU, Softmax, ELU, PReLU), with Keras 3's
defaults.

Each is composed of the engine's ops (so its gradients are theirs): nearest upsampling is a
broadcast (its gradient sums each block), zero padding is ``pad``, the norm is the engine's
``layer_norm`` over the last axis.
"""


from chainrule import ops
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ChainruleError, ConfigError, ShapeError
from chainrule.keras import activations
from chainrule.keras.layers.base import SimpleLayer, new_weight, same
from chainrule.keras.layers.normalization import scale_and_center
from chainrule.nn.layers.linear import float_input
from chainrule.nn.layers.normalization import layer_norm
from chainrule.ops.shape import broadcast_to, pad, reshape


class LayerNormalization(SimpleLayer):
    """``keras.layers.LayerNormalization(axis=-1, epsilon=1e-3, center=True, scale=True)``:
    y = γ (x − μ) / √(σ² + ε) + β over the last axis of each sample (Keras's ε is 1e-3)."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, name=None, **kwargs):
        super().__init__(name, **kwargs)
        if axis not in (-1, [-1], (-1,)):
            raise ConfigError(f"LayerNormalization: chainrule.keras normalises the last axis, got "
                              f"axis={axis}")
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)
        self.register_parameter("gamma", None)
        self.register_parameter("beta", None)
        self.features = None

    @property
    def built(self):
        return self.features is not None

    def build(self, input_shape):
        scale_and_center(self, input_shape)

    def forward(self, x):
        x = float_input(self, x)
        if not self.built:
            self.build(x.shape)
        return layer_norm(x, (self.features,), self.gamma, self.beta, self.epsilon)

    def weight_layout(self):
        return [(t, same, same) for t in (self.gamma, self.beta) if t is not None]

    def settings(self):
        return {"axis": -1, "epsilon": self.epsilon, "center": self.center, "scale": self.scale}


def _pair(value, what, layer):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2:
        raise ConfigError(f"{layer}: {what} takes an int or two, got {value!r}")
    return pair


class UpSampling2D(SimpleLayer):
    """``keras.layers.UpSampling2D(size=(2, 2), interpolation="nearest")`` on (N, H, W, C): each pixel
    repeated ``size`` times along H and W."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", name=None, **kwargs):
        super().__init__(name, **kwargs)
        if data_format not in (None, "channels_last") or interpolation != "nearest":
            raise ConfigError(f"UpSampling2D: chainrule.keras supports channels-last nearest upsampling, got "
                              f"data_format={data_format!r}, interpolation={interpolation!r}")
        self.size = tuple(int(s) for s in _pair(size, "size", "UpSampling2D"))

    def forward(self, x):
        x = float_input(self, x)
        n, h, w, c = x.shape
        (sh, sw) = self.size
        blocks = broadcast_to(reshape(x, (n, h, 1, w, 1, c)), (n, h, sh, w, sw, c))
        return reshape(blocks, (n, h * sh, w * sw, c))

    def settings(self):
        return {"size": list(self.size)}


class ZeroPadding2D(SimpleLayer):
    """``keras.layers.ZeroPadding2D(padding=(1, 1))`` on (N, H, W, C): an int, (rows, columns), or
    ((top, bottom), (left, right))."""

    def __init__(self, padding=(1, 1), data_format=None, name=None, **kwargs):
        super().__init__(name, **kwargs)
        if data_format not in (None, "channels_last"):
            raise ConfigError(f"ZeroPadding2D: chainrule.keras is channels-last only, got {data_format!r}")
        rows, columns = _pair(padding, "padding", "ZeroPadding2D")
        self.padding = tuple(_pair(p, "padding", "ZeroPadding2D") for p in (rows, columns))

    def forward(self, x):
        return pad(float_input(self, x), ((0, 0), *self.padding, (0, 0)))

    def settings(self):
        return {"padding": [list(p) for p in self.padding]}


class ReLU(SimpleLayer):
    """``keras.layers.ReLU(max_value=None, negative_slope=0.0, threshold=0.0)``."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)

    def forward(self, x):
        return activations.relu(x, self.negative_slope, self.max_value, self.threshold)

    def settings(self):
        return {"max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(SimpleLayer):
    """``keras.layers.LeakyReLU(negative_slope=0.3)`` (the layer's default; the function's is 0.2)."""

    def __init__(self, negative_slope=0.3, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return activations.leaky_relu(x, self.negative_slope)

    def settings(self):
        return {"negative_slope": self.negative_slope}


class Softmax(SimpleLayer):
    """``keras.layers.Softmax(axis=-1)``."""

    def __init__(self, axis=-1, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.axis = int(axis)

    def forward(self, x):
        return activations.softmax(x, self.axis)

    def settings(self):
        return {"axis": self.axis}


class Rescaling(SimpleLayer):
    """``keras.layers.Rescaling(scale, offset=0.0)``: x · scale + offset (e.g. ``Rescaling(1 / 255)``)."""

    def __init__(self, scale, offset=0.0, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.scale, self.offset = float(scale), float(offset)

    def forward(self, x):
        return float_input(self, x) * self.scale + self.offset

    def settings(self):
        return {"scale": self.scale, "offset": self.offset}


class Lambda(SimpleLayer):
    """``keras.layers.Lambda(function)``: ``function(x)`` as a layer. A file holds no code, so a model
    with one saves its weights only (``save_weights``), as Keras's safe mode refuses lambdas too."""

    def __init__(self, function, output_shape=None, arguments=None, name=None, **kwargs):
        super().__init__(name, **kwargs)
        object.__setattr__(self, "function", function)
        self.arguments = dict(arguments or {})

    def forward(self, x):
        return self.function(x, **self.arguments)

    def get_config(self):
        raise ChainruleError(f"Lambda '{self.name}': its function is code, which a model file never holds; "
                             "hint: model.save_weights(path) and rebuild the model in code, or write the "
                             "function as a keras.layers.Layer subclass and load with custom_objects")


class RepeatVector(SimpleLayer):
    """``RepeatVector(n)``: (batch, features) → (batch, n, features)."""

    def __init__(self, n, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.n = int(n)

    def forward(self, x):
        x = float_input(self, x)
        if x.ndim != 2:
            raise ShapeError(f"RepeatVector '{self.name}': expects (batch, features), got {tuple(x.shape)}")
        return ops.broadcast_to(ops.expand_dims(x, 1), (x.shape[0], self.n, x.shape[1]))

    def settings(self):
        return {"n": self.n}

class TimeDistributed(SimpleLayer):
    """``TimeDistributed(layer)``: ``layer`` applied to every time step of (batch, time, ...) alike."""

    def __init__(self, layer, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.layer = layer

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        batch, time = x.shape[:2]
        out = self.layer(ops.reshape(x, (batch * time,) + tuple(x.shape[2:])))
        return ops.reshape(out, (batch, time) + tuple(out.shape[1:]))

    def get_config(self):
        raise ConfigError(f"TimeDistributed '{self.name}': a model file keeps it with save_weights; rebuild "
                          "the model in code")

class Permute(SimpleLayer):
    """``Permute(dims)``: the axes after the batch reordered, ``dims`` counted from 1."""

    def __init__(self, dims, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ConfigError(f"Permute: dims must order 1 … {len(self.dims)}, got {self.dims}")

    def forward(self, x):
        return ops.transpose(x if isinstance(x, Tensor) else Tensor(x), (0, *self.dims))

    def settings(self):
        return {"dims": list(self.dims)}

class Identity(SimpleLayer):
    """Passes its input through."""

    def forward(self, x):
        return x

    def settings(self):
        return {}

class Cropping2D(SimpleLayer):
    """``Cropping2D(cropping=((0, 0), (0, 0)))`` on (N, H, W, C): rows off the top and bottom,
    columns off the left and right."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, name=None, **kwargs):
        super().__init__(name, **kwargs)
        if data_format not in (None, "channels_last"):
            raise ConfigError(f"Cropping2D: chainrule.keras is channels-last only, got {data_format!r}")
        rows, columns = _pair(cropping, "cropping", "Cropping2D")
        self.cropping = tuple(_pair(c, "cropping", "Cropping2D") for c in (rows, columns))

    def forward(self, x):
        x = float_input(self, x)
        (top, bottom), (left, right) = self.cropping
        return x[:, top:x.shape[1] - bottom, left:x.shape[2] - right]

    def settings(self):
        return {"cropping": [list(c) for c in self.cropping]}

class ELU(SimpleLayer):
    """``ELU(alpha=1.0)``."""

    def __init__(self, alpha=1.0, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.alpha = float(alpha)

    def forward(self, x):
        return activations.elu(x, self.alpha)

    def settings(self):
        return {"alpha": self.alpha}

class PReLU(SimpleLayer):
    """``PReLU(alpha_initializer="zeros", shared_axes=None)``: max(x, 0) + α·min(x, 0), α learnt per
    element of a sample (shared along ``shared_axes``, counted from 1)."""

    def __init__(self, alpha_initializer="zeros", shared_axes=None, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.alpha_initializer = alpha_initializer
        self.shared_axes = None if shared_axes is None else tuple(
            (shared_axes,) if isinstance(shared_axes, int) else shared_axes)
        self.alpha = None

    def forward(self, x):
        x = float_input(self, x)
        if self.alpha is None:
            shared = self.shared_axes or ()
            shape = [1 if i + 1 in shared else n for i, n in enumerate(x.shape[1:])]
            self.alpha = new_weight(shape, self.alpha_initializer)
        return ops.relu(x) + self.alpha * ops.minimum(x, 0.0)

    def weight_layout(self):
        return [] if self.alpha is None else [(self.alpha, same, same)]

    def settings(self):
        return {"shared_axes": None if self.shared_axes is None else list(self.shared_axes)}
