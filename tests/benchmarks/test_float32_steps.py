"""A float32 training step of each dense benchmark workload never makes a float64 array.

Every op's output (forward, and the ops a backward pass runs), every array the fast backward paths
wrap, every gradient, parameter and optimiser state is checked after one full step (forward, loss,
backward, optimiser update), for the step exactly as the benchmark times it.
"""

import pathlib
import sys

import numpy as np
import pytest

from chainrule.autograd.op import Op
from chainrule.autograd.tensor import Tensor

ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import ours  # noqa: E402


@pytest.fixture
def dtypes_made(monkeypatch):
    """Record (who, dtype) of every array an op returns or the engine wraps during the test."""
    made = []
    op_call, from_op = Op.__call__, Tensor._from_op.__func__

    def recording_call(self, *inputs):
        out = op_call(self, *inputs)
        made.append((type(self).__name__, out.data.dtype))
        return out

    def recording_from_op(cls, array):
        made.append(("_from_op", getattr(array, "dtype", type(array))))
        return from_op(cls, array)

    monkeypatch.setattr(Op, "__call__", recording_call)
    monkeypatch.setattr(Tensor, "_from_op", classmethod(recording_from_op))
    return made


def _float64(entries):
    return sorted({who for who, dtype in entries if np.dtype(dtype) == np.float64})


@pytest.mark.parametrize("name", ["mlp", "ae", "deep_ae"])
@pytest.mark.parametrize("numba", ["0", "1"], ids=["kernels", "numpy"])
def test_float32_step_makes_no_float64(name, numba, dtypes_made, monkeypatch):
    monkeypatch.setenv("CHAINRULE_NO_NUMBA", numba)
    step = ours.build(name, np.random.default_rng(0))
    dtypes_made.clear()  # building the model may use float64 on purpose (initialisers); steps may not
    loss = step()
    step()
    assert dtypes_made, "the recording hooks saw no op: the check would pass vacuously"
    assert loss.dtype == np.float32
    assert _float64(dtypes_made) == [], f"float64 arrays made by {_float64(dtypes_made)}"
    closure = step.__closure__ or ()
    optimizer = next(c.cell_contents for c in closure if hasattr(c.cell_contents, "param_groups"))
    for group in optimizer.param_groups:
        for p in group["params"]:
            assert p.dtype == np.float32 and p.grad.dtype == np.float32
            for value in optimizer.state[p].values():
                assert getattr(value, "dtype", np.float32) == np.float32
