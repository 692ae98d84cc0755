"""benchmarks/ab.py --toggle: one process that times each step under A and B in turns."""

import sys
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2]))  # the checkout's benchmarks/ package

from benchmarks import ab, ours  # noqa: E402


def test_toggle_alternates_the_setting_step_by_step(monkeypatch, capsys):
    setting = types.ModuleType("toggled_setting")
    setting.SIZE = 0
    monkeypatch.setitem(sys.modules, "toggled_setting", setting)
    seen = []

    def build(name, rng):
        return lambda: seen.append(setting.SIZE)

    monkeypatch.setattr(ours, "build", build)
    ab._toggle("mlp", 4, "toggled_setting.SIZE", ["1", "2"])
    timed = seen[-8:]  # after each side's untimed warm-up: pairs A B, B A, A B, B A
    assert timed == [1, 2, 2, 1, 1, 2, 2, 1]
    report = capsys.readouterr().out
    assert "A=1" in report and "B=2" in report and "over 4 pairs" in report
