"""Which BLAS runs the library's 2-D products: MKL (the ``mkl`` extra) only where it measures faster.

Installing MKL does not make it the faster library. On the Intel Xeon where the MKL route was built it
beat NumPy's OpenBLAS by 10-75% on a small network's shapes; on an AMD EPYC it takes about twice
OpenBLAS's time on every shape tried (figures: benchmarks/README.md). The CPU's maker alone cannot
say which will win (OpenBLAS's kernels for the CPU, MKL's code path for it and both versions decide),
so the first product of a process times the two (:func:`blas_choice`, ~15 ms on a quiet machine,
once) and keeps MKL only where it wins; elsewhere the products stay on NumPy's BLAS and MKL is never
called again (no packed weights).

How it times them: :data:`PROBE_SHAPES`, float32, each library on ONE thread, the calls of the two
interleaved (so that a disturbance from other processes hits both), the best of :data:`REPEATS`
calls per shape. One thread each, because two thread pools in one process fight for the cores (MKL's
workers spin for ``KMP_BLOCKTIME`` after a product, OpenBLAS's after theirs), and a comparison on
all threads measures that fight rather than the libraries; the per-core kernel is what differs from
machine to machine. Limiting NumPy's BLAS to one thread needs ``threadpoolctl`` (in the ``mkl``
extra); without it the CPU's maker is the hint (MKL on Intel, NumPy's BLAS elsewhere).

Not cached on disk: the answer depends on the environment as well as the machine
(``OPENBLAS_CORETYPE`` alone changes OpenBLAS's speed by 1.5-1.7x here), on both libraries' versions and
thread settings, and a file would need all of those in its key to stay true; the probe costs about
as much as importing one extra module.

``CHAINRULE_BLAS=mkl`` or ``=numpy`` skips the probe and forces the choice.

Products on our own threads, once kernels split their work between the cores. After a product on two
threads, OpenBLAS's worker spins for its thread timeout (2²⁸ cycles, about 0.1 s) waiting for the next
one, on the second core. The tiled convolutions (:mod:`chainrule.kernels.compiled.conv_tiles`) run their
loops on both cores, and in that time one of their threads shares its core with the spinning worker: a
cifar_cnn step took 63-68 ms so with its large dense products on two threads, and 49-51 with every
product on one (a LeNet-5 step, dense products of at most 6M multiply-adds, 3.7-4.6 ms against 2.8-3.8).
So while such kernels run (:func:`parallel_kernels_run`, and a second after), every OpenBLAS runs on one
thread, and a large product (:data:`PART_MACS`) runs in parts at once on threads of our own, one part
per thread OpenBLAS had (:func:`_in_parts`): the second core works on the products without a worker left
spinning after them. Alone, such a split product takes about OpenBLAS's own two-thread time (4096x1024 @
1024x64: 1.31-1.39 against 1.50 ms); in a step with a whole LSTM sequence split by rows
(:mod:`chainrule.kernels.compiled.lstm_sequence`), the character LSTM's step took 27-28 ms against 32
with the products left on OpenBLAS's two threads and the per-step form (benchmarks/README.md). MKL's
threads cost the tiles nothing (a cifar_cnn step with MKL forced on an AMD machine: 50.1-50.4 ms on its
own threads, 52.7-53.3 on one), so the MKL route is left as it is. Setting OpenBLAS's thread count needs
``threadpoolctl`` (in the ``fast`` extra); without it the products stay as they are.
"""

import contextlib
import platform
import time
from dataclasses import dataclass

import numpy

from chainrule import backend
from chainrule.kernels import mkl, threads

# (m, k, n, left operand transposed): a dense layer (batch 128, 256 -> 512), an LSTM step's recurrent
# product (64 x 256 -> 1024), a weight gradient gᵀx (its left operand a transposed view); each about
# 0.1-0.3 ms on one core, so that the probe stays a few milliseconds
PROBE_SHAPES = ((128, 256, 512, False), (64, 256, 1024, False), (256, 256, 128, True))
REPEATS = 3


@dataclass(frozen=True)
class BlasChoice:
    """What :func:`chainrule.backend.gemm` runs 2-D float products on, and why."""

    blas: str  # "mkl" or "numpy"
    reason: str
    mkl_seconds: float | None = None  # the probe on MKL: Σ over PROBE_SHAPES of the best call, one thread
    numpy_seconds: float | None = None  # the same on NumPy's BLAS
    probe_seconds: float | None = None  # what timing the two cost this process


