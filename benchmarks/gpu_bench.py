"""The workloads on a GPU: chainrule on CuPy beside PyTorch on CUDA, one process, interleaved rounds.

``python -m benchmarks.run --device cuda`` (or ``python -m benchmarks.gpu_bench``) needs CuPy (the
``gpu`` extra) and a CUDA build of PyTorch on a machine with an NVIDIA GPU. Each round times
``steps`` training steps of each engine after a warm-up, synchronising the device before the clock
is read; the figure is the median over rounds, in the workload's unit (s/60k or tokens/s).
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.workloads import WORKLOADS


def _engines():
    import cupy
    import torch

    from benchmarks import ours, peer_torch

    def sync_cupy():
        cupy.cuda.Device().synchronize()

    return {"chainrule": (lambda name: ours.build(name, np.random.default_rng(0), device="cuda"), sync_cupy),
            "torch": (lambda name: peer_torch.build(name, np.random.default_rng(0), device="cuda"),
                      torch.cuda.synchronize)}


def _time(step, sync, steps):
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return (time.perf_counter() - start) / steps


def measure(name, rounds, steps, warmup):
    """{engine: median seconds per step} for workload ``name``."""
    engines = _engines()
    built = {label: (build(name), sync) for label, (build, sync) in engines.items()}
    for step, sync in built.values():
        for _ in range(warmup):
            step()
        sync()
    times = {label: [] for label in built}
    for _ in range(rounds):
        for label, (step, sync) in built.items():
            times[label].append(_time(step, sync, steps))
    return {label: statistics.median(values) for label, values in times.items()}


def device_name():
    import cupy

    return cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"].decode()


def main(names=None, quick=False, json_path=None):
    rounds, steps, warmup = (3, 2, 2) if quick else (10, 5, 5)
    card = device_name()
    print(f"device: {card}")
    rows = []
    for name in names or list(WORKLOADS):
        seconds = measure(name, rounds, steps, warmup)
        workload = WORKLOADS[name]
        row = {"workload": name, "unit": workload.unit, "device": card, "rounds": rounds, "steps": steps}
        for label, value in seconds.items():
            row[label] = workload.value(value)
            row[f"{label}_ms_per_step"] = 1000 * value
        row["time_ratio_torch"] = seconds["chainrule"] / seconds["torch"]
        rows.append(row)
        ours, theirs = 1000 * seconds["chainrule"], 1000 * seconds["torch"]
        print(f"{name:10s} chainrule {ours:8.2f} ms/step  torch {theirs:8.2f} ms/step  "
              f"time ratio {row['time_ratio_torch']:.2f}", flush=True)
    if json_path:
        Path(json_path).write_text("".join(json.dumps(row) + "\n" for row in rows))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"workloads (default all): {', '.join(WORKLOADS)}")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    main(args.names, args.quick, args.json)
