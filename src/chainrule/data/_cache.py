"""Where downloaded data lives.

The cache directory is ``$CHAINRULE_HOME`` when that is set, ``~/.cache/chainrule`` otherwise; each
data set keeps its files in a subdirectory (``mnist/``).

Files are written through :mod:`chainrule.atomic`, so a crash never leaves half of one.
"""

import os
from pathlib import Path

ENV_VAR = "CHAINRULE_HOME"


def cache_dir(subdir=None):
    """The cache directory (not created): ``$CHAINRULE_HOME`` or ``~/.cache/chainrule``, plus ``subdir``."""
    home = os.environ.get(ENV_VAR)
    root = Path(home).expanduser() if home else Path.home() / ".cache" / "chainrule"
    return root / subdir if subdir else root
