"""chainrule's own worker threads: several calls at once, one of them on the calling thread.

Where kernels split work between the cores (a large product in parts, the rows of an LSTM's batch),
they run the parts here rather than on a BLAS's or Numba's thread pool: OpenBLAS's workers spin
for ~0.1 s after each product and would share a core with any other pool's threads
(:mod:`chainrule.kernels.blas_route`). The calls must release the GIL while they work (NumPy's
products, Numba functions compiled with ``nogil=True``), else they only take turns.
"""

import os
from concurrent.futures import ThreadPoolExecutor

_pool = None  # (process id, ThreadPoolExecutor), made at first need


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
        _pool = (os.getpid(), ThreadPoolExecutor(count, thread_name_prefix="chainrule"))
    return _pool[1]
