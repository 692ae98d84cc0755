"""Recurrent layers with PyTorch's formulation, gate order, weight names and return values.

``RNN`` (tanh or relu), ``LSTM`` (gates i, f, g, o) and ``GRU`` (gates r, z, n; the reset gate acts
after the hidden matrix product) run whole sequences; ``RNNCell``, ``LSTMCell`` and ``GRUCell`` run one
step. The parameters are named and laid out as in PyTorch (``weight_ih_l0`` (G·H, in),
``weight_hh_l0`` (G·H, H), ``bias_ih_l0``, ``bias_hh_l0``, ``..._reverse`` for the backward direction,
G = 1, 4, 3), so a PyTorch state_dict converted to arrays loads as it is.

Per layer and direction the work is: ONE matrix product projecting the inputs of all time steps
(T·N rows at once), then one fused recurrence primitive (:mod:`chainrule.ops.recurrent`) that runs the
steps, one (N, H) @ (H, G·H) product each, with the gate arithmetic done in place on arrays.
"""

import math

import numpy

from chainrule import arguments
from chainrule.autograd.tensor import Tensor
from chainrule.backend import DEFAULT_FLOAT, array_module
from chainrule.errors import ShapeError
from chainrule.nn import init
from chainrule.nn.layers.dropout import dropout as apply_dropout
from chainrule.nn.layers.linear import layer_name
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops.fused_linear import linear
from chainrule.ops.recurrent import BatchMajor, GRURecurrence, LSTMRecurrence, RNNRecurrence
from chainrule.ops.shape import concatenate, expand_dims, squeeze, stack, swapaxes

_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(numpy.asarray(x))


def _uniform_init(module):
    """PyTorch's initialisation of every recurrent parameter: U(−1/√H, 1/√H)."""
    bound = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0.0
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


# ---------------------------------------------------------------- one step: the functional forms
def _step_projection(x, states, w_ih, w_hh, b_ih, who):
    """x W_ihᵀ + b as a sequence of one step (1, N, G·H), after checking the shapes."""
    if x.ndim != 2 or x.shape[1] != w_ih.shape[1]:
        raise ShapeError(f"{who}: expects input (N, {w_ih.shape[1]}), got {x.shape}")
    for h in states:
        if tuple(h.shape) != (x.shape[0], w_hh.shape[1]):
            raise ShapeError(f"{who}: expects a state of shape ({x.shape[0]}, {w_hh.shape[1]}), "
                             f"got {tuple(h.shape)}: is hx (h, c) for an LSTM and h otherwise?")
    return expand_dims(linear(x, w_ih, b_ih), 0)


def rnn_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):  # noqa: A002
    """One Elman step: h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh). Shapes: x (N, in), h (N, H)."""
    bias = b_ih if b_hh is None else (b_hh if b_ih is None else b_ih + b_hh)
    xproj = _step_projection(input, (hx,), w_ih, w_hh, bias, "rnn_cell")
    return RNNRecurrence(nonlinearity)(xproj, w_hh, hx)[0]


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    """One LSTM step; ``hx = (h, c)``, returns ``(h', c')`` (see :class:`LSTMRecurrence`)."""
    h, c = hx
    bias = b_ih if b_hh is None else (b_hh if b_ih is None else b_ih + b_hh)
    out = LSTMRecurrence()(_step_projection(input, (h, c), w_ih, w_hh, bias, "lstm_cell"), w_hh, h, c)
    return out[0], out[1]


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    """One GRU step, reset gate after the hidden product (see :class:`GRURecurrence`)."""
    xproj = _step_projection(input, (hx,), w_ih, w_hh, b_ih, "gru_cell")
    return GRURecurrence()(xproj, w_hh, b_hh, hx)[0]


