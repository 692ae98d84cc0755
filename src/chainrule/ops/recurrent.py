"""Recurrences: a whole sequence of RNN, LSTM or GRU steps as one primitive, defined by its cell.

Each op is the composed cell applied step by step (``forward_composed``, Tensor operations), and its
backward pass is back-propagation through time written out with Tensor operations
(``vjp_composed``), so gradients of gradients come for free; forward mode pushes tangents through
the composed forward. The forward on arrays runs the same composed cell on constants.

Why one op per sequence and not one graph node per step: the faster forms registered on these ops
(:mod:`chainrule.kernels.recurrent`, :mod:`chainrule.kernels.lstm`) run the whole sequence in
preallocated buffers and get the recurrent weight's gradient as ONE matrix product over all steps.

The input projection ``x W_ihᵀ + b`` of all steps is NOT part of the op: the layer computes it with
one matrix product over the whole sequence (T·N rows) and passes it in as ``xproj`` (T, N, G).
``reverse=True`` runs the steps from t = T−1 down to 0 (the backward direction of a bidirectional
layer) while reading and writing every array in time order, so no flip is ever materialised.
"""

from chainrule.autograd.op import Op
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ShapeError
from chainrule.ops.activation import relu, sigmoid
from chainrule.ops.elementwise import tanh
from chainrule.ops.reduce import sum as reduce_sum
from chainrule.ops.shape import concatenate, pad, reshape, stack, swapaxes


def _as_tensor(x):
    return x if isinstance(x, Tensor) or x is None else Tensor._from_op(x)


class _Recurrence(Op):
    """Shared plumbing: step order, shape checks, forward and backward from the composed cell."""

    gates = 1  # gate blocks of size H stacked in the projections

    def __init__(self, reverse=False):
        self.reverse = reverse

    def order(self, steps):
        return range(steps - 1, -1, -1) if self.reverse else range(steps)

    def check(self, xproj, w_hh, *states):
        if xproj.ndim != 3 or w_hh.ndim != 2 or xproj.shape[2] != w_hh.shape[0] \
                or w_hh.shape[0] != self.gates * w_hh.shape[1]:
            raise ShapeError(f"{self.label}: expects xproj (T, N, {self.gates}H) and weight_hh "
                             f"({self.gates}H, H), got {xproj.shape} and {w_hh.shape}")
        hidden_shape = (xproj.shape[1], w_hh.shape[1])
        for state in states:
            if tuple(state.shape) != hidden_shape:
                raise ShapeError(f"{self.label}: initial state must have shape (N, H) = {hidden_shape}, "
                                 f"got {tuple(state.shape)}")
        return xproj.shape[0], xproj.shape[1], w_hh.shape[1]

    def forward(self, *arrays):
        self.check_inputs(*arrays)
        return self.forward_composed(*[_as_tensor(a) for a in arrays])[0]._data

    def vjp(self, g):
        return self.vjp_composed(g, *[_as_tensor(x) for x in self.inputs])

    def jvp(self, *tangents):
        """Push the tangents through the composed forward (forward mode nests inside this rule)."""
        from chainrule.autograd.forward import jvp

        present = [k for k, x in enumerate(self.inputs) if x is not None]  # GRU's bias may be None
        primals = [_as_tensor(self.inputs[k]) for k in present]
        filled = [Tensor._from_op(self.xp.zeros_like(p._data)) if tangents[k] is None else tangents[k]
                  for k, p in zip(present, primals)]

        def run(*args):
            full = [None] * len(self.inputs)
            for k, a in zip(present, args):
                full[k] = a
            return self.forward_composed(*full)[0]

        return jvp(run, primals, filled)[1]


