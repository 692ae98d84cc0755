"""Time-major <-> batch-major copies of a sequence (its two leading axes swapped) on MKL's team.

A ``batch_first`` recurrent layer runs time-major and returns batch-major: :class:`BatchMajor`
(kernels/recurrent.py) copies the (T, N, H) hidden states into (N, T, H), and the gradient back, 4 MB
each way at the character LSTM's size. NumPy makes each copy on one core while MKL's threads spin
after the last product; here each thread of MKL's team (:mod:`.team`) copies a share
of the output's rows (figures: benchmarks/README.md).
Anything this does not take stays with NumPy's copy, which gives the same bytes.
"""

import numba
import numpy
from numba import carray

from chainrule.kernels.compiled import team
from chainrule.kernels.compiled.team_tasks import TASK, SharedCall, address, finish, open_share, uint8_at

PARALLEL_FROM = 1 << 18  # bytes of output below which NumPy's one-thread copy is as fast

# Table after SharedCall's slots (2: the output's rows A, shared): 3 its columns (B), 4 bytes per
# element row (W), 5 the output's address, 6 the source's address.
_SLOTS = 7


@numba.njit(cache=True, nogil=True)
def swap_rows(source, out, first, stop):
    """out[a, b] = source[b, a] for a in [first, stop), over uint8 views (rows of bytes)."""
    for a in range(first, stop):
        for b in range(out.shape[1]):
            row_in, row_out = source[b, a], out[a, b]
            for k in range(out.shape[2]):
                row_out[k] = row_in[k]


@numba.cfunc(TASK, nopython=True, cache=True)
def _swap_task(global_id, thread, arguments):
    p, part, first, stop = open_share(arguments, _SLOTS, thread)
    if part < 0:
        return
    rows, cols, width = p[2], p[3], p[4]
    out = carray(uint8_at(p[5]), (rows, cols, width))
    source = carray(uint8_at(p[6]), (cols, rows, width))
    swap_rows(source, out, first, stop)
    finish(p, part)


def team_swap(source, out):
    """``out[...] = source[:out.shape[1]].swapaxes(0, 1)`` shared over MKL's team; False if not taken.

    Takes C-contiguous 3-D NumPy arrays of one dtype, source (B′ ≥ B, A, W) and out (A, B, W), that
    do not overlap and are large enough to pay for a parallel region, where a team exists.
    """
    if (type(source) is not numpy.ndarray or type(out) is not numpy.ndarray or source.ndim != 3
            or out.ndim != 3 or source.dtype != out.dtype or out.nbytes < PARALLEL_FROM):
        return False
    rows, cols, width = out.shape
    if (source.shape[1] != rows or source.shape[0] < cols or source.shape[2] != width
            or not (source.flags.c_contiguous and out.flags.c_contiguous and out.flags.writeable)
            or numpy.may_share_memory(source, out)):
        return False
    parts = min(team.size(), rows)
    if parts < 2:
        return False
    call = SharedCall(_swap_task, _SLOTS, parts, rows)
    row_bytes = width * out.itemsize
    call.table[3], call.table[4] = cols, row_bytes
    call.table[5], call.table[6] = address(out), address(source)
    source_bytes = source.view(numpy.uint8).reshape(source.shape[0], rows, row_bytes)
    out_bytes = out.view(numpy.uint8).reshape(rows, cols, row_bytes)
    call.run(lambda first, stop, part: swap_rows(source_bytes, out_bytes, first, stop))
    return True
