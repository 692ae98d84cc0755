"""Load on `chainrule serve`: N requests from C concurrent clients on 127.0.0.1, latency percentiles.

    python benchmarks/serve_load.py                       # 2,000 requests, 8 clients, the lecture's MLP
    python benchmarks/serve_load.py --requests 500 --clients 4 --batch 16 --model mlp.chainrule

Trains the MLP with `chainrule train` when no model file is given, starts `chainrule serve` in its own
process, sends JSON batches of random digits, and prints p50, p90, p99 and the throughput. Every
request must succeed: an error ends the run with a non-zero status.
"""

import argparse
import concurrent.futures
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=1, help="digits per request (default: 1)")
    parser.add_argument("--model", help="a .chainrule digit classifier (default: train the mlp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        model = args.model or _train(Path(work))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command = [sys.executable, "-m", "chainrule.cli", "serve", str(model), "--port", str(port)]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/predict"
            _wait_until_up(url.replace("/predict", "/info"))
            digits = numpy.random.default_rng(0).random((args.batch, 784))
            body = json.dumps({"inputs": digits.tolist()}).encode()
            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(args.clients) as clients:
                latencies = list(clients.map(lambda _: _timed_post(url, body), range(args.requests)))
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
    p50, p90, p99 = numpy.percentile(numpy.asarray(latencies) * 1000, [50, 90, 99])
    print(f"{args.requests} requests, {args.clients} clients, batch {args.batch}: 0 errors, "
          f"p50 {p50:.1f} ms, p90 {p90:.1f} ms, p99 {p99:.1f} ms, {args.requests / elapsed:.0f} requests/s")


def _train(work):
    subprocess.run([sys.executable, "-m", "chainrule.cli", "train", "mlp", "--quiet", "--out", str(work)],
                   check=True, stdout=subprocess.DEVNULL)
    return work / "mlp.chainrule"


def _wait_until_up(url, seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not answer {url} within {seconds} s") from None
            time.sleep(0.2)


def _timed_post(url, body):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:  # an HTTP error raises and ends the run
        response.read()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