class RNNRecurrence(_Recurrence):
    """Elman RNN over a sequence: h_t = act(xproj_t + h_{t−1} W_hhᵀ), act = tanh or relu.

    Inputs: xproj (T, N, H) holding x_t W_ihᵀ + b_ih + b_hh, weight_hh (H, H), h0 (N, H).
    Output: the hidden states (T, N, H) in time order.
    """

    def __init__(self, nonlinearity="tanh", reverse=False):
        super().__init__(reverse)
        self.nonlinearity = nonlinearity

    def check_inputs(self, xproj, w_hh, h0):
        self.check(xproj, w_hh, h0)

    def forward_composed(self, xproj, w_hh, h0):
        act = tanh if self.nonlinearity == "tanh" else relu
        h, hs, saved = h0, [None] * xproj.shape[0], {}
        for t in self.order(xproj.shape[0]):
            saved[t] = h
            h = hs[t] = act(xproj[t] + h @ w_hh.T)
        return stack(hs), saved, hs

    def vjp_composed(self, g, xproj, w_hh, h0):
        _, h_prev, hs = self.forward_composed(xproj, w_hh, h0)
        dpre, dw, dh = [None] * len(hs), None, None
        for t in reversed(self.order(len(hs))):
            dh = g[t] if dh is None else g[t] + dh
            slope = (1 - hs[t] * hs[t]) if self.nonlinearity == "tanh" else (hs[t]._data > 0)
            dpre[t] = dh * slope
            term = dpre[t].T @ h_prev[t]
            dw = term if dw is None else dw + term
            dh = dpre[t] @ w_hh
        return stack(dpre), dw, dh


class LSTMRecurrence(_Recurrence):
    """LSTM over a sequence, PyTorch's formulation and gate order (i, f, g, o).

    i, f, o = σ(·), g = tanh(·) of the blocks of a_t = xproj_t + h_{t−1} W_hhᵀ + bias;
    c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh(c_t).
    Inputs: xproj (T, N, 4H) holding x_t W_ihᵀ, weight_hh (4H, H), h0 and c0 (N, H), and optionally
    bias (4H,) = b_ih + b_hh (or the biases may be in xproj already). Adding the bias inside the step
    and summing its gradient inside the backward step saves two passes over the (T, N, 4H) arrays.
    With ``weight_ih`` (4H, in) given as a sixth input, the first input is the layer's input x (T, N, in)
    and the op computes the projection itself, in ONE matrix product over all T·N rows, into the
    buffer that then holds the activations: one (T, N, 4H) array fewer to allocate and keep.
    Output (T + 1, N, H): the hidden states h_t in time order, then the final cell state (the
    primitive has one output; slicing it is free, and its adjoint is one scatter).
    """

    gates = 4

    def check_inputs(self, xproj, w_hh, h0, c0, bias=None, w_ih=None):
        if w_ih is not None:  # xproj is x
            if xproj.ndim != 3 or w_ih.ndim != 2 or xproj.shape[2] != w_ih.shape[1] \
                    or w_ih.shape[0] != w_hh.shape[0]:
                raise ShapeError(f"{self.label}: expects x (T, N, in) and weight_ih (4H, in) with weight_hh "
                                 f"(4H, H), got {xproj.shape}, {w_ih.shape} and {w_hh.shape}")
            xproj = self.xp.empty(xproj.shape[:2] + w_ih.shape[:1])  # its shape, for the checks below
        hidden = self.check(xproj, w_hh, h0, c0)[2]
        if bias is not None and tuple(bias.shape) != (4 * hidden,):
            raise ShapeError(f"{self.label}: bias must have shape ({4 * hidden},), got {tuple(bias.shape)}")

    def forward_composed(self, xproj, w_hh, h0, c0, bias=None, w_ih=None):
        H = w_hh.shape[1]  # noqa: N806
        steps = xproj.shape[0]
        if w_ih is not None:
            xproj = xproj @ w_ih.T
        h, c, hs, saved = h0, c0, [None] * steps, {}
        for t in self.order(steps):
            a = xproj[t] + h @ w_hh.T if bias is None else xproj[t] + h @ w_hh.T + bias
            i, f = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H])
            gg, o = tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
            c_next = f * c + i * gg
            tc = tanh(c_next)
            saved[t] = (h, c, i, f, gg, o, tc)
            h, c = o * tc, c_next
            hs[t] = h
        return stack(hs + [c]), saved

    def vjp_composed(self, g, xproj, w_hh, h0, c0, bias=None, w_ih=None):
        steps = xproj.shape[0]
        _, saved = self.forward_composed(xproj, w_hh, h0, c0, bias, w_ih)
        dacts, dw, dh, dc = [None] * steps, None, None, g[steps]
        for t in reversed(self.order(steps)):
            h, c, i, f, gg, o, tc = saved[t]
            dh = g[t] if dh is None else g[t] + dh
            dc = dc + dh * o * (1 - tc * tc)
            da = concatenate([dc * gg * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - gg * gg),
                              dh * tc * o * (1 - o)], axis=1)
            dacts[t] = da
            term = da.T @ h
            dw = term if dw is None else dw + term
            dh, dc = da @ w_hh, dc * f
        dacts = stack(dacts)
        grads = [dacts, dw, dh, dc, None if bias is None else reduce_sum(dacts, axis=(0, 1))]
        if w_ih is not None:  # xproj is x: chain through the projection
            flat = reshape(dacts, (-1, dacts.shape[2]))
            grads[0] = dacts @ w_ih
            grads.append(flat.T @ reshape(xproj, (flat.shape[0], xproj.shape[2])))  # not -1: N may be 0
        return grads


