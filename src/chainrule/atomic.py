"""Every file chainrule writes is written atomically, through this module.

The bytes go to a temporary file in the destination's own directory (so the final rename never
crosses a file system), are flushed and fsync'ed, and only then ``os.replace`` puts the file in
place; the directory is synced too, so the rename itself survives a crash. A reader sees the old
file or the complete new one, never half of one. The new file gets the permissions a plain
``open(path, "w")`` would have given it (``mkstemp`` alone would make it private).

A write killed midway (SIGKILL, power loss) leaves its temporary file behind, named
``.NAME.PID-XXXXXXXX.tmp``. Each write removes such leftovers of this pattern from the folder it
writes into: those whose writing process is gone, and any of the pattern (older names too) untouched
for :data:`STALE_SECONDS`. A write in progress elsewhere keeps its file.
"""

import os
import re
import tempfile
import time
from pathlib import Path

STALE_SECONDS = 3600
# ours: ".NAME.PID-XXXXXXXX.tmp"; before the PID was added: ".NAME.XXXXXXXX.tmp" (mkstemp's 8 characters)
_TEMPORARY = re.compile(r"\..+\.(?:(?P<pid>[0-9]+)-)?[a-z0-9_]{8}\.tmp")


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
    mode = _new_file_mode(path)
    remove_stale_temporaries(path.parent)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:  # owns fd from here: closed whatever fails below
            os.fchmod(handle.fileno(), mode)
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(path.parent)


def atomic_write_bytes(path, data):
    """Write ``data`` (bytes) to ``path`` atomically; see :func:`atomic_write`."""
    atomic_write(path, lambda handle: handle.write(data))


def remove_stale_temporaries(directory):
    """Remove the temporary files that killed writes left in ``directory``; returns their names."""
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS
            if old or (match["pid"] is not None and not _alive(int(match["pid"]))):
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError:  # gone already, or not ours to remove
            continue
    return removed


def _alive(pid):
    """Whether process ``pid`` exists on this machine (our own process always does)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists but is someone else's, or cannot be asked: leave its file alone
    return True


def _new_file_mode(path):
    """The permissions a plain ``open(path, "w")`` would give: the old file's, else 0o666 minus umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        mask = os.umask(0o022)  # reading the umask means setting it; put it back at once
        os.umask(mask)
        return 0o666 & ~mask


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
