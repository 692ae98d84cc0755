"""Fused recurrences: a whole sequence of RNN, LSTM or GRU steps as one primitive.

Why one op per sequence (per layer and direction) and not one per step: with per-step graph nodes,
every step slices the precomputed input projection (whose adjoint scatters into a zero array of the
full sequence, T times over) and accumulates a fresh (4H, H) weight gradient, T times over. Here the
forward loop writes into preallocated buffers, the backward loop fills the gate gradients of all
steps, and the recurrent weight's gradient is ONE matrix product over all steps:
``dW_hh = Σ_t dgates_tᵀ h_{t−1} = dgatesᵀ (T·N, G) @ h_prev (T·N, H)``. Each step's gate arithmetic
is a handful of in-place NumPy calls on (N, H) arrays.

The input projection ``x W_ihᵀ + b`` of all steps is NOT part of the op: the layer computes it with
one matrix product over the whole sequence (T·N rows) and passes it in as ``xproj`` (T, N, G).

Two backward paths, tested equal:
- arrays only (fast), used when no graph is being recorded, which is the case inside a first-order
  ``backward()`` (the engine runs vjps under no-grad unless ``create_graph``);
- composed of Tensor operations (re-running the forward with Tensor ops and back-propagating by hand),
  used under ``create_graph=True`` so that gradients of gradients are right.
Forward mode (jvp) pushes tangents through the same composed forward.

``reverse=True`` runs the steps from t = T−1 down to 0 (the backward direction of a bidirectional
layer) while reading and writing every array in time order, so no flip is ever materialised.
"""

from chainrule import workspace
from chainrule.autograd.mode import is_grad_enabled
from chainrule.autograd.op import Op, needs_grad
from chainrule.autograd.tensor import Tensor
from chainrule.backend import gemm, gemm_accumulates, prepack
from chainrule.errors import ShapeError
from chainrule.ops.elementwise import relu, sigmoid, tanh
from chainrule.ops.reduce import sum as reduce_sum
from chainrule.ops.shape import concatenate, pad, reshape, stack, swapaxes


def sigmoid_(xp, a):
    """σ(a) in place, as ½·tanh(½a) + ½: stable for any a and one transcendental call."""
    xp.multiply(a, 0.5, out=a)
    xp.tanh(a, out=a)
    xp.multiply(a, 0.5, out=a)
    xp.add(a, 0.5, out=a)
    return a


def _as_tensor(x):
    return x if isinstance(x, Tensor) or x is None else Tensor._from_op(x)


