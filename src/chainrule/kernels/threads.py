"""chainrule's own worker threads: several calls at once, one of them on the calling thread.

Where kernels split work between the cores (a large product in parts, the rows of an LSTM's batch),
they run the parts here rather than on a BLAS's or Numba's thread pool: OpenBLAS's workers spin
for ~0.1 s after each product and would share a core with any other pool's threads
(:mod:`chainrule.kernels.blas_route`). The calls must release the GIL while they work (NumPy's
products, Numba functions compiled with ``nogil=True``), else they only take turns.

:func:`set_num_threads` and :func:`get_num_threads` are PyTorch's ``torch.set_num_threads`` and
``torch.get_num_threads`` (``cr.set_num_threads(1)`` in an MPI rank per core, say): one count for
the products' BLAS, Numba's kernels and these parts.
"""

import numbers
import os
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

_pool = None  # (process id, ThreadPoolExecutor), made at first need
requested = None  # the count set_num_threads was last given, or None


def set_num_threads(count):
    """Use ``count`` threads in the products and kernels, as PyTorch's ``torch.set_num_threads``:
    NumPy's BLAS (through threadpoolctl, in the ``fast`` and ``mkl`` extras), MKL where the products
    run on it, Numba's kernels (at most as many threads as Numba started with, and for the calling
    thread's kernels: Numba's own rule) and the parts chainrule splits work into. Without
    threadpoolctl NumPy's BLAS keeps its threads, and a warning says how to set them."""
    global requested
    if isinstance(count, bool) or not isinstance(count, numbers.Integral):
        raise TypeError(f"set_num_threads: the count must be an int, got {type(count).__name__} {count!r}")
    if count < 1:
        raise ValueError(f"set_num_threads: the count must be a positive integer (1 or more), got {count}")
    requested = int(count)
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        warnings.warn("set_num_threads: without threadpoolctl NumPy's BLAS keeps its threads (pip install "
                      "'chainrule[fast]', or set OPENBLAS_NUM_THREADS before Python starts)", RuntimeWarning,
                      stacklevel=2)
    else:
        # not MKL through threadpoolctl: it would set MKL's count for this thread only (chainrule's own
        # binding sets the process's, below)
        ThreadpoolController().select(internal_api=["openblas", "blis", "flexiblas"]).limit(limits=requested)
    from chainrule.kernels import mkl

    if mkl.library is not None:
        mkl.library.MKL_Set_Num_Threads(requested)  # else mkl.load() asks for it when it loads MKL
    numba_threads(sys.modules.get("numba"))


def numba_threads(numba):
    """Numba's threads as :func:`set_num_threads` asked, once Numba is imported (``None``: not yet)."""
    if numba is not None and requested is not None:
        numba.set_num_threads(min(requested, numba.config.NUMBA_NUM_THREADS))


def get_num_threads():
    """The thread count of the products and kernels, as PyTorch's ``torch.get_num_threads``: what
    :func:`set_num_threads` set, else NumPy's BLAS's own setting where threadpoolctl can read it,
    else the cores this process may run on."""
    if requested is not None:
        return requested
    from chainrule.kernels import blas_route

    if blas_route.openblas_controllers():
        return blas_route.thread_count()
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_at_once(calls):
    """Run every ``(function, arguments)`` of ``calls`` at once, the first on the calling thread and
    the others on worker threads kept for the process; return when all have finished. An error in
    any is raised here, after every call has ended (none is left writing into its arrays)."""
    if len(calls) <= 1:  # none (an empty batch has no parts) or one: no thread to wake
        for function, arguments in calls:
            function(*arguments)
        return
    pending = [_workers(len(calls) - 1).submit(function, *arguments) for function, arguments in calls[1:]]
    try:
        function, arguments = calls[0]
        function(*arguments)
    finally:
        for future in pending:
            future.result()


def _workers(count):
    """At least ``count`` worker threads. A fork's child (a data loader's worker) makes its own: the
    parent's threads do not exist there."""
    global _pool
    if _pool is None or _pool[0] != os.getpid() or _pool[1]._max_workers < count:
        if _pool is not None and _pool[0] == os.getpid():
            _pool[1].shutdown(wait=False)  # too few: its threads end once idle
        _pool = (os.getpid(), ThreadPoolExecutor(count, thread_name_prefix="chainrule"))
    return _pool[1]