_choice = None  # the process's BlasChoice, once made
PARALLEL_WINDOW_SECONDS = 1.0  # how long after such a kernel ran the rule holds (a step takes milliseconds)
_last_parallel = None  # time.monotonic() when a kernel last ran on Numba's threads; None: never yet
# the least work of a part, in multiply-adds (~35 µs on one core here): a part handed to a worker
# thread costs ~20-40 µs, so smaller products run whole (LeNet-5's dense layers, 6M, measured no faster
# in two parts: benchmarks/README.md), and a many-core machine does not cut a product into slivers
PART_MACS = 1 << 22
_openblas = None  # threadpoolctl's controllers of the OpenBLAS libraries on pthreads, once looked for


def blas_choice():
    """The process's :class:`BlasChoice`, made at the first call (the first product calls this)."""
    global _choice
    if _choice is None:
        _choice = _choose()
    return _choice


def active():
    """"mkl" or "numpy": the BLAS the products run on (:func:`blas_choice`)."""
    return blas_choice().blas


def first_gemm(a, b, out=None, accumulate=False):
    """Choose the product once (MKL or NumPy), install it as ``backend.gemm``, then step aside."""
    _install()
    return backend.gemm(a, b, out, accumulate)


def parallel_kernels_run():
    """Say that a kernel splits its work between the cores (on Numba's threads or chainrule's own):
    for the next PARALLEL_WINDOW_SECONDS each OpenBLAS runs on one thread, and large products in
    parts on chainrule's threads, where the products run on OpenBLAS (see the module's docstring).
    Called at every such kernel: a process that goes on to train another model without them (a
    benchmark's worker, a notebook) gets its threads back a second later."""
    global _last_parallel
    first = _last_parallel is None
    _last_parallel = time.monotonic()
    if first and _choice is not None:  # else the first product installs the rule
        _install()


def products_make_way():
    """True where the products can be kept off the cores that other threads' kernels run on: on
    NumPy's OpenBLAS (pthreads), with threadpoolctl to set its threads (:func:`parallel_kernels_run`).
    A kernel that splits one long computation between the cores asks this first: elsewhere a BLAS
    worker spinning after each product would take half of one of its cores."""
    return active() == "numpy" and bool(openblas_controllers())


def thread_count():
    """How many threads NumPy's OpenBLAS is set to use (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``,
    else one per core): kernels that split work between the cores make as many parts, so that a
    process limited to one core (an MPI rank per core) stays on one. 1 where it cannot be read."""
    return max((library.get_num_threads() for library in openblas_controllers()), default=1)


def _install():
    if active() == "mkl":
        backend.set_gemm(mkl.gemm)
        return
    openblas = openblas_controllers() if _last_parallel is not None else ()
    backend.set_gemm(_on_own_threads(openblas) if openblas else None)


def openblas_controllers():
    """threadpoolctl's controllers of every OpenBLAS on pthreads in the process: () where there is
    none (another BLAS, an OpenMP build) or no threadpoolctl.

    Every one, not the first: with Numba's kernels SciPy is imported too, and its wheel brings a second
    OpenBLAS, which threadpoolctl lists first in some processes and second in others (limiting it
    alone left NumPy's worker spinning in about half of them)."""
    global _openblas
    if _openblas is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _openblas = ()
            return _openblas
        found = ThreadpoolController().select(internal_api="openblas").lib_controllers
        _openblas = tuple(c for c in found if c.threading_layer == "pthreads")
    return _openblas


def _on_own_threads(openblas):
    # OpenBLAS's thread count is the process's: threadpoolctl lets only one Python thread (the first
    # to set it) change it and makes the others' calls no-ops, so threads that multiply at once
    # cannot leave it at one. The parts below run on threads of our own, which call NumPy's product
    # directly and never touch the setting.
    def product(a, b, out=None, accumulate=False):
        if time.monotonic() - _last_parallel > PARALLEL_WINDOW_SECONDS:
            return backend.matmul_gemm(a, b, out, accumulate)
        counts = [library.get_num_threads() for library in openblas]
        for library in openblas:
            library.set_num_threads(1)
        try:
            return _in_parts(a, b, out, accumulate, max(counts))
        finally:
            for library, count in zip(openblas, counts):
                library.set_num_threads(count)

    return product


