"""A whole LSTM sequence at once on every core: the batch's rows split into parts, each part running
every time step, its recurrent products on the register tiles (float32).

The per-step form (:func:`chainrule.kernels.lstm.lstm_forward`) calls the BLAS for h_{t−1} W_hhᵀ at
every step, a (64, 256) @ (256, 1024) product of ~100 µs, and the compiled gate kernels between
them, on one core. The BLAS packs W_hh (1 MB) again at every call, and its second thread waits
while the gates run. The rows of a batch never meet in the recurrence, so here each part of the
rows runs the whole sequence on its own core: W_hhᵀ is packed into column panels once per sequence
(:func:`chainrule.kernels.compiled.tiles.pack_panels`), and each step is one tiled product
(:func:`~chainrule.kernels.compiled.tiles.panel_product`) and the same gate kernels, on the part's
rows. The parts are plain compiled functions that release the GIL, one call each, run at once on
chainrule's own threads (:mod:`chainrule.kernels.threads`): no waiting between steps, and no
``prange``, whose compilation took 4 s more per kernel on a cold cache.

Parts are whole blocks of the product tile's rows. The bias gradient is summed per block of rows and
the blocks added in order at the end, and each output row is computed by the same tile code
whatever part holds it: the results do not depend on the number of threads.

The products of the rest of the step must then not leave OpenBLAS's worker spinning on a core these
parts run on: :func:`chainrule.kernels.blas_route.parallel_kernels_run` (figures:
benchmarks/README.md). Tested equal to the per-step form (tests/kernels/test_lstm_sequence.py).
"""

import numba
import numpy

from chainrule.kernels.compiled import tiles
from chainrule.kernels.compiled.lstm import FASTMATH_FLAGS, gates_backward_kernel, gates_forward_kernel
from chainrule.kernels.compiled.tiles import FORWARD_ROWS, pack_panels, panel_product

ROWS = FORWARD_ROWS  # a part holds whole blocks of the tile's rows
WORTHWHILE = tiles.WORTHWHILE  # the tiles' own rule: not on x86 code for 16-byte vectors


