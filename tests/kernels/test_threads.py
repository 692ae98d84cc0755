"""chainrule's own worker threads (chainrule.kernels.threads): calls at once, errors after all have ended."""

import sys
import threading
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend
from chainrule.kernels import blas_route, compiled, threads
from fresh_process import run_python


def test_the_calls_run_at_once_the_first_on_the_calling_thread():
    arrived, names = threading.Barrier(3, timeout=5), []

    def meet(k):
        names.append((k, threading.current_thread().name))
        arrived.wait()  # returns only when all three calls are running at the same time

    threads.run_at_once([(meet, (k,)) for k in range(3)])
    assert sorted(k for k, _ in names) == [0, 1, 2]
    assert dict(names)[0] == threading.current_thread().name
    assert all(name.startswith("chainrule") for k, name in names if k)


def test_no_calls_and_one_call_run_here():
    ran = []
    threads.run_at_once([])
    threads.run_at_once([(lambda: ran.append(threading.current_thread().name), ())])
    assert ran == [threading.current_thread().name]


def test_an_error_is_raised_after_every_call_has_ended():
    ended = []

    def slow():
        time.sleep(0.2)
        ended.append("slow")

    def fails():
        raise FloatingPointError("a part failed")

    with pytest.raises(FloatingPointError, match="a part failed"):
        threads.run_at_once([(fails, ()), (slow, ())])
    assert ended == ["slow"]
    with pytest.raises(FloatingPointError, match="a part failed"):
        threads.run_at_once([(slow, ()), (fails, ())])
    assert ended == ["slow", "slow"]


def test_a_forked_child_gets_worker_threads_of_its_own(monkeypatch):
    """The parent's threads do not exist in a fork's child (a data loader's worker): a new pool there."""
    pool = threads._workers(2)
    assert threads._workers(2) is pool and threads._workers(1) is pool
    monkeypatch.setattr(threads.os, "getpid", lambda: -1)
    child = threads._workers(2)
    assert child is not pool and threads._workers(2) is child


def test_a_pool_too_small_is_replaced_and_shut_down():
    small = threads._workers(1)
    larger = threads._workers(small._max_workers + 2)
    assert larger is not small and larger._max_workers == small._max_workers + 2 and small._shutdown


@pytest.fixture
def thread_settings_restored():
    """Every thread setting as it was after the test (set_num_threads acts on the whole process)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    controller = threadpoolctl.ThreadpoolController()
    before = [(library, library.get_num_threads()) for library in controller.lib_controllers]
    numba = sys.modules.get("numba")
    numba_before = numba.get_num_threads() if numba else None
    yield
    threads.requested = None
    for library, count in before:
        library.set_num_threads(count)
    if numba:
        numba.set_num_threads(numba_before)


@pytest.mark.parametrize("count, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                          (True, TypeError), ("2", TypeError), (None, TypeError)])
def test_set_num_threads_takes_a_positive_integer(count, error):
    with pytest.raises(error, match="set_num_threads: the count must be"):
        cr.set_num_threads(count)
    assert threads.requested is None


def test_set_num_threads_sets_the_blas_numba_and_the_parts_and_products_stay_right(thread_settings_restored):
    from threadpoolctl import ThreadpoolController

    a, b = np.random.default_rng(0).random((300, 200)), np.random.default_rng(1).random((200, 100))
    cr.set_num_threads(1)
    assert cr.get_num_threads() == 1
    openblas = ThreadpoolController().select(internal_api="openblas").lib_controllers
    assert all(library.num_threads == 1 for library in openblas)
    assert blas_route.thread_count() == 1 or not blas_route.openblas_controllers()
    if compiled.load("relu") is not None:  # Numba is loaded by now at the latest: it follows the setting
        assert sys.modules["numba"].get_num_threads() == 1
    np.testing.assert_allclose(backend.gemm(a, b), a @ b)
    cr.set_num_threads(2)
    assert cr.get_num_threads() == 2
    if "numba" in sys.modules:
        numba = sys.modules["numba"]
        assert numba.get_num_threads() == min(2, numba.config.NUMBA_NUM_THREADS)


def test_without_threadpoolctl_set_num_threads_says_numpys_blas_keeps_its_threads(monkeypatch,
                                                                                  thread_settings_restored):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    with pytest.warns(RuntimeWarning, match="OPENBLAS_NUM_THREADS"):
        cr.set_num_threads(1)
    assert cr.get_num_threads() == 1


def test_a_count_set_before_numba_starts_reaches_its_kernels():
    """cr.set_num_threads(1) at the top of a script, Numba imported later by the first kernel."""
    pytest.importorskip("numba")
    script = (
        "import sys\n"
        "import chainrule as cr\n"
        "assert 'numba' not in sys.modules\n"
        "cr.set_num_threads(1)\n"
        "from chainrule.kernels import compiled\n"
        "assert compiled.load('relu') is not None\n"
        "import numba\n"
        "print(numba.get_num_threads())\n")
    out = run_python(script, unset=["CHAINRULE_NO_NUMBA"], NUMBA_NUM_THREADS="2")
    assert out.split() == ["1"]
