"""Data-parallel training under ``mpiexec -n 2`` and ``-n 3`` (oversubscribed on small machines).

The ranks run tests/distributed/mpi_cases.py; these tests compare what they wrote with one
process training on the global batch, and time how fast a misbehaving rank ends the job.
Skipped without mpi4py or an ``mpiexec`` launcher (``pip install "chainrule[mpi]"``).
"""

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy
import pytest

pytest.importorskip("mpi4py")
MPIEXEC = shutil.which("mpiexec")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (pip install mpich)")

import chainrule as cr  # noqa: E402

CASES = Path(__file__).with_name("mpi_cases.py")
_spec = importlib.util.spec_from_file_location("mpi_cases", CASES)
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)


def launch(ranks, case, out, timeout, command=None, **env):
    """Run mpi_cases.py CASE (or ``command``) on ``ranks`` ranks; returns (exit status, output, seconds)."""
    environment = {**os.environ, "CHAINRULE_NO_NUMBA": "1", "OMP_NUM_THREADS": "1", **env}
    src = str(Path(cr.__file__).parents[1])
    environment["PYTHONPATH"] = os.pathsep.join([src, environment.get("PYTHONPATH", "")])
    start = time.monotonic()
    command = command or [str(CASES), case, str(out)]
    result = subprocess.run([MPIEXEC, "-n", str(ranks), sys.executable, *command], capture_output=True,
                            text=True, timeout=timeout, env=environment)
    return result.returncode, result.stdout + result.stderr, time.monotonic() - start


@pytest.fixture(scope="module", params=[2, 3])
def trained(request, tmp_path_factory):
    ranks = request.param
    out = tmp_path_factory.mktemp(f"ranks{ranks}")
    status, output, _ = launch(ranks, "train", out, timeout=240)
    assert status == 0, output
    return ranks, out, [dict(numpy.load(out / f"rank{r}.npz")) for r in range(ranks)]


@pytest.mark.parametrize("name, batch_norm", [("sgd", False), ("adam", False), ("sgd", True)])
@pytest.mark.parametrize("dtype, tolerance", [(numpy.float32, 1e-6), (numpy.float64, 1e-12)])
def test_ranks_with_batch_b_step_as_one_process_with_batch_nb(trained, name, batch_norm, dtype, tolerance):
    """Also with a synchronised BatchNorm: its statistics, running averages and gradients are
    those of one BatchNorm over the global batch."""
    ranks, _, results = trained
    x, y = cases.data(cases.STEPS * cases.PER_RANK * ranks, dtype)
    model = cases.net(dtype, batch_norm)
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if name == "sgd" \
        else cr.optim.Adam(model.parameters(), lr=0.01)
    global_batch = cases.PER_RANK * ranks
    for start in range(0, len(x), global_batch):
        optimizer.zero_grad()
        loss = cr.nn.functional.mse_loss(model(cr.tensor(x[start:start + global_batch])),
                                         cr.tensor(y[start:start + global_batch]))
        loss.backward()
        optimizer.step()
    key = f"{name}_{numpy.dtype(dtype).name}" + ("_bn" if batch_norm else "")
    for i, t in enumerate(model.state_dict().values()):
        for r in range(ranks):
            numpy.testing.assert_allclose(results[r][f"{key}_{i}"], t.numpy(), rtol=0, atol=tolerance)
        assert results[0][f"{key}_{i}"].dtype == t.dtype


def test_fit_leaves_bit_identical_parameters_on_every_rank(trained):
    ranks, out, results = trained
    names = [k for k in results[0] if k.startswith(("fit_", "resumed_")) and k != "fit_log_written"]
    for r in range(1, ranks):
        for k in names:
            assert numpy.array_equal(results[r][k], results[0][k]), (k, r)
    assert not numpy.array_equal(results[0]["fit_0"], results[0]["resumed_0"])  # resuming trained on


def test_fit_writes_files_on_rank_zero_only_and_resumes_from_its_checkpoint(trained):
    ranks, out, results = trained
    assert bool(results[0]["fit_log_written"])
    assert not any(bool(results[r]["fit_log_written"]) for r in range(1, ranks))
    assert (out / "log0.csv").read_text().count("\n") == 4  # header and 3 epochs
    assert list(results[0]["resumed_epochs"]) == [0, 1, 2, 3]  # 3 from the checkpoint, 1 more


def test_fit_logs_validation_means_over_the_whole_validation_set(trained):
    ranks, _, results = trained
    for r in range(ranks):
        numpy.testing.assert_allclose(results[r]["val_logged"], results[0]["val_full"], rtol=1e-6)