def _in_parts(a, b, out, accumulate, parts):
    """``a @ b`` (into ``out``; ``accumulate``: added to it) on OpenBLAS's one thread, in ``parts``
    blocks of output rows (or of columns, where there are more of them) that run at once
    (:func:`chainrule.kernels.threads.run_at_once`). The same bits at every call with the same
    ``parts``; another count rounds differently, as OpenBLAS's own thread count does (its order of
    summation depends on the shapes it is given)."""
    arrays = (a, b) if out is None else (a, b, out)
    if any(type(v) is not numpy.ndarray or v.ndim != 2 for v in arrays):  # another array module's
        return backend.matmul_gemm(a, b, out, accumulate)
    m, n = a.shape[0], b.shape[1]
    parts = min(parts, m * a.shape[1] * n // PART_MACS)
    if parts < 2:
        return backend.matmul_gemm(a, b, out, accumulate)
    if out is None:
        out = numpy.empty((m, n), numpy.result_type(a.dtype, b.dtype))
    by_rows = m >= n  # with few rows every block would pack all of b again
    size = m if by_rows else n
    edges = [size * part // parts for part in range(parts + 1)]
    blocks = [slice(lo, hi) for lo, hi in zip(edges, edges[1:]) if hi > lo]
    if by_rows:
        jobs = [(a[rows], b, out[rows]) for rows in blocks]
    else:
        jobs = [(a, b[:, columns], out[:, columns]) for columns in blocks]
    threads.run_at_once([(backend.matmul_gemm, job + (accumulate,)) for job in jobs])
    return out


def decide(mkl_seconds, numpy_seconds):
    """("mkl" or "numpy", reason) from the probe's two times: MKL only where it took less time."""
    ratio = mkl_seconds / numpy_seconds if numpy_seconds > 0 else float("inf")
    timing = f"MKL took {ratio:.2f}x NumPy's BLAS's time on the probe's products, one thread each"
    if mkl_seconds < numpy_seconds:
        return "mkl", timing
    return "numpy", timing


def measure(products, shapes=PROBE_SHAPES, repeats=REPEATS, clock=time.perf_counter):
    """{name: seconds} for each ``product(a, b)`` of ``products``: over ``shapes``, the sum of its best
    of ``repeats`` calls, after one untimed call; the products take turns call by call."""
    totals = dict.fromkeys(products, 0.0)
    for m, k, n, transposed in shapes:
        # the values do not change a BLAS's speed (none is zero or subnormal); filling is cheaper than drawing
        a = numpy.full((k, m) if transposed else (m, k), 0.5, numpy.float32)
        a = a.T if transposed else a
        b = numpy.full((k, n), 0.25, numpy.float32)
        best = dict.fromkeys(products, float("inf"))
        for repeat in range(repeats + 1):
            for name, product in products.items():
                start = clock()
                product(a, b)
                if repeat:
                    best[name] = min(best[name], clock() - start)
        for name in products:
            totals[name] += best[name]
    return totals


def cpu_vendor():
    """The CPU maker's id ("GenuineIntel", "AuthenticAMD", ...) where the system says it, else ""."""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("vendor_id"):
                return line.split(":", 1)[1].strip()
    return platform.processor()  # Windows: "Intel64 Family 6 ..., GenuineIntel"; often "" elsewhere


@contextlib.contextmanager
def _one_thread(controller):
    """Both libraries on one thread inside; their thread counts as before afterwards."""
    # NumPy's BLAS, whichever it is, but not MKL: threadpoolctl sets MKL's count for the calling
    # thread and restores it as such, a setting that would then outrank MKL_NUM_THREADS for good
    others = controller.select(internal_api=["openblas", "blis", "flexiblas"])
    with others.limit(limits=1):
        threads = mkl.library.MKL_Get_Max_Threads()
        mkl.library.MKL_Set_Num_Threads(1)
        try:
            yield
        finally:
            mkl.library.MKL_Set_Num_Threads(threads)


def _choose():
    asked = mkl.requested()
    if asked == "numpy":
        return BlasChoice("numpy", f"{mkl.SWITCH_VARIABLE}=numpy")
    if not mkl.load():
        return BlasChoice("numpy", "MKL is not available (the mkl package is not installed, or it would not "
                                   "load: pip install chainrule[mkl])")
    if asked == "mkl":
        return BlasChoice("mkl", f"{mkl.SWITCH_VARIABLE}=mkl")
    vendor = cpu_vendor() or "an unknown CPU"
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        blas = "mkl" if "Intel" in vendor else "numpy"
        return BlasChoice(blas, f"threadpoolctl is not installed, so the two could not be timed on one thread"
                                f" each; chosen by the CPU's maker ({vendor})")
    start = time.perf_counter()
    with _one_thread(ThreadpoolController()):
        seconds = measure({"mkl": mkl.gemm, "numpy": numpy.matmul})
    spent = time.perf_counter() - start
    blas, reason = decide(seconds["mkl"], seconds["numpy"])
    return BlasChoice(blas, f"{reason} ({vendor})", seconds["mkl"], seconds["numpy"], spent)
