"""Faster forms of the fused recurrences (RNN, GRU) and of ``BatchMajor``: arrays in place, reused memory.

The reference ops (:mod:`chainrule.ops.recurrent`) run the composed cell step by step with Tensor
operations. Here the forward loop writes into preallocated buffers, the backward loop fills the gate
gradients of all steps, and the recurrent weight's gradient is ONE matrix product over all steps:
``dW_hh = Σ_t dgates_tᵀ h_{t−1} = dgatesᵀ (T·N, G) @ h_prev (T·N, H)``. Each step's gate arithmetic
is a handful of in-place NumPy calls on (N, H) arrays, and the per-step product reuses a weight
packed once per sequence (:func:`chainrule.kernels.mkl.prepack`). The LSTM's forms are in
:mod:`chainrule.kernels.lstm`.
"""

from chainrule.autograd.seam import register
from chainrule.autograd.tensor import Tensor
from chainrule.backend import gemm
from chainrule.errors import ShapeError
from chainrule.kernels import workspace
from chainrule.kernels.mkl import prepack
from chainrule.ops.recurrent import BatchMajor, GRURecurrence, RNNRecurrence


def sigmoid_(xp, a):
    """σ(a) in place, as ½·tanh(½a) + ½: stable for any a and one transcendental call."""
    xp.multiply(a, 0.5, out=a)
    xp.tanh(a, out=a)
    xp.multiply(a, 0.5, out=a)
    xp.add(a, 0.5, out=a)
    return a


def recurrent_weight_layout(xp, w_hh):
    """W_hhᵀ (H, 4H) for the per-step products h_{t−1} W_hhᵀ, in the layout the BLAS in use runs fastest.

    MKL takes the transposed view as a transpose flag (of the product, or of :func:`prepack`, which
    packs it once per sequence), so the view saves a 1 MB transposing copy per sequence (~0.27 ms at
    H = 256). NumPy's OpenBLAS runs the same (N, H) @ (H, 4H) product ~20% slower on the view, 64
    times over: there the copy pays.
    """
    if getattr(xp, "__name__", "") == "numpy":
        from chainrule.kernels import mkl as blas

        if blas.active() == "mkl":
            return w_hh.T
    return xp.ascontiguousarray(w_hh.T)


def rnn_forward(op, xproj, w_hh, h0):
    xp = op.xp
    steps, batch, hidden = op.check(xproj, w_hh, h0)
    out = xp.empty((steps, batch, hidden), dtype=xproj.dtype)
    op.h_prev = xp.empty_like(out)
    h, w_t = h0, prepack(recurrent_weight_layout(xp, w_hh), batch)  # the same operand every step
    for t in op.order(steps):
        op.h_prev[t] = h
        h = out[t]
        w_t.matmul(op.h_prev[t], out=h)
        h += xproj[t]
        if op.nonlinearity == "tanh":
            xp.tanh(h, out=h)
        else:
            xp.maximum(h, 0, out=h)
    op.out = out
    return out


def rnn_backward(op, g):
    xp, out, (_, w_hh, _) = op.xp, op.out, op.inputs
    w_hh = w_hh._data if isinstance(w_hh, Tensor) else w_hh
    dpre = xp.empty_like(out)
    dh = xp.zeros_like(out[0])
    w_back = prepack(w_hh, len(dh))
    for t in reversed(op.order(len(out))):
        dh += g[t]
        if op.nonlinearity == "tanh":  # tanh' = 1 − h²
            xp.multiply(out[t], out[t], out=dpre[t])
            xp.subtract(1, dpre[t], out=dpre[t])
            dpre[t] *= dh
        else:
            xp.multiply(dh, out[t] > 0, out=dpre[t])
        w_back.matmul(dpre[t], out=dh)
    flat = dpre.reshape(-1, dpre.shape[2])
    return dpre, gemm(flat.T, op.h_prev.reshape(flat.shape)), dh


def gru_forward(op, xproj, w_hh, b_hh, h0):
    xp = op.xp
    steps, batch, hidden = op.check(xproj, w_hh, h0)
    H = hidden  # noqa: N806
    if b_hh is not None and tuple(b_hh.shape) != (3 * H,):
        raise ShapeError(f"{op.label}: bias_hh must have shape ({3 * H},), got {b_hh.shape}")
    out = xp.empty((steps, batch, hidden), dtype=xproj.dtype)
    acts = xp.empty(xproj.shape, dtype=xproj.dtype)  # r, z, n after their nonlinearities
    hproj = xp.empty_like(acts)  # h_{t−1} W_hhᵀ + b_hh
    h_prev = xp.empty_like(out)
    h, w_t = h0, prepack(recurrent_weight_layout(xp, w_hh), batch)  # the same operand every step
    for t in op.order(steps):
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
    op.acts, op.hproj, op.h_prev = acts, hproj, h_prev
    return out


def gru_backward(op, g):
    xp, acts, hproj, h_prev = op.xp, op.acts, op.hproj, op.h_prev
    w_hh = op.inputs[1]._data if isinstance(op.inputs[1], Tensor) else op.inputs[1]
    H = h_prev.shape[2]  # noqa: N806
    dx, dhproj = xp.empty_like(acts), xp.empty_like(acts)
    dh = xp.zeros_like(g[0])
    w_back = prepack(w_hh, len(dh))
    for t in reversed(op.order(len(acts))):
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
    db = None if op.inputs[2] is None else flat.sum(axis=0)
    return dx, dw, db, dh


def swap_leading_axes(source, out):
    """``out[a, b] = source[b, a]``: the first ``out.shape[1]`` steps of ``source`` with axes 0, 1 swapped."""
    out[...] = source[:out.shape[1]].swapaxes(0, 1)


def batch_major_forward(op, sequence):
    shape = (sequence.shape[1], op.steps) + sequence.shape[2:]
    out = workspace.reusable("recurrent_batch_major", shape, sequence.dtype, op.xp)
    swap_leading_axes(sequence, out)
    return out


def batch_major_backward(op, g):
    """The gradient written back in time-major order; only the rows past ``steps`` are zeroed."""
    source = op.inputs[0]
    data = source._data if isinstance(source, Tensor) else source
    grad = workspace.reusable("recurrent_batch_major_grad", data.shape, g.dtype, op.xp)
    swap_leading_axes(g, grad[:op.steps])
    grad[op.steps:] = 0
    return (grad,)


register(RNNRecurrence, forward=rnn_forward, vjp_arrays=rnn_backward)
register(GRURecurrence, forward=gru_forward, vjp_arrays=gru_backward)
register(BatchMajor, forward=batch_major_forward, vjp_arrays=batch_major_backward)