def test_fit_keeps_a_loader_the_user_sharded_with_drop_last(trained):
    ranks, _, results = trained
    per_rank = 23 // ranks  # drop_last: the uneven tail is left out, no sample repeats
    for r in range(ranks):
        assert list(results[r]["loader_steps"]) == [per_rank, 2 * -(-per_rank // 2)]
        for k in (k for k in results[0] if k.startswith("fit_loader_")):
            assert numpy.array_equal(results[r][k], results[0][k])


def test_fit_scales_the_learning_rate_only_when_asked(trained):
    ranks, _, results = trained
    numpy.testing.assert_allclose(results[0]["linear_rule"], [0.1 * ranks, 0.1 * ranks, 0.1])


def test_broadcasts_give_every_rank_the_roots_parameters_buffers_and_optimizer_state(trained):
    ranks, _, results = trained
    keys = [k for k in results[0] if k.startswith("broadcast_")]
    assert len(keys) == 8  # weight, bias; BatchNorm's weight, bias, running mean, var and count; lr
    for r in range(1, ranks):
        for k in keys:
            assert numpy.array_equal(results[r][k], results[0][k]), (k, r)
    assert numpy.isclose(results[0]["broadcast_lr"], 0.1 * ranks)  # the last rank's


def test_dropout_draws_differ_between_ranks(trained):
    ranks, _, results = trained
    draws = [tuple(results[r]["dropout_draw"]) for r in range(ranks)]
    assert len(set(draws)) == ranks


@pytest.mark.parametrize("n", [10, 11, 13])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_gives_every_rank_as_many_indices_and_covers_the_data(trained, n, drop_last):
    ranks, _, results = trained
    key = f"sampler_{n}_{drop_last}"
    shards = [results[r][key] for r in range(ranks)]
    assert results[0][f"{key}_max_len"][0] == results[0][f"{key}_min_len"][0] == len(shards[0])
    seen = numpy.concatenate(shards)
    if drop_last:
        assert len(seen) == n // ranks * ranks and len(set(seen.tolist())) == len(seen)  # no repeats
    else:
        assert len(seen) == -(-n // ranks) * ranks and set(seen.tolist()) == set(range(n))


@pytest.mark.parametrize("case, limit, expected", [
    ("raise", 10, "rank 1 of 2: uncaught RuntimeError: this rank fails on purpose"),
    ("kill", 60, "rank 1 of 2 (pid "),
    ("kill_fit", 60, "rank 1 of 2 (pid "),
    ("exit", 60, "rank(s) 1 exited"),
    ("sizes", 10, "the ranks passed different arrays"),
])
def test_a_failing_rank_ends_the_whole_job(tmp_path, case, limit, expected):
    status, output, seconds = launch(2, case, tmp_path, timeout=limit + 30)
    assert status != 0
    assert expected in output, output
    assert seconds < limit
    if case.startswith("kill"):  # named by its watcher: rank, process and host
        assert re.search(r"rank 1 of 2 \(pid \d+ on \S+\) died: ", output), output


def test_a_stalled_rank_ends_the_job_at_the_deadline_naming_it(tmp_path):
    status, output, seconds = launch(3, "stall", tmp_path, timeout=60, CHAINRULE_DIST_TIMEOUT="4")
    assert status != 0
    assert "rank(s) 2 did not arrive" in output, output
    assert "within 4 s" in output
    assert 4 <= seconds < 4 + 20


def test_the_command_line_trains_a_zoo_model_on_two_ranks(tmp_path):
    status, output, _ = launch(2, None, tmp_path, timeout=240, command=[
        "-m", "chainrule.cli", "train", "mlp", "--distributed", "--epochs", "1", "--limit", "256",
        "--batch-size", "32", "--out", str(tmp_path)])
    assert status == 0, output
    assert output.count("training mlp") == 1  # rank 0 alone reports
    assert "2 ranks x batch_size 32 = global batch 64; learning rate as set" in output
    assert "Epoch 1/1" in output and (tmp_path / "mlp.chainrule").is_file()


def test_non_finite_steps_on_several_ranks_are_all_named(tmp_path):
    status, output, _ = launch(3, "nan_loss", tmp_path, timeout=60)
    assert status == 0, output
    expected = "batch 6/10: on ranks 1, 2 of 3: rank 1: the loss is nan; rank 2: the loss is nan."
    assert output.count(expected) == 3, output
    results = [dict(numpy.load(tmp_path / f"rank{r}.npz")) for r in range(3)]
    for saved in results:
        for key in (k for k in saved if k.startswith("nan_weights_")):
            assert numpy.array_equal(saved[key], results[0][key])


def test_a_resumed_run_sees_the_same_batches_and_random_streams_as_an_uninterrupted_one(tmp_path):
    """Interrupted after epoch 2 of 4 and resumed from rank 0's checkpoint: every rank draws the same
    shuffles and dropout masks in epochs 3 and 4 as the run that went through, so the weights agree."""
    status, output, _ = launch(2, "resume", tmp_path, timeout=120)
    assert status == 0, output
    for r in range(2):
        saved = dict(numpy.load(tmp_path / f"rank{r}.npz"))
        for key in (k for k in saved if k.startswith("whole_")):
            resumed = saved[key.replace("whole_", "resumed_")]
            if "float64" in key:  # SGD in float64: the same operations in the same order
                assert numpy.array_equal(resumed, saved[key]), key
            else:
                numpy.testing.assert_allclose(resumed, saved[key], rtol=0, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("where, reason", [("loss", "the loss is nan"),
                                           ("gradient", "the gradient of 0.weight holds nan"),
                                           ("step", "train_step returned loss=nan")])
def test_a_non_finite_step_on_one_rank_stops_every_rank_at_that_step(tmp_path, where, reason):
    """Rank 1 alone goes non-finite at its 6th batch: every rank stops there with the same warning
    naming rank 1 and all keep the same weights: the last finite ones, as no rank took that step
    (a custom train_step has taken it before returning NaN: the same step on every rank)."""
    status, output, seconds = launch(2, f"nan_{where}", tmp_path, timeout=60)
    assert status == 0, output
    assert output.count(f"batch 6/10: on rank 1 of 2, {reason}") == 2, output  # once per rank
    assert seconds < 30  # not the collective deadline (300 s)
    results = [dict(numpy.load(tmp_path / f"rank{r}.npz")) for r in range(2)]
    for saved in results:
        assert saved["nan_steps"] == 5 and saved["nan_epochs"] == 1
        assert numpy.isfinite(saved["nan_loss_logged"]).all() == (where != "step")
        for key in (k for k in saved if k.startswith("nan_weights_")):
            assert numpy.array_equal(saved[key], results[0][key])
            last_finite = saved[key.replace("weights", "last_finite")]
            assert numpy.array_equal(saved[key], last_finite) == (where != "step")


def test_the_command_line_names_a_rank_killed_while_training(tmp_path):
    """``mpiexec -n 2 chainrule train --distributed``: a rank killed from outside (as by the
    out-of-memory killer) ends the job, and the output names it by rank, process id and host."""
    environment = {**os.environ, "CHAINRULE_NO_NUMBA": "1", "OMP_NUM_THREADS": "1",
                   "PYTHONPATH": str(Path(cr.__file__).parents[1])}
    start = time.monotonic()
    job = subprocess.Popen([MPIEXEC, "-n", "2", sys.executable, "-m", "chainrule.cli", "train", "mlp",
                            "--distributed", "--epochs", "500", "--limit", "128", "--out", str(tmp_path)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment)
    lines = []
    try:
        for line in job.stdout:  # rank 0 logs which process is which rank, then trains
            lines.append(line)
            places = re.search(r"rank 1 = pid (\d+) on (\S+)", line)
            if places:
                pid, host = places.groups()
            if line.startswith("Epoch 2/"):
                os.kill(int(pid), signal.SIGKILL)
                break
        rest, _ = job.communicate(timeout=60)
    finally:
        job.kill()
    output = "".join(lines) + rest
    assert job.returncode != 0
    assert f"rank 1 of 2 (pid {pid} on {host}) died: " in output, output
    assert time.monotonic() - start < 90


def test_the_scaling_benchmark_runs():
    """benchmarks/bench_distributed.py --quick: a check that it runs (the measurement is the lead's)."""
    script = Path(__file__).parents[2] / "benchmarks" / "bench_distributed.py"
    environment = {**os.environ, "CHAINRULE_NO_NUMBA": "1", "PYTHONPATH": str(Path(cr.__file__).parents[1])}
    result = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True, text=True,
                            timeout=120, env=environment)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    steps = [row for row in rows if "model" in row]
    assert [row["ranks"] for row in steps] == [1, 2] and all(row["samples_per_s"] > 0 for row in steps)
    assert [row["ranks"] for row in rows if "allreduce_mib" in row] == [1, 2]
