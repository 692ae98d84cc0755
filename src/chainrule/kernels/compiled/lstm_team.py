"""The LSTM's gate kernels with each step's rows shared out over MKL's OpenMP team.

The per-step kernels of :mod:`.lstm` run on one core while MKL's other threads spin,
waiting for the next product. Here each step's rows are split into one share per thread and the
shares run as one parallel region on MKL's own team (:mod:`.team`): the same kernel
code over a row range, so every row is computed exactly as by the one-thread kernel. The bias
gradient is summed per share (one float64 row per thread) and the shares are added in order at the
end, so it is the same from run to run, though not bit for bit the one-thread sum.

Each share also computes its own rows of the step's product where it can (``products``): in the
forward h_{t−1} W_hhᵀ added onto the projection just before its gates, in the backward
dh = da_t W_hh just after them, from W_hh packed once for a share's rows
(:meth:`chainrule.kernels.mkl.PackedRight.compute_routine`; MKL runs a call made inside a parallel
region on the calling thread). A share's rows then stay in its own core's caches from product to
gates, and a step is one parallel region instead of MKL's and ours.

The same split on a pool of its own (Numba's ``parallel=True``) measured slower than one thread,
because the two pools fought for the cores. Figures: benchmarks/README.md ("Figures behind the
kernels").

Each task reads its arguments from a table of 64-bit integers (array addresses, byte strides between
time steps, the step; see :mod:`.team_tasks`): the table is filled once per sequence,
and per step only the step's indices change, so a step costs one ``ctypes`` call beside the kernel.
"""

import numba
import numpy
from numba import carray

from chainrule.kernels.compiled import team
from chainrule.kernels.compiled.lstm import gates_backward_rows, gates_forward_rows
from chainrule.kernels.compiled.team_tasks import (
    TASK,
    SharedCall,
    address,
    finish,
    float32_at,
    float64_at,
    open_share,
    sgemm_compute_at,
)
from chainrule.kernels.mkl import PackedRight, gemm

# a step's activations (rows x 4H elements) below which one thread is faster than a parallel region
PARALLEL_FROM = 1 << 14

# Argument tables, after SharedCall's slots (2: the rows shared): 3 hidden. Forward: 4/5 activations base and
# step bytes, 6 bias, 7/8 c_prev base/step bytes, 9/10 hidden states base/step bytes, 11 final cell
# state, 12 the step t, 13 the step whose c_prev slot receives c_t (-1: the final cell state),
# 14 cblas_sgemm_compute (0: the caller multiplies), 15 packed W_hhᵀ, 16 h0, 17 the step before t
# (-1: h0).
_FORWARD_SLOTS = 18


@numba.cfunc(TASK, nopython=True, cache=True)
def _forward_task(global_id, thread, arguments):
    p, part, first, stop = open_share(arguments, _FORWARD_SLOTS, thread)
    if part < 0:
        return
    rows, hidden, t, following = p[2], p[3], p[12], p[13]
    acts = carray(float32_at(p[4] + t * p[5]), (rows, 4 * hidden))
    bias = carray(float32_at(p[6]), (4 * hidden,))
    c_prev = carray(float32_at(p[7] + t * p[8]), (rows, hidden))
    cell = carray(float32_at(p[11] if following < 0 else p[7] + following * p[8]), (rows, hidden))
    h = carray(float32_at(p[9] + t * p[10]), (rows, hidden))
    if p[14] != 0:  # this share's rows of h_{t−1} W_hhᵀ, added onto the projection: then its gates
        previous = p[16] if p[17] < 0 else p[9] + p[17] * p[10]
        sgemm_compute_at(p[14], stop - first, 4 * hidden, hidden, previous + first * hidden * 4, hidden,
                         p[15], p[4] + t * p[5] + first * 4 * hidden * 4, 4 * hidden, 1)
    gates_forward_rows(acts, None, bias, c_prev, cell, h, first, stop)
    finish(p, part)


