"""The op benchmark still runs (tiny sizes; no timing is asserted, speed is the benchmark's job)."""

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_ops.py"


def test_bench_ops_produces_a_table():
    spec = importlib.util.spec_from_file_location("bench_ops", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.measure(number=2, repeat=2, chain_length=10)
    names = [name for name, _, _ in rows]
    assert "a @ b (grad)" in names and "10-op chain fwd+bwd" in names
    assert all(ours > 0 for _, ours, _ in rows)
    table = bench.format_table(rows)
    assert table.splitlines()[0].startswith("op (4x4 float32)") and len(table.splitlines()) == len(rows) + 3
