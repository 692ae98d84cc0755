"""CPU and wall time per training step of one workload in this process: the unit of an A/B.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1 \
        python -m benchmarks.step_time char_lstm 40

Run the two sides of an A/B in turns, each in its own process (another checkout's PYTHONPATH for
the other side). CPU time of a one-thread process is what a loaded machine disturbs least.
"""

import argparse
import time

import numpy as np

from benchmarks.ours import build


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload")
    parser.add_argument("steps", type=int, nargs="?", default=30)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    step = build(args.workload, np.random.default_rng(0))
    for _ in range(args.warmup):
        step()
    times = []
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    times.sort()
    per_step = 1e3 / args.steps
    print(f"{args.workload} cpu/step {cpu * per_step:.2f} ms  wall/step {wall * per_step:.2f} ms"
          f"  fastest {1e3 * times[0]:.2f}  median {1e3 * times[len(times) // 2]:.2f} ms")


if __name__ == "__main__":
    main()
