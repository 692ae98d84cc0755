"""The LSTM's fused sequence: preallocated, reused buffers, one tanh over all four gates, Numba gates.

The reference (:class:`chainrule.ops.recurrent.LSTMRecurrence`) runs the composed cell with Tensor
operations. Here a whole sequence is one forward loop into buffers reused from step to step
(:mod:`chainrule.kernels.workspace`) and one backward loop that overwrites the activations with the
gate gradients; the gate arithmetic of a step is :class:`NumpyLSTMGates` (NumPy, in place) or the
compiled kernels of :mod:`chainrule.kernels.compiled.lstm` (Numba, float32).

With ``weight_ih`` given, the op projects x itself in ONE product over all T·N rows, straight into
the buffer that then holds the activations, and where the BLAS adds inside the product (MKL),
h_{t−1} W_hhᵀ goes straight onto it.

Where the products make way for other threads (NumPy's OpenBLAS, :func:`sequence_kernels`), each loop
over the steps is instead :mod:`chainrule.kernels.compiled.lstm_sequence`: one call per part of the
batch's rows, the parts at once on chainrule's threads, every step's recurrent product on register
tiles.
"""

from chainrule.autograd.op import needs_grad
from chainrule.autograd.seam import register
from chainrule.autograd.tensor import Tensor
from chainrule.backend import gemm
from chainrule.errors import ShapeError
from chainrule.kernels import blas_route, compiled, threads, workspace
from chainrule.kernels.mkl import gemm_accumulates, prepack
from chainrule.kernels.recurrent import recurrent_weight_layout
from chainrule.ops.recurrent import LSTMRecurrence

# The sequence form packs W_hh once per sequence and multiplies whole blocks of 8 rows: it pays from
# about 8 steps of 4 sequences on, not for one sequence sampled a character at a time nor for a few
# steps (measured: benchmarks/README.md)
SEQUENCE_MIN_STEPS, SEQUENCE_MIN_BATCH = 8, 4


def sequence_kernels(steps, batch, *arrays):
    """:mod:`chainrule.kernels.compiled.lstm_sequence` where it applies, else None: at least
    SEQUENCE_MIN_STEPS steps of SEQUENCE_MIN_BATCH sequences, NumPy float32 arrays, tiles worth
    running on this CPU, and products that make way for the parts' threads
    (:func:`chainrule.kernels.blas_route.products_make_way`; MKL keeps its packed per-step products,
    its OpenMP workers spinning beside any other threads for ``KMP_BLOCKTIME``)."""
    if steps < SEQUENCE_MIN_STEPS or batch < SEQUENCE_MIN_BATCH:
        return None
    if not blas_route.products_make_way() or compiled.for_arrays("lstm", *arrays, dtypes="f") is None:
        return None  # (the sequence runs the gate kernels of compiled.lstm)
    sequence = compiled.for_arrays("lstm_sequence", *arrays, dtypes="f")
    return sequence if sequence is not None and sequence.WORTHWHILE else None


