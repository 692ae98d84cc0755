"""Kernels shared out over MKL's OpenMP team: the LSTM gates (chainrule.kernels.compiled.lstm_team) and the
time-major <-> batch-major copies (chainrule.kernels.compiled.layout).

The split runs the one-thread kernel's code on each share of rows, so every array it writes must be
bit for bit the one-thread kernel's, except the bias gradient, which is summed per share (float64),
and anything downstream of the per-step products when each share computes its own rows of them (MKL
on one thread, for fewer rows): those must agree to rounding. Where no team exists (no MKL, another
threading layer) the split must not be chosen.

Tests that need the team skip without MKL or with one core, and in a process where PyTorch was
imported before MKL's first call (the oracle tests do, at collection): MKL then runs on PyTorch's
GNU OpenMP, not its own team. The last test therefore runs this file again in a fresh interpreter,
where nothing has loaded PyTorch, and requires every test there to pass.
"""

import ctypes
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("numba")


import chainrule as cr  # noqa: E402
import chainrule.nn as nn  # noqa: E402
from chainrule.kernels import blas_route  # noqa: E402
from chainrule.kernels import compiled as fast  # noqa: E402
from chainrule.kernels import lstm as recurrent  # noqa: E402
from chainrule.kernels import mkl as blas  # noqa: E402
from chainrule.kernels.compiled import layout, lstm_team, team  # noqa: E402


@pytest.fixture
def the_team(monkeypatch, count_calls):
    """MKL's team, opened afresh; skip where it is not available here."""
    if not fast.enabled():
        pytest.skip("compiled kernels are switched off (CHAINRULE_NO_NUMBA)")
    monkeypatch.delenv("MKL_THREADING_LAYER", raising=False)
    monkeypatch.setenv(blas.SWITCH_VARIABLE, "mkl")  # the team exists only where MKL runs the products
    monkeypatch.setattr(blas_route, "_choice", None)
    monkeypatch.setattr(team, "_opened", None)
    if team.size() < 2:
        pytest.skip("needs MKL (pip install chainrule[mkl]) on its own OpenMP team of 2+ threads; where"
                    " PyTorch came first, MKL uses PyTorch's: the last test reruns these in a fresh process")
    return count_calls(team, "fork")


def _training_step(seed=0, reverse=False):
    """Forward and backward of an LSTM large enough to split (N = 24, H = 40), float32."""
    cr.manual_seed(seed)
    lstm = nn.LSTM(12, 40, bidirectional=reverse)
    rng = np.random.default_rng(seed)
    x = cr.tensor(rng.standard_normal((9, 24, 12)).astype(np.float32), requires_grad=True)
    out, (h, c) = lstm(x)
    weights = cr.tensor(rng.standard_normal(out.shape).astype(np.float32))
    ((out * weights).sum() + (h * h).sum() + c.sum()).backward()
    named = {"out": out.data, "h": h.data, "c": c.data, "x.grad": x.grad.data}
    named.update({name + ".grad": p.grad.data for name, p in lstm.named_parameters()})
    return named


def _recording_splits(monkeypatch):
    """Record every split made, to see whether it took the per-step products."""
    made = []
    for direction in ("forward", "backward"):
        original = getattr(lstm_team, direction + "_split")

        def recording(*arrays, original=original):
            split = original(*arrays)
            made.append(split)
            return split

        monkeypatch.setattr(lstm_team, direction + "_split", recording)
    return made


@pytest.mark.parametrize("products", [True, False], ids=["products in the shares", "products by the caller"])
@pytest.mark.parametrize("reverse", [False, True])
def test_split_kernels_give_the_one_thread_kernels_results(the_team, monkeypatch, reverse, products):
    monkeypatch.setattr(lstm_team, "PARALLEL_FROM", 1)
    if not products:  # too small to pack for a share: the caller keeps the products
        monkeypatch.setattr(blas, "SMALL_PRODUCT", 1 << 30)
    made = _recording_splits(monkeypatch)
    split = _training_step(reverse=reverse)
    assert the_team[0] > 0  # the split really ran
    assert made and all(s is not None and s.products == products for s in made)
    monkeypatch.setattr(recurrent, "team_split", lambda *arrays: None)
    one_thread = _training_step(reverse=reverse)
    for name, want in one_thread.items():
        got = split[name]
        assert got.dtype == np.float32, name
        if name.startswith("bias") or products:  # the bias: summed per share, then the shares in
            # order; the products: MKL's one-thread kernel for a share's rows may round differently
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)


