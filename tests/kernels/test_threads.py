"""chainrule's own worker threads (chainrule.kernels.threads): calls at once, errors after all have ended."""

import threading
import time

import pytest

from chainrule.kernels import threads


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
