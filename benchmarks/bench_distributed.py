"""Data-parallel scaling on MPI: samples/s of mlp and lenet5 at 1, 2 and 4 ranks, and allreduce GB/s.

    python benchmarks/bench_distributed.py              # ranks 1 2 4, mlp and lenet5, ~2 minutes
    python benchmarks/bench_distributed.py --ranks 1 2 --steps 10
    python benchmarks/bench_distributed.py --quick      # does it run: 1 and 2 ranks, mlp, a few steps

The driver launches ``mpiexec -n N python bench_distributed.py --worker ...`` for each N, every rank
on one thread (OMP/MKL/OpenBLAS/Numba threads = 1), so that N ranks on N cores compare with one.
More ranks than cores are oversubscribed: they show the cost of sharing, not scaling. Each worker
trains on random data (per-rank batch ``--batch``), timing whole steps (forward, backward, gradient
allreduce, update) after warm-up steps, and the gradient allreduce alone. Then allreduce of float32
buffers of 0.25 to 16 MiB, as algorithm bandwidth (bytes / time) and as ring "bus" bandwidth
(2(n-1)/n · bytes / time, what each rank sends), beside a memcpy of the same buffer (numpy copy).
The numbers feed the model in benchmarks/README.md.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                     "NUMBA_NUM_THREADS")}
BATCH = {"mlp": 64, "lenet5": 32}


def driver(args):
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        sys.exit("bench_distributed: no mpiexec; pip install \"chainrule[mpi]\"")
    print(f"# {os.cpu_count()} cores; one thread per rank; steps={args.steps}", flush=True)
    for ranks in args.ranks:
        command = [mpiexec, "-n", str(ranks), sys.executable, __file__, "--worker",
                   "--steps", str(args.steps), "--models", *args.models, "--mib", *map(str, args.mib)]
        result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **ONE_THREAD},
                                timeout=1200)
        if result.returncode != 0:
            sys.exit(result.stdout + result.stderr)
        for line in result.stdout.splitlines():
            if line.startswith("{"):
                print(line, flush=True)


def worker(args):
    from chainrule import distributed

    distributed.init()
    for name in args.models:
        result = time_model(name, args.steps)
        if distributed.is_main():
            print(json.dumps(result), flush=True)
    for mib in args.mib:
        result = time_allreduce(mib)
        if distributed.is_main():
            print(json.dumps(result), flush=True)


def time_model(name, steps):
    """Whole data-parallel steps of zoo model ``name`` on random data, and its gradient allreduce."""
    import numpy

    import chainrule as cr
    from chainrule import distributed, zoo
    from chainrule.distributed.collectives import allreduce_arrays

    n, batch = distributed.size(), BATCH[name]
    rng = numpy.random.default_rng(distributed.rank())
    cr.manual_seed(0)
    model = zoo.build(name)
    x = rng.random((batch, 784) if name == "mlp" else (batch, 1, 28, 28), dtype=numpy.float32)
    y = rng.integers(0, 10, batch)
    if name == "mlp":  # its softmax output, against one-hot targets
        y = cr.data.to_categorical(y, 10)
    loss_fn = cr.nn.functional.mse_loss if name == "mlp" else cr.nn.functional.cross_entropy
    model(cr.tensor(x))  # build lazy layers
    optimizer = distributed.Optimizer(cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))

    def step():
        optimizer.zero_grad()
        loss_fn(model(cr.tensor(x)), cr.tensor(y)).backward()
        optimizer.step()

    for _ in range(3):
        step()
    step_time = _seconds_per_call(step, steps)
    grads = [p.grad.numpy() for p in model.parameters()]
    reduce_time = _seconds_per_call(lambda: allreduce_arrays(grads, "mean", "gradients"), steps)
    return {"model": name, "ranks": n, "batch_per_rank": batch, "step_ms": step_time * 1e3,
            "samples_per_s": n * batch / step_time, "grad_mb": sum(g.nbytes for g in grads) / 2**20,
            "grad_allreduce_ms": reduce_time * 1e3}


def time_allreduce(mib):
    """``distributed.allreduce`` of a float32 buffer of ``mib`` MiB, beside a copy of it."""
    import numpy

    from chainrule import distributed

    n = distributed.size()
    buffer = numpy.ones(int(mib * 2**20) // 4, dtype=numpy.float32)
    target = numpy.empty_like(buffer)
    repeats = max(3, int(40 / mib))
    seconds = _seconds_per_call(lambda: distributed.allreduce(buffer, op="sum"), repeats)
    copy_seconds = _seconds_per_call(lambda: numpy.copyto(target, buffer), repeats)
    return {"allreduce_mib": mib, "ranks": n, "ms": seconds * 1e3,
            "algorithm_gb_s": buffer.nbytes / seconds / 1e9,
            "bus_gb_s": 2 * (n - 1) / n * buffer.nbytes / seconds / 1e9 if n > 1 else None,
            "memcpy_gb_s": 2 * buffer.nbytes / copy_seconds / 1e9}  # bytes read plus bytes written


def _seconds_per_call(function, repeats):
    """Mean seconds per call, from a barrier to a barrier (every rank times the same calls)."""
    from chainrule import distributed

    distributed.barrier()
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    distributed.barrier()
    return (time.perf_counter() - start) / repeats


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--models", nargs="+", default=["mlp", "lenet5"], choices=sorted(BATCH))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--mib", type=float, nargs="+", default=[0.25, 1, 4, 16],
                        help="allreduce buffer sizes (MiB)")
    parser.add_argument("--quick", action="store_true", help="a check that it runs, not a measurement")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.ranks, args.models, args.steps, args.mib = [1, 2], ["mlp"], 3, [0.25]
    worker(args) if args.worker else driver(args)


if __name__ == "__main__":
    main()
