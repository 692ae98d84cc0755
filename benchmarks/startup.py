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

``--breakdown`` says where a process's CPU time goes instead (warm cache, medians): the imports and
the model, ``import numba``, SciPy's linear algebra (which Numba imports at its first compiled call,
to look for BLAS, where SciPy is installed; imported on its own here to time it), the first step
(Numba's typing and lowering tables, its runtime, LLVM, then each kernel's machine code), the second
step, and the interpreter's exit.
"""

import argparse
import json
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
BREAKDOWN = ("import json, resource, importlib.util\n"
             "def cpu():\n"
             "    t = resource.getrusage(resource.RUSAGE_SELF)\n"
             "    return t.ru_utime + t.ru_stime\n"
             "marks = []\n"
             "import numpy as np\n"
             "from benchmarks import {module} as engine\n"
             "step = engine.build({workload!r}, np.random.default_rng(0))\n"
             "marks.append(('imports and model', cpu()))\n"
             "from chainrule.kernels import compiled\n"
             "if compiled.enabled():\n"
             "    import numba\n"
             "    marks.append(('import numba', cpu()))\n"
             "    if importlib.util.find_spec('scipy'):\n"
             "        import scipy.linalg.cython_blas\n"
             "        marks.append(('scipy.linalg (Numba imports it)', cpu()))\n"
             "step()\n"
             "marks.append(('first step', cpu()))\n"
             "step()\n"
             "marks.append(('second step', cpu()))\n"
             "print(json.dumps(marks))\n")
CORE = {"CHAINRULE_NO_NUMBA": "1", "CHAINRULE_BLAS": "numpy"}
CONFIGURATIONS = {  # label: (module, environment, uses Numba's cache)
    "core": ("ours", CORE, False),
    "fast": ("ours", {"CHAINRULE_BLAS": "numpy"}, True),
    "fast,mkl": ("ours", {}, True),
    "torch": ("peer_torch", {}, False),
}


THREADS = {"n": 2}  # BLAS and OpenMP threads of each process (--threads)


def run_once(module, workload, environment, source=ROOT / "src", script=SCRIPT):
    """(wall seconds from launch to exit, CPU seconds, its last line of output) of one fresh process."""
    n = str(THREADS["n"])
    env = dict(os.environ, **environment, OMP_NUM_THREADS=n, MKL_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n,
               NUMBA_NUM_THREADS=n)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(source), env.get("PYTHONPATH", "")])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script.format(module=module, workload=workload)],
                          env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{module} {workload} failed:\n{done.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, done.stdout.splitlines()[-1]


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
            environment = dict(environment, NUMBA_CACHE_DIR=directory)
            seconds, cpu, peak = run_once(module, workload, environment, source)
            results.setdefault((label, workload, cache), []).append((seconds, cpu, int(peak) / 1024))
    return {key: tuple(statistics.median(column) for column in zip(*runs)) for key, runs in results.items()}


def breakdown(configurations, workloads, repeats, scratch):
    """{(label, workload): [(part, median CPU seconds)]}: the warm processes' time, part by part."""
    environment_of = {label: dict(CONFIGURATIONS[label][1], NUMBA_CACHE_DIR=scratch)
                      for label in configurations}
    runs = {}
    for repeat in range(repeats + 1):  # the first round fills the cache, untimed
        for workload in workloads:
            for label in configurations:
                module = CONFIGURATIONS[label][0]
                _, total, line = run_once(module, workload, environment_of[label], script=BREAKDOWN)
                marks = json.loads(line)
                parts = [(name, now - before) for (name, now), (_, before) in zip(marks, [("", 0.0)] + marks)]
                parts += [("exit", total - marks[-1][1]), ("total", total)]
                if repeat:
                    runs.setdefault((label, workload), []).append(parts)
    return {key: [(name, statistics.median(run[i][1] for run in values))
                  for i, (name, _) in enumerate(values[0])] for key, values in runs.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workloads", nargs="+", default=["mlp", "lenet5"])
    parser.add_argument("--cache", nargs="+", choices=["warm", "cold"], default=["warm", "cold"])
    parser.add_argument("--configurations", nargs="+", choices=list(CONFIGURATIONS),
                        default=list(CONFIGURATIONS))
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                        help="also run the Numba configurations on this checkout's src/, interleaved")
    parser.add_argument("--breakdown", action="store_true", help="where a warm process's CPU time goes")
    parser.add_argument("--threads", type=int, default=2,
                        help="BLAS, OpenMP and Numba threads per process (1: CPU time without idle "
                             "threads spinning)")
    args = parser.parse_args(argv)
    THREADS["n"] = args.threads
    configurations = list(args.configurations)
    import importlib.util

    if "torch" in configurations and importlib.util.find_spec("torch") is None:
        configurations.remove("torch")
    if args.breakdown:
        with tempfile.TemporaryDirectory(prefix="chainrule-startup-") as scratch:
            ours = [label for label in configurations if CONFIGURATIONS[label][0] == "ours"]
            parts = breakdown(ours, args.workloads, args.repeats, scratch)
        print(f"CPU seconds, medians of {args.repeats} processes, Numba's cache warm")
        for (label, workload), values in parts.items():
            print(f"{workload:<8} {label:<9} " + ", ".join(f"{name} {s:.3f}" for name, s in values))
        return
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
