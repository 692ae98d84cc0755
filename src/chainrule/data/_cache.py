"""Where downloaded data lives, and how files are written so that a crash never leaves half of one.

The cache directory is ``$CHAINRULE_HOME`` when that is set, ``~/.cache/chainrule`` otherwise; each
data set keeps its files in a subdirectory (``mnist/``).

Every file chainrule writes goes through :func:`atomic_write`: the bytes go to a temporary file in
the destination's own directory (so the final rename never crosses a file system), are flushed and
fsync'ed, and only then ``os.replace`` puts the file in place. A reader therefore sees either the old
file or the complete new one, never a truncated one.
"""

import os
import tempfile
from pathlib import Path

ENV_VAR = "CHAINRULE_HOME"


def cache_dir(subdir=None):
    """The cache directory (not created): ``$CHAINRULE_HOME`` or ``~/.cache/chainrule``, plus ``subdir``."""
    home = os.environ.get(ENV_VAR)
    root = Path(home).expanduser() if home else Path.home() / ".cache" / "chainrule"
    return root / subdir if subdir else root


def atomic_write(path, write):
    """Write a file atomically: ``write(fileobj)`` fills a temporary file that then replaces ``path``.

    ``write`` receives a binary file object. If it raises (or the fsync or the rename fails) the
    temporary file is removed, ``path`` is left as it was, and the exception propagates.

        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "hello.bin"
        >>> atomic_write(target, lambda f: f.write(b"hello"))
        >>> target.read_bytes()
        b'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(path.parent)


def atomic_write_bytes(path, data):
    """Write ``data`` (bytes) to ``path`` atomically; see :func:`atomic_write`."""
    atomic_write(path, lambda handle: handle.write(data))


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