def compiled_lstm_gates(acts):
    """The compiled (forward, backward) gate kernels of :mod:`chainrule.kernels.compiled.lstm`, or None.

    They apply to NumPy float32 arrays (their tanh is a float32 approximation) when Numba is installed
    and not switched off (``CHAINRULE_NO_NUMBA=1``); anything else runs :class:`NumpyLSTMGates`, the
    reference form.
    """
    from chainrule.kernels import compiled as fast

    lstm = fast.for_arrays("lstm", acts, dtypes="f")
    return None if lstm is None else (lstm.gates_forward_kernel, lstm.gates_backward_kernel)


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
    (:mod:`chainrule.kernels.compiled.lstm`) have the same signatures and effects.

    Every (N, 4H) operation runs on whole rows against full (N, 4H) operands: a quarter-row block of
    a is a strided view, which NumPy walks row by row at about twice the cost per element, and a
    (4H,) vector broadcast down the rows costs about as much (figures: benchmarks/README.md).
    One object serves one sequence: the bias is expanded to whole rows when a new bias array comes,
    so a bias changed in place between two calls on the same object would not be seen.
    """

    def __init__(self, xp, hidden, dtype):
        self.xp, self.hidden, self.dtype = xp, hidden, dtype
        self.rows = self.bias = None

    def _prepare(self, rows, bias=None):
        """The per-column constants as full (rows, 4H) arrays, made once per sequence."""
        xp, H = self.xp, self.hidden  # noqa: N806 - the math's name
        if self.rows != rows:
            self.rows = rows
            # One tanh over all four blocks: σ(a) = ½·tanh(½a) + ½ for i, f, o, so halve their columns
            # first, and after the tanh scale by ½ and shift by ½ (g: by 1 and 0).
            half = xp.full((rows, 4 * H), 0.5, dtype=self.dtype)
            half[:, 2 * H:3 * H] = 1
            shift = half.copy()
            shift[:, 2 * H:3 * H] = 0
            self.half, self.shift = half, shift
            self.bias_rows = xp.empty((rows, 4 * H), dtype=self.dtype)
            self.scratch = xp.empty((rows, H), dtype=self.dtype)
            self.tanh_c = xp.empty((rows, H), dtype=self.dtype)
            self.slope = self.da = None
        if bias is not None and bias is not self.bias:
            self.bias = bias
            self.bias_rows[...] = bias

    def forward(self, a, xproj, bias, c_prev, c, h):
        xp, H = self.xp, self.hidden  # noqa: N806
        self._prepare(len(a), bias)
        if xproj is not None:
            a += xproj
        a += self.bias_rows
        a *= self.half
        xp.tanh(a, out=a)
        a *= self.half
        a += self.shift
        xp.multiply(a[:, H:2 * H], c_prev, out=c)
        xp.multiply(a[:, :H], a[:, 2 * H:3 * H], out=self.scratch)
        c += self.scratch
        xp.tanh(c, out=h)
        h *= a[:, 3 * H:]

    def backward(self, a, c_prev, c, g_out, dh, dc, dbias):
        xp, H = self.xp, self.hidden  # noqa: N806
        self._prepare(len(a))
        if self.slope is None:
            self.slope, self.da, self.ones = xp.empty_like(a), xp.empty_like(a), xp.ones(len(a), a.dtype)
        slope, da, tmp, tanh_c = self.slope, self.da, self.scratch, self.tanh_c
        xp.tanh(c, out=tanh_c)
        i, f, gg, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        dh += g_out
        # dc += dh ⊙ o ⊙ (1 − tanh²c)
        xp.multiply(tanh_c, tanh_c, out=tmp)
        xp.subtract(1, tmp, out=tmp)
        tmp *= o
        tmp *= dh
        dc += tmp
        # slopes over whole rows: σ' = y(1 − y) for i, f, o; tanh' = 1 − y² = y(1 − y) + (1 − y) for g
        xp.subtract(1, a, out=da)
        xp.multiply(da, a, out=slope)
        slope[:, 2 * H:3 * H] += da[:, 2 * H:3 * H]
        # d(activations): di = dc ⊙ g, df = dc ⊙ c_prev, dg = dc ⊙ i, do = dh ⊙ tanh c
        xp.multiply(dc, gg, out=da[:, :H])
        xp.multiply(dc, c_prev, out=da[:, H:2 * H])
        xp.multiply(dc, i, out=da[:, 2 * H:3 * H])
        xp.multiply(dh, tanh_c, out=da[:, 3 * H:])
        dc *= f  # f is a view of a: scale dc before a is overwritten
        xp.multiply(da, slope, out=a)
        dbias += xp.matmul(self.ones, a)  # the row sum as one product: fewer passes than sum(axis=0)


def lstm_forward(op, xproj, w_hh, h0, c0, bias=None, w_ih=None):
    xp = op.xp
    if w_ih is not None:  # xproj is x: project it here, straight into the activations' buffer
        acts = _project(op, xproj, w_ih, w_hh)
        xproj = None
    steps, batch, hidden = op.check(xproj if w_ih is None else acts, w_hh, h0, c0)
    dtype = acts.dtype if w_ih is not None else xproj.dtype
    if bias is None:
        bias = xp.zeros(4 * hidden, dtype=dtype)
    elif tuple(bias.shape) != (4 * hidden,):
        raise ShapeError(f"{op.label}: bias must have shape ({4 * hidden},), got {tuple(bias.shape)}")
    bias = xp.ascontiguousarray(bias, dtype=dtype)
    # Where the BLAS adds inside the product (MKL), h_{t−1} W_hhᵀ goes straight onto the
    # projection x_t W_ihᵀ already in the activations' buffer: the gates then read one (N, 4H)
    # stream instead of two (measured 16.1 -> 14.6 ms for a 64-step forward at N = 64, H = 256).
    accumulate = w_ih is not None and getattr(xp, "__name__", "") == "numpy" and gemm_accumulates()
    # The large arrays come from the workspace: the same memory step after step, once the graph
    # of the previous step has let go of it (no page faults on fresh memory; see chainrule.kernels.workspace).
    if w_ih is None:
        xproj = xp.ascontiguousarray(xproj)
        # i, f, g, o after their nonlinearities
        acts = workspace.reusable("lstm_activations", xproj.shape, dtype, xp)
    out = workspace.reusable("lstm_output", (steps + 1, batch, hidden), dtype, xp)
    c_prev = workspace.reusable("lstm_cell_before", (steps, batch, hidden), dtype, xp)
    sequence = sequence_kernels(steps, batch, acts, w_hh, h0, c0, *(() if xproj is None else (xproj,)))
    if sequence is not None:  # every step at once on each part of the batch's rows, the parts side by side
        blas_route.parallel_kernels_run()
        h0, c0 = (xp.ascontiguousarray(v, dtype=dtype) for v in (h0, c0))
        # W_hhᵀ as a view: the panels are packed from it directly (a transposed copy first took 2x longer)
        threads.run_at_once(sequence.forward_calls(acts, xproj, w_hh.T, bias, h0, c0, c_prev, out,
                                                   list(op.order(steps)), blas_route.thread_count()))
        op.acts, op.c_prev, op.out, op.consumed = acts, c_prev, out, False
        return out
    if w_ih is not None and not accumulate:
        recurrent = workspace.reusable("lstm_recurrent", acts.shape[1:], dtype, xp)  # h_{t−1} W_hhᵀ
    # c_prev[t] is c_{t−1} of step t; c_t is in the next step's slot
    kernels = compiled_lstm_gates(acts)
    gates = kernels[0] if kernels else NumpyLSTMGates(xp, hidden, dtype).forward
    w_t = prepack(recurrent_weight_layout(xp, w_hh), batch)  # the same operand at every step
    order = list(op.order(steps))
    c_prev[order[0]] = c0
    h = h0
    for k, t in enumerate(order):
        following = order[k + 1] if k + 1 < steps else -1  # whose c_prev slot receives c_t
        # the gates add their two arguments, so either may be the one overwritten by activations
        if w_ih is None:
            w_t.matmul(h, out=acts[t])
            other = xproj[t]
        elif accumulate:
            w_t.matmul(h, out=acts[t], accumulate=True)
            other = None
        else:
            other = w_t.matmul(h, out=recurrent)
        # c_t goes straight into the slot where the next step reads it as c_prev (no copies)
        cell = c_prev[following] if following >= 0 else out[steps]
        gates(acts[t], other, bias, c_prev[t], cell, out[t])
        h = out[t]
    op.acts, op.c_prev, op.out = acts, c_prev, out
    op.consumed = False  # the backward overwrites acts with the gate gradients
    return out


def lstm_backward(op, g):
    xp, acts, c_prev, out = op.xp, op.acts, op.c_prev, op.out
    w_hh, h0 = (x._data if isinstance(x, Tensor) else x for x in (op.inputs[1], op.inputs[2]))
    steps, H = len(acts), out.shape[2]  # noqa: N806
    g = xp.ascontiguousarray(g)
    kernels = compiled_lstm_gates(acts)
    gates = kernels[1] if kernels else NumpyLSTMGates(xp, H, acts.dtype).backward
    # The gate gradients overwrite the activations step by step (one (T, N, 4H) array fewer).
    # A second backward through a retained graph finds them gone and recomputes the forward.
    if op.consumed:
        lstm_forward(op, *(v._data if isinstance(v, Tensor) else v for v in op.inputs))
        acts, c_prev, out = op.acts, op.c_prev, op.out
    op.consumed = True
    dacts = acts
    dh = xp.zeros_like(g[0])
    dc = g[steps].copy()
    sequence = sequence_kernels(steps, g.shape[1], acts, w_hh, g)
    if sequence is not None:
        blas_route.parallel_kernels_run()
        calls, dbias_blocks = sequence.backward_calls(acts, xp.ascontiguousarray(w_hh), c_prev, out, g, dh,
                                                      dc, list(op.order(steps)), needs_grad(op.inputs[2]),
                                                      blas_route.thread_count())
        threads.run_at_once(calls)
        return _parameter_grads(op, acts, out, dh, dc, sequence.bias_gradient(dbias_blocks), h0)
    dbias = xp.zeros(4 * H, dtype=xp.float64)  # summed over T·N rows: accumulate in float64
    # the last product gives the gradient of h0: skip it when nobody asks for that (h0 = zeros)
    want_h0 = needs_grad(op.inputs[2])
    w_hh_packed = prepack(w_hh, len(dh))
    order = list(op.order(steps))
    for k in range(steps - 1, -1, -1):
        t = order[k]
        following = order[k + 1] if k + 1 < steps else -1  # whose c_prev slot holds c_t
        cell = c_prev[following] if following >= 0 else out[steps]  # c_t, as the forward wrote it
        gates(dacts[t], c_prev[t], cell, g[t], dh, dc, dbias)
        if want_h0 or k > 0:
            w_hh_packed.matmul(dacts[t], out=dh)
    return _parameter_grads(op, dacts, out, dh, dc, dbias, h0)


def _parameter_grads(op, dacts, out, dh, dc, dbias, h0):
    """The op's gradients once the loop back through the steps has left the gate gradients in dacts,
    dh (of h0) and dc (of c0): the weights' as products over all steps at once."""
    xp, steps, H = op.xp, len(dacts), out.shape[2]  # noqa: N806
    acts, want_h0 = dacts, needs_grad(op.inputs[2])
    # dW_hh = Σ_t da_tᵀ h_{t−1}: h_{t−1} is the output of the neighbouring step (h0 at the start),
    # so one GEMM over the T − 1 inner steps and one small one for the first.
    first, inner, previous = (steps - 1, slice(0, steps - 1), slice(1, steps)) if op.reverse \
        else (0, slice(1, steps), slice(0, steps - 1))
    dw = None
    if needs_grad(op.inputs[1]):  # a frozen recurrent weight costs no GEMM
        dw = workspace.reusable("lstm_weight_hh_grad", (4 * H, H), acts.dtype, xp)
        gemm(dacts[inner].reshape(-1, 4 * H).T, out[previous].reshape(-1, H), out=dw)
        # the first step's term into reused memory: a fresh (4H, H) array page-faults every step
        term = workspace.scratch(xp, "lstm_weight_hh_grad_first", dw.size, dw.dtype).reshape(dw.shape)
        dw += gemm(dacts[first].T, h0, out=term)
    has_bias = len(op.inputs) > 4 and op.inputs[4] is not None
    grads = [dacts, dw, dh if want_h0 else None, dc, dbias.astype(acts.dtype) if has_bias else None]
    if len(op.inputs) > 5 and op.inputs[5] is not None:  # the op projected x itself
        x, w_ih = (v._data if isinstance(v, Tensor) else v for v in (op.inputs[0], op.inputs[5]))
        flat, dtype = dacts.reshape(-1, 4 * H), acts.dtype
        if needs_grad(op.inputs[0]):
            dx = workspace.reusable("lstm_input_grad", (flat.shape[0], w_ih.shape[1]), dtype, xp)
            grads[0] = gemm(flat, w_ih, out=dx).reshape(x.shape)
        else:
            grads[0] = None
        dw_ih = None
        if needs_grad(op.inputs[5]):
            dw_ih = workspace.reusable("lstm_weight_ih_grad", (4 * H, w_ih.shape[1]), dtype, xp)
            gemm(flat.T, x.reshape(flat.shape[0], x.shape[2]), out=dw_ih)  # not -1: the batch may be empty
        grads.append(dw_ih)
    return grads


def _project(op, x, w_ih, w_hh):
    """x W_ihᵀ for all steps as one GEMM over T·N rows -> (T, N, 4H), after checking shapes."""
    if x.ndim != 3 or w_ih.ndim != 2 or x.shape[2] != w_ih.shape[1] or w_ih.shape[0] != w_hh.shape[0]:
        raise ShapeError(f"{op.label}: expects x (T, N, in) and weight_ih (4H, in) with weight_hh "
                         f"(4H, H), got {x.shape}, {w_ih.shape} and {w_hh.shape}")
    dtype = op.xp.result_type(x.dtype, w_ih.dtype)
    acts = workspace.reusable("lstm_activations", x.shape[:2] + w_ih.shape[:1], dtype, op.xp)
    gemm(x.reshape(-1, x.shape[2]), w_ih.T, out=acts.reshape(-1, w_ih.shape[0]))
    return acts


register(LSTMRecurrence, forward=lstm_forward, vjp_arrays=lstm_backward)
