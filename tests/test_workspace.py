"""chainrule.kernels.workspace: reuse only arrays that nobody holds, within the bound, per thread."""

import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.kernels import workspace

SHAPE = (256, 128)  # 128 KB of float32: large enough to be pooled


@pytest.fixture(autouse=True)
def fresh_pool():
    workspace.clear()
    previous = workspace.set_limit(256 * 1024 * 1024)
    yield
    workspace.set_limit(previous)
    workspace.clear()


def test_an_unreferenced_array_is_handed_out_again():
    first = workspace.reusable("k", SHAPE, np.float32)
    address = first.__array_interface__["data"][0]
    del first
    second = workspace.reusable("k", SHAPE, np.float32)
    assert second.__array_interface__["data"][0] == address
    assert second.shape == SHAPE and second.dtype == np.float32 and second.flags.c_contiguous


@pytest.mark.parametrize("hold", ["directly", "view", "reshaped view", "tensor", "tensor view", "op node"])
def test_a_held_array_is_never_handed_out(hold):
    first = workspace.reusable("k", SHAPE, np.float32)
    first[...] = 7
    holder = {"directly": lambda a: a, "view": lambda a: a[3:, ::2],
              "reshaped view": lambda a: a.reshape(-1)[10:].T,
              "tensor": lambda a: cr.Tensor(a), "tensor view": lambda a: cr.Tensor(a[1:]).reshape(-1),
              "op node": lambda a: {"saved": a.T}}[hold](first)
    del first
    second = workspace.reusable("k", SHAPE, np.float32)
    second[...] = -1  # overwriting it must not reach what is held
    data = holder.numpy() if isinstance(holder, cr.Tensor) else holder
    data = data["saved"] if isinstance(data, dict) else data
    assert not np.shares_memory(second, data)
    assert np.all(data == 7)


def test_the_array_comes_back_once_the_holder_lets_go():
    first = workspace.reusable("k", SHAPE, np.float32)
    view = first[::2]
    address = first.__array_interface__["data"][0]
    del first
    other = workspace.reusable("k", SHAPE, np.float32)
    assert other.__array_interface__["data"][0] != address
    del view
    again = workspace.reusable("k", SHAPE, np.float32)
    assert again.__array_interface__["data"][0] == address
    assert not np.shares_memory(again, other)


def test_key_shape_and_dtype_must_all_match():
    first = workspace.reusable("k", SHAPE, np.float32)
    address = first.__array_interface__["data"][0]
    del first
    for key, shape, dtype in [("other", SHAPE, np.float32), ("k", SHAPE[::-1], np.float32),
                              ("k", SHAPE, np.int32), ("k", (128, 128), np.float64)]:
        array = workspace.reusable(key, shape, dtype)
        assert array.shape == shape and array.dtype == dtype
        assert array.__array_interface__["data"][0] != address
        del array


def test_small_and_non_numpy_arrays_are_not_pooled():
    small = workspace.reusable("k", (4, 4), np.float32)
    assert small.shape == (4, 4)
    assert workspace.pooled_bytes() == 0

    class FakeModule:  # stands in for CuPy: whatever it makes is its own business
        @staticmethod
        def empty(shape, dtype):
            return ("made by the module", shape, dtype)

    assert workspace.reusable("k", SHAPE, np.float32, xp=FakeModule)[0] == "made by the module"
    assert workspace.pooled_bytes() == 0


def test_the_pool_respects_its_bound():
    nbytes = SHAPE[0] * SHAPE[1] * 4
    workspace.set_limit(3 * nbytes)
    held = [workspace.reusable(("k", i), SHAPE, np.float32) for i in range(5)]  # all held: no reuse
    assert workspace.pooled_bytes() <= 3 * nbytes
    assert len({a.__array_interface__["data"][0] for a in held}) == 5
    del held
    for i in range(20):
        workspace.reusable(("other", i % 7), SHAPE, np.float32)
        assert workspace.pooled_bytes() <= 3 * nbytes
    big = workspace.reusable("big", (4 * SHAPE[0], SHAPE[1]), np.float32)  # over the bound: not kept
    assert big.shape == (4 * SHAPE[0], SHAPE[1])
    assert workspace.pooled_bytes() <= 3 * nbytes


def test_unreferenced_arrays_are_forgotten_before_held_ones():
    nbytes = SHAPE[0] * SHAPE[1] * 4
    workspace.set_limit(2 * nbytes)
    held = workspace.reusable("held", SHAPE, np.float32)  # the oldest, but held
    workspace.reusable("loose", SHAPE, np.float32)
    workspace.reusable("newer", SHAPE, np.float32)  # makes room by forgetting "loose", not "held"
    del held
    address_free = workspace.reusable("held", SHAPE, np.float32).__array_interface__["data"][0]
    assert workspace.reusable("held", SHAPE, np.float32).__array_interface__["data"][0] == address_free


def test_limit_zero_turns_reuse_off():
    workspace.reusable("k", SHAPE, np.float32)
    assert workspace.pooled_bytes() > 0
    workspace.set_limit(0)
    workspace.clear()
    for _ in range(3):
        assert workspace.reusable("k", SHAPE, np.float32).shape == SHAPE
        assert workspace.pooled_bytes() == 0
    with pytest.raises(ValueError):
        workspace.set_limit(-1)


def test_scratch_grows_and_never_hands_out_a_buffer_in_use():
    a = workspace.scratch(np, "cols", 40_000, np.float32)
    assert a.shape == (40_000,)
    b = workspace.scratch(np, "cols", 30_000, np.float32)  # a is still in use
    assert not np.shares_memory(a, b)
    del a, b
    c = workspace.scratch(np, "cols", 50_000, np.float32)  # larger: replaces the smaller ones
    d_address = c.__array_interface__["data"][0]
    del c
    d = workspace.scratch(np, "cols", 20_000, np.float32)
    assert d.__array_interface__["data"][0] == d_address and d.shape == (20_000,)


def test_each_thread_has_its_own_pool_and_threads_never_share_a_live_array():
    errors, barrier = [], threading.Barrier(4)

    def work(tag):
        try:
            barrier.wait()
            for _ in range(200):
                array = workspace.reusable("shared key", SHAPE, np.float32)
                array[...] = tag
                kept = array[::7]  # hold a view across a switch to other threads
                del array
                threading.Event().wait(0)  # let the others run
                if not np.all(kept == tag):
                    errors.append(f"thread {tag} saw its array overwritten")
                del kept
        except Exception as error:  # pragma: no cover - reported below
            errors.append(repr(error))

    threads = [threading.Thread(target=work, args=(tag,)) for tag in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_an_array_handed_to_another_thread_stays_out_of_the_pool():
    array = workspace.reusable("k", SHAPE, np.float32)
    array[...] = 5
    box, taken, release = [], threading.Event(), threading.Event()

    def other():
        held = box.pop()  # now only this thread refers to it
        taken.set()
        release.wait(5)
        box.append(bool(np.all(held == 5)))

    box.append(array)
    del array
    thread = threading.Thread(target=other)
    thread.start()
    taken.wait(5)
    fresh = workspace.reusable("k", SHAPE, np.float32)
    fresh[...] = -1
    release.set()
    thread.join()
    assert box == [True]