class BatchMajor(Op):
    """The first ``steps`` time steps of a time-major (T′, N, ...) array as a contiguous (N, steps, ...) one.

    A batch_first layer returns (N, T, H), and the next layer (a Linear head over ``reshape(−1, H)``)
    wants it contiguous; the recurrence itself must run time-major, because the compiled gate kernels
    need contiguous (N, 4H) rows at each step (on strided rows they measured 5x slower). One copy into
    memory reused from step to step replaces a slice, a transposed view and the head's reshape copy;
    its adjoint writes the gradient back in time-major order and zeroes only the rows past ``steps``
    (an LSTM's final cell state), where slicing would zero the whole array first.
    """

    def __init__(self, steps):
        self.steps = steps

    def forward(self, sequence):
        return self.xp.ascontiguousarray(sequence[:self.steps].swapaxes(0, 1))

    def vjp(self, g):
        source = self.inputs[0]
        extra = source.shape[0] - self.steps
        back = swapaxes(g, 0, 1)
        return (pad(back, [(0, extra)] + [(0, 0)] * (back.ndim - 1)) if extra else back,)

    def jvp(self, tangent):
        return BatchMajor(self.steps)(tangent)


class GRURecurrence(_Recurrence):
    """GRU over a sequence, PyTorch's formulation and gate order (r, z, n).

    With b_t = h_{t−1} W_hhᵀ + b_hh split into blocks (b_r, b_z, b_n) and xproj_t = x_t W_ihᵀ + b_ih
    into (x_r, x_z, x_n): r = σ(x_r + b_r), z = σ(x_z + b_z), n = tanh(x_n + r ⊙ b_n) (the reset gate
    acts AFTER the hidden product), h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}.
    Inputs: xproj (T, N, 3H), weight_hh (3H, H), bias_hh (3H,) or None, h0 (N, H).
    Output: the hidden states (T, N, H) in time order.
    """

    gates = 3

    def check_inputs(self, xproj, w_hh, b_hh, h0):
        hidden = self.check(xproj, w_hh, h0)[2]
        if b_hh is not None and tuple(b_hh.shape) != (3 * hidden,):
            raise ShapeError(f"{self.label}: bias_hh must have shape ({3 * hidden},), got {b_hh.shape}")

    def forward_composed(self, xproj, w_hh, b_hh, h0):
        H = w_hh.shape[1]  # noqa: N806
        steps = xproj.shape[0]
        h, hs, saved = h0, [None] * steps, {}
        for t in self.order(steps):
            b = h @ w_hh.T if b_hh is None else h @ w_hh.T + b_hh
            x = xproj[t]
            r, z = sigmoid(x[:, :H] + b[:, :H]), sigmoid(x[:, H:2 * H] + b[:, H:2 * H])
            n = tanh(x[:, 2 * H:] + r * b[:, 2 * H:])
            saved[t] = (h, b, r, z, n)
            h = hs[t] = n + z * (h - n)
        return stack(hs), saved

    def vjp_composed(self, g, xproj, w_hh, b_hh, h0):
        H = w_hh.shape[1]  # noqa: N806
        steps = xproj.shape[0]
        _, saved = self.forward_composed(xproj, w_hh, b_hh, h0)
        dx, dw, db, dh = [None] * steps, None, None, None
        for t in reversed(self.order(steps)):
            h, b, r, z, n = saved[t]
            dh = g[t] if dh is None else g[t] + dh
            dn = dh * (1 - z) * (1 - n * n)
            dz = dh * (h - n) * z * (1 - z)
            dr = dn * b[:, 2 * H:] * r * (1 - r)
            dx[t] = concatenate([dr, dz, dn], axis=1)
            dhproj = concatenate([dr, dz, dn * r], axis=1)
            dw = dhproj.T @ h if dw is None else dw + dhproj.T @ h
            db = dhproj.sum(axis=0) if db is None else db + dhproj.sum(axis=0)
            dh = dh * z + dhproj @ w_hh
        return stack(dx), dw, (db if b_hh is not None else None), dh
