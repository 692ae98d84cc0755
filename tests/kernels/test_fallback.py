"""A kernel module that cannot be imported leaves the NumPy form in charge, with one warning."""

import importlib

import numpy as np
import pytest

import chainrule as cr
from chainrule.kernels import compiled as fast
from chainrule.kernels import lstm as recurrent


def test_a_failing_kernel_import_falls_back_to_numpy_with_one_warning(monkeypatch):
    real_import = importlib.import_module

    def broken(name, *args):
        if name == "chainrule.kernels.compiled.lstm":
            raise ImportError("numba built for another NumPy")
        return real_import(name, *args)

    monkeypatch.setattr(fast, "enabled", lambda: True)
    monkeypatch.setattr(fast, "_failed", set())
    monkeypatch.setattr(importlib, "import_module", broken)
    with pytest.warns(RuntimeWarning, match="lstm kernels unavailable"):
        assert recurrent.compiled_lstm_gates(np.zeros(1, np.float32)) is None
    assert recurrent.compiled_lstm_gates(np.zeros(1, np.float32)) is None  # no second warning, still NumPy

    lstm = cr.nn.LSTM(3, 4)
    out, _ = lstm(cr.randn(5, 2, 3))
    out.sum().backward()
    assert lstm.weight_hh_l0.grad is not None


def test_nothing_loads_when_switched_off(monkeypatch):
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "1")
    assert fast.load("lstm") is None


def test_kernels_apply_only_to_numpy_arrays_of_the_dtypes_they_take(monkeypatch):
    monkeypatch.setattr(fast, "enabled", lambda: True)
    monkeypatch.setattr(fast, "load", lambda name: name)  # stands in for the module
    f32, f64 = np.zeros(3, np.float32), np.zeros(3, np.float64)
    assert fast.for_arrays("k", f32, f64) == "k"
    assert fast.for_arrays("k", f32, np.zeros(3, np.int64)) is None  # an integer array
    assert fast.for_arrays("k", f32, [0.0, 1.0]) is None  # not an ndarray
    assert fast.for_arrays("k", f32, np.ma.zeros(3)) is None  # a subclass
    assert fast.for_arrays("k", f64, dtypes="f") is None  # the kernel takes float32 only
