"""A/B of one workload's training step in alternating processes: CPU time on one thread, and wall time.

    python -m benchmarks.ab cifar_cnn --off BatchNormalize           # kernels on (A) / unregistered (B)
    python -m benchmarks.ab cifar_cnn --baseline ../old/src          # this checkout (A) / another's src (B)
    python -m benchmarks.ab lenet5 --threads 2 --env CHAINRULE_NO_NUMBA=1 CHAINRULE_BLAS=numpy
    python -m benchmarks.ab cifar_cnn --threads 2 --toggle chainrule.kernels.conv.CHUNK_BYTES 524288 4194304

Each turn is a fresh process (A B A B ...), so that the machine's drift cancels: it builds the
workload of ``ours.py``, runs untimed steps for half a second, then times ``--steps`` steps and prints
the median CPU time (``time.process_time``) and wall time per step. On a shared machine CPU time of
one-thread processes (the default) is disturbed far less by other work than wall time. ``--off`` takes
the class names of ops whose kernels the B side unregisters (``chainrule.autograd.seam.unregister``).

``--toggle MODULE.NAME A B`` instead runs one process that sets the module attribute to A and B in
turns, step by step (A B, then B A, ...), and prints the medians and the median of the paired
differences. On a machine whose speed drifts from minute to minute (a shared VM), this pairing is
far steadier than alternating processes; it suits settings read at each call (a chunk size, a
kernel switch such as ``chainrule.kernels.compiled._failed`` "set()" "{'batch_norm'}"). Where a setting's
effect outlasts the step (after a product on two threads OpenBLAS's worker spins for ~0.1 s), add
``--block SECONDS``: after each switch the process runs untimed steps for that long, then times
``BLOCK_STEPS`` steps, and the pairs are of those turns' medians.
"""

import argparse
import ast
import importlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK_STEPS = 5  # timed steps of a turn with --block


def _turn(name, steps, off):
    """One process's measurement: prints 'cpu_ms wall_ms' (medians per step)."""
    import numpy as np

    from benchmarks.ours import build
    from chainrule.autograd import seam

    for cls in [c for c in list(seam._registry) if c.__name__ in off]:
        seam.unregister(cls)
    step = build(name, np.random.default_rng(0))
    start = time.perf_counter()
    while time.perf_counter() - start < 0.5:
        step()
    cpu, wall = [], []
    for _ in range(steps):
        c, w = time.process_time(), time.perf_counter()
        step()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    print(f"{statistics.median(cpu) * 1e3:.2f} {statistics.median(wall) * 1e3:.2f}")


def _timed_turn(step, block):
    """Seconds of one step, or with ``block`` the median of BLOCK_STEPS after ``block`` seconds untimed."""
    if not block:
        start = time.perf_counter()
        step()
        return time.perf_counter() - start
    start = time.perf_counter()
    while time.perf_counter() - start < block:
        step()
    times = []
    for _ in range(BLOCK_STEPS):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _toggle(name, steps, attribute, values, block=0.0):
    """One process, the attribute set to each value in turns (step by step, or block by block):
    prints paired medians."""
    import numpy as np

    from benchmarks.ours import build

    module_name, _, field = attribute.rpartition(".")
    module = importlib.import_module(module_name)
    values = [ast.literal_eval(v) for v in values]
    step = build(name, np.random.default_rng(0))
    for value in values:  # each side's first steps (compilation, buffers) untimed
        setattr(module, field, value)
        start = time.perf_counter()
        while time.perf_counter() - start < 0.5:
            step()
    times = ([], [])
    for i in range(steps):
        for side in (0, 1) if i % 2 == 0 else (1, 0):
            setattr(module, field, values[side])
            times[side].append(_timed_turn(step, block))
    a, b = (statistics.median(t) * 1e3 for t in times)
    paired = statistics.median(y - x for x, y in zip(*times)) * 1e3
    print(f"{attribute}: A={values[0]!r} {a:.2f} ms, B={values[1]!r} {b:.2f} ms (B/A {b / a:.3f}); "
          f"median paired difference B - A {paired:+.2f} ms over {steps} pairs"
          + (f" of {block} s blocks" if block else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload")
    parser.add_argument("--off", nargs="*", default=[], help="op classes whose kernels B unregisters")
    parser.add_argument("--baseline", help="the src folder B imports chainrule from")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--threads", default="1")
    parser.add_argument("--env", nargs="*", default=[], help="NAME=VALUE for both sides")
    parser.add_argument("--toggle", nargs=3, metavar=("MODULE.NAME", "A", "B"),
                        help="one process: the attribute set to A and B in turns, step by step")
    parser.add_argument("--block", type=float, default=0.0, metavar="SECONDS",
                        help=f"with --toggle: per switch, SECONDS of untimed steps, then {BLOCK_STEPS} timed")
    parser.add_argument("--turn", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.toggle:
        threads = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
        wanted = dict(dict.fromkeys(threads, args.threads), **dict(item.split("=", 1) for item in args.env))
        if any(os.environ.get(k) != v for k, v in wanted.items()):  # thread pools read these at start
            path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
            os.execve(sys.executable, [sys.executable, "-m", "benchmarks.ab", *sys.argv[1:]],
                      dict(os.environ, **wanted, PYTHONPATH=path))
        return _toggle(args.workload, max(args.steps, 2), args.toggle[0], args.toggle[1:], args.block)
    if args.turn:
        return _turn(args.workload, args.steps, set(args.off))
    env = dict(os.environ, **dict(item.split("=", 1) for item in args.env))
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[variable] = args.threads
    sides = {"A": ([], str(ROOT / "src")), "B": (args.off, args.baseline or str(ROOT / "src"))}
    results = {"A": [], "B": []}
    for _ in range(args.rounds):
        for side, (off, source) in sides.items():
            command = [sys.executable, "-m", "benchmarks.ab", args.workload, "--turn"]
            command += ["--steps", str(args.steps)] + (["--off", *off] if off else [])
            side_env = dict(env, PYTHONPATH=os.pathsep.join([str(ROOT), source]))
            line = subprocess.run(command, cwd=ROOT, env=side_env, capture_output=True, text=True,
                                  check=True).stdout.split()
            results[side].append([float(v) for v in line])
            print(side, *line, flush=True)
    for side, rows in results.items():
        cpu = [r[0] for r in rows]
        wall = [r[1] for r in rows]
        print(f"{side}: CPU ms {statistics.median(cpu):.1f} (each {cpu}), "
              f"wall ms {statistics.median(wall):.1f}")


if __name__ == "__main__":
    main()
