"""A whole LSTM sequence in one parallel kernel: the batch's rows split between the cores, each part
running every time step, its recurrent products on the register tiles (float32).

The per-step form (:func:`chainrule.kernels.lstm.lstm_forward`) calls the BLAS for h_{t−1} W_hhᵀ at
every step, a (64, 256) @ (256, 1024) product of ~100 µs, and the compiled gate kernels between
them, on one core. The BLAS packs W_hh (1 MB) again at every call, and its second thread waits
while the gates run. The rows of a batch never meet in the recurrence, so here each part of the
rows runs the whole sequence on its own core: W_hhᵀ is packed into column panels once per sequence
(:func:`chainrule.kernels.compiled.tiles.pack_panels`), and each step is one tiled product
(:func:`~chainrule.kernels.compiled.tiles.panel_product`) and the same gate kernels, on the part's
rows. One parallel region per sequence, no waiting between steps.

Parts are whole blocks of the product tile's rows. The bias gradient is summed per block of rows and
the blocks added in order at the end, and each output row is computed by the same tile code
whatever part holds it: the results do not depend on the number of threads.

The products of the rest of the step must then not leave OpenBLAS's worker spinning on a core these
parts run on: :func:`chainrule.kernels.blas_route.parallel_kernels_run` (figures:
benchmarks/README.md). Tested equal to the per-step form (tests/kernels/test_lstm_kernels.py).
"""

import threading

import numba
import numpy
from numba import prange

from chainrule.kernels.compiled.lstm import _FLAGS, gates_backward_kernel, gates_forward_kernel
from chainrule.kernels.compiled.tiles import FORWARD_ROWS, pack_panels, panel_product

ROWS = FORWARD_ROWS  # a part holds whole blocks of the tile's rows


@numba.njit(cache=True, nogil=True)
def _part_rows(batch, parts, part):
    blocks = (batch + ROWS - 1) // ROWS
    return min(batch, part * blocks // parts * ROWS), min(batch, (part + 1) * blocks // parts * ROWS)


@numba.njit(cache=True, nogil=True, parallel=True, fastmath=_FLAGS, error_model="numpy")
def _forward(acts, xproj, w_t, bias, h0, c0, c_prev, out, order, parts):
    steps, batch, width = acts.shape
    hidden = w_t.shape[0]
    panels = pack_panels(w_t)
    c_prev[order[0]] = c0
    for part in prange(parts):
        lo, hi = _part_rows(batch, parts, part)
        rows = hi - lo
        if rows == 0:
            continue
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
                panel_product(source, source_at, rows, hidden, panels, w_t, flat_acts, t * batch + lo,
                              packed, shift)
                other = xproj[t, lo:hi]
            # c_t goes into the slot where the next step reads it as c_prev; the last into out[steps]
            cell = c_prev[order[k + 1], lo:hi] if k + 1 < steps else out[steps, lo:hi]
            gates_forward_kernel(acts[t, lo:hi], other, bias, c_prev[t, lo:hi], cell, out[t, lo:hi])


@numba.njit(cache=True, nogil=True, parallel=True, fastmath=_FLAGS, error_model="numpy")
def _backward(dacts, w_hh, c_prev, out, g, dh, dc, dbias_blocks, order, want_h0, parts):
    steps, batch, width = dacts.shape
    panels = pack_panels(w_hh)
    for part in prange(parts):
        lo, hi = _part_rows(batch, parts, part)
        rows = hi - lo
        if rows == 0:
            continue
        packed = numpy.empty(((rows + ROWS - 1) // ROWS) * ROWS * width, dacts.dtype)
        shift = numpy.zeros(ROWS, dacts.dtype)
        flat_dacts, flat_dh = dacts.reshape(-1), dh.reshape(-1)
        for k in range(steps - 1, -1, -1):
            t = order[k]
            cell = c_prev[order[k + 1]] if k + 1 < steps else out[steps]  # c_t, as the forward wrote it
            for first in range(lo, hi, ROWS):  # the bias gradient per block of rows, added in order below
                last = min(hi, first + ROWS)
                gates_backward_kernel(dacts[t, first:last], c_prev[t, first:last], cell[first:last],
                                      g[t, first:last], dh[first:last], dc[first:last],
                                      dbias_blocks[first // ROWS])
            if want_h0 or k > 0:  # dh ← da_t W_hh, the recurrent gradient for the step before
                panel_product(flat_dacts, t * batch + lo, rows, width, panels, w_hh, flat_dh, lo, packed,
                              shift)


# Numba's fallback threading layer (workqueue) aborts the process when two threads run parallel code
# at once: one call at a time (see conv_tiles).
_one_at_a_time = threading.Lock()


def sequence_forward(acts, xproj, w_t, bias, h0, c0, c_prev, out, order, parts):
    """The forward of :func:`chainrule.kernels.lstm.lstm_forward` over all steps: acts (T, N, 4H) holds
    x_t W_ihᵀ where xproj is None; w_t = W_hhᵀ (H, 4H) contiguous; writes acts (the activations),
    c_prev (T, N, H), out (T + 1, N, H: h_t, then c_T). ``order`` the steps in the direction's order."""
    with _one_at_a_time:
        _forward(acts, xproj, w_t, bias, h0, c0, c_prev, out, numpy.asarray(order, numpy.intp), parts)


def sequence_backward(dacts, w_hh, c_prev, out, g, dh, dc, order, want_h0, parts):
    """The backward loop of :func:`chainrule.kernels.lstm.lstm_backward`: dacts (T, N, 4H) holds the
    activations on entry and the gate gradients on exit; dh, dc (N, H) as there. Returns the bias
    gradient (4H,) in float64."""
    batch, width = dacts.shape[1], dacts.shape[2]
    dbias_blocks = numpy.zeros(((batch + ROWS - 1) // ROWS, width), numpy.float64)
    with _one_at_a_time:
        _backward(dacts, w_hh, c_prev, out, g, dh, dc, dbias_blocks, numpy.asarray(order, numpy.intp),
                  want_h0, parts)
    return dbias_blocks.sum(axis=0)  # NumPy's pairwise sum over the blocks, the same for any threads
