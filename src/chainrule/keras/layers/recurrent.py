"""Keras's recurrent layers on (batch, time, features): SimpleRNN, LSTM, GRU and Bidirectional.

The recurrences are the engine's ops (:mod:`chainrule.ops.recurrent`, one op per sequence), with
the weights in their layout: ``weight_ih`` (gates·units, in), ``weight_hh`` (gates·units, units).
Keras's layout comes out of ``get_weights``: ``kernel`` (in, gates·units), ``recurrent_kernel``
(units, gates·units) and ``bias`` — one vector for SimpleRNN and LSTM (gates i, f, c, o, PyTorch's
order too), and ``(2, 3·units)`` for GRU, whose gates Keras orders z, r, h (PyTorch: r, z, n) with
``reset_after=True``, the formula PyTorch's GRU computes. Parameter counts are Keras's.
"""

import numpy

from chainrule.backend import DEFAULT_FLOAT
from chainrule.errors import ConfigError, ShapeError
from chainrule.keras import initializers
from chainrule.keras.layers.base import KerasLayer, check_keywords, keras_name
from chainrule.nn.layers.linear import float_input
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops.fused_linear import linear
from chainrule.ops.recurrent import GRURecurrence, LSTMRecurrence, RNNRecurrence
from chainrule.ops.shape import concatenate, swapaxes


def _gate_order(gates, units, order):
    """An index that reorders the gates' blocks of rows: ``order[k]`` is the engine's block for Keras's k."""
    return numpy.concatenate([numpy.arange(b * units, (b + 1) * units) for b in order]) if order else None


class _Recurrent(KerasLayer, Module):
    gates = 1
    keras_gate_order = None  # Keras's gate k is the engine's block keras_gate_order[k]

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", return_sequences=False,
                 return_state=False, go_backwards=False, input_shape=None, name=None, trainable=True,
                 **kwargs):
        check_keywords(type(self).__name__, kwargs)
        Module.__init__(self)
        self.name = keras_name(self, name)
        self.units, self.use_bias = int(units), bool(use_bias)
        self.activation = activation
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer
        self.bias_initializer = bias_initializer
        self.input_size = None
        for parameter in ("weight_ih", "weight_hh", "bias"):
            self.register_parameter(parameter, None)
        self._keras_options(trainable=trainable)
        if input_shape is not None:
            self.build((None, *input_shape))

    @property
    def built(self):
        return self.weight_ih is not None

    def build(self, input_shape):
        self.input_size = int(input_shape[-1])
        rows = self.gates * self.units
        self.weight_ih = Parameter(numpy.empty((rows, self.input_size), dtype=DEFAULT_FLOAT))
        self.weight_hh = Parameter(numpy.empty((rows, self.units), dtype=DEFAULT_FLOAT))
        initializers.get(self.kernel_initializer)(self.weight_ih)
        initializers.get(self.recurrent_initializer)(self.weight_hh)
        if self.use_bias:
            self.bias = Parameter(numpy.zeros(rows, dtype=DEFAULT_FLOAT))
            initializers.get(self.bias_initializer)(self.bias)
            self._init_bias()

    def _init_bias(self):
        """Keras's extra bias settings (LSTM: unit_forget_bias)."""

    def reset_parameters(self):
        if self.built:
            self.build((None, self.input_size))

    def forward(self, x):
        x = float_input(self, x)
        if x.ndim != 3:
            raise ShapeError(f"{type(self).__name__} '{self.name}': expects input (batch, time, features), "
                             f"got {tuple(x.shape)}")
        if not self.built:
            self.build(x.shape)
        sequence, states = self.run(swapaxes(x, 0, 1), self.go_backwards)
        if self.return_sequences:
            output = swapaxes(sequence, 0, 1)
            if self.go_backwards:  # Keras returns a backward layer's outputs in the order it made them
                output = output[:, ::-1]
        else:
            output = states[0]
        return [output, *states] if self.return_state else output

    def run(self, x, reverse):
        """The recurrence over time-major ``x``: ((T, N, units) aligned with the input, [final states])."""
        h0 = numpy.zeros((x.shape[1], self.units), dtype=x.dtype)
        last = 0 if reverse else x.shape[0] - 1
        out = self.recurrence(x, h0, reverse)
        return out[:x.shape[0]], self.final_states(out, last, x.shape[0])

    def final_states(self, out, last, steps):
        return [out[last]]

    def weight_layout(self):
        if not self.built:
            return []
        order = _gate_order(self.gates, self.units, self.keras_gate_order)
        inverse = None if order is None else numpy.argsort(order)

        def to_keras(w):
            return (w if order is None else w[order]).T

        def from_keras(k):
            return k.T if inverse is None else k.T[inverse]

        entries = [(self.weight_ih, to_keras, from_keras), (self.weight_hh, to_keras, from_keras)]
        return entries + self.bias_layout(order, inverse)

    def bias_layout(self, order, inverse):
        return [(self.bias, lambda b: b, lambda b: b)] if self.use_bias else []

    def get_config(self):
        return {"units": self.units, "activation": self.activation, "use_bias": self.use_bias,
                "kernel_initializer": self.kernel_initializer,
                "recurrent_initializer": self.recurrent_initializer,
                "bias_initializer": self.bias_initializer, "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards,
                "input_shape": None if self.input_size is None else [None, self.input_size],
                "name": self.name,
                **self._regularizer_config()}

    def extra_repr(self):
        return (f"units={self.units}, return_sequences={self.return_sequences}, "
                f"return_state={self.return_state}")


