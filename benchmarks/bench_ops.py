"""Per-op overhead of small-tensor ops, chainrule beside PyTorch (when installed).

Small tensors make the arithmetic free, so what is timed is the framework: wrapping, graph recording
and the backward loop. Each row is the median over many repetitions of a batch of calls, reported in
microseconds per call; the ratio is chainrule / PyTorch (below 1 means we are faster).

    python benchmarks/bench_ops.py [--repeat 30] [--number 2000]
"""

import argparse
import statistics
import time

import numpy as np

import chainrule as cr

try:
    import torch
except ImportError:  # the benchmark still runs, with our column only
    torch = None


def median_us(fn, number, repeat):
    """Median over ``repeat`` runs of the time per call of ``fn``, in microseconds."""
    fn()  # warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times) * 1e6


def _small_op_cases(lib, requires_grad):
    """name -> zero-argument callable doing one small op, for chainrule or torch."""
    rng = np.random.default_rng(0)
    a_np, b_np = (rng.standard_normal((4, 4)).astype(np.float32) for _ in range(2))
    if lib == "chainrule":
        a = cr.tensor(a_np, requires_grad=requires_grad)
        b = cr.tensor(b_np, requires_grad=requires_grad)
        tanh, total = cr.tanh, cr.sum
    else:
        a = torch.tensor(a_np, requires_grad=requires_grad)
        b = torch.tensor(b_np, requires_grad=requires_grad)
        tanh, total = torch.tanh, torch.sum
    return {
        "a + b": lambda: a + b,
        "a * b": lambda: a * b,
        "a @ b": lambda: a @ b,
        "tanh(a)": lambda: tanh(a),
        "sum(a)": lambda: total(a),
    }


def _chain(lib, length):
    """Forward and backward through ``length`` small elementwise ops."""
    if lib == "chainrule":
        x = cr.tensor(np.full(4, 0.5, dtype=np.float32), requires_grad=True)
        tanh = cr.tanh
    else:
        x = torch.full((4,), 0.5, requires_grad=True)
        tanh = torch.tanh

    def run():
        y = x
        for i in range(length):
            y = tanh(y) if i % 2 else y * 1.01
        y.sum().backward()
        x.grad = None

    return run


def measure(number, repeat, chain_length):
    """Rows of (name, ours_us, torch_us or None)."""
    rows = []
    for requires_grad in (False, True):
        ours = _small_op_cases("chainrule", requires_grad)
        theirs = _small_op_cases("torch", requires_grad) if torch else {}
        for name, fn in ours.items():
            label = f"{name}{' (grad)' if requires_grad else ''}"
            ref = median_us(theirs[name], number, repeat) if torch else None
            rows.append((label, median_us(fn, number, repeat), ref))
    chain_repeat = max(5, repeat // 10)
    ours = median_us(_chain("chainrule", chain_length), 1, chain_repeat)
    ref = median_us(_chain("torch", chain_length), 1, chain_repeat) if torch else None
    rows.append((f"{chain_length}-op chain fwd+bwd", ours, ref))
    return rows


def format_table(rows):
    header = f"{'op (4x4 float32)':<28}{'chainrule us':>14}{'torch us':>12}{'ratio':>8}"
    lines = [header, "-" * len(header)]
    for name, ours, ref in rows:
        ref_text = f"{ref:12.2f}" if ref is not None else f"{'-':>12}"
        ratio = f"{ours / ref:8.2f}" if ref else f"{'-':>8}"
        lines.append(f"{name:<28}{ours:14.2f}{ref_text}{ratio}")
    if torch is None:
        lines.append("PyTorch is not installed: no comparison column (pip install torch).")
    else:
        lines.append(f"PyTorch {torch.__version__}, NumPy {np.__version__}; ratio = chainrule / torch")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=200, help="calls per timed batch")
    parser.add_argument("--repeat", type=int, default=300, help="timed batches (the median is kept)")
    parser.add_argument("--chain", type=int, default=1000, help="length of the op chain")
    args = parser.parse_args(argv)
    if torch is not None:
        torch.set_num_threads(1)
    print(format_table(measure(args.number, args.repeat, args.chain)))


if __name__ == "__main__":
    main()
