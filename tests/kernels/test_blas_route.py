"""chainrule.kernels.blas_route: MKL runs the products only where it measured faster, or where forced.

The decision is tested with injected timings (deterministic everywhere, MKL or not); the probe's
timing loop with a fake clock; the real probe, and that it leaves both libraries' thread settings as
they were, where MKL is installed.
"""

import sys

import numpy as np
import pytest

from chainrule import backend
from chainrule.kernels import blas_route
from chainrule.kernels import mkl as blas
from fresh_process import run_python


class _FakeMKL:
    """Stands in for the loaded library where the probe only needs its thread setting."""

    def MKL_Get_Max_Threads(self):  # noqa: N802 - MKL's names
        return 2

    def MKL_Set_Num_Threads(self, count):  # noqa: N802
        pass


@pytest.fixture
def undecided(monkeypatch, forget_mkl):
    """A process that has not chosen yet, its MKL 'loaded' (a stand-in), the switch unset, and the
    probe answering ``timings[0]`` ({"mkl": s, "numpy": s}) without timing anything."""
    monkeypatch.delenv(blas.SWITCH_VARIABLE, raising=False)
    forget_mkl()
    monkeypatch.setattr(blas, "load", lambda: True)
    monkeypatch.setattr(blas, "library", _FakeMKL())
    monkeypatch.setattr(backend, "_gemm", blas_route.first_gemm)
    timings = [None]
    monkeypatch.setattr(blas_route, "measure", lambda products: dict(timings[0]))
    return timings


def _first_product():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_allclose(backend.gemm(a, a.T), a @ a.T)


@pytest.mark.parametrize("mkl_seconds, numpy_seconds, expected", [
    (1.0, 2.0, "mkl"), (2.0, 1.0, "numpy"), (1.0, 1.0, "numpy"), (0.99, 1.0, "mkl"), (1.0, 0.0, "numpy")])
def test_mkl_is_chosen_only_where_it_took_less_time(mkl_seconds, numpy_seconds, expected):
    blas, reason = blas_route.decide(mkl_seconds, numpy_seconds)
    assert blas == expected
    assert "MKL took" in reason and "x NumPy's BLAS's time" in reason


def test_where_mkl_loses_the_products_and_everything_after_stay_on_numpy(undecided):
    undecided[0] = {"mkl": 0.004, "numpy": 0.002}
    _first_product()
    choice = blas_route.blas_choice()
    assert (choice.blas, choice.mkl_seconds, choice.numpy_seconds) == ("numpy", 0.004, 0.002)
    assert "2.00x" in choice.reason and choice.probe_seconds >= 0
    assert backend._gemm is backend.matmul_gemm and blas.active() == "numpy"
    assert not blas.gemm_accumulates()
    assert blas.prepack(np.ones((256, 512), np.float32), 64).packed is None


def test_where_mkl_wins_it_is_installed(undecided):
    undecided[0] = {"mkl": 0.001, "numpy": 0.002}
    _first_product()
    choice = blas_route.blas_choice()
    assert choice.blas == "mkl" and "0.50x" in choice.reason
    assert backend._gemm is blas.gemm and blas.active() == "mkl" and blas.gemm_accumulates()


def test_the_choice_is_made_once_a_process(undecided, monkeypatch):
    undecided[0] = {"mkl": 0.001, "numpy": 0.002}
    first = blas_route.blas_choice()
    monkeypatch.setattr(blas_route, "measure", lambda products: pytest.fail("timed a second time"))
    assert blas_route.blas_choice() is first and blas.active() == "mkl"


@pytest.mark.parametrize("forced", ["mkl", "numpy", " MKL "])
def test_the_switch_forces_the_choice_without_timing(undecided, monkeypatch, forced):
    monkeypatch.setenv(blas.SWITCH_VARIABLE, forced)
    monkeypatch.setattr(blas_route, "measure", lambda products: pytest.fail("a forced choice must not time"))
    _first_product()
    choice = blas_route.blas_choice()
    assert choice.blas == forced.strip().lower() and choice.mkl_seconds is None
    assert choice.reason == f"CHAINRULE_BLAS={forced.strip().lower()}"
    assert backend._gemm is (blas.gemm if choice.blas == "mkl" else backend.matmul_gemm)


def test_without_mkl_the_choice_is_numpy_and_says_why(undecided, monkeypatch):
    monkeypatch.setattr(blas, "load", lambda: False)
    choice = blas_route.blas_choice()
    assert choice.blas == "numpy" and "not available" in choice.reason


@pytest.mark.parametrize("vendor, expected",
                         [("GenuineIntel", "mkl"), ("AuthenticAMD", "numpy"), ("", "numpy")])