class SimpleRNN(_Recurrent):
    """``keras.layers.SimpleRNN(units, activation="tanh", return_sequences=False, return_state=False)``:
    h_t = activation(x_t·kernel + h_{t−1}·recurrent_kernel + bias)."""

    def __init__(self, units, activation="tanh", **kwargs):
        if activation not in ("tanh", "relu"):
            raise ConfigError(f"SimpleRNN: activation must be 'tanh' or 'relu' here, got {activation!r}")
        super().__init__(units, activation, **kwargs)

    def recurrence(self, x, h0, reverse):
        projected = linear(x, self.weight_ih, self.bias)
        return RNNRecurrence(self.activation, reverse)(projected, self.weight_hh, h0)


class LSTM(_Recurrent):
    """``keras.layers.LSTM(units, return_sequences=False, return_state=False, unit_forget_bias=True)``;
    with ``return_state`` the outputs are ``[output, h, c]``."""

    gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", unit_forget_bias=True,
                 **kwargs):
        if activation != "tanh" or recurrent_activation != "sigmoid":
            raise ConfigError("LSTM: only activation='tanh' and recurrent_activation='sigmoid' (Keras's "
                              f"defaults) are supported, got {activation!r} and {recurrent_activation!r}")
        object.__setattr__(self, "unit_forget_bias", bool(unit_forget_bias))  # read by build, in __init__
        super().__init__(units, activation, **kwargs)

    def _init_bias(self):
        if self.unit_forget_bias:
            self.bias._data[self.units:2 * self.units] = 1.0  # the forget gate starts open, as in Keras

    def recurrence(self, x, h0, reverse):
        return LSTMRecurrence(reverse)(x, self.weight_hh, h0, h0, self.bias, self.weight_ih)

    def final_states(self, out, last, steps):
        return [out[last], out[steps]]

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRU(_Recurrent):
    """``keras.layers.GRU(units, return_sequences=False, return_state=False)``, Keras 3's default
    ``reset_after=True``: h̃ = tanh(W_h x + b_h + r ⊙ (U_h h + b'_h)), h_t = z ⊙ h_{t−1} + (1 − z) ⊙ h̃."""

    gates = 3
    keras_gate_order = (1, 0, 2)  # Keras z, r, h = the engine's blocks z (1), r (0), n (2)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", reset_after=True, **kwargs):
        if activation != "tanh" or recurrent_activation != "sigmoid" or not reset_after:
            raise ConfigError("GRU: only Keras 3's defaults (tanh, sigmoid, reset_after=True) are supported")
        super().__init__(units, activation, **kwargs)

    def build(self, input_shape):
        super().build(input_shape)
        if self.use_bias:  # Keras's one (2, 3·units) variable: the input bias, then the recurrent bias
            self.bias = Parameter(numpy.zeros((2, 3 * self.units), dtype=DEFAULT_FLOAT))
            initializers.get(self.bias_initializer)(self.bias)

    def recurrence(self, x, h0, reverse):
        b_ih, b_hh = (self.bias[0], self.bias[1]) if self.use_bias else (None, None)
        return GRURecurrence(reverse)(linear(x, self.weight_ih, b_ih), self.weight_hh, b_hh, h0)

    def bias_layout(self, order, inverse):
        if not self.use_bias:
            return []
        return [(self.bias, lambda b: b[:, order], lambda k: k[:, inverse])]


class Bidirectional(KerasLayer, Module):
    """``keras.layers.Bidirectional(layer, merge_mode="concat")``: the layer forwards, a copy backwards.

    The backward copy reads the sequence from the end; its sequence of outputs is put back in time
    order before merging ("concat", "sum", "mul", "ave"), as Keras does.
    """

    def __init__(self, layer, merge_mode="concat", backward_layer=None, name=None, **kwargs):
        check_keywords(type(self).__name__, kwargs)
        Module.__init__(self)
        if isinstance(layer, dict):  # the saved form: {"class_name": "keras.LSTM", "config": {...}}
            from chainrule.io import registry

            layer = registry.layer_class(layer.get("class_name"))(**layer.get("config", {}))
        if not isinstance(layer, _Recurrent):
            raise ConfigError(f"Bidirectional wraps a SimpleRNN, LSTM or GRU, got {type(layer).__name__}")
        if merge_mode not in ("concat", "sum", "mul", "ave"):
            raise ConfigError(f"Bidirectional: merge_mode must be concat, sum, mul or ave, got "
                              f"{merge_mode!r}")
        self.name = keras_name(self, name)
        self.merge_mode = merge_mode
        if backward_layer is None:
            config = {k: v for k, v in layer.get_config().items() if k not in ("name", "input_shape")}
            backward_layer = type(layer)(**config, name=f"backward_{layer.name}")
            if layer.built:
                backward_layer.build((None, layer.input_size))
        self.forward_layer, self.backward_layer = layer, backward_layer

    def forward(self, x):
        x = float_input(self, x)
        for layer in (self.forward_layer, self.backward_layer):
            if not layer.built:
                layer.build(x.shape)
        time_major = swapaxes(x, 0, 1)
        seq_f, states_f = self.forward_layer.run(time_major, False)
        seq_b, states_b = self.backward_layer.run(time_major, True)
        if self.forward_layer.return_sequences:
            f, b = swapaxes(seq_f, 0, 1), swapaxes(seq_b, 0, 1)
        else:
            f, b = states_f[0], states_b[0]
        merged = {"concat": lambda: concatenate([f, b], axis=-1), "sum": lambda: f + b, "mul": lambda: f * b,
                  "ave": lambda: (f + b) * 0.5}[self.merge_mode]()
        return [merged, *states_f, *states_b] if self.forward_layer.return_state else merged

    def get_config(self):
        from chainrule.io import registry

        layer = self.forward_layer
        inner = {"class_name": registry.name_of(type(layer)), "config": layer.get_config()}
        return {"layer": inner, "merge_mode": self.merge_mode, "name": self.name}

