"""chainrule against PyTorch on the course's workloads, interleaved in one run (../shared/WORKLOADS.md).

    python benchmarks/run.py [NAME ...] [--quick] [--json FILE]

Worker processes take turns step batch by step batch (A B C A B C ...), so that the machine's drift
cancels: chainrule in three configurations, ``chainrule`` (the `fast,mkl` extras: Numba and MKL; just
`fast` where MKL is not installed), ``fast`` (Numba, NumPy's BLAS) and ``core`` (NumPy alone: Numba
off, NumPy's BLAS), PyTorch as installed, and PyTorch with glibc's malloc thresholds raised (its CPU
times swing with the allocator). ``python -m benchmarks.startup`` times the start-up and first step. Each turn
runs untimed warm-up steps for a quarter of a second, then times a few steps back to back, as a
training run takes them. Reported per workload: median step time in the workload's unit, the ratio
chainrule / PyTorch (below 1 means we are faster), achieved GFLOP/s of the step's matrix products
against the GEMM limit of this machine measured in the same run, and the peak resident memory that
a steady training step adds to what is held between steps (the JSON also has the first step's,
which includes buffers made once and lazily loaded code). A GEMM-bound check times
each step's matrix products alone on each engine's own BLAS, which splits the step into GEMM time
and the rest (the overhead an engine adds around the products).
"""

import argparse
import importlib.metadata
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

THREADS = "2"
os.environ.setdefault("OMP_NUM_THREADS", THREADS)
os.environ.setdefault("OPENBLAS_NUM_THREADS", THREADS)
os.environ.setdefault("MKL_NUM_THREADS", THREADS)

import numpy as np  # noqa: E402 - after the thread settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.workloads import GEMMS, WORKLOADS  # noqa: E402

# Untimed steps at the start of each turn, for at least WARMUP_SECONDS (and at least one step). After
# another engine's turn (and the settle pause) both engines run slower for a while: on these 2-vCPU
# machines, measured on a quiet machine after a 0.3 s sleep, medians of 20-step windows of the mlp
# step were chainrule 4.20, 3.33, then 3.0 ms (steady 2.92) and PyTorch+malloc 5.21, 5.38, then
# 4.44 ms (steady 4.43): about 0.15-0.2 s to recover, longer than the stalls of sleeping BLAS
# threads alone (the same happens with one BLAS thread, and after a sleep of 1 ms). One warm-up step
# (the earlier rule) left the timed steps inside that transient, which adds about the same
# milliseconds to both engines and so pulled every ratio towards 1. A training run's steps follow
# each other; "seconds per 60,000 samples" means those steps.
WARMUP_STEPS = 1
WARMUP_SECONDS = 0.25

MALLOC = {"MALLOC_MMAP_THRESHOLD_": "1000000000", "MALLOC_TRIM_THRESHOLD_": "1000000000"}


class Worker:
    def __init__(self, engine, extra_env=None, checkout=ROOT):
        env = dict(os.environ, **(extra_env or {}))
        source = str(Path(checkout) / "src")
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), source, env.get("PYTHONPATH", "")])
        self.process = subprocess.Popen([sys.executable, "-m", "benchmarks.worker", engine], cwd=ROOT,
                                        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, **request):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark worker died on {request}")
        return json.loads(line)

    def close(self):
        try:
            self.ask(cmd="quit")
        except (RuntimeError, BrokenPipeError, ValueError):
            pass
        self.process.wait(timeout=30)


def mkl_installed():
    """True when chainrule's products will run on MKL (the mkl extra installed, not switched off)."""
    try:
        importlib.metadata.distribution("mkl")
    except importlib.metadata.PackageNotFoundError:
        return False
    return os.environ.get("CHAINRULE_BLAS", "").strip().lower() != "numpy"