class _Recurrence(Op):
    """Shared plumbing: step order, shape checks, the choice of backward path, forward mode."""

    gates = 1  # gate blocks of size H stacked in the projections

    def __init__(self, reverse=False):
        self.reverse = reverse

    def order(self, steps):
        return range(steps - 1, -1, -1) if self.reverse else range(steps)

    def check(self, xproj, w_hh, *states):
        if xproj.ndim != 3 or w_hh.ndim != 2 or xproj.shape[2] != w_hh.shape[0] \
                or w_hh.shape[0] != self.gates * w_hh.shape[1]:
            raise ShapeError(f"{self.name}: expects xproj (T, N, {self.gates}H) and weight_hh "
                             f"({self.gates}H, H), got {xproj.shape} and {w_hh.shape}")
        hidden_shape = (xproj.shape[1], w_hh.shape[1])
        for state in states:
            if tuple(state.shape) != hidden_shape:
                raise ShapeError(f"{self.name}: initial state must have shape (N, H) = {hidden_shape}, "
                                 f"got {tuple(state.shape)}")
        return xproj.shape[0], xproj.shape[1], w_hh.shape[1]

    def vjp(self, g):
        if is_grad_enabled():  # create_graph: every gradient must itself be differentiable
            return self.vjp_composed(g, *[_as_tensor(x) for x in self.inputs])
        return tuple(None if a is None else Tensor._from_op(a) for a in self.vjp_arrays(g.data))

    def jvp(self, *tangents):
        """Push the tangents through the composed forward (forward mode nests inside this rule)."""
        from chainrule.autograd.forward import jvp

        present = [k for k, x in enumerate(self.inputs) if x is not None]  # GRU's bias may be None
        primals = [_as_tensor(self.inputs[k]) for k in present]
        filled = [Tensor._from_op(self.xp.zeros_like(p.data)) if tangents[k] is None else tangents[k]
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

    def forward(self, xproj, w_hh, h0):
        xp = self.xp
        steps, batch, hidden = self.check(xproj, w_hh, h0)
        out = xp.empty((steps, batch, hidden), dtype=xproj.dtype)
        self.h_prev = xp.empty_like(out)
        h, w_t = h0, prepack(recurrent_weight_layout(xp, w_hh), batch)  # the same operand every step
        for t in self.order(steps):
            self.h_prev[t] = h
            h = out[t]
            w_t.matmul(self.h_prev[t], out=h)
            h += xproj[t]
            if self.nonlinearity == "tanh":
                xp.tanh(h, out=h)
            else:
                xp.maximum(h, 0, out=h)
        self.out = out
        return out

    def vjp_arrays(self, g):
        xp, out, (_, w_hh, _) = self.xp, self.out, self.inputs
        w_hh = w_hh.data if isinstance(w_hh, Tensor) else w_hh
        dpre = xp.empty_like(out)
        dh = xp.zeros_like(out[0])
        w_back = prepack(w_hh, len(dh))
        for t in reversed(self.order(len(out))):
            dh += g[t]
            if self.nonlinearity == "tanh":  # tanh' = 1 − h²
                xp.multiply(out[t], out[t], out=dpre[t])
                xp.subtract(1, dpre[t], out=dpre[t])
                dpre[t] *= dh
            else:
                xp.multiply(dh, out[t] > 0, out=dpre[t])
            w_back.matmul(dpre[t], out=dh)
        flat = dpre.reshape(-1, dpre.shape[2])
        return dpre, gemm(flat.T, self.h_prev.reshape(flat.shape)), dh

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
            slope = (1 - hs[t] * hs[t]) if self.nonlinearity == "tanh" else (hs[t].data > 0)
            dpre[t] = dh * slope
            term = dpre[t].T @ h_prev[t]
            dw = term if dw is None else dw + term
            dh = dpre[t] @ w_hh
        return stack(dpre), dw, dh


def compiled_lstm_gates(acts):
    """The compiled (forward, backward) gate kernels of :mod:`chainrule.fast.lstm`, or None.

    They apply to NumPy float32 arrays (their tanh is a float32 approximation) when Numba is installed
    and not switched off (``CHAINRULE_NO_NUMBA=1``); anything else runs :class:`NumpyLSTMGates`, the
    reference form.
    """
    from chainrule import fast

    lstm = fast.for_arrays("lstm", acts, dtypes="f")
    return None if lstm is None else (lstm.gates_forward_kernel, lstm.gates_backward_kernel)


def team_split(direction, *arrays):
    """The compiled gate kernel of every step split by rows over MKL's threads, or None.

    ``direction`` "forward" or "backward"; see :mod:`chainrule.fast.lstm_team`, which says where the
    split applies. Asked only where :func:`compiled_lstm_gates` gave kernels.
    """
    from chainrule import fast
    from chainrule.fast import team

    if team.size() < 2:  # checked first: without a team, importing the tasks would compile for nothing
        return None
    module = fast.load("lstm_team")
    return None if module is None else getattr(module, direction + "_split")(*arrays)


def recurrent_weight_layout(xp, w_hh):
    """W_hhᵀ (H, 4H) for the per-step products h_{t−1} W_hhᵀ, in the layout the BLAS in use runs fastest.

    MKL takes the transposed view as a transpose flag (of the product, or of :func:`prepack`, which
    packs it once per sequence), so the view saves a 1 MB transposing copy per sequence (~0.27 ms at
    H = 256). NumPy's OpenBLAS runs the same (N, H) @ (H, 4H) product ~20% slower on the view, 64
    times over: there the copy pays.
    """
    if getattr(xp, "__name__", "") == "numpy":
        from chainrule.fast import blas

        if blas.active() == "mkl":
            return w_hh.T
    return xp.ascontiguousarray(w_hh.T)


class NumpyLSTMGates:
    """The LSTM's gate arithmetic at one step as whole-array calls in place: the reference form.

    ``forward(a, xproj, bias, c_prev, c, h)``: on entry a (N, 4H) holds h_{t−1} W_hhᵀ (and x_t W_ihᵀ
    too when xproj is None); on exit the activations i, f, g, o of a + xproj + bias;
    c = f ⊙ c_prev + i ⊙ g and h = o ⊙ tanh(c) are written.
    ``backward(a, c_prev, c, g_out, dh, dc, dbias)``: with tanh(c) recomputed (cheaper than storing a
    (T, N, H) array of it and reading it back), dh += g_out (the output's gradient), then
    dc += dh ⊙ o ⊙ (1 − tanh²c), a ← da, the gradient of the pre-activations (in place: the
    activations are needed by nothing else), dbias += Σ_rows da (dbias is float64), and dc *= f for
    the step before. The compiled kernels
    (:mod:`chainrule.fast.lstm`) have the same signatures and effects.
    """

    def __init__(self, xp, hidden, dtype):
        self.xp, self.hidden = xp, hidden
        # One tanh over all four blocks: σ(a) = ½·tanh(½a) + ½ for i, f, o, so halve their columns
        # first. Whole contiguous rows cost fewer and faster calls than strided quarter-blocks.
        self.scale = xp.full(4 * hidden, 0.5, dtype=dtype)
        self.scale[2 * hidden:3 * hidden] = 1
        self.scratch = self.slope = None

    def forward(self, a, xproj, bias, c_prev, c, h):
        xp, H = self.xp, self.hidden  # noqa: N806 - the math's name
        if self.scratch is None or self.scratch.shape != c.shape:
            self.scratch = xp.empty_like(c)
        if xproj is not None:
            a += xproj
        a += bias
        a *= self.scale
        xp.tanh(a, out=a)
        for block in (a[:, :2 * H], a[:, 3 * H:]):
            block *= 0.5
            block += 0.5
        xp.multiply(a[:, H:2 * H], c_prev, out=c)
        xp.multiply(a[:, :H], a[:, 2 * H:3 * H], out=self.scratch)
        c += self.scratch
        xp.tanh(c, out=h)
        h *= a[:, 3 * H:]

    def backward(self, a, c_prev, c, g_out, dh, dc, dbias):
        xp, H = self.xp, self.hidden  # noqa: N806
        if self.slope is None or self.slope.shape != a.shape:
            self.slope, self.scratch, self.da = xp.empty_like(a), xp.empty_like(dc), xp.empty_like(a)
            self.tanh_c = xp.empty_like(dc)
        slope, tmp, da, tanh_c = self.slope, self.scratch, self.da, self.tanh_c
        xp.tanh(c, out=tanh_c)
        i, f, gg, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        dh += g_out
        # dc += dh ⊙ o ⊙ (1 − tanh²c)
        xp.multiply(tanh_c, tanh_c, out=tmp)
        xp.subtract(1, tmp, out=tmp)
        tmp *= o
        tmp *= dh
        dc += tmp
        # slopes: σ' = y − y² for i, f, o and tanh' = 1 − y² for g, from one full-row square
        xp.multiply(a, a, out=slope)
        for block in (slice(0, 2 * H), slice(3 * H, 4 * H)):
            xp.subtract(a[:, block], slope[:, block], out=slope[:, block])
        xp.subtract(1, slope[:, 2 * H:3 * H], out=slope[:, 2 * H:3 * H])
        # d(activations): di = dc ⊙ g, df = dc ⊙ c_prev, dg = dc ⊙ i, do = dh ⊙ tanh c
        xp.multiply(dc, gg, out=da[:, :H])
        xp.multiply(dc, c_prev, out=da[:, H:2 * H])
        xp.multiply(dc, i, out=da[:, 2 * H:3 * H])
        xp.multiply(dh, tanh_c, out=da[:, 3 * H:])
        da *= slope
        dbias += da.sum(axis=0)
        dc *= f  # f is a view of a: scale dc before a is overwritten
        a[...] = da


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

    def forward(self, xproj, w_hh, h0, c0, bias=None, w_ih=None):
        xp = self.xp
        if w_ih is not None:  # xproj is x: project it here, straight into the activations' buffer
            acts = self.project(xproj, w_ih, w_hh)
            xproj = None
        steps, batch, hidden = self.check(xproj if w_ih is None else acts, w_hh, h0, c0)
        dtype = acts.dtype if w_ih is not None else xproj.dtype
        if bias is None:
            bias = xp.zeros(4 * hidden, dtype=dtype)
        elif tuple(bias.shape) != (4 * hidden,):
            raise ShapeError(f"{self.name}: bias must have shape ({4 * hidden},), got {tuple(bias.shape)}")
        bias = xp.ascontiguousarray(bias, dtype=dtype)
        # Where the BLAS adds inside the product (MKL), h_{t−1} W_hhᵀ goes straight onto the
        # projection x_t W_ihᵀ already in the activations' buffer: the gates then read one (N, 4H)
        # stream instead of two (measured 16.1 -> 14.6 ms for a 64-step forward at N = 64, H = 256).
        accumulate = w_ih is not None and getattr(xp, "__name__", "") == "numpy" and gemm_accumulates()
        # The large arrays come from the workspace: the same memory step after step, once the graph
        # of the previous step has let go of it (no page faults on fresh memory; see chainrule.workspace).
        if w_ih is None:
            xproj = xp.ascontiguousarray(xproj)
            # i, f, g, o after their nonlinearities
            acts = workspace.reusable("lstm_activations", xproj.shape, dtype, xp)
        elif not accumulate:
            recurrent = workspace.reusable("lstm_recurrent", acts.shape[1:], dtype, xp)  # h_{t−1} W_hhᵀ
        out = workspace.reusable("lstm_output", (steps + 1, batch, hidden), dtype, xp)
        c_prev = workspace.reusable("lstm_cell_before", (steps, batch, hidden), dtype, xp)
        # c_prev[t] is c_{t−1} of step t; c_t is in the next step's slot
        kernels = compiled_lstm_gates(acts)
        gates = kernels[0] if kernels else NumpyLSTMGates(xp, hidden, dtype).forward
        w_t = recurrent_weight_layout(xp, w_hh)
        # The gate kernel on all of MKL's threads (where that applies), each taking a share of the
        # rows, and with them each share's rows of the step's product (split.products).
        split = team_split("forward", acts, bias, c_prev, out, w_t, h0) if kernels and accumulate else None
        if split is None or not split.products:
            w_t = prepack(w_t, batch)  # the same operand at every step
        order = list(self.order(steps))
        c_prev[order[0]] = c0
        h = h0
        for k, t in enumerate(order):
            following = order[k + 1] if k + 1 < steps else -1  # whose c_prev slot receives c_t
            if split is None or not split.products:
                # the gates add their two arguments, so either may be the one overwritten by activations
                if w_ih is None:
                    w_t.matmul(h, out=acts[t])
                    other = xproj[t]
                elif accumulate:
                    w_t.matmul(h, out=acts[t], accumulate=True)
                    other = None
                else:
                    other = w_t.matmul(h, out=recurrent)
            if split is not None:
                split.step(t, following, order[k - 1] if k > 0 else -1)
            else:  # c_t goes straight into the slot where the next step reads it as c_prev (no copies)
                cell = c_prev[following] if following >= 0 else out[steps]
                gates(acts[t], other, bias, c_prev[t], cell, out[t])
            h = out[t]
        self.acts, self.c_prev, self.out = acts, c_prev, out
        self.consumed = False  # the backward overwrites acts with the gate gradients
        return out

    def vjp_arrays(self, g):
        xp, acts, c_prev, out = self.xp, self.acts, self.c_prev, self.out
        w_hh, h0 = (x.data if isinstance(x, Tensor) else x for x in (self.inputs[1], self.inputs[2]))
        steps, H = len(acts), out.shape[2]  # noqa: N806
        g = xp.ascontiguousarray(g)
        kernels = compiled_lstm_gates(acts)
        gates = kernels[1] if kernels else NumpyLSTMGates(xp, H, acts.dtype).backward
        # The gate gradients overwrite the activations step by step (one (T, N, 4H) array fewer).
        # A second backward through a retained graph finds them gone and recomputes the forward.
        if self.consumed:
            self.forward(*(v.data if isinstance(v, Tensor) else v for v in self.inputs))
            acts, c_prev, out = self.acts, self.c_prev, self.out
        self.consumed = True
        dacts = acts
        dh = xp.zeros_like(g[0])
        dc = g[steps].copy()
        dbias = xp.zeros(4 * H, dtype=xp.float64)  # summed over T·N rows: accumulate in float64
        # the last product gives the gradient of h0: skip it when nobody asks for that (h0 = zeros)
        want_h0 = needs_grad(self.inputs[2])
        split = team_split("backward", dacts, c_prev, out, g, dh, dc, w_hh) if kernels else None
        w_hh_packed = None if split is not None and split.products else prepack(w_hh, len(dh))
        order = list(self.order(steps))
        for k in range(steps - 1, -1, -1):
            t = order[k]
            following = order[k + 1] if k + 1 < steps else -1  # whose c_prev slot holds c_t
            multiply = want_h0 or k > 0
            if split is not None:
                split.step(t, following, multiply)
            else:
                cell = c_prev[following] if following >= 0 else out[steps]  # c_t, as the forward wrote it
                gates(dacts[t], c_prev[t], cell, g[t], dh, dc, dbias)
            if multiply and w_hh_packed is not None:
                w_hh_packed.matmul(dacts[t], out=dh)
        if split is not None:
            dbias += split.bias_gradient()
        # dW_hh = Σ_t da_tᵀ h_{t−1}: h_{t−1} is the output of the neighbouring step (h0 at the start),
        # so one GEMM over the T − 1 inner steps and one small one for the first.
        first, inner, previous = (steps - 1, slice(0, steps - 1), slice(1, steps)) if self.reverse \
            else (0, slice(1, steps), slice(0, steps - 1))
        dw = None
        if needs_grad(self.inputs[1]):  # a frozen recurrent weight costs no GEMM
            dw = workspace.reusable("lstm_weight_hh_grad", (4 * H, H), acts.dtype, xp)
            gemm(dacts[inner].reshape(-1, 4 * H).T, out[previous].reshape(-1, H), out=dw)
            # the first step's term into reused memory: a fresh (4H, H) array page-faults every step
            term = workspace.scratch(xp, "lstm_weight_hh_grad_first", dw.size, dw.dtype).reshape(dw.shape)
            dw += gemm(dacts[first].T, h0, out=term)
        has_bias = len(self.inputs) > 4 and self.inputs[4] is not None
        grads = [dacts, dw, dh if want_h0 else None, dc, dbias.astype(acts.dtype) if has_bias else None]
        if len(self.inputs) > 5 and self.inputs[5] is not None:  # the op projected x itself
            x, w_ih = (v.data if isinstance(v, Tensor) else v for v in (self.inputs[0], self.inputs[5]))
            flat, dtype = dacts.reshape(-1, 4 * H), acts.dtype
            if needs_grad(self.inputs[0]):
                dx = workspace.reusable("lstm_input_grad", (flat.shape[0], w_ih.shape[1]), dtype, xp)
                grads[0] = gemm(flat, w_ih, out=dx).reshape(x.shape)
            else:
                grads[0] = None
            dw_ih = None
            if needs_grad(self.inputs[5]):
                dw_ih = workspace.reusable("lstm_weight_ih_grad", (4 * H, w_ih.shape[1]), dtype, xp)
                gemm(flat.T, x.reshape(flat.shape[0], -1), out=dw_ih)
            grads.append(dw_ih)
        return grads

    def project(self, x, w_ih, w_hh):
        """x W_ihᵀ for all steps as one GEMM over T·N rows -> (T, N, 4H), after checking shapes."""
        if x.ndim != 3 or w_ih.ndim != 2 or x.shape[2] != w_ih.shape[1] or w_ih.shape[0] != w_hh.shape[0]:
            raise ShapeError(f"{self.name}: expects x (T, N, in) and weight_ih (4H, in) with weight_hh "
                             f"(4H, H), got {x.shape}, {w_ih.shape} and {w_hh.shape}")
        dtype = self.xp.result_type(x.dtype, w_ih.dtype)
        acts = workspace.reusable("lstm_activations", x.shape[:2] + w_ih.shape[:1], dtype, self.xp)
        gemm(x.reshape(-1, x.shape[2]), w_ih.T, out=acts.reshape(-1, w_ih.shape[0]))
        return acts

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
            grads.append(flat.T @ reshape(xproj, (flat.shape[0], -1)))
        return grads


def swap_leading_axes(source, out):
    """``out[a, b] = source[b, a]``: the first ``out.shape[1]`` steps of ``source`` with axes 0, 1 swapped.

    Shared over MKL's threads where that applies (:func:`chainrule.fast.layout.team_swap`), else one
    NumPy copy; the bytes are the same.
    """
    from chainrule import fast
    from chainrule.fast import team

    layout = fast.for_arrays("layout", source, out) if team.size() > 1 else None
    if layout is None or not layout.team_swap(source, out):
        out[...] = source[:out.shape[1]].swapaxes(0, 1)


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
        shape = (sequence.shape[1], self.steps) + sequence.shape[2:]
        out = workspace.reusable("recurrent_batch_major", shape, sequence.dtype, self.xp)
        swap_leading_axes(sequence, out)
        return out

    def vjp(self, g):
        source = self.inputs[0]
        extra = source.shape[0] - self.steps
        if is_grad_enabled():  # create_graph: composed of differentiable operations
            back = swapaxes(g, 0, 1)
            return (pad(back, [(0, extra)] + [(0, 0)] * (back.ndim - 1)) if extra else back,)
        data = source.data if isinstance(source, Tensor) else source
        grad = workspace.reusable("recurrent_batch_major_grad", data.shape, g.dtype, self.xp)
        swap_leading_axes(g.data, grad[:self.steps])
        grad[self.steps:] = 0
        return (Tensor._from_op(grad),)

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

    def forward(self, xproj, w_hh, b_hh, h0):
        xp = self.xp
        steps, batch, hidden = self.check(xproj, w_hh, h0)
        H = hidden  # noqa: N806
        if b_hh is not None and tuple(b_hh.shape) != (3 * H,):
            raise ShapeError(f"{self.name}: bias_hh must have shape ({3 * H},), got {b_hh.shape}")
        out = xp.empty((steps, batch, hidden), dtype=xproj.dtype)
        acts = xp.empty(xproj.shape, dtype=xproj.dtype)  # r, z, n after their nonlinearities
        hproj = xp.empty_like(acts)  # h_{t−1} W_hhᵀ + b_hh
        h_prev = xp.empty_like(out)
        h, w_t = h0, prepack(recurrent_weight_layout(xp, w_hh), batch)  # the same operand every step
        for t in self.order(steps):
            h_prev[t] = h
            a, b = acts[t], hproj[t]
            w_t.matmul(h_prev[t], out=b)
            if b_hh is not None:
                b += b_hh
            xp.add(xproj[t, :, :2 * H], b[:, :2 * H], out=a[:, :2 * H])
            sigmoid_(xp, a[:, :2 * H])
            n = a[:, 2 * H:]
            xp.multiply(a[:, :H], b[:, 2 * H:], out=n)
            n += xproj[t, :, 2 * H:]
            xp.tanh(n, out=n)
            h = out[t]
            xp.subtract(h_prev[t], n, out=h)  # h = n + z ⊙ (h_prev − n)
            h *= a[:, H:2 * H]
            h += n
        self.acts, self.hproj, self.h_prev = acts, hproj, h_prev
        return out

    def vjp_arrays(self, g):
        xp, acts, hproj, h_prev = self.xp, self.acts, self.hproj, self.h_prev
        w_hh = self.inputs[1].data if isinstance(self.inputs[1], Tensor) else self.inputs[1]
        H = h_prev.shape[2]  # noqa: N806
        dx, dhproj = xp.empty_like(acts), xp.empty_like(acts)
        dh = xp.zeros_like(g[0])
        w_back = prepack(w_hh, len(dh))
        for t in reversed(self.order(len(acts))):
            r, z, n = acts[t, :, :H], acts[t, :, H:2 * H], acts[t, :, 2 * H:]
            dr, dz, dn = dx[t, :, :H], dx[t, :, H:2 * H], dx[t, :, 2 * H:]
            dh += g[t]
            # dn_pre = dh ⊙ (1 − z) ⊙ (1 − n²)
            xp.multiply(n, n, out=dn)
            xp.subtract(1, dn, out=dn)
            dn *= dh
            dn -= dn * z
            # dz_pre = dh ⊙ (h_prev − n) ⊙ z(1 − z)
            xp.subtract(h_prev[t], n, out=dz)
            dz *= dh
            dz *= z
            dz -= dz * z
            # d(b_n) = dn_pre ⊙ r;  dr_pre = dn_pre ⊙ b_n ⊙ r(1 − r)
            xp.multiply(dn, r, out=dhproj[t, :, 2 * H:])
            xp.multiply(dn, hproj[t, :, 2 * H:], out=dr)
            dr *= r
            dr -= dr * r
            dhproj[t, :, :2 * H] = dx[t, :, :2 * H]
            dh *= z
            dh += w_back.matmul(dhproj[t])
        flat = dhproj.reshape(-1, acts.shape[2])
        dw = gemm(flat.T, h_prev.reshape(-1, H))
        db = None if self.inputs[2] is None else flat.sum(axis=0)
        return dx, dw, db, dh

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