def test_without_threadpoolctl_the_cpu_maker_is_the_hint(undecided, monkeypatch, vendor, expected):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    monkeypatch.setattr(blas_route, "cpu_vendor", lambda: vendor)
    choice = blas_route.blas_choice()
    assert choice.blas == expected and "threadpoolctl is not installed" in choice.reason


def test_the_probe_keeps_the_best_call_of_each_product_and_skips_the_untimed_one():
    now = [0.0]
    # per shape: one untimed call, then three timed ones; the per-shape best summed over the shapes
    costs = {"slow": iter([50, 3, 2, 4, 60, 5, 6, 7]), "fast": iter([40, 1, 1.5, 1.25, 30, 2.5, 2, 3])}
    calls = []

    def product(name):
        def run(a, b):
            assert a.shape[1] == b.shape[0]
            calls.append(name)
            now[0] += next(costs[name])
        return run

    shapes = ((4, 3, 5, False), (6, 2, 3, True))
    seconds = blas_route.measure({"slow": product("slow"), "fast": product("fast")}, shapes, repeats=3,
                                 clock=lambda: now[0])
    assert seconds == {"slow": 2 + 5, "fast": 1 + 2}
    assert calls == ["slow", "fast"] * 8  # turn by turn, so that a disturbance hits both


def test_cpu_vendor_is_a_string():
    assert isinstance(blas_route.cpu_vendor(), str)