def gemm_limit_gflops(size=2048, repeats=5):
    """The best float32 matmul rate of this machine on two threads: the ceiling for any engine."""
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    b = a.copy()
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(name, workers, rounds, steps, fit_batches, settle=0.0, warmup=WARMUP_SECONDS):
    """Median step time per worker, interleaved round by round (a round of ``mlp_fit`` is one call of
    ``fit`` over ``fit_batches`` batches); each turn first runs untimed steps for ``warmup`` seconds.

    ``settle`` seconds of pause after each turn let the BLAS and OpenMP threads of the engine that just
    ran stop spinning (OpenBLAS spins ~2^28 cycles after a product by default, MKL's Intel OpenMP
    200 ms), so that they do not take the cores from the next engine's turn.
    """
    for w in workers.values():
        w.ask(cmd="setup", name=name, fit_steps=fit_batches)
    times = {label: [] for label in workers}
    for _ in range(rounds):
        for label, w in workers.items():
            times[label] += w.ask(cmd="run", steps=1 if name == "mlp_fit" else steps,
                                  warmup=WARMUP_STEPS, warmup_seconds=warmup)["times"]
            time.sleep(settle)
    memory = {label: w.ask(cmd="memory") for label, w in workers.items()}
    per = fit_batches if name == "mlp_fit" else 1
    medians = {label: statistics.median(t) / per for label, t in times.items()}
    best = {label: min(t) / per for label, t in times.items()}
    return medians, best, memory


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"workloads (default all): {', '.join(WORKLOADS)}, mlp_fit")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (under a minute)")
    parser.add_argument("--json", type=Path, help="also write one JSON object per workload to this file")
    parser.add_argument("--settle", type=float, default=0.3, metavar="SECONDS",
                        help="pause after each engine's turn, so that its idle threads stop spinning "
                             "before the next engine runs (default 0.3; 0 to disable)")
    parser.add_argument("--warmup", type=float, default=WARMUP_SECONDS, metavar="SECONDS",
                        help="untimed steps at the start of each turn, for at least this long "
                             f"(default {WARMUP_SECONDS}; 0 for a single warm-up step)")
    parser.add_argument("--ours-malloc", action="store_true",
                        help="also time chainrule with the same malloc thresholds as torch+malloc")
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                        help="also time the chainrule of another checkout (its src/), interleaved in "
                             "the same run: before/after figures of a change")
    parser.add_argument("--rounds", type=int, metavar="N",
                        help="interleaved rounds (default 30, 2 with --quick)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="cuda: chainrule on CuPy beside PyTorch on CUDA (benchmarks/gpu_bench.py)")
    args = parser.parse_args(argv)
    if args.device == "cuda":
        from benchmarks import gpu_bench

        return gpu_bench.main([n for n in args.names if n != "mlp_fit"], args.quick, args.json)
    names = args.names or [*WORKLOADS, "mlp_fit"]
    # many short rounds: on a shared machine, load comes in bursts that a long round would give to
    # one engine only
    rounds, steps, fit_batches = (2, 2, 4) if args.quick else (30, 4, 20)
    rounds = args.rounds or rounds
    have_torch = importlib.util.find_spec("torch") is not None

    limit = gemm_limit_gflops(1024 if args.quick else 2048)
    print(f"GEMM limit (float32 numpy.matmul, {THREADS} threads): {limit:.0f} GFLOP/s")
    if not have_torch:
        print("PyTorch is not installed: timing chainrule alone (pip install torch==2.13.0 for the peer)")

    with_mkl = mkl_installed()
    labels = ["chainrule"] + (["fast"] if with_mkl else []) + ["core"] + \
        (["baseline"] if args.baseline else []) + \
        (["chainrule+malloc"] if args.ours_malloc else []) + (["torch", "torch+malloc"] if have_torch else [])
    rows = []
    workers = {"chainrule": Worker("ours")}
    if with_mkl:  # the same engine on NumPy's own BLAS: what a user without the mkl extra gets
        workers["fast"] = Worker("ours", {"CHAINRULE_BLAS": "numpy"})
    workers["core"] = Worker("ours", {"CHAINRULE_BLAS": "numpy", "CHAINRULE_NO_NUMBA": "1"})  # NumPy only
    if args.baseline:
        workers["baseline"] = Worker("ours", checkout=args.baseline.resolve())
    if args.ours_malloc:
        workers["chainrule+malloc"] = Worker("ours", MALLOC)
    if have_torch:
        workers["torch"] = Worker("torch")
        if not args.quick:
            workers["torch+malloc"] = Worker("torch", MALLOC)
    try:
        choice = workers["chainrule"].ask(cmd="blas")  # the fast,mkl worker: MKL only where it won
        print(f"chainrule: products on {choice['blas']} ({choice['reason']})")
        for name in names:
            ours_only = name == "mlp_fit"
            active = {k: w for k, w in workers.items() if not ours_only or k in ("chainrule", "baseline")}
            medians, best, memory = measure(name, active, rounds, steps, fit_batches,
                                            0.0 if args.quick else args.settle,
                                            0.0 if args.quick else args.warmup)
            workload = WORKLOADS["mlp" if ours_only else name]
            row = {"workload": name, "unit": workload.unit, "rounds": rounds, "steps": steps}
            for label, seconds in medians.items():
                row[label] = workload.value(seconds)
                row[f"{label}_best"] = workload.value(best[label])
                row[f"{label}_gflops"] = workload.flops / seconds / 1e9
                row[f"{label}_peak_mb"] = round(memory[label]["peak_increase_mb"], 1)
                row[f"{label}_first_step_mb"] = round(memory[label]["first_step_mb"], 1)
            if not ours_only:  # the step's matrix products alone, on each engine's own BLAS
                for label, w in active.items():
                    # the engine asked before still has threads spinning (MKL for KMP_BLOCKTIME):
                    # without the pause they shared the 2 cores with this one (PyTorch's ae products
                    # measured 30 ms instead of 0.3 ms)
                    time.sleep(0.0 if args.quick else args.settle)
                    gemm = w.ask(cmd="gemm", shapes=GEMMS[name])["seconds"]
                    row[f"{label}_gemm_ms"] = 1000 * gemm
                    row[f"{label}_other_ms"] = 1000 * (medians[label] - gemm)
                    row[f"{label}_gemm_share"] = gemm / medians[label]
            rows.append(row)
            if ours_only and rows and "torch" in rows[0]:
                mlp_row = next((r for r in rows if r["workload"] == "mlp"), None)
                if mlp_row:
                    row["torch"] = mlp_row["torch"]
    finally:
        for w in workers.values():
            w.close()

    for row in rows:
        for label in labels[1:]:
            if label in row:
                ratio = row["chainrule"] / row[label]
                row[f"ratio_{label}"] = 1 / ratio if row["unit"] == "tokens/s" else ratio
        for label in labels[1:]:  # the fastest step of each: what the machine gives without contention
            if f"{label}_best" in row:
                ratio = row["chainrule_best"] / row[f"{label}_best"]
                row[f"best_ratio_{label}"] = 1 / ratio if row["unit"] == "tokens/s" else ratio
        for config in ("fast", "core"):  # the other configurations against PyTorch
            for peer in ("torch", "torch+malloc"):
                if config in row and peer in row:
                    ratio = row[config] / row[peer]
                    row[f"ratio_{config}_{peer}"] = 1 / ratio if row["unit"] == "tokens/s" else ratio
        if "chainrule+malloc" in row and "torch+malloc" in row:
            ratio = row["chainrule+malloc"] / row["torch+malloc"]
            row["ratio_both_malloc"] = 1 / ratio if row["unit"] == "tokens/s" else ratio
        row["gemm_limit_gflops"] = limit
    _print_table(rows, labels, limit)
    print("fastest steps (least disturbed by other load on the machine), ratio chainrule / each:")
    for row in rows:
        ratios = ", ".join(f"{label} {row[f'best_ratio_{label}']:.2f}" for label in labels[1:]
                           if f"best_ratio_{label}" in row)
        print(f"  {row['workload']:<10} best step {row['chainrule_best']:.2f} {row['unit']}; {ratios}")
    print("GEMM-bound check: the step's matrix products timed alone on each engine's BLAS; the rest is "
          "everything else the step does (ms per step; share = GEMM time / median step time):")
    for row in rows:
        parts = [f"{label} GEMM {row[f'{label}_gemm_ms']:.2f} + rest {row[f'{label}_other_ms']:.2f} "
                 f"({100 * row[f'{label}_gemm_share']:.0f}%)"
                 for label in labels if f"{label}_gemm_ms" in row]
        if parts:
            print(f"  {row['workload']:<10} " + "; ".join(parts))
    for row in rows:
        for config in ("fast", "core"):
            if f"ratio_{config}_torch" in row:
                print(f"{row['workload']}: {config} / torch = {row[f'ratio_{config}_torch']:.2f}, "
                      f"/ torch+malloc = {row.get(f'ratio_{config}_torch+malloc', float('nan')):.2f}")
    for row in rows:
        if "ratio_both_malloc" in row:
            print(f"{row['workload']}: chainrule+malloc / torch+malloc = {row['ratio_both_malloc']:.2f}")
    if args.json:
        with open(args.json, "w") as out:
            for row in rows:
                out.write(json.dumps(row) + "\n")


def _print_table(rows, labels, limit):
    header = f"{'workload':<10} {'unit':>8} " + " ".join(f"{label:>13}" for label in labels)
    header += "  ratio(torch)  ratio(malloc)  ratio(base)  GFLOP/s ours/torch  %limit"
    header += "  step MB ours/torch  first MB"
    print(header)
    for row in rows:
        values = " ".join(f"{row[label]:>13.2f}" if label in row else f"{'-':>13}" for label in labels)
        ratios = "  ".join(f"{row[k]:>12.2f}" if k in row else f"{'-':>12}"
                           for k in ("ratio_torch", "ratio_torch+malloc", "ratio_baseline"))
        ours_gf = row["chainrule_gflops"]
        torch_gf = row.get("torch_gflops")
        gf = f"{ours_gf:7.1f}/{torch_gf:<7.1f}" if torch_gf else f"{ours_gf:7.1f}/-      "
        peaks = f"{row['chainrule_peak_mb']:.1f}/{row.get('torch_peak_mb', float('nan')):.1f}"
        first = f"{row['chainrule_first_step_mb']:.0f}/{row.get('torch_first_step_mb', float('nan')):.0f}"
        print(f"{row['workload']:<10} {row['unit']:>8} {values}  {ratios}  {gf:>18}  "
              f"{100 * ours_gf / limit:5.0f}%  {peaks:>18}  {first:>8}")
    print("ratio = chainrule time / PyTorch time (below 1: chainrule is faster); medians of "
          "interleaved rounds")


if __name__ == "__main__":
    main()
