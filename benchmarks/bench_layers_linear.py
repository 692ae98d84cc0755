"""Forward + backward of ``nn.Linear`` at the MNIST MLP's shapes, chainrule beside PyTorch.

Rows: the MLP's three layers (784→512, 512→512, 512→10) at batch 128, the first with data that needs
no gradient (as in training) and the others with an input that does. Each row is the median over
interleaved repetitions, in milliseconds; the ratio is chainrule / PyTorch (below 1: we are faster).
The issue's aim is parity: the work is one GEMM forward and two backward, the same BLAS calls.

    [OPENBLAS_NUM_THREADS=2] python benchmarks/bench_layers_linear.py [--repeat 200] [--batch 128]
"""

import argparse
import os
import statistics
import time

import numpy as np

import chainrule as cr
import chainrule.nn as nn

try:
    import torch
except ImportError:  # the benchmark still runs, with our column only
    torch = None
if torch is not None and os.environ.get("OPENBLAS_NUM_THREADS"):
    torch.set_num_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))

SHAPES = [(784, 512, False), (512, 512, True), (512, 10, True)]


def _ours(batch, n_in, n_out, input_grad, rng):
    layer = nn.Linear(n_in, n_out)
    x = cr.tensor(rng.standard_normal((batch, n_in)).astype(np.float32), requires_grad=input_grad)
    upstream = cr.tensor(rng.standard_normal((batch, n_out)).astype(np.float32))

    def run():
        layer(x).backward(upstream)

    return run


def _theirs(batch, n_in, n_out, input_grad, rng):
    layer = torch.nn.Linear(n_in, n_out)
    x = torch.from_numpy(rng.standard_normal((batch, n_in)).astype(np.float32)).requires_grad_(input_grad)
    upstream = torch.from_numpy(rng.standard_normal((batch, n_out)).astype(np.float32))

    def run():
        layer(x).backward(upstream)

    return run


def _time_ms(fn):
    start = time.perf_counter()
    fn()
    return 1000 * (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"{'layer':<26} {'chainrule ms':>12} {'torch ms':>10} {'ratio':>7}")
    for n_in, n_out, input_grad in SHAPES:
        ours = _ours(args.batch, n_in, n_out, input_grad, rng)
        theirs = _theirs(args.batch, n_in, n_out, input_grad, rng) if torch is not None else None
        times = {"ours": [], "theirs": []}
        for fn in (ours, theirs):
            if fn is not None:
                fn()  # warm-up
        for _ in range(args.repeat):
            times["ours"].append(_time_ms(ours))
            if theirs is not None:
                times["theirs"].append(_time_ms(theirs))
        ours_ms = statistics.median(times["ours"])
        label = f"Linear {n_in}->{n_out}" + (" (x grad)" if input_grad else "")
        if theirs is None:
            print(f"{label:<26} {ours_ms:>12.3f} {'-':>10} {'-':>7}")
        else:
            theirs_ms = statistics.median(times["theirs"])
            print(f"{label:<26} {ours_ms:>12.3f} {theirs_ms:>10.3f} {ours_ms / theirs_ms:>7.2f}")
    if torch is None:
        print("PyTorch is not installed: chainrule alone (pip install torch==2.13.0 for the peer)")


if __name__ == "__main__":
    main()
