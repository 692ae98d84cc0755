"""Every row of the op table on the device under test: forward, reverse and forward mode stay there.

Each result is compared with the same op on NumPy arrays; any host array met on the way raises
TypeError inside the stand-in, as it would on CuPy.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from device_under_test import RTOL, DeviceArray, to_host, xp

import chainrule as cr

_spec = importlib.util.spec_from_file_location(
    "op_table_rows", Path(__file__).parents[1] / "ops" / "test_op_table.py")
op_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(op_table)
ROWS = op_table.ROWS


def _both(case):
    rng = np.random.default_rng(0)
    arrays = [op_table.make_array(rng, arg) for arg in case.args]
    host = [cr.Tensor(a, requires_grad=True) for a in arrays]
    device = [cr.Tensor(xp.asarray(a), requires_grad=True) for a in arrays]
    return host, device


def _outputs(case, inputs):
    return op_table._listify(case.fn(*inputs, **_on(case.kwargs, inputs)))


def _on(kwargs, inputs):
    """Constant arrays among the kwargs (indices, conditions) move with the inputs."""
    if not inputs or not isinstance(inputs[0]._data, DeviceArray):
        return kwargs
    return {k: _moved(v) for k, v in kwargs.items()}


def _moved(value):
    if isinstance(value, np.ndarray):
        return xp.asarray(value)
    if isinstance(value, tuple):
        return tuple(_moved(v) for v in value)
    return value



@pytest.mark.parametrize("case", ROWS, ids=[row.id for row in ROWS])
def test_row_runs_on_the_device_as_on_numpy(case):
    host, device = _both(case)
    expected, got = _outputs(case, host), _outputs(case, device)
    rng = np.random.default_rng(1)
    cotangents = [rng.standard_normal(o.shape) for o in expected]
    for e, g in zip(expected, got):
        assert isinstance(g._data, DeviceArray), f"{case.name} left the device: {type(g._data)}"
        np.testing.assert_allclose(to_host(g._data), e._data, rtol=RTOL, atol=RTOL)
    host_grads = cr.autograd.grad(expected, host, [cr.Tensor(u) for u in cotangents], allow_unused=True)
    device_grads = cr.autograd.grad(got, device, [cr.Tensor(xp.asarray(u)) for u in cotangents],
                                    allow_unused=True)
    for e, g in zip(host_grads, device_grads):
        assert (e is None) == (g is None)
        if g is not None:
            assert isinstance(g._data, DeviceArray)
            np.testing.assert_allclose(to_host(g._data), e._data, rtol=RTOL, atol=RTOL)
    tangents = [rng.standard_normal(x.shape) for x in host]
    _, host_jvp = cr.jvp(lambda *xs: case.fn(*xs, **case.kwargs), host, [cr.Tensor(t) for t in tangents])
    _, device_jvp = cr.jvp(lambda *xs: case.fn(*xs, **_on(case.kwargs, device)), device,
                           [cr.Tensor(xp.asarray(t)) for t in tangents])
    for e, g in zip(op_table._listify(host_jvp), op_table._listify(device_jvp)):
        assert isinstance(g._data, DeviceArray)
        np.testing.assert_allclose(to_host(g._data), e._data, rtol=RTOL, atol=RTOL)