# ---------------------------------------------------------------- cells
class _CellBase(Module):
    mode = "RNN"

    def __init__(self, input_size, hidden_size, bias=True, name=None):
        super().__init__()
        self.name = layer_name(self, name)
        where = type(self).__name__
        self.input_size = arguments.integer(input_size, "input_size", where)
        self.hidden_size = arguments.integer(hidden_size, "hidden_size", where)
        self.bias = bool(bias)
        gates = _GATES[self.mode] * self.hidden_size
        self.weight_ih = Parameter(numpy.empty((gates, self.input_size), dtype=DEFAULT_FLOAT))
        self.weight_hh = Parameter(numpy.empty((gates, self.hidden_size), dtype=DEFAULT_FLOAT))
        if self.bias:
            self.bias_ih = Parameter(numpy.empty(gates, dtype=DEFAULT_FLOAT))
            self.bias_hh = Parameter(numpy.empty(gates, dtype=DEFAULT_FLOAT))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        _uniform_init(self)

    def get_config(self):
        return {"input_size": self.input_size, "hidden_size": self.hidden_size, "bias": self.bias,
                "name": self.name}

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def _prepare(self, input, hx, states):  # noqa: A002
        """Batch an unbatched (in,) input, and make zero states when none are given."""
        x = _tensor(input)
        if x.ndim not in (1, 2):
            raise ShapeError(f"{type(self).__name__} '{self.name}': expects input (N, {self.input_size}) "
                             f"or ({self.input_size},), got {x.shape}")
        batched = x.ndim == 2
        if not batched:
            x = expand_dims(x, 0)
        if hx is None:
            zeros = array_module(x._data).zeros((x.shape[0], self.hidden_size), dtype=x.dtype)  # x's device
            hx = (zeros,) * states
        else:
            hx = tuple(_tensor(h) for h in (hx if isinstance(hx, (tuple, list)) else (hx,)))
            if len(hx) != states:
                raise ShapeError(f"{type(self).__name__} '{self.name}': hx must be "
                                 f"{'a tuple (h, c)' if states == 2 else 'one tensor h'}, got {len(hx)}")
            if not batched:
                hx = tuple(expand_dims(h, 0) for h in hx)
        return x, (hx if states > 1 else hx[0]), batched

    def _params(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh


class RNNCell(_CellBase):
    """An Elman cell, h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu); returns h'."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", name=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, name)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002
        x, h, batched = self._prepare(input, hx, 1)
        out = rnn_cell(x, h, *self._params(), nonlinearity=self.nonlinearity)
        return out if batched else squeeze(out, 0)

    def get_config(self):
        return {**super().get_config(), "nonlinearity": self.nonlinearity}


class LSTMCell(_CellBase):
    """An LSTM cell (gates i, f, g, o); ``forward(x, (h, c))`` returns ``(h', c')``."""

    mode = "LSTM"

    def forward(self, input, hx=None):  # noqa: A002
        x, (h, c), batched = self._prepare(input, hx, 2)
        h, c = lstm_cell(x, (h, c), *self._params())
        return (h, c) if batched else (squeeze(h, 0), squeeze(c, 0))


class GRUCell(_CellBase):
    """A GRU cell (gates r, z, n, reset after the hidden product); returns h'."""

    mode = "GRU"

    def forward(self, input, hx=None):  # noqa: A002
        x, h, batched = self._prepare(input, hx, 1)
        out = gru_cell(x, h, *self._params())
        return out if batched else squeeze(out, 0)


# ---------------------------------------------------------------- whole sequences
class _RNNBase(Module):
    """Multi-layer, optionally bidirectional recurrence over (T, N, in) (or (N, T, in) batch_first)."""

    mode = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, name=None):
        super().__init__()
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout must lie in [0, 1], got {dropout}")
        where = type(self).__name__
        num_layers = arguments.integer(num_layers, "num_layers", where)
        self.name = layer_name(self, name)
        self.input_size = arguments.integer(input_size, "input_size", where)
        self.hidden_size = arguments.integer(hidden_size, "hidden_size", where)
        self.num_layers = int(num_layers)
        self.bias, self.batch_first, self.dropout = bool(bias), bool(batch_first), float(dropout)
        self.bidirectional = bool(bidirectional)
        gates = _GATES[self.mode] * self.hidden_size
        directions = 2 if self.bidirectional else 1
        for layer in range(self.num_layers):
            width = self.input_size if layer == 0 else self.hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                shapes = {"weight_ih": (gates, width), "weight_hh": (gates, self.hidden_size)}
                if self.bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                for kind, shape in shapes.items():
                    setattr(self, f"{kind}_l{layer}{suffix}",
                            Parameter(numpy.empty(shape, dtype=DEFAULT_FLOAT)))
        self.reset_parameters()

    def reset_parameters(self):
        _uniform_init(self)

    def flatten_parameters(self):
        """Nothing to do (PyTorch's cuDNN weight packing); here so that PyTorch code runs as it is."""

    def get_config(self):
        return {"input_size": self.input_size, "hidden_size": self.hidden_size,
                "num_layers": self.num_layers, "bias": self.bias, "batch_first": self.batch_first,
                "dropout": self.dropout, "bidirectional": self.bidirectional, "name": self.name}

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        defaults = {"num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0,
                    "bidirectional": False}
        for key, default in defaults.items():
            if getattr(self, key) != default:
                text += f", {key}={getattr(self, key)}"
        return text

    def _initial_states(self, hx, x, batched):
        """The list of initial states (one array or tensor per state kind), each (L·D, N, H)."""
        directions = 2 if self.bidirectional else 1
        shape = (self.num_layers * directions, x.shape[1], self.hidden_size)
        count = 2 if self.mode == "LSTM" else 1
        if hx is None:
            return [array_module(x._data).zeros(shape, dtype=x.dtype)] * count  # on x's device
        states = list(hx) if isinstance(hx, (tuple, list)) else [hx]
        if len(states) != count:
            raise ShapeError(f"{type(self).__name__} '{self.name}': hx must be "
                             f"{'a tuple (h0, c0)' if count == 2 else 'one tensor h0'}, got {len(states)}")
        states = [_tensor(h) if batched else expand_dims(_tensor(h), 1) for h in states]
        for h in states:
            if tuple(h.shape) != shape:
                raise ShapeError(f"{type(self).__name__} '{self.name}': initial state must have shape "
                                 f"(num_layers * num_directions, N, H) = {shape}, got {tuple(h.shape)}")
        return states

    def _direction(self, x, layer, reverse, states):
        """Run one layer in one direction: (hidden states, [final state per kind]).

        The hidden states are (T, N, H), or for an LSTM the op's whole (T + 1, N, H) output, whose
        first T steps they are (the caller slices, or copies them batch-major in one go).
        """
        suffix = f"l{layer}" + ("_reverse" if reverse else "")
        w_ih, w_hh = getattr(self, "weight_ih_" + suffix), getattr(self, "weight_hh_" + suffix)
        b_ih, b_hh = (getattr(self, "bias_ih_" + suffix), getattr(self, "bias_hh_" + suffix)) \
            if self.bias else (None, None)
        steps, last = x.shape[0], 0 if reverse else x.shape[0] - 1
        if self.mode == "GRU":
            out = GRURecurrence(reverse)(linear(x, w_ih, b_ih), w_hh, b_hh, *states)
            return out, [out[last]]
        bias = None if b_ih is None else b_ih + b_hh  # one bias vector for the one projection
        if self.mode == "LSTM":  # the op projects x, adds the bias per step and sums its gradients
            out = LSTMRecurrence(reverse)(x, w_hh, *states, bias, w_ih)
            return out, [out[last], out[steps]]
        out = RNNRecurrence(self.nonlinearity, reverse)(linear(x, w_ih, bias), w_hh, *states)
        return out, [out[last]]

    def forward(self, input, hx=None):  # noqa: A002
        """Returns ``(output, h_n)`` (``(output, (h_n, c_n))`` for an LSTM), as PyTorch does.

        output: (T, N, D·H) ((N, T, D·H) if batch_first; (T, D·H) for an unbatched (T, in) input);
        h_n, c_n: (num_layers·D, N, H), the final state of each layer and direction (D = 2 if
        bidirectional), so h_n[-1] of a bidirectional layer is the backward direction's state at t = 0.
        """
        from chainrule.nn.utils.rnn import PackedSequence

        if isinstance(input, PackedSequence):  # each sequence stops at its own end
            from chainrule.nn.layers.recurrent_packed import forward_packed

            return forward_packed(self, input, hx)
        x = _tensor(input)
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ShapeError(f"{type(self).__name__} '{self.name}': expects input "
                             f"({'N, T' if self.batch_first else 'T, N'}, {self.input_size}) or "
                             f"(T, {self.input_size}), got {x.shape}")
        batched = x.ndim == 3
        if not batched:
            x = expand_dims(x, 1)
        elif self.batch_first:
            x = swapaxes(x, 0, 1)
        if x.shape[0] == 0:
            raise ShapeError(f"{type(self).__name__} '{self.name}': the sequence is empty (T = 0)")
        initial = self._initial_states(hx, x, batched)
        directions = 2 if self.bidirectional else 1
        finals = [[] for _ in initial]
        steps = x.shape[0]
        batch_major = batched and self.batch_first
        for layer in range(self.num_layers):
            if layer > 0 and self.training and self.dropout > 0:
                x = apply_dropout(x, self.dropout)
            outputs = []
            for d in range(directions):
                k = layer * directions + d
                out, last = self._direction(x, layer, d == 1, [s[k] for s in initial])
                outputs.append(out)
                for kind, state in zip(finals, last):
                    kind.append(state)
            if directions == 1 and batch_major and layer == self.num_layers - 1:
                x = outputs[0]  # BatchMajor below copies its first T steps, with no slice before
            else:
                outputs = [out if out.shape[0] == steps else out[:steps] for out in outputs]
                x = outputs[0] if directions == 1 else concatenate(outputs, axis=2)
        finals = [stack(kind) for kind in finals]
        if not batched:
            x, finals = squeeze(x, 1), [squeeze(f, 1) for f in finals]
        elif batch_major:  # one contiguous (N, T, D·H) copy, so that the next layer's reshape is free
            x = BatchMajor(steps)(x)
        return x, (tuple(finals) if self.mode == "LSTM" else finals[0])


class RNN(_RNNBase):
    """Elman RNN: h_t = act(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh), act = tanh (default) or relu."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, name=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         name)
        self.nonlinearity = nonlinearity

    def get_config(self):
        return {**super().get_config(), "nonlinearity": self.nonlinearity}


class LSTM(_RNNBase):
    """Long short-term memory, PyTorch's gates i, f, g, o: c_t = f c_{t−1} + i g, h_t = o tanh(c_t)."""

    mode = "LSTM"


class GRU(_RNNBase):
    """Gated recurrent unit, gates r, z, n: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),
    h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}."""

    mode = "GRU"