# Backward: 4/5 activations (gradients on exit) base/step bytes, 6/7 c_prev base/step bytes, 8 final
# cell state, 9/10 output gradient base/step bytes, 11 dh, 12 dc, 13 bias gradient per share
# (parts x 4H float64), 14 the step t, 15 the step whose c_prev slot holds c_t (-1: final), 16
# cblas_sgemm_compute (0: the caller multiplies), 17 packed W_hh, 18 whether this step multiplies.
_BACKWARD_SLOTS = 19


@numba.cfunc(TASK, nopython=True, cache=True)
def _backward_task(global_id, thread, arguments):
    p, part, first, stop = open_share(arguments, _BACKWARD_SLOTS, thread)
    if part < 0:
        return
    rows, hidden, t, following = p[2], p[3], p[14], p[15]
    acts = carray(float32_at(p[4] + t * p[5]), (rows, 4 * hidden))
    c_prev = carray(float32_at(p[6] + t * p[7]), (rows, hidden))
    cell = carray(float32_at(p[8] if following < 0 else p[6] + following * p[7]), (rows, hidden))
    g_out = carray(float32_at(p[9] + t * p[10]), (rows, hidden))
    dh = carray(float32_at(p[11]), (rows, hidden))
    dc = carray(float32_at(p[12]), (rows, hidden))
    dbias = carray(float64_at(p[13] + part * 4 * hidden * 8), (4 * hidden,))
    gates_backward_rows(acts, c_prev, cell, g_out, dh, dc, dbias, first, stop)
    if p[16] != 0 and p[18] != 0:  # this share's rows of dh = da W_hh, for the step before
        sgemm_compute_at(p[16], stop - first, hidden, 4 * hidden, p[4] + t * p[5] + first * 4 * hidden * 4,
                         4 * hidden, p[17], p[11] + first * hidden * 4, hidden, 0)
    finish(p, part)


def _splittable(*arrays):
    return all(type(a) is numpy.ndarray and a.dtype == numpy.float32 and a.flags.c_contiguous
               for a in arrays)


