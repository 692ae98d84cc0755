"""Forward + backward of convolution layers, chainrule beside PyTorch: LeNet-5's (batch 128) or
cifar_cnn's (batch 64).

Rows (``--model lenet5``, the default): each LeNet-5 convolution and pooling layer alone, and the
whole feature extractor (conv 6@5x5 pad 2, ReLU, max-pool 2, conv 16@5x5, ReLU, max-pool 2). With
``--model cifar_cnn``: its four 3x3 convolutions alone (the first one's input needs no gradient, as
in training), from C-ordered arrays as a user hands them in (each side converts to its own layout);
``--model cifar_cnn_passes``: each pass of them on batch-innermost arrays, as the model keeps them
(chainrule's forward, input and weight gradients; PyTorch's forward).

Each row is the median over interleaved repetitions, in milliseconds (the minimum too: on a shared
machine it is the steadier figure); the ratio is chainrule / PyTorch (below 1: we are faster). With
``OPENBLAS_NUM_THREADS`` set, PyTorch gets the same number of threads, so that both sides compute
alike. Both engines share this process: on two threads their thread pools spin against each other
and the figures mean little (``benchmarks/run.py`` gives each engine its own process); compare on
one thread.

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/bench_layers_conv.py [--model M] [--repeat N]
"""

import argparse
import os
import statistics
import time

import numpy as np

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F

try:
    import torch
except ImportError:  # the benchmark still runs, with our column only
    torch = None
if torch is not None and os.environ.get("OPENBLAS_NUM_THREADS"):
    torch.set_num_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))


def _upstream(shape, rng):
    """A dense upstream gradient, as a real loss gives (``sum()`` would give a broadcast one)."""
    return rng.standard_normal(tuple(shape)).astype(np.float32)


def _inputs(batch, rng):
    """The layers' inputs, drawn once so that both engines time the same data."""
    shapes = {"images": (batch, 1, 28, 28), "pooled1": (batch, 6, 14, 14),
              "act1": (batch, 6, 28, 28), "act2": (batch, 16, 10, 10)}
    return {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}


def _chainrule_cases(inputs, rng):
    conv1, conv2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
    pool = nn.MaxPool2d(2)
    images = inputs["images"]
    batch = len(images)

    def step(layer, data, input_grad):
        upstream = cr.tensor(_upstream(layer(cr.tensor(data)).shape, rng))

        def run():
            x = cr.tensor(data, requires_grad=input_grad)
            layer(x).backward(upstream)
        return run

    def features():
        x = cr.tensor(images)
        y = pool(F.relu(conv2(pool(F.relu(conv1(x))))))
        y.backward(features_grad)

    features_grad = cr.tensor(_upstream((batch, 16, 5, 5), rng))

    return {
        "conv1 1->6 5x5 pad2 (input needs no grad)": step(conv1, images, False),
        "conv2 6->16 5x5": step(conv2, inputs["pooled1"], True),
        "maxpool2 on (B,6,28,28)": step(pool, inputs["act1"], True),
        "maxpool2 on (B,16,10,10)": step(pool, inputs["act2"], True),
        "features conv-relu-pool x2": features,
    }


def _torch_cases(inputs, rng):
    conv1, conv2 = torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.Conv2d(6, 16, 5)
    pool = torch.nn.MaxPool2d(2)
    images = torch.tensor(inputs["images"])
    batch = len(images)

    def step(layer, data, input_grad):
        upstream = torch.tensor(_upstream(layer(torch.tensor(data)).shape, rng))

        def run():
            x = torch.tensor(data, requires_grad=input_grad)
            layer(x).backward(upstream)
        return run

    def features():
        y = pool(torch.relu(conv2(pool(torch.relu(conv1(images))))))
        y.backward(features_grad)

    features_grad = torch.tensor(_upstream((batch, 16, 5, 5), rng))

    return {
        "conv1 1->6 5x5 pad2 (input needs no grad)": step(conv1, inputs["images"], False),
        "conv2 6->16 5x5": step(conv2, inputs["pooled1"], True),
        "maxpool2 on (B,6,28,28)": step(pool, inputs["act1"], True),
        "maxpool2 on (B,16,10,10)": step(pool, inputs["act2"], True),
        "features conv-relu-pool x2": features,
    }


CIFAR_LAYERS = [  # (name, C, O, size, input needs a gradient)
    ("conv1 3->32 3x3 32x32 (input needs no grad)", 3, 32, 32, False),
    ("conv2 32->32 3x3 32x32", 32, 32, 32, True),
    ("conv3 32->64 3x3 16x16", 32, 64, 16, True),
    ("conv4 64->64 3x3 16x16", 64, 64, 16, True),
]


