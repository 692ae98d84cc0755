"""The LSTM's gate kernels with each step's rows shared out over MKL's OpenMP team.

The per-step kernels of :mod:`chainrule.fast.lstm` run on one core while MKL's other threads spin,
waiting for the next product. Here each step's rows are split into one share per thread and the
shares run as one parallel region on MKL's own team (:mod:`chainrule.fast.team`): the same kernel
code over a row range, so every row is computed exactly as by the one-thread kernel. The bias
gradient is summed per share (one float64 row per thread) and the shares are added in order at the
end, so it is the same from run to run, though not bit for bit the one-thread sum.

Measured at N = 64, H = 256 on 2 cores, a 64-step forward loop of MKL products and gate kernels:
9.1 -> 8.0 ms (the gate kernels 2.55 -> 1.5 ms). The same split on a pool of its own (Numba's
``parallel=True``) measured slower than one thread, because the two pools fought for the cores.

Each task reads its arguments from a table of 64-bit integers (array addresses, byte strides between
time steps, the step; see :mod:`chainrule.fast.team_tasks`): the table is filled once per sequence,
and per step only the step's two indices change, so a step costs one ``ctypes`` call beside the
kernel.
"""

import numba
import numpy
from numba import carray

from chainrule.fast import team
from chainrule.fast.lstm import gates_backward_rows, gates_forward_rows
from chainrule.fast.team_tasks import TASK, SharedCall, address, finish, float32_at, float64_at, share

# a step's activations (rows x 4H elements) below which one thread is faster than a parallel region
PARALLEL_FROM = 1 << 14

# Argument tables, after SharedCall's two slots: 2 rows, 3 hidden. Forward: 4/5 activations base and
# step bytes, 6 bias, 7/8 c_prev base/step bytes, 9/10 hidden states base/step bytes, 11 final cell
# state, 12 the step t, 13 the step whose c_prev slot receives c_t (-1: the final cell state).
_FORWARD_SLOTS = 14


@numba.cfunc(TASK, nopython=True, cache=True)
def _forward_task(global_id, thread, arguments):
    p = carray(arguments, (_FORWARD_SLOTS,), dtype=numpy.int64)
    part, parts = numpy.int64(thread[0]), p[0]
    if part >= parts:
        return
    rows, hidden, t, following = p[2], p[3], p[12], p[13]
    acts = carray(float32_at(p[4] + t * p[5]), (rows, 4 * hidden))
    bias = carray(float32_at(p[6]), (4 * hidden,))
    c_prev = carray(float32_at(p[7] + t * p[8]), (rows, hidden))
    cell = carray(float32_at(p[11] if following < 0 else p[7] + following * p[8]), (rows, hidden))
    h = carray(float32_at(p[9] + t * p[10]), (rows, hidden))
    first, stop = share(rows, parts, part)
    gates_forward_rows(acts, None, bias, c_prev, cell, h, first, stop)
    finish(p, part)


# Backward: 4/5 activations (gradients on exit) base/step bytes, 6/7 c_prev base/step bytes, 8 final
# cell state, 9/10 output gradient base/step bytes, 11 dh, 12 dc, 13 bias gradient per share
# (parts x 4H float64), 14 the step t, 15 the step whose c_prev slot holds c_t (-1: final).
_BACKWARD_SLOTS = 16


@numba.cfunc(TASK, nopython=True, cache=True)
def _backward_task(global_id, thread, arguments):
    p = carray(arguments, (_BACKWARD_SLOTS,), dtype=numpy.int64)
    part, parts = numpy.int64(thread[0]), p[0]
    if part >= parts:
        return
    rows, hidden, t, following = p[2], p[3], p[14], p[15]
    acts = carray(float32_at(p[4] + t * p[5]), (rows, 4 * hidden))
    c_prev = carray(float32_at(p[6] + t * p[7]), (rows, hidden))
    cell = carray(float32_at(p[8] if following < 0 else p[6] + following * p[7]), (rows, hidden))
    g_out = carray(float32_at(p[9] + t * p[10]), (rows, hidden))
    dh = carray(float32_at(p[11]), (rows, hidden))
    dc = carray(float32_at(p[12]), (rows, hidden))
    dbias = carray(float64_at(p[13] + part * 4 * hidden * 8), (4 * hidden,))
    first, stop = share(rows, parts, part)
    gates_backward_rows(acts, c_prev, cell, g_out, dh, dc, dbias, first, stop)
    finish(p, part)


