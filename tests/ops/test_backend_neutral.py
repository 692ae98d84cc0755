"""No op names NumPy: ops take their array module from the data (``self.xp`` / ``array_module``).

That is what lets the same op run on CuPy arrays. Docstrings may mention NumPy; code may not.
"""

import ast
from pathlib import Path

import pytest

import chainrule.ops

OPS_DIR = Path(chainrule.ops.__file__).parent
OP_FILES = sorted(OPS_DIR.glob("*.py"))


def _numpy_uses(source):
    """(line, what) for every import of numpy and every use of the names numpy / np."""
    uses = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            uses += [(node.lineno, f"import {a.name}") for a in node.names if a.name.split(".")[0] == "numpy"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "numpy":
            uses.append((node.lineno, f"from {node.module} import ..."))
        elif isinstance(node, ast.Name) and node.id in ("numpy", "np"):
            uses.append((node.lineno, node.id))
    return uses


def test_the_scanner_finds_numpy():
    assert _numpy_uses("import numpy as np\nx = np.zeros(3)\n") == [(1, "import numpy"), (2, "np")]
    assert _numpy_uses('"""numpy.split"""\nx = xp.zeros(3)\n') == []


@pytest.mark.parametrize("path", OP_FILES, ids=[p.name for p in OP_FILES])
def test_ops_do_not_call_numpy_directly(path):
    uses = _numpy_uses(path.read_text())
    assert not uses, (f"{path.name} names NumPy at {uses}: use self.xp in an op, or "
                      "chainrule.backend.array_module(array) in a function")