class _Split(SharedCall):
    """One sequence's table; the subclasses' ``step`` runs one step's shares."""

    def __init__(self, task, slots, rows, hidden, parts, weight, routine_slot):
        super().__init__(task, slots, parts, rows)
        self.table[3], self.weight = hidden, weight
        # The weight packed for the largest share: each thread then multiplies its own rows right
        # before (forward) or after (backward) their gates, on data in its own core's caches.
        self.packed = PackedRight(weight, -(-rows // parts)) if weight is not None else None
        routine = None if self.packed is None else self.packed.compute_routine()
        self.products = routine is not None and weight.dtype == numpy.float32
        if self.products:
            self.table[routine_slot], self.table[routine_slot + 1] = routine


class ForwardSplit(_Split):
    """The forward gate kernel of every step of one sequence, split over the team; with ``products``,
    each thread also computes its rows of the step's product h_{t−1} W_hhᵀ (added onto acts[t])."""

    def __init__(self, acts, bias, c_prev, out, parts, weight=None, h0=None):
        usable = h0 is not None and _splittable(h0)
        super().__init__(_forward_task, _FORWARD_SLOTS, acts.shape[1], acts.shape[2] // 4, parts,
                         weight if usable else None, 14)
        self.arrays = acts, bias, c_prev, out, h0  # kept alive while the table holds their addresses
        table, steps = self.table, c_prev.shape[0]
        table[4], table[5] = address(acts), acts.strides[0]
        table[6] = address(bias)
        table[7], table[8] = address(c_prev), c_prev.strides[0]
        table[9], table[10] = address(out), out.strides[0]
        table[11] = address(out) + steps * out.strides[0]  # out[steps]: the final cell state
        if usable:
            table[16] = address(h0)

    def step(self, t, following, previous=-1):
        """Step t; ``following``: the step whose c_prev slot receives c_t (-1: the final cell state);
        ``previous``: the step before t, whose h is h_{t−1} (-1: h0), used with ``products``."""
        table = self.table
        table[12], table[13], table[17] = t, following, previous
        self.run(lambda first, stop, part: self.run_share(t, following, previous, first, stop))

    def run_share(self, t, following, previous, first, stop):
        acts, bias, c_prev, out, h0 = self.arrays
        if self.products:
            h = h0 if previous < 0 else out[previous]
            gemm(h[first:stop], self.weight, out=acts[t, first:stop], accumulate=True)
        cell = out[len(c_prev)] if following < 0 else c_prev[following]
        gates_forward_rows(acts[t], None, bias, c_prev[t], cell, out[t], first, stop)


class BackwardSplit(_Split):
    """The backward gate kernel of every step of one sequence, split over the team; with ``products``,
    each thread then computes its rows of dh = da_t W_hh for the step before."""

    def __init__(self, acts, c_prev, out, g, dh, dc, parts, weight=None):
        super().__init__(_backward_task, _BACKWARD_SLOTS, acts.shape[1], acts.shape[2] // 4, parts,
                         weight, 16)
        self.bias_parts = numpy.zeros((parts, acts.shape[2]))
        self.arrays = acts, c_prev, out, g, dh, dc, self.bias_parts
        table, steps = self.table, c_prev.shape[0]
        table[4], table[5] = address(acts), acts.strides[0]
        table[6], table[7] = address(c_prev), c_prev.strides[0]
        table[8] = address(out) + steps * out.strides[0]
        table[9], table[10] = address(g), g.strides[0]
        table[11], table[12] = address(dh), address(dc)
        table[13] = address(self.bias_parts)

    def step(self, t, following, multiply=True):
        """Step t (``following`` as in the forward); ``multiply``: also dh = da_t W_hh (``products``)."""
        table = self.table
        table[14], table[15], table[18] = t, following, multiply
        self.run(lambda first, stop, part: self.run_share(t, following, multiply, first, stop, part))

    def run_share(self, t, following, multiply, first, stop, part):
        acts, c_prev, out, g, dh, dc, bias_parts = self.arrays
        cell = out[len(c_prev)] if following < 0 else c_prev[following]
        gates_backward_rows(acts[t], c_prev[t], cell, g[t], dh, dc, bias_parts[part], first, stop)
        if self.products and multiply:
            gemm(acts[t, first:stop], self.weight, out=dh[first:stop])

    def bias_gradient(self):
        """Σ over all rows and steps of the pre-activation gradients: the shares added in order."""
        total = self.bias_parts[0].copy()
        for part_sum in self.bias_parts[1:]:
            total += part_sum
        return total


def _parts(acts):
    rows, width = acts.shape[1], acts.shape[2]
    if rows * width < PARALLEL_FROM:
        return 1
    return min(team.size(), rows)


def forward_split(acts, bias, c_prev, out, weight=None, h0=None):
    """A :class:`ForwardSplit` for these (T, N, 4H), (4H,), (T, N, H), (T + 1, N, H) arrays, or None
    where one thread is the better choice (no team, small steps, arrays the kernels do not take).
    With ``weight`` W_hhᵀ (H, 4H) and ``h0`` it also takes the per-step products where it can
    (``.products``); otherwise the caller computes them."""
    if not _splittable(acts, bias, c_prev, out):
        return None
    parts = _parts(acts)
    return ForwardSplit(acts, bias, c_prev, out, parts, weight, h0) if parts > 1 else None


def backward_split(acts, c_prev, out, g, dh, dc, weight=None):
    """A :class:`BackwardSplit` (g (T + 1, N, H), dh and dc (N, H); ``weight`` W_hh (4H, H) for the
    products dh = da W_hh), or None as for the forward."""
    if not _splittable(acts, c_prev, out, g, dh, dc):
        return None
    parts = _parts(acts)
    return BackwardSplit(acts, c_prev, out, g, dh, dc, parts, weight) if parts > 1 else None
