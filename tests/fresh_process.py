"""Run a snippet in a fresh Python process, on this checkout's chainrule: for what one process cannot
undo (imports, environment switches read once, peak memory)."""

import os
import subprocess
import sys
from pathlib import Path

import chainrule

SRC = str(Path(chainrule.__file__).parents[1])


def run_python(code, *args, unset=(), **env):
    """``python -c code *args`` with ``env`` added and the ``unset`` variables removed; asserts that it
    exited 0 (showing its stderr if not) and returns its standard output."""
    environment = {key: value for key, value in os.environ.items() if key not in unset}
    environment.update(env, PYTHONPATH=os.pathsep.join([SRC, *filter(None, [os.environ.get("PYTHONPATH")])]))
    done = subprocess.run([sys.executable, "-c", code, *args], env=environment, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout
