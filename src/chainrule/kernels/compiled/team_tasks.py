"""What every compiled task run on MKL's team (:mod:`chainrule.kernels.compiled.team`) shares.

A task is a Numba ``cfunc`` with the signature :data:`TASK`, called on each thread of the team with
the thread's number and the address of an argument table of 64-bit integers (sizes, array addresses,
byte strides). Slots 0-2 of every table are the same: the number of shares, the address of one done
flag per share, which the task sets once its share is finished, and the number of rows the shares
divide. A task opens its table with :func:`open_share` and ends with :func:`finish`.
:class:`SharedCall` fills those slots, runs the task on the team, and runs any share the team left
undone (a team may be smaller than asked for) through the caller's one-thread fallback.
"""

import ctypes

import numba
import numpy
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

TASK = types.void(types.CPointer(types.int32), types.CPointer(types.int32), types.voidptr)


def _pointer_intrinsic(element):
    """An intrinsic turning an address (int64) into a pointer to ``element``, for ``numba.carray``."""

    @intrinsic
    def at(typingctx, address):
        signature = types.CPointer(element)(types.int64)

        def codegen(context, builder, sig, args):
            return builder.inttoptr(args[0], context.get_value_type(sig.return_type))

        return signature, codegen

    return at


float32_at = _pointer_intrinsic(types.float32)
float64_at = _pointer_intrinsic(types.float64)
int64_at = _pointer_intrinsic(types.int64)
uint8_at = _pointer_intrinsic(types.uint8)


@intrinsic
def sgemm_compute_at(typingctx, routine, m, n, k, a, lda, packed, c, ldc, accumulate):
    """Call ``cblas_sgemm_compute`` at address ``routine``: C (m, n) = A (m, k) @ B, plus C if
    ``accumulate``; A row-major at address ``a``, B packed by MKL at ``packed`` (see
    :meth:`chainrule.kernels.mkl.PackedRight.compute_routine`), C row-major at ``c``. Every argument is
    an int64 (sizes, leading dimensions, addresses). Inside a parallel region MKL runs it on the
    calling thread alone."""
    signature = types.void(*([types.int64] * 10))

    def codegen(context, builder, sig, args):
        int32, float32, pointer = ir.IntType(32), ir.FloatType(), ir.IntType(8).as_pointer()
        function_type = ir.FunctionType(ir.VoidType(), [int32] * 6 + [pointer, int32, pointer, int32,
                                                                       float32, pointer, int32])
        function = builder.inttoptr(args[0], function_type.as_pointer())
        m_, n_, k_, a_, lda_, packed_, c_, ldc_, accumulate_ = args[1:]
        narrow = [builder.trunc(v, int32) for v in (m_, n_, k_, lda_, ldc_)]
        beta = builder.select(builder.icmp_signed("!=", accumulate_, ir.Constant(accumulate_.type, 0)),
                              ir.Constant(float32, 1.0), ir.Constant(float32, 0.0))
        row_major, no_transpose, packed_flag = (ir.Constant(int32, v) for v in (101, 111, 151))
        builder.call(function, [row_major, no_transpose, packed_flag, narrow[0], narrow[1], narrow[2],
                                builder.inttoptr(a_, pointer), narrow[3], builder.inttoptr(packed_, pointer),
                                narrow[2], beta, builder.inttoptr(c_, pointer), narrow[4]])
        return context.get_dummy_value()

    return signature, codegen


@numba.njit(cache=True, nogil=True)
def share(rows, parts, part):
    """The rows [first, stop) of share ``part`` of ``parts``: as even as whole rows allow."""
    return part * rows // parts, (part + 1) * rows // parts


@numba.njit(cache=True, nogil=True)
def open_share(arguments, slots, thread):
    """(table, part, first, stop) for the calling thread: its table of ``slots`` integers and its
    share's rows [first, stop); part is -1 for a thread beyond the shares (it has nothing to do)."""
    table = numba.carray(arguments, (slots,), dtype=numpy.int64)
    part = numpy.int64(thread[0])
    if part >= table[0]:
        return table, numpy.int64(-1), numpy.int64(0), numpy.int64(0)
    first, stop = share(table[2], table[0], part)
    return table, part, first, stop


@numba.njit(cache=True, nogil=True)
def finish(table, part):
    """Mark share ``part`` done (a task's last call): slot 1 holds the address of the done flags."""
    numba.carray(int64_at(table[1]), (table[0],))[part] = 1


def address(array):
    """The address of an array's first element."""
    return array.__array_interface__["data"][0]


class SharedCall:
    """A task, its argument table and done flags: :meth:`run` runs every share, on the team or here."""

    def __init__(self, task, slots, parts, rows):
        self.table = (ctypes.c_int64 * slots)()
        self.done = (ctypes.c_int64 * parts)()
        self.table[0], self.table[1], self.table[2] = parts, ctypes.addressof(self.done), rows
        self.task = ctypes.c_void_p(task.address)
        self.arguments = ctypes.c_void_p(ctypes.addressof(self.table))
        self.parts, self.rows = parts, rows

    def run(self, fallback):
        """Run the task on the team, then ``fallback(first, stop, part)`` for each share no thread
        finished (its rows [first, stop))."""
        from chainrule.kernels.compiled import team

        done = self.done
        for part in range(self.parts):
            done[part] = 0
        team.fork(self.task, self.arguments)
        for part in range(self.parts):
            if not done[part]:
                fallback(*share(self.rows, self.parts, part), part)
