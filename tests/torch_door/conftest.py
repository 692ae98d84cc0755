"""The oracle fixture of this folder (see ``torch_oracle``).

The suite runs with ``--import-mode=importlib``, which does not put test folders on ``sys.path``: the
folder goes there so that its tests can import ``torch_oracle``.
"""

import os
import sys

import pytest

_HERE = os.path.dirname(__file__)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import torch_oracle  # noqa: E402


@pytest.fixture
def agrees_with_torch():
    """``agrees_with_torch(idiom)`` runs the idiom with torch and chainrule and requires one result."""
    return torch_oracle.checker()
