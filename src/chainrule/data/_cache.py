"""Where downloaded data lives.

The cache directory is ``$CHAINRULE_HOME`` when that is set, ``~/.cache/chainrule`` otherwise; each
data set keeps its files in a subdirectory (``mnist/``).

Files are written through :mod:`chainrule.atomic`, so a crash never leaves half of one. Files whose
published SHA-256 is known are checked against it when loaded from the cache, once per change of the
file (:func:`sha256_mismatch`).
"""

import hashlib
import json
import os
from pathlib import Path

from chainrule.atomic import atomic_write_bytes

ENV_VAR = "CHAINRULE_HOME"


def cache_dir(subdir=None):
    """The cache directory (not created): ``$CHAINRULE_HOME`` or ``~/.cache/chainrule``, plus ``subdir``."""
    home = os.environ.get(ENV_VAR)
    root = Path(home).expanduser() if home else Path.home() / ".cache" / "chainrule"
    return root / subdir if subdir else root


VERIFIED_RECORD = ".verified.json"  # in each cache subdirectory: {file name: {size, mtime_ns, sha256}}


def sha256_mismatch(path, expected):
    """None when file ``path`` has SHA-256 ``expected``, else its actual SHA-256.

    Hashing happens once: a verified file is remembered in ``.verified.json`` beside it by its size and
    modification time, so later loads skip the hash until the file changes. A cache that cannot be
    written to is simply hashed again next time.
    """
    path = Path(path)
    stat = path.stat()
    mark = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": expected.lower()}
    record_path = path.parent / VERIFIED_RECORD
    records = _read_records(record_path)
    if records.get(path.name) == mark:
        return None
    actual = file_sha256(path)
    if actual != expected.lower():
        return actual
    records[path.name] = mark
    try:
        atomic_write_bytes(record_path, json.dumps(records, indent=1, sort_keys=True).encode())
    except OSError:
        pass  # a read-only cache: verified now, hashed again next time
    return None


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_records(record_path):
    try:
        records = json.loads(record_path.read_text())
    except (OSError, ValueError):
        return {}
    return records if isinstance(records, dict) else {}