def test_the_real_probe_leaves_the_thread_settings_as_they_were():
    if blas.find_library() is None:
        pytest.skip("the mkl package is not installed (pip install chainrule[mkl])")
    pytest.importorskip("threadpoolctl")
    script = (
        "import chainrule as cr\n"
        "from threadpoolctl import threadpool_info\n"
        "from chainrule import backend\n"
        "from chainrule.kernels import mkl as blas\n"
        "assert blas.load()\n"
        "before = (blas.library.MKL_Get_Max_Threads(), sorted(i['num_threads'] for i in threadpool_info()))\n"
        "choice = cr.kernels.blas_choice()\n"
        "after = (blas.library.MKL_Get_Max_Threads(), sorted(i['num_threads'] for i in threadpool_info()))\n"
        "assert before == after, (before, after)\n"
        "assert choice.blas in ('mkl', 'numpy') and choice.mkl_seconds > 0 and choice.numpy_seconds > 0\n"
        "assert 0 < choice.probe_seconds < 2, choice\n"
        "cr.nn.Linear(300, 300)(cr.ones(200, 300))\n"
        "assert backend._gemm is (blas.gemm if choice.blas == 'mkl' else backend.matmul_gemm)\n")
    run_python(script, unset=[blas.SWITCH_VARIABLE], MKL_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")


class _FakeOpenBLAS:
    """threadpoolctl's controller of OpenBLAS, as far as the one-thread rule uses it: a thread count."""

    def __init__(self, threads=2):
        self.threads = threads

    def get_num_threads(self):
        return self.threads

    def set_num_threads(self, count):
        self.threads = count


@pytest.fixture
def numpy_route(monkeypatch, forget_mkl):
    """A process that runs its products on NumPy and has not made one yet; OpenBLAS on two threads (a
    stand-in), and every product's thread count at the time recorded as (m·k·n, threads)."""
    monkeypatch.setenv(blas.SWITCH_VARIABLE, "numpy")
    forget_mkl()
    monkeypatch.setattr(backend, "_gemm", blas_route.first_gemm)
    openblas = _FakeOpenBLAS()
    monkeypatch.setattr(blas_route, "_openblas", (openblas,))
    seen = []
    real = backend.matmul_gemm

    def recording(a, b, out=None, accumulate=False):
        seen.append((a.size * b.shape[-1], openblas.threads))
        return real(a, b, out, accumulate)

    monkeypatch.setattr(backend, "matmul_gemm", recording)
    return openblas, seen


def _small_and_large_products():
    """A small product and a large one (2²⁴ multiply-adds: parts of it), each checked against NumPy's."""
    rng = np.random.default_rng(5)
    small = rng.random((4, 8), dtype=np.float32), rng.random((8, 16), dtype=np.float32)
    side = 256
    large = rng.random((side, side), dtype=np.float32), rng.random((side, side), dtype=np.float32)
    for a, b in (small, large):  # OpenBLAS's sums depend on the shapes it is given: rounding apart
        np.testing.assert_allclose(backend.gemm(a, b), a @ b, rtol=1e-5)
    return small[0].size * small[1].shape[1], side ** 3


@pytest.mark.parametrize("first_product_before", [False, True])
def test_beside_kernels_on_numbas_threads_products_take_one_blas_thread(numpy_route, first_product_before):
    openblas, seen = numpy_route
    if first_product_before:  # the BLAS chosen first, the kernels later: the rule comes in then
        backend.gemm(np.ones((2, 2)), np.ones((2, 2)))
        assert seen[-1][1] == 2
    blas_route.parallel_kernels_run()
    seen.clear()
    small, large = _small_and_large_products()
    # the large one in two halves at once, one on a worker thread: each on one BLAS thread
    assert seen[0] == (small, 1) and sorted(seen[1:]) == [(large // 2, 1), (large // 2, 1)]
    assert openblas.threads == 2  # the count restored after each
    blas_route.parallel_kernels_run()  # again: changes nothing
    assert len(seen) == 3 and backend._gemm is not backend.matmul_gemm


def test_a_second_after_the_last_such_kernel_products_get_their_threads_back(numpy_route, monkeypatch):
    """A process that goes on to train a model without them (a benchmark's worker, a notebook)."""
    _, seen = numpy_route
    blas_route.parallel_kernels_run()
    monkeypatch.setattr(blas_route, "_last_parallel", blas_route._last_parallel
                        - blas_route.PARALLEL_WINDOW_SECONDS - 0.01)
    small, _ = _small_and_large_products()
    assert seen[0] == (small, 2)
    blas_route.parallel_kernels_run()  # such a kernel again: the rule with it
    small, _ = _small_and_large_products()
    assert seen[2] == (small, 1)


def test_without_such_kernels_every_product_keeps_its_threads(numpy_route):
    _, seen = numpy_route
    small, large = _small_and_large_products()
    assert seen == [(small, 2), (large, 2)]
    assert backend._gemm is backend.matmul_gemm  # NumPy's product itself, no wrapper


def test_the_count_is_restored_when_the_product_fails(numpy_route):
    openblas, _ = numpy_route
    blas_route.parallel_kernels_run()
    with pytest.raises(ValueError):
        backend.gemm(np.ones((2, 3)), np.ones((2, 3)))  # shapes that do not chain
    assert openblas.threads == 2


def test_the_rule_needs_openblas_on_pthreads(numpy_route, monkeypatch):
    """Another BLAS (or an OpenMP build, or no threadpoolctl): the products stay as they are."""
    _, seen = numpy_route
    monkeypatch.setattr(blas_route, "_openblas", ())
    blas_route.parallel_kernels_run()
    small, _ = _small_and_large_products()
    assert backend._gemm is backend.matmul_gemm and seen[0] == (small, 2)


@pytest.mark.parametrize("m, k, n", [(300, 200, 100), (64, 500, 700), (7, 1000, 900), (1000, 900, 5)])
@pytest.mark.parametrize("parts", [2, 3])
def test_a_product_in_parts_equals_the_whole(m, k, n, parts, monkeypatch):
    """Blocks of rows (or of columns, where there are more) on worker threads: the product (to
    rounding: OpenBLAS's order of summation depends on the shapes it is given), into fresh memory,
    into a given (strided) out, and added into it; the same bits on every call."""
    monkeypatch.setattr(blas_route, "PART_MACS", 1)
    rng = np.random.default_rng(m + n)
    a, b = rng.random((m, k), dtype=np.float32), rng.random((n, k), dtype=np.float32).T  # b a view
    whole = a.astype(np.float64) @ b
    first = blas_route._in_parts(a, b, None, False, parts)
    np.testing.assert_allclose(first, whole, rtol=2e-6 * k)
    np.testing.assert_array_equal(blas_route._in_parts(a, b, None, False, parts), first)
    block = np.zeros((m, n + 3), np.float32)
    blas_route._in_parts(a, b, block[:, 1:n + 1], False, parts)
    np.testing.assert_array_equal(block[:, 1:n + 1], first)
    assert not block[:, 0].any() and not block[:, n + 1:].any()  # nothing written beside it
    start = rng.random((m, n), dtype=np.float32)
    added = start.copy()
    blas_route._in_parts(a, b, added, True, parts)
    np.testing.assert_allclose(added, start + whole, rtol=2e-6 * k)


def test_a_product_in_parts_leaves_other_arrays_whole(monkeypatch):
    """An array of another module (a subclass here) or another rank goes to the product as it is."""
    monkeypatch.setattr(blas_route, "PART_MACS", 1)
    calls = []
    monkeypatch.setattr(backend, "matmul_gemm",
                        lambda a, b, out=None, accumulate=False: calls.append(a.shape))

    class Other(np.ndarray):
        pass

    blas_route._in_parts(np.ones((40, 30)).view(Other), np.ones((30, 20)), None, False, 2)
    blas_route._in_parts(np.ones((40, 30)), np.ones((30, 20)), np.ones((40, 20)).view(Other), False, 2)
    blas_route._in_parts(np.ones((3, 40, 30)), np.ones((30, 20)), None, False, 2)
    assert calls == [(40, 30), (40, 30), (3, 40, 30)]


def test_every_part_gets_at_least_its_share_of_work(monkeypatch):
    """No more parts than PART_MACS fit in the product: below two, it runs whole."""
    calls, real = [], backend.matmul_gemm

    def counting(a, b, out=None, accumulate=False):
        calls.append(a.shape)
        return real(a, b, out, accumulate)

    monkeypatch.setattr(backend, "matmul_gemm", counting)
    a, b = np.ones((60, 10), np.float32), np.ones((10, 5), np.float32)  # 3000 multiply-adds
    monkeypatch.setattr(blas_route, "PART_MACS", 1000)
    np.testing.assert_array_equal(blas_route._in_parts(a, b, None, False, 8), a @ b)
    assert sorted(calls) == [(20, 10)] * 3
    calls.clear()
    monkeypatch.setattr(blas_route, "PART_MACS", 1501)
    blas_route._in_parts(a, b, None, False, 8)
    assert calls == [(60, 10)]


def test_a_product_in_parts_waits_for_every_part_and_raises_a_workers_error(monkeypatch):
    monkeypatch.setattr(blas_route, "PART_MACS", 1)
    finished, real = [], backend.matmul_gemm

    def second_part_fails(a, b, out=None, accumulate=False):
        if out is not None and out.base is not None and out.ctypes.data != out.base.ctypes.data:
            raise FloatingPointError("a worker's part failed")
        result = real(a, b, out, accumulate)
        finished.append(a.shape)
        return result

    monkeypatch.setattr(backend, "matmul_gemm", second_part_fails)
    with pytest.raises(FloatingPointError, match="worker's part"):
        blas_route._in_parts(np.ones((40, 30), np.float32), np.ones((30, 20), np.float32),
                             np.empty((40, 20), np.float32), False, 2)
    assert finished == [(20, 30)]  # the calling thread's part ran to its end


def test_mkl_products_are_left_as_they_are(undecided):
    undecided[0] = {"mkl": 0.001, "numpy": 0.002}
    blas_route.parallel_kernels_run()
    _first_product()
    assert backend._gemm is blas.gemm


def test_the_real_openblas_runs_a_small_product_on_one_thread():
    """In a fresh process with OpenBLAS on two threads: the count during a small product, and after,
    with SciPy's OpenBLAS loaded too where SciPy is installed (Numba imports it); and after four
    threads multiplied at once."""
    pytest.importorskip("threadpoolctl")
    script = (
        "import numpy as np\n"
        "try:\n"
        "    import scipy.linalg\n"
        "except ImportError:\n"
        "    pass\n"
        "from threadpoolctl import threadpool_info\n"
        "from chainrule import backend\n"
        "from chainrule.kernels import blas_route\n"
        "if not any(i['internal_api'] == 'openblas' and i['threading_layer'] == 'pthreads'\n"
        "           for i in threadpool_info()):\n"
        "    print('SKIP: NumPy runs on another BLAS here'); raise SystemExit\n"
        "during = []\n"
        "real = backend.matmul_gemm\n"
        "def spy(a, b, out=None, accumulate=False):\n"
        "    during.append([c.get_num_threads() for c in blas_route._openblas])\n"
        "    return real(a, b, out, accumulate)\n"
        "backend.matmul_gemm = spy\n"
        "blas_route.parallel_kernels_run()\n"
        "a = np.ones((16, 16), np.float32)\n"
        "assert (backend.gemm(a, a) == 16).all()\n"
        "assert during == [[1] * len(blas_route._openblas)] and during[0], during\n"
        "assert all(c.get_num_threads() == 2 for c in blas_route._openblas)\n"
        "backend.matmul_gemm = real\n"
        "import threading\n"
        "def many():\n"
        "    for _ in range(300):\n"
        "        backend.gemm(a, a)\n"
        "threads = [threading.Thread(target=many) for _ in range(4)]\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
        "assert all(c.get_num_threads() == 2 for c in blas_route._openblas), 'left at one thread'\n"
        "print('OK')\n")
    out = run_python(script, unset=[], CHAINRULE_BLAS="numpy", OPENBLAS_NUM_THREADS="2")
    if "SKIP" in out:
        pytest.skip("NumPy runs on another BLAS here")
    assert "OK" in out
