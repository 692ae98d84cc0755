"""The GPU checks of issue #16 in one short run (under 8 minutes) on a machine with an NVIDIA GPU.

    PYTHONPATH=src python3 benchmarks/gpu_check.py --out results/   # or: bash benchmarks/gpu_check.sh

1. ``tests/strict_device`` with ``CHAINRULE_TEST_DEVICE=cupy``: the op table's forward, reverse and
   forward mode in float64 against NumPy within 1e-5, every layer, loss and optimiser, fit /
   evaluate / predict / save / load and the zoo's smoke tests, all on CuPy arrays;
2. LeNet-5 and char_rnn trained with ``fit`` on NumPy and on CuPy from the same weights and batch
   order: the two loss curves, and their largest relative difference;
3. the workloads beside PyTorch on CUDA (:mod:`benchmarks.gpu_bench`).

Everything goes to ``OUT/gpu_check.json`` (and the pytest log to ``OUT/gpu_tests.log``). It needs
CuPy (``cupy-cuda12x`` or ``cupy-cuda13x``) and a CUDA build of PyTorch; nothing is downloaded.
"""

import argparse
import copy
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CURVE_RTOL = 1e-3  # float32 on two devices: sums in other orders, the same steps


def run_device_tests(out, timeout):
    paths = [str(ROOT / "src"), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = dict(os.environ, CHAINRULE_TEST_DEVICE="cupy", PYTHONPATH=os.pathsep.join(paths))
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "tests/strict_device"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout)
        log, code = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as stopped:
        log, code = f"{stopped.stdout or ''}\nTIMED OUT after {timeout} s", "timeout"
    (out / "gpu_tests.log").write_text(log)
    summary = [line for line in log.splitlines() if " passed" in line or " failed" in line]
    return {"returncode": code, "summary": summary[-1] if summary else log[-500:],
            "seconds": round(time.perf_counter() - start, 1)}


def _curves(make, data, fit_options):
    """fit's loss per epoch on NumPy and on CuPy, from the same weights, seed and batches."""
    import cupy

    import chainrule as cr
    from chainrule import gpu

    host = make()
    device = gpu.move_module(copy.deepcopy(host), cupy)
    curves = {}
    for label, model in (("numpy", host), ("cupy", device)):
        cr.manual_seed(1)
        start = time.perf_counter()
        history = model.fit(*data, verbose=0, **fit_options).history
        curves[label] = {"loss": [float(v) for v in history["loss"]],
                         "seconds": round(time.perf_counter() - start, 2)}
    pairs = zip(curves["numpy"]["loss"], curves["cupy"]["loss"], strict=True)
    curves["max_relative_difference"] = max(abs(a - b) / abs(a) for a, b in pairs)
    curves["within_tolerance"] = curves["max_relative_difference"] <= CURVE_RTOL
    return curves


def loss_curves():
    import chainrule as cr
    from chainrule.zoo import char_rnn, lenet
    from chainrule.zoo.mnist_data import load_digits

    def make_lenet():
        cr.manual_seed(0)
        return lenet._compile(lenet.build())

    text = cr.data.text.load(max_chars=20_000)
    vocab = cr.data.CharVocab(text)

    def make_char_rnn():
        cr.manual_seed(0)
        return char_rnn._compile(char_rnn.build(vocab.chars))

    digits = load_digits(limit=1024, shape="image")[0]
    runs = {"lenet5": (make_lenet, digits, {"batch_size": 128, "epochs": 3}),
            "char_rnn": (make_char_rnn, char_rnn.sequences(vocab.encode(text), length=64),
                         {"batch_size": 64, "epochs": 2})}
    results = {}
    for name, (make, data, options) in runs.items():
        try:
            results[name] = _curves(make, data, options)
        except Exception as error:  # one model's failure must not hide the other's curves
            results[name] = {"error": f"{type(error).__name__}: {error}",
                             "where": traceback.format_exc().splitlines()[-12:]}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--skip-bench", action="store_true", help="the checks without the timings")
    parser.add_argument("--test-timeout", type=int, default=240)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT))
    report = {}
    try:
        import cupy
    except ImportError as error:
        report["error"] = f"CuPy is not importable ({error}): pip install 'chainrule[gpu]' (cupy-cuda12x) " \
                          f"or cupy-cuda13x for CUDA 13"
        (args.out / "gpu_check.json").write_text(json.dumps(report, indent=1))
        print(report["error"])
        return 1
    from benchmarks import gpu_bench

    report["device"] = gpu_bench.device_name()
    report["cupy"] = cupy.__version__
    print(f"device: {report['device']}, CuPy {cupy.__version__}", flush=True)
    steps = [("device_tests", lambda: run_device_tests(args.out, args.test_timeout)),
             ("loss_curves", loss_curves)]
    if not args.skip_bench:
        steps.append(("benchmarks", lambda: gpu_bench.main(quick=False)))
    for key, step in steps:
        start = time.perf_counter()
        try:
            report[key] = step()
        except Exception as error:  # one failed part must not lose the others' results
            report[key] = {"error": f"{type(error).__name__}: {error}",
                           "where": traceback.format_exc().splitlines()[-12:]}
        print(f"{key} ({time.perf_counter() - start:.0f} s): {json.dumps(report[key])[:2000]}", flush=True)
        (args.out / "gpu_check.json").write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