def _cifar_cases(batch, rng, engine):
    """cifar_cnn's convolutions (3x3, padding 1) on ``engine``: chainrule's or PyTorch's."""
    if engine == "chainrule":
        conv, tensor = nn.Conv2d, (lambda a, **kw: cr.tensor(a, **kw))
    else:
        conv, tensor = torch.nn.Conv2d, (lambda a, **kw: torch.tensor(a, **kw))
    cases = {}
    for name, c, o, size, input_grad in CIFAR_LAYERS:
        layer = conv(c, o, 3, padding=1)
        data = np.random.default_rng(len(cases)).standard_normal((batch, c, size, size)).astype(np.float32)
        upstream = tensor(_upstream((batch, o, size, size), rng))

        def run(layer=layer, data=data, upstream=upstream, input_grad=input_grad):
            layer(tensor(data, requires_grad=input_grad)).backward(upstream)
        cases[name] = run
    return cases


def _cifar_passes(batch, engine):
    """Each pass of cifar_cnn's convolutions alone, on batch-innermost arrays as the model keeps them:
    chainrule's forward, input and weight gradients (``chainrule.kernels.conv``), PyTorch's forward."""
    from chainrule.kernels import conv as kernels
    from chainrule.ops.window import Window

    window = Window((3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    cases = {}
    for name, c, o, size, _ in CIFAR_LAYERS:
        rng = np.random.default_rng(len(cases))
        x = rng.standard_normal((batch, c, size, size)).astype(np.float32)
        weight = rng.standard_normal((o, c, 3, 3)).astype(np.float32)
        label = name.split(" (")[0]
        if engine == "torch":
            xt, wt = torch.tensor(x), torch.tensor(weight)
            cases[f"{label}: forward"] = lambda xt=xt, wt=wt: torch.nn.functional.conv2d(xt, wt, padding=1)
            continue
        xb = kernels._batch_innermost_like(np, x)
        g = kernels._batch_innermost_like(np, rng.standard_normal((batch, o, size, size)).astype(np.float32))
        cases[f"{label}: forward"] = lambda xb=xb, w=weight: kernels.forward(np, window, 1, xb, w)
        cases[f"{label}: input gradient"] = lambda g=g, w=weight, shape=x.shape: kernels.input_grad(
            np, window, 1, shape, g, w)
        cases[f"{label}: weight gradient"] = lambda g=g, xb=xb, shape=weight.shape: kernels.weight_grad(
            np, window, 1, shape, g, xb)
    return cases


def _time_ms(fn, clock):
    start = clock()
    fn()
    return (clock() - start) * 1e3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["lenet5", "cifar_cnn", "cifar_cnn_passes"], default="lenet5")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--batch", type=int, help="default: the workload's (lenet5 128, cifar_cnn 64)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="cpu: process time, steadier on a busy machine (use with one thread)")
    args = parser.parse_args(argv)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    rng = np.random.default_rng(0)
    if args.model == "cifar_cnn_passes":
        args.batch = args.batch or 64
        ours = _cifar_passes(args.batch, "chainrule")
        theirs = _cifar_passes(args.batch, "torch") if torch is not None else {}
    elif args.model == "cifar_cnn":
        args.batch = args.batch or 64
        ours = _cifar_cases(args.batch, np.random.default_rng(0), "chainrule")
        theirs = _cifar_cases(args.batch, np.random.default_rng(0), "torch") if torch is not None else {}
    else:
        args.batch = args.batch or 128
        inputs = _inputs(args.batch, rng)
        ours = _chainrule_cases(inputs, rng)
        theirs = _torch_cases(inputs, rng) if torch is not None else {}
    threads = torch.get_num_threads() if torch is not None else "-"
    print(f"batch {args.batch}, {args.repeat} interleaved runs, forward+backward in ms ({args.clock} "
          "clock), median (min); "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, torch threads {threads}")
    print(f"{'case':44s} {'chainrule':>17s} {'pytorch':>17s} {'ratio':>6s} {'(min)':>6s}")
    for name, fn in ours.items():
        peer = theirs.get(name)
        for _ in range(3):  # warm up both sides
            fn()
            if peer:
                peer()
        mine, other = [], []
        for _ in range(args.repeat):  # interleave so that drift hits both sides alike
            mine.append(_time_ms(fn, clock))
            if peer:
                other.append(_time_ms(peer, clock))
        ours_ms, ours_min = statistics.median(mine), min(mine)
        if peer:
            torch_ms, torch_min = statistics.median(other), min(other)
            print(f"{name:44s} {ours_ms:8.2f} ({ours_min:6.2f}) {torch_ms:8.2f} ({torch_min:6.2f}) "
                  f"{ours_ms / torch_ms:6.2f} {ours_min / torch_min:6.2f}")
        else:
            print(f"{name:44s} {ours_ms:8.2f} ({ours_min:6.2f}) {'(no torch)':>17s}")


if __name__ == "__main__":
    main()