@numba.njit(cache=True, nogil=True, fastmath=FASTMATH_FLAGS, error_model="numpy")
def _forward_part(acts, xproj, w_t, panels, bias, h0, c_prev, out, order, lo, hi):
    """Every step forward for rows lo … hi − 1 of the batch."""
    steps, batch, width = acts.shape
    hidden, rows = w_t.shape[0], hi - lo
    packed = numpy.empty(((rows + ROWS - 1) // ROWS) * ROWS * hidden, acts.dtype)
    shift = numpy.zeros(ROWS, acts.dtype)
    recurrent = numpy.empty((rows, width), acts.dtype)
    flat_acts, flat_out, flat_h0 = acts.reshape(-1), out.reshape(-1), h0.reshape(-1)
    flat_recurrent = recurrent.reshape(-1)
    for k in range(steps):
        t = order[k]
        # h_{t−1}: h0, or the output of the step before, in out's flat rows
        source, source_at = (flat_h0, lo) if k == 0 else (flat_out, order[k - 1] * batch + lo)
        if xproj is None:  # acts[t] holds x_t W_ihᵀ: the product goes beside it, the gates add
            panel_product(source, source_at, rows, hidden, panels, w_t, flat_recurrent, 0, packed, shift)
            other = recurrent
        else:  # the product goes into acts[t], the gates add xproj[t]
            panel_product(source, source_at, rows, hidden, panels, w_t, flat_acts, t * batch + lo, packed,
                          shift)
            other = xproj[t, lo:hi]
        # c_t goes into the slot where the next step reads it as c_prev; the last into out[steps]
        cell = c_prev[order[k + 1], lo:hi] if k + 1 < steps else out[steps, lo:hi]
        gates_forward_kernel(acts[t, lo:hi], other, bias, c_prev[t, lo:hi], cell, out[t, lo:hi])


@numba.njit(cache=True, nogil=True, fastmath=FASTMATH_FLAGS, error_model="numpy")
def _backward_part(dacts, w_hh, panels, c_prev, out, g, dh, dc, dbias_blocks, order, want_h0, lo, hi):
    """Every step back for rows lo … hi − 1 of the batch."""
    steps, batch, width = dacts.shape
    rows = hi - lo
    packed = numpy.empty(((rows + ROWS - 1) // ROWS) * ROWS * width, dacts.dtype)
    shift = numpy.zeros(ROWS, dacts.dtype)
    flat_dacts, flat_dh = dacts.reshape(-1), dh.reshape(-1)
    for k in range(steps - 1, -1, -1):
        t = order[k]
        cell = c_prev[order[k + 1]] if k + 1 < steps else out[steps]  # c_t, as the forward wrote it
        for first in range(lo, hi, ROWS):  # the bias gradient per block of rows, added in order after
            last = min(hi, first + ROWS)
            gates_backward_kernel(dacts[t, first:last], c_prev[t, first:last], cell[first:last],
                                  g[t, first:last], dh[first:last], dc[first:last],
                                  dbias_blocks[first // ROWS])
        if want_h0 or k > 0:  # dh ← da_t W_hh, the recurrent gradient for the step before
            panel_product(flat_dacts, t * batch + lo, rows, width, panels, w_hh, flat_dh, lo, packed, shift)


def _parts(batch, parts):
    """(lo, hi) rows of each part: whole blocks of the tile's rows, none empty."""
    blocks = (batch + ROWS - 1) // ROWS
    edges = [min(batch, part * blocks // parts * ROWS) for part in range(parts + 1)]
    return [(lo, hi) for lo, hi in zip(edges, edges[1:]) if hi > lo]


def forward_calls(acts, xproj, w_t, bias, h0, c0, c_prev, out, order, parts):
    """The forward of :func:`chainrule.kernels.lstm.lstm_forward` over all steps, as one call per part
    of the batch's rows, to run at once (:func:`chainrule.kernels.threads.run_at_once`): acts (T, N, 4H)
    holds x_t W_ihᵀ where xproj is None; w_t = W_hhᵀ (H, 4H), in any layout (it is packed here); the
    calls write acts (the activations), c_prev (T, N, H) and out (T + 1, N, H: h_t, then c_T).
    ``order`` the steps in the direction's order."""
    order = numpy.asarray(order, numpy.intp)
    panels = pack_panels(w_t)
    c_prev[order[0]] = c0
    return [(_forward_part, (acts, xproj, w_t, panels, bias, h0, c_prev, out, order, lo, hi))
            for lo, hi in _parts(acts.shape[1], parts)]


def backward_calls(dacts, w_hh, c_prev, out, g, dh, dc, order, want_h0, parts):
    """The backward loop of :func:`chainrule.kernels.lstm.lstm_backward`, as one call per part, and
    the (blocks, 4H) float64 partial sums of the bias gradient they fill: dacts (T, N, 4H) holds the
    activations before and the gate gradients after; dh, dc (N, H) as there. The bias gradient is
    the blocks' sum in order (:func:`bias_gradient`)."""
    batch, width = dacts.shape[1], dacts.shape[2]
    order = numpy.asarray(order, numpy.intp)
    panels = pack_panels(w_hh)
    dbias_blocks = numpy.zeros(((batch + ROWS - 1) // ROWS, width), numpy.float64)
    calls = [(_backward_part, (dacts, w_hh, panels, c_prev, out, g, dh, dc, dbias_blocks, order, want_h0,
                               lo, hi)) for lo, hi in _parts(batch, parts)]
    return calls, dbias_blocks


def bias_gradient(dbias_blocks):
    """The bias gradient (4H,), float64: the blocks' partial sums added in order, the same for any parts."""
    return dbias_blocks.sum(axis=0)
