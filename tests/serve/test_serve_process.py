"""`chainrule serve` as a user runs it: a real server on 127.0.0.1, a bounded load, and Ctrl-C."""

import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy
import pytest

pytest.importorskip("uvicorn")

CLIENTS = 8
REQUESTS = 240  # bounded: a smoke load for CI; benchmarks/serve_load.py runs 2,000


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def server(digit_model_file):
    port = _free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "chainrule.cli", "serve", str(digit_model_file),
                                "--host", "127.0.0.1", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/info", timeout=2).read()
            break
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the server did not start: {process.stdout.read()}")
            time.sleep(0.2)
    yield process, url
    if process.poll() is None:
        process.kill()
        process.wait()


def _post(url, body, content_type="application/json"):
    request = urllib.request.Request(url + "/predict", data=body, headers={"Content-Type": content_type})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), time.perf_counter() - started
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), time.perf_counter() - started


def test_concurrent_clients_are_all_answered_and_bad_ones_do_not_hurt_the_others(server):
    _, url = server
    rng = numpy.random.default_rng(0)
    good = json.dumps({"inputs": rng.random((4, 784)).tolist()}).encode()
    bad = b'{"inputs": [[1, 2], [3]]}'
    bodies = [bad if i % 10 == 0 else good for i in range(REQUESTS)]
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as clients:
        results = list(clients.map(lambda body: _post(url, body), bodies))
    assert time.monotonic() - started < 120
    statuses = [status for status, _, _ in results]
    assert statuses.count(422) == REQUESTS // 10 and statuses.count(200) == REQUESTS - REQUESTS // 10
    answers = {json.dumps(answer) for status, answer, _ in results if status == 200}
    assert len(answers) == 1  # the same batch gets the same answer, whatever ran beside it


def test_ctrl_c_stops_the_server_cleanly(server):
    process, url = server
    assert _post(url, json.dumps({"inputs": numpy.zeros((1, 784)).tolist()}).encode())[0] == 200
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    output = process.stdout.read()
    assert "Traceback" not in output and "Shutting down" in output
