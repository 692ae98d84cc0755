"""Data-parallel scaling on MPI: samples/s of mlp and lenet5 at 1, 2 and 4 ranks, and allreduce GB/s.

    python benchmarks/bench_distributed.py              # ranks 1 2 4, mlp and lenet5, ~2 minutes
    python benchmarks/bench_distributed.py --ranks 1 2 --steps 10

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
        command = [mpiexec, "-n", str(ranks), sys.executable, __file__, "--worker", "--steps", str(args.steps),
                   "--models", *args.models]
        result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **ONE_THREAD},
                                timeout=1200)
        if result.returncode != 0:
            sys.exit(result.stdout + result.stderr)
        for line in result.stdout.splitlines():
            if line.startswith("{"):
                print(line, flush=True)


def worker(args):
    import numpy

    import chainrule as cr
    from chainrule import distributed, zoo
    from chainrule.distributed.collectives import allreduce_arrays

    distributed.init()
    n, me = distributed.size(), distributed.rank()
    rng = numpy.random.default_rng(me)
    for name in args.models:
        batch = BATCH[name]
        cr.manual_seed(0)
        model = zoo.build(name)
        shape = (batch, 784) if name == "mlp" else (batch, 1, 28, 28)
        x = rng.random(shape, dtype=numpy.float32)
        y = rng.integers(0, 10, batch)
        if name == "mlp":  # its softmax output, against one-hot targets
            y = cr.data.to_categorical(y, 10)
        model(cr.tensor(x))  # build lazy layers
        optimizer = distributed.Optimizer(cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
        loss_fn = cr.nn.functional.mse_loss if name == "mlp" else cr.nn.functional.cross_entropy

        def step():
            optimizer.zero_grad()
            loss_fn(model(cr.tensor(x)), cr.tensor(y)).backward()
            optimizer.step()

        for _ in range(3):
            step()
        distributed.barrier()
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        distributed.barrier()
        step_time = (time.perf_counter() - start) / args.steps
        grads = [p.grad.data for p in model.parameters()]
        start = time.perf_counter()
        for _ in range(args.steps):
            allreduce_arrays(grads, "mean", "gradients")
        reduce_time = (time.perf_counter() - start) / args.steps
        nbytes = sum(g.nbytes for g in grads)
        if me == 0:
            print(json.dumps({"model": name, "ranks": n, "batch_per_rank": batch, "step_ms": step_time * 1e3,
                              "samples_per_s": n * batch / step_time, "grad_mb": nbytes / 2**20,
                              "grad_allreduce_ms": reduce_time * 1e3}), flush=True)
    for mib in (0.25, 1, 4, 16):
        buffer = numpy.ones(int(mib * 2**20) // 4, dtype=numpy.float32)
        repeats = max(3, int(40 / mib))
        distributed.barrier()
        start = time.perf_counter()
        for _ in range(repeats):
            distributed.allreduce(buffer, op="sum")
        seconds = (time.perf_counter() - start) / repeats
        target = numpy.empty_like(buffer)
        start = time.perf_counter()
        for _ in range(repeats):
            numpy.copyto(target, buffer)
        copy_seconds = (time.perf_counter() - start) / repeats
        if me == 0:
            nbytes = buffer.nbytes
            print(json.dumps({"allreduce_mib": mib, "ranks": n, "ms": seconds * 1e3,
                              "algorithm_gb_s": nbytes / seconds / 1e9,
                              "bus_gb_s": 2 * (n - 1) / n * nbytes / seconds / 1e9 if n > 1 else None,
                              "memcpy_gb_s": 2 * nbytes / copy_seconds / 1e9}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--models", nargs="+", default=["mlp", "lenet5"], choices=sorted(BATCH))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    worker(args) if args.worker else driver(args)


if __name__ == "__main__":
    main()
