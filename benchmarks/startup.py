"""Time from ``python -c`` to the first finished training step of the mlp, and the process's peak memory.

    python -m benchmarks.startup [--repeats N]

Each configuration runs in a fresh process, turns interleaved (A B C A B C ...): the interpreter's
start, the imports, building the model and one full training step (forward, backward, optimiser
step), measured from outside; peak memory is the child's maximum resident set size. First runs on
a machine also pay for Numba's on-disk cache being written: one untimed run of each comes first.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ("import resource, numpy as np\n"
          "from benchmarks import {module} as engine\n"
          "engine.build('mlp', np.random.default_rng(0))()\n"
          "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
CORE = {"CHAINRULE_NO_NUMBA": "1", "CHAINRULE_BLAS": "numpy"}
CONFIGURATIONS = {  # label: (module, environment)
    "core": ("ours", CORE),
    "fast": ("ours", {"CHAINRULE_BLAS": "numpy"}),
    "fast,mkl": ("ours", {}),
    "torch": ("peer_torch", {}),
}


def run_once(module, environment):
    """(seconds from launch to the end of the first step, peak resident MB) of one fresh process."""
    env = dict(os.environ, **environment, OMP_NUM_THREADS="2", MKL_NUM_THREADS="2",
               OPENBLAS_NUM_THREADS="2")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "src"), env.get("PYTHONPATH", "")])
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(module=module)], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    return seconds, int(done.stdout.split()[-1]) / 1024


def measure(configurations, repeats):
    """Median seconds and median peak MB per configuration, interleaved."""
    for module, environment in configurations.values():  # untimed: caches written, files in memory
        run_once(module, environment)
    results = {label: [] for label in configurations}
    for _ in range(repeats):
        for label, (module, environment) in configurations.items():
            results[label].append(run_once(module, environment))
    return {label: (statistics.median(s for s, _ in runs), statistics.median(m for _, m in runs))
            for label, runs in results.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    configurations = dict(CONFIGURATIONS)
    try:
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            configurations.pop("torch")
    except ImportError:
        configurations.pop("torch")
    for label, (seconds, megabytes) in measure(configurations, args.repeats).items():
        print(f"{label:<10} first mlp step after {seconds:.2f} s, peak {megabytes:.0f} MB")


if __name__ == "__main__":
    main()
