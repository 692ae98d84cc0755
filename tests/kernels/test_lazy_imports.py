"""``import chainrule`` stays NumPy-only: Numba, SciPy and MKL load at the first kernel that needs them.

Numba's start alone (its import, SciPy's linear algebra that it imports, LLVM) costs more CPU time
than importing chainrule and training a first mlp step on NumPy (benchmarks/README.md), so a
script that never runs a compiled kernel must never pay for it.
"""

import json

import pytest

from chainrule.kernels import compiled as fast
from fresh_process import run_python

HEAVY = ("numba", "llvmlite", "scipy", "mkl", "torch")


def _loaded_after(script):
    out = run_python(script + "\nimport sys, json\n"
                     f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))",
                     unset=[fast.DISABLE_VARIABLE])
    return json.loads(out.splitlines()[-1])


def test_importing_chainrule_loads_none_of_the_extras():
    assert _loaded_after("import chainrule, chainrule.nn, chainrule.optim") == []


@pytest.mark.skipif(not fast.numba_installed(), reason="needs numba (the fast extra)")
def test_the_first_compiled_kernel_loads_numba():
    loaded = _loaded_after("from chainrule.kernels import compiled\nassert compiled.load('relu') is not None")
    assert "numba" in loaded
