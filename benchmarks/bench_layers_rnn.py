"""One LSTM training step (forward + backward), chainrule beside PyTorch (when installed).

The shapes are the course's character model's: input 64, hidden 256, sequence 64, batch 64, one
layer. Both sides run the same step on the same weights: ``out, (h, c) = lstm(x)``, then backward
from a fixed upstream gradient of ``out``, and the parameters' gradients are reset between steps.
The input requires a gradient, as it does in the character model (it comes from an embedding).
Runs are interleaved and the medians reported in milliseconds; the ratio is chainrule / PyTorch
(below 1 means we are faster).

    python benchmarks/bench_layers_rnn.py [--repeat 15] [--hidden 256] [--clock cpu] [--profile]

With Numba installed the per-step gate arithmetic runs in compiled kernels (chainrule.kernels.compiled.lstm);
``CHAINRULE_NO_NUMBA=1`` runs the NumPy form instead, to compare the two.
"""

import argparse
import cProfile
import pstats
import statistics
import time

import numpy as np

import chainrule as cr
import chainrule.nn as nn

try:
    import torch
except ImportError:  # the benchmark still runs, with our column only
    torch = None


def _ours(args, x, grad_out, state):
    lstm = nn.LSTM(args.input, args.hidden, bidirectional=args.bidirectional)
    if state is not None:
        lstm.load_state_dict(state)
    x_t, g_t = cr.tensor(x, requires_grad=True), cr.tensor(grad_out)

    def step():
        lstm.zero_grad()
        out, _ = lstm(x_t)
        out.backward(g_t)

    def forward_only():
        with cr.no_grad():
            lstm(x_t)

    return step, forward_only


def _theirs(args, x, grad_out):
    lstm = torch.nn.LSTM(args.input, args.hidden, bidirectional=args.bidirectional)
    x_t, g_t = torch.from_numpy(x).requires_grad_(), torch.from_numpy(grad_out)

    def step():
        lstm.zero_grad(set_to_none=True)
        out, _ = lstm(x_t)
        out.backward(g_t)

    def forward_only():
        with torch.no_grad():
            lstm(x_t)

    state = {k: v.detach().numpy().copy() for k, v in lstm.state_dict().items()}
    return step, forward_only, state


def _time_ms(fn, clock):
    start = clock()
    fn()
    return (clock() - start) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--input", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--seq", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--bidirectional", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile our training step")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="cpu: process time, steadier on a shared machine (run single-threaded: "
                             "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.seq, args.batch, args.input)).astype(np.float32)
    directions = 2 if args.bidirectional else 1
    grad_out = rng.standard_normal((args.seq, args.batch, directions * args.hidden)).astype(np.float32)
    peers = {}
    state = None
    if torch is not None:
        torch_step, torch_forward, state = _theirs(args, x, grad_out)
        peers = {"train step": torch_step, "forward (no grad)": torch_forward}
    our_step, our_forward = _ours(args, x, grad_out, state)
    ours = {"train step": our_step, "forward (no grad)": our_forward}

    if args.profile:
        our_step()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(5):
            our_step()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        return

    clock = time.perf_counter if args.clock == "wall" else time.process_time
    print(f"LSTM in={args.input} hidden={args.hidden} seq={args.seq} batch={args.batch} "
          f"bidirectional={args.bidirectional}; medians of {args.repeat} interleaved runs "
          f"({args.clock} clock)")
    print(f"{'case':<20}{'chainrule ms':>14}{'pytorch ms':>12}{'ratio':>8}")
    for name, fn in ours.items():
        peer = peers.get(name)
        fn()
        if peer is not None:
            peer()
        mine, theirs = [], []
        for _ in range(args.repeat):
            mine.append(_time_ms(fn, clock))
            if peer is not None:
                theirs.append(_time_ms(peer, clock))
        m = statistics.median(mine)
        if theirs:
            t = statistics.median(theirs)
            print(f"{name:<20}{m:>14.2f}{t:>12.2f}{m / t:>8.2f}")
        else:
            print(f"{name:<20}{m:>14.2f}{'missing':>12}{'':>8}")


if __name__ == "__main__":
    main()
