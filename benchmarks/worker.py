"""One engine's side of the benchmark, in its own process: builds a workload, times steps on demand.

The driver (run.py) talks to it in JSON lines over stdin/stdout, so that the engines run interleaved
while each keeps its own process, thread pool and allocator settings.
"""

import json
import sys
import time

import numpy as np


def _rss_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak():
    """Reset the kernel's peak-RSS mark (VmHWM), so the next reading covers only what follows."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _gemm_seconds(engine, shapes, repeats):
    """The time this engine's BLAS takes for a step's matrix products alone (best of ``repeats``)."""
    rng = np.random.default_rng(0)
    operands = {(m, k, n): (rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32))
                for m, k, n in set(map(tuple, shapes))}
    if engine == "torch":
        import torch

        operands = {key: (torch.from_numpy(a), torch.from_numpy(b)) for key, (a, b) in operands.items()}
        product = torch.mm
    else:
        from chainrule.backend import gemm as product  # MKL with the mkl extra, else np.matmul
    pairs = [operands[tuple(shape)] for shape in shapes]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for a, b in pairs:
            product(a, b)
        best = min(best, time.perf_counter() - start)
    return best


def main(engine):
    if engine == "torch":
        import torch

        torch.set_num_threads(2)
        from benchmarks import peer_torch as side
    else:
        from benchmarks import ours as side
    step, baseline, first_peak, step_peak = None, 0, 0, 0
    for line in sys.stdin:
        request = json.loads(line)
        command = request["cmd"]
        if command == "setup":
            rng = np.random.default_rng(0)
            if request["name"] == "mlp_fit":
                step = side.build_fit(rng, request["fit_steps"])
            else:
                step = side.build(request["name"], rng)
            baseline = _rss_kib("VmRSS")
            measurable = _reset_peak()
            step()  # the first step allocates every buffer: it belongs to the peak, not the timings
            first_peak = _rss_kib("VmHWM") - baseline
            # A steady step's own peak: what its temporaries add to the memory held between steps
            # (the first step also loads lazily imported code, e.g. compiled kernels, which is not
            # memory of a step).
            step_baseline = _rss_kib("VmRSS")
            _reset_peak()
            step()
            step_peak = _rss_kib("VmHWM") - step_baseline
            reply = {"ok": True, "memory_measurable": measurable}
        elif command == "run":
            # untimed steps first, for at least warmup_seconds: after another engine's turn this
            # engine's threads have slept, and the machine runs a while slower (see run.py, WARMUP_SECONDS)
            deadline = time.perf_counter() + request.get("warmup_seconds", 0.0)
            done = 0
            while done < request.get("warmup", 0) or time.perf_counter() < deadline:
                step()
                done += 1
            times = []
            for _ in range(request["steps"]):
                start = time.perf_counter()
                step()
                times.append(time.perf_counter() - start)
            reply = {"times": times}
        elif command == "gemm":
            reply = {"seconds": _gemm_seconds(engine, request["shapes"], request.get("repeats", 5))}
        elif command == "blas":  # what this chainrule process runs its products on, and why
            import chainrule as cr

            choice = cr.kernels.blas_choice()
            reply = {"blas": choice.blas, "reason": choice.reason}
        elif command == "memory":
            reply = {"first_step_mb": first_peak / 1024, "peak_increase_mb": step_peak / 1024}
        elif command == "quit":
            break
        else:
            reply = {"error": f"unknown command {command!r}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1])