def _splittable(*arrays):
    return all(type(a) is numpy.ndarray and a.dtype == numpy.float32 and a.flags.c_contiguous
               for a in arrays)


class _Split(SharedCall):
    """One sequence's table: ``step(t, following)`` runs one step's shares."""

    def __init__(self, task, slots, rows, hidden, parts, step_slot):
        super().__init__(task, slots, parts)
        self.table[2], self.table[3] = rows, hidden
        self.rows, self.step_slot = rows, step_slot

    def step(self, t, following):
        """Step t; ``following`` is the step whose c_prev slot holds c_t (-1: the final cell state)."""
        self.table[self.step_slot], self.table[self.step_slot + 1] = t, following
        self.run(lambda part: self.run_share(t, following, *share(self.rows, self.parts, part), part))


class ForwardSplit(_Split):
    """The forward gate kernel of every step of one sequence, split over the team."""

    def __init__(self, acts, bias, c_prev, out, parts):
        super().__init__(_forward_task, _FORWARD_SLOTS, acts.shape[1], acts.shape[2] // 4, parts, 12)
        self.arrays = acts, bias, c_prev, out  # kept alive while the table holds their addresses
        table, steps = self.table, c_prev.shape[0]
        table[4], table[5] = address(acts), acts.strides[0]
        table[6] = address(bias)
        table[7], table[8] = address(c_prev), c_prev.strides[0]
        table[9], table[10] = address(out), out.strides[0]
        table[11] = address(out) + steps * out.strides[0]  # out[steps]: the final cell state

    def run_share(self, t, following, first, stop, part):
        acts, bias, c_prev, out = self.arrays
        cell = out[len(c_prev)] if following < 0 else c_prev[following]
        gates_forward_rows(acts[t], None, bias, c_prev[t], cell, out[t], first, stop)


class BackwardSplit(_Split):
    """The backward gate kernel of every step of one sequence, split over the team."""

    def __init__(self, acts, c_prev, out, g, dh, dc, parts):
        super().__init__(_backward_task, _BACKWARD_SLOTS, acts.shape[1], acts.shape[2] // 4, parts, 14)
        self.bias_parts = numpy.zeros((parts, acts.shape[2]))
        self.arrays = acts, c_prev, out, g, dh, dc, self.bias_parts
        table, steps = self.table, c_prev.shape[0]
        table[4], table[5] = address(acts), acts.strides[0]
        table[6], table[7] = address(c_prev), c_prev.strides[0]
        table[8] = address(out) + steps * out.strides[0]
        table[9], table[10] = address(g), g.strides[0]
        table[11], table[12] = address(dh), address(dc)
        table[13] = address(self.bias_parts)

    def run_share(self, t, following, first, stop, part):
        acts, c_prev, out, g, dh, dc, bias_parts = self.arrays
        cell = out[len(c_prev)] if following < 0 else c_prev[following]
        gates_backward_rows(acts[t], c_prev[t], cell, g[t], dh, dc, bias_parts[part], first, stop)

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


def forward_split(acts, bias, c_prev, out):
    """A :class:`ForwardSplit` for these (T, N, 4H), (4H,), (T, N, H), (T + 1, N, H) arrays, or None
    where one thread is the better choice (no team, small steps, arrays the kernels do not take)."""
    if not _splittable(acts, bias, c_prev, out):
        return None
    parts = _parts(acts)
    return ForwardSplit(acts, bias, c_prev, out, parts) if parts > 1 else None


def backward_split(acts, c_prev, out, g, dh, dc):
    """A :class:`BackwardSplit` (g (T + 1, N, H), dh and dc (N, H)), or None as for the forward."""
    if not _splittable(acts, c_prev, out, g, dh, dc):
        return None
    parts = _parts(acts)
    return BackwardSplit(acts, c_prev, out, g, dh, dc, parts) if parts > 1 else None
