"""Parallel regions on the OpenMP thread team that MKL's products already run on.

Why not a thread pool of our own (Numba's ``parallel=True``, Python threads): after every product,
MKL's worker threads spin for ``KMP_BLOCKTIME`` waiting for the next one. A second pool's threads
then time-slice the same cores with them, and an elementwise kernel split over two cores measured
slower than on one (see :mod:`chainrule.kernels.compiled.lstm`). A parallel region opened on MKL's own OpenMP
runtime (Intel's ``libiomp5``) is handed to those spinning threads at once instead.

The entry point is ``__kmpc_fork_call``, the call a compiler emits for ``#pragma omp parallel``: it
runs a C function (here a Numba ``cfunc``) on each thread of the calling thread's team, passing the
thread's number in the team, and returns when all have finished. Nothing here changes a threading
setting of the process: no environment variable, no layer, no thread count.

Available only where that team is certain to be MKL's: Linux on x86-64, MKL in use
(:mod:`chainrule.kernels.mkl`) on its Intel OpenMP threading layer (``libmkl_intel_thread`` and
``libiomp5`` loaded by MKL; not where ``MKL_THREADING_LAYER`` asks for another, nor where MKL chose
GNU OpenMP because a ``libgomp`` was in the process first, as after ``import torch``), and MKL
allowed at least 2 threads (``MKL_NUM_THREADS=1`` turns this off along with MKL's own threads).
Elsewhere :func:`size` is 1 and callers keep their one-thread kernels. A task must not assume the
team it gets has the size asked for (the runtime may give fewer threads): each one says which share
it finished, and the caller runs any share left undone itself.
"""

import ctypes
import os
import platform
import sys

_opened = None  # (fork function, location argument, thread count) once opened; () when unavailable


class _Location(ctypes.Structure):
    """The runtime's ``ident_t``: where a parallel region comes from (flags 2: called from C code)."""

    _fields_ = [("reserved_1", ctypes.c_int32), ("flags", ctypes.c_int32), ("reserved_2", ctypes.c_int32),
                ("reserved_3", ctypes.c_int32), ("source", ctypes.c_char_p)]


_LOCATION = _Location(0, 2, 0, 0, b";chainrule;fast.team;0;0;;")


def _open():
    if not sys.platform.startswith("linux") or platform.machine() not in ("x86_64", "AMD64"):
        return ()
    if os.environ.get("MKL_THREADING_LAYER", "INTEL").strip().upper() not in ("", "INTEL"):
        return ()
    from chainrule.kernels import mkl as blas

    if blas.active() != "mkl":
        return ()
    threads = blas.library.MKL_Get_Max_Threads()  # also makes MKL load its threading layer
    if threads < 2:
        return ()
    # RTLD_NOLOAD: look only at what MKL loaded, never load a runtime ourselves. MKL picks its layer
    # at its first call: GNU OpenMP when a libgomp is already in the process (PyTorch brings one),
    # whatever MKL_THREADING_LAYER says or not; then its team is not libiomp5's.
    if not any(_loaded(f"libmkl_intel_thread.so{suffix}") for suffix in (".3", ".2", ".1", "")):
        return ()
    try:
        runtime = ctypes.CDLL("libiomp5.so", mode=os.RTLD_NOLOAD)
        fork = runtime.__kmpc_fork_call
        # a team has the runtime's size, whatever MKL was told: shares beyond it would run serially
        threads = min(threads, runtime.omp_get_max_threads())
    except (OSError, AttributeError):
        return ()
    if threads < 2:
        return ()
    fork.restype = None
    return fork, ctypes.byref(_LOCATION), int(threads)


def _loaded(name):
    try:
        ctypes.CDLL(name, mode=os.RTLD_NOLOAD)
        return True
    except OSError:
        return False


def size():
    """How many threads a parallel region asks for: MKL's thread count, or 1 where none is available."""
    global _opened
    if _opened is None:
        _opened = _open()
    return _opened[2] if _opened else 1


def fork(task, arguments):
    """Run ``task(&global_id, &thread_number, arguments)`` on each thread of the team; return when done.

    ``task``: a ``ctypes.c_void_p`` holding the address of a ``void (int32*, int32*, void*)`` C
    function; ``arguments``: a ``ctypes.c_void_p`` passed to it as is. Call only after :func:`size`
    returned more than 1.
    """
    call, location, _ = _opened
    call(location, 1, task, arguments)
