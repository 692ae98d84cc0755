"""Where Numba finds no writable cache location, the compiled kernels still load, cached privately.

Numba refuses ``cache=True`` at decoration (a RuntimeError) when neither the source's ``__pycache__``,
the user's cache directory nor ``NUMBA_CACHE_DIR`` can be written: a read-only install with a
read-only home, as in many containers. Before, the first training step raised there.
"""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("numba")

from chainrule.kernels import compiled as fast  # noqa: E402

SOURCE = Path(fast.__file__).resolve().parents[3]  # the src/ directory holding chainrule


def test_a_read_only_install_loads_its_kernels_from_a_private_cache(tmp_path):
    copy = tmp_path / "src"
    shutil.copytree(SOURCE / "chainrule", copy / "chainrule", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "chainrule" / "kernels" / "compiled" / "__pycache__").write_text("")  # blocks the in-tree cache
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_") and k != "XDG_CACHE_HOME"}
    env.update(PYTHONPATH=str(copy), HOME=os.devnull, XDG_CACHE_HOME=os.path.join(os.devnull, "cache"),
               TMPDIR=str(temporary), PYTHONDONTWRITEBYTECODE="1", CHAINRULE_NO_NUMBA="0")
    script = ("import numpy as np, os\n"
              "from chainrule.kernels import compiled\n"
              "kernels = compiled.load('relu')\n"
              "x = np.array([-1.0, 2.0], np.float32); out = np.empty_like(x)\n"
              "kernels.relu_backward(x, np.ones_like(x), out)\n"
              "print(out.tolist(), os.environ['NUMBA_CACHE_DIR'])\n")
    for _ in range(2):  # the second process finds the first one's machine code
        done = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", script], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        values, directory = done.stdout.split("] ")
        assert values == "[0.0, 1.0"
        assert Path(directory.strip()).parent == temporary
    assert list(Path(directory.strip()).rglob("relu.relu_backward-*.nbi"))  # the index Numba wrote


def test_the_private_directory_is_this_users_and_closed_to_others(tmp_path, monkeypatch):
    monkeypatch.setattr(fast.tempfile, "tempdir", str(tmp_path))
    path = fast.private_cache_directory()
    assert path == fast.private_cache_directory()  # stable: one cache for every process
    assert not os.stat(path).st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    os.chmod(path, 0o777)  # as if someone else had made it writable for all
    other = fast.private_cache_directory()
    assert other != path and Path(other).parent == tmp_path
    assert not os.stat(other).st_mode & (stat.S_IWGRP | stat.S_IWOTH)