def _only_the_first_thread(task, arguments):
    """A team of one thread: the runtime may give fewer threads than asked for."""
    function = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(ctypes.c_int32),
                                ctypes.c_void_p)(task.value)
    function(ctypes.byref(ctypes.c_int32(0)), ctypes.byref(ctypes.c_int32(0)), arguments)


@pytest.mark.parametrize("fork", [lambda task, arguments: None, _only_the_first_thread],
                         ids=["no thread ran", "one thread ran"])
def test_shares_no_thread_ran_are_run_by_the_caller(the_team, monkeypatch, fork):
    monkeypatch.setattr(lstm_team, "PARALLEL_FROM", 1)
    monkeypatch.setattr(team, "fork", fork)
    made = _recording_splits(monkeypatch)
    short = _training_step(seed=3)
    assert made and all(s.products for s in made)  # the caller then runs the shares' products too
    monkeypatch.setattr(recurrent, "team_split", lambda *arrays: None)
    one_thread = _training_step(seed=3)
    for name, want in one_thread.items():
        np.testing.assert_allclose(short[name], want, rtol=1e-5, atol=1e-6, err_msg=name)


def test_small_steps_and_other_arrays_keep_one_thread(the_team):
    rows, hidden, steps = 4, 8, 3  # 4 x 32 activations per step, far below PARALLEL_FROM
    acts = np.zeros((steps, rows, 4 * hidden), np.float32)
    c_prev, out = np.zeros((steps, rows, hidden), np.float32), np.zeros((steps + 1, rows, hidden), np.float32)
    bias = np.zeros(4 * hidden, np.float32)
    assert lstm_team.forward_split(acts, bias, c_prev, out) is None
    big = np.zeros((steps, 64, 1024), np.float32), np.zeros((steps, 64, 256), np.float32)
    out = np.zeros((steps + 1, 64, 256), np.float32)
    assert lstm_team.forward_split(big[0], np.zeros(1024, np.float32), big[1], out) is not None
    as64 = [a.astype(np.float64) for a in (big[0], big[1], out)]
    assert lstm_team.forward_split(as64[0], np.zeros(1024), as64[1], as64[2]) is None
    assert lstm_team.forward_split(big[0][:, ::2], np.zeros(1024, np.float32), big[1][:, ::2],
                                   out[:, ::2]) is None  # not contiguous


@pytest.mark.parametrize("setting", ["MKL_THREADING_LAYER=GNU", "MKL_THREADING_LAYER=SEQUENTIAL",
                                     "CHAINRULE_BLAS=numpy", "MKL_NUM_THREADS=1"])
def test_no_team_where_it_might_not_be_mkls_own(monkeypatch, forget_mkl, setting):
    monkeypatch.setenv(blas.SWITCH_VARIABLE, "mkl")  # MKL chosen: only the setting may rule the team out
    mkl = blas.library if blas.load() else None  # the process's MKL, before the setting
    threads = mkl.MKL_Get_Max_Threads() if mkl is not None else None
    variable, value = setting.split("=")
    monkeypatch.setenv(variable, value)
    monkeypatch.setattr(team, "_opened", None)
    forget_mkl()  # so that load() reads the environment again
    try:
        assert team.size() == 1
    finally:
        if threads is not None:
            mkl.MKL_Set_Num_Threads(threads)  # MKL_NUM_THREADS=1 set the process's MKL to one thread


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("source_shape, steps", [((65, 64, 256), 64), ((9, 31, 1000), 9), ((5, 3, 40000), 2)])
def test_team_copy_gives_numpys_bytes(the_team, dtype, source_shape, steps):
    rng = np.random.default_rng(steps)
    source = rng.standard_normal(source_shape).astype(dtype)
    out = np.full((source_shape[1], steps, source_shape[2]), np.nan, dtype)
    assert layout.team_swap(source, out)
    assert the_team[0] == 1
    np.testing.assert_array_equal(out, source[:steps].swapaxes(0, 1))


@pytest.mark.parametrize("fork", [lambda task, arguments: None, _only_the_first_thread],
                         ids=["no thread ran", "one thread ran"])
def test_team_copy_shares_no_thread_ran_are_copied_by_the_caller(the_team, monkeypatch, fork):
    monkeypatch.setattr(team, "fork", fork)
    source = np.random.default_rng(1).standard_normal((33, 17, 600)).astype(np.float32)
    out = np.full((17, 33, 600), np.nan, np.float32)
    assert layout.team_swap(source, out)
    np.testing.assert_array_equal(out, source.swapaxes(0, 1))


def test_what_the_team_copy_does_not_take_is_left_to_numpy(the_team):
    big = np.zeros((64, 64, 256), np.float32)
    buffer = np.zeros(2 * big.size, np.float32)
    cases = {
        "small": (np.zeros((4, 3, 5), np.float32), np.zeros((3, 4, 5), np.float32)),
        "dtypes differ": (big, np.zeros((64, 64, 256))),
        "source not contiguous": (np.zeros((64, 64, 512), np.float32)[:, :, ::2], big.copy()),
        "out overlapping the source": (buffer[:big.size].reshape(big.shape),
                                       buffer[1000:1000 + big.size].reshape(big.shape)),
        "shapes do not fit": (np.zeros((64, 63, 256), np.float32), big.copy()),
        "too few source steps": (np.zeros((32, 64, 256), np.float32), big.copy()),
    }
    for name, (source, out) in cases.items():
        assert not layout.team_swap(source, out), name
    assert the_team[0] == 0


def test_batch_first_lstm_is_the_same_with_and_without_the_team_copy(the_team, monkeypatch):
    def step():
        cr.manual_seed(4)
        lstm = nn.LSTM(8, 64, batch_first=True)
        rng = np.random.default_rng(4)
        x = cr.tensor(rng.standard_normal((32, 40, 8)).astype(np.float32), requires_grad=True)
        out, _ = lstm(x)
        (out * cr.tensor(rng.standard_normal(out.shape).astype(np.float32))).sum().backward()
        return [out.data, x.grad.data] + [p.grad.data for p in lstm.parameters()]

    shared = step()
    assert the_team[0] > 0
    monkeypatch.setattr(layout, "team_swap", lambda source, out: False)
    monkeypatch.setattr(recurrent, "team_split", lambda *arrays: None)
    for k, (got, want) in enumerate(zip(shared, step())):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"array {k}")


def test_the_team_is_no_larger_than_the_openmp_runtime_allows():
    """MKL may be told more threads than the runtime gives a team: the shares must follow the runtime."""
    if blas.find_library() is None:
        pytest.skip("needs MKL (pip install chainrule[mkl])")
    code = "from chainrule.kernels.compiled import team; print(team.size())"
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "2", blas.SWITCH_VARIABLE: "mkl"}
    result = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1"]


_CHILD = "CHAINRULE_TEST_TEAM_CHILD"


@pytest.mark.skipif(bool(os.environ.get(_CHILD)), reason="this is the fresh interpreter already")
def test_in_a_fresh_process_the_team_is_found_and_every_test_above_passes():
    if blas.find_library() is None or (os.cpu_count() or 1) < 2 or not fast.enabled():
        pytest.skip("needs MKL (pip install chainrule[mkl]), 2 cores and the compiled kernels")
    if "torch" in sys.modules and team.size() > 1:
        pytest.skip("the tests above ran on the team in this process already")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-k", "not fresh_process",
         __file__],
        env={**os.environ, _CHILD: "1"}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "skipped" not in result.stdout and " passed" in result.stdout, result.stdout[-4000:]
