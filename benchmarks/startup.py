"""Time from ``python -c`` to the first finished training step, and the process's peak memory.

    python -m benchmarks.startup [--repeats N] [--workloads mlp lenet5] [--cache warm cold]
                                 [--configurations core fast fast,mkl torch] [--baseline CHECKOUT]

Each process runs one workload in one configuration: the interpreter's start, the imports, building
the model and one full training step (forward, backward, optimiser step). Processes take turns
(A B C A B C ...) so that the machine's drift falls on all alike. Measured from outside: wall seconds
from launch to exit, the child's CPU seconds (user + system, which load on a shared machine disturbs
far less) and its peak resident memory.

Numba's on-disk cache decides what the ``fast`` configurations pay, so it is set per process
(``NUMBA_CACHE_DIR``): ``warm`` shares one directory that an untimed first run of each configuration
fills (every later process loads compiled code), ``cold`` gives every process a new empty one (every
kernel the step calls is compiled). PyTorch has no such cache and runs in the ``warm`` turns only.
``--baseline`` also runs the Numba configurations on another checkout's ``src/``, interleaved, to
compare two versions of the library in alternating processes.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ("import resource, numpy as np\n"
          "from benchmarks import {module} as engine\n"
          "engine.build({workload!r}, np.random.default_rng(0))()\n"
          "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
CORE = {"CHAINRULE_NO_NUMBA": "1", "CHAINRULE_BLAS": "numpy"}
CONFIGURATIONS = {  # label: (module, environment, uses Numba's cache)
    "core": ("ours", CORE, False),
    "fast": ("ours", {"CHAINRULE_BLAS": "numpy"}, True),
    "fast,mkl": ("ours", {}, True),
    "torch": ("peer_torch", {}, False),
}


def run_once(module, workload, environment, source=ROOT / "src"):
    """(wall seconds from launch to exit, CPU seconds, peak resident MB) of one fresh process."""
    env = dict(os.environ, **environment, OMP_NUM_THREADS="2", MKL_NUM_THREADS="2",
               OPENBLAS_NUM_THREADS="2")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(source), env.get("PYTHONPATH", "")])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(module=module, workload=workload)],
                          env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{module} {workload} failed:\n{done.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, int(done.stdout.split()[-1]) / 1024


def plan(configurations, workloads, caches, baseline):
    """The turns of one round: (label, module, workload, environment, source, cache)."""
    sources = [("", ROOT / "src")] + ([("@base", baseline / "src")] if baseline else [])
    turns = []
    for workload in workloads:
        for cache in caches:
            for label in configurations:
                module, environment, cached = CONFIGURATIONS[label]
                if cache == "cold" and not cached and "warm" in caches:
                    continue  # nothing of it is cached: its warm turns say the same
                for suffix, source in sources if cached else sources[:1]:
                    turns.append((label + suffix, module, workload, environment, source, cache))
    return turns


def measure(turns, repeats, scratch):
    """{(label, workload, cache): (median wall s, median CPU s, median peak MB)}, turns interleaved."""
    warm_dir = os.path.join(scratch, "warm")
    for _, module, workload, environment, source, _ in turns:  # untimed: files in memory
        run_once(module, workload, dict(environment, NUMBA_CACHE_DIR=warm_dir), source)
    results = {}
    for repeat in range(repeats):
        for n, (label, module, workload, environment, source, cache) in enumerate(turns):
            directory = warm_dir if cache == "warm" else os.path.join(scratch, f"cold-{repeat}-{n}")
            runs = results.setdefault((label, workload, cache), [])
            runs.append(run_once(module, workload, dict(environment, NUMBA_CACHE_DIR=directory), source))
    return {key: tuple(statistics.median(column) for column in zip(*runs)) for key, runs in results.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workloads", nargs="+", default=["mlp", "lenet5"])
    parser.add_argument("--cache", nargs="+", choices=["warm", "cold"], default=["warm", "cold"])
    parser.add_argument("--configurations", nargs="+", choices=list(CONFIGURATIONS),
                        default=list(CONFIGURATIONS))
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                        help="also run the Numba configurations on this checkout's src/, interleaved")
    args = parser.parse_args(argv)
    configurations = list(args.configurations)
    import importlib.util

    if "torch" in configurations and importlib.util.find_spec("torch") is None:
        configurations.remove("torch")
    baseline = args.baseline.resolve() if args.baseline else None
    turns = plan(configurations, args.workloads, args.cache, baseline)
    with tempfile.TemporaryDirectory(prefix="chainrule-startup-") as scratch:
        results = measure(turns, args.repeats, scratch)
    print(f"medians of {args.repeats} interleaved processes; cache: Numba's (warm = compiled code on disk)")
    for (label, workload, cache), (seconds, cpu, megabytes) in results.items():
        print(f"{workload:<8} {cache:<5} {label:<15} first step after {seconds:5.2f} s "
              f"(CPU {cpu:5.2f} s), peak {megabytes:4.0f} MB")


if __name__ == "__main__":
    main()
