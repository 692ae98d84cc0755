"""A character corpus for language models: a file, a directory of files, or Python's own sources."""

import logging
import os
import sysconfig
from pathlib import Path

from chainrule.errors import ConfigError

logger = logging.getLogger("chainrule.data")

# parts of the standard library directory that are not the standard library
_SKIPPED_DIRS = {"site-packages", "dist-packages", "__pycache__"}


def load(path=None, max_chars=None, pattern=None):
    """Read a corpus as one string.

    Arguments:
        path: a text file, or a directory whose files (``pattern``, default ``"*"``) are read in
            sorted order and concatenated. By default, the ``*.py`` files of the Python standard
            library (``sysconfig.get_paths()["stdlib"]``, installed packages excluded): a few
            megabytes of real code on every machine.
        max_chars: keep only the first ``max_chars`` characters (reading stops there).
        pattern: the file-name glob for directories.

    Files are decoded as UTF-8; a file that is not valid UTF-8 is skipped (and logged). The order is
    deterministic, so the same call gives the same corpus on the same Python.

        >>> len(load(max_chars=1000))
        1000
    """
    if max_chars is not None and max_chars < 0:
        raise ConfigError(f"text.load: expected max_chars >= 0 or None, got {max_chars}")
    if path is None:
        root, pattern = Path(sysconfig.get_paths()["stdlib"]), pattern or "*.py"
        logger.info("text: using the Python standard library sources in %s", root)
    else:
        root = Path(path).expanduser()
        if not root.exists():
            raise FileNotFoundError(f"text.load: no file or directory {str(root)!r}")
        logger.info("text: using %s", root)
    files = [root] if root.is_file() else _files_under(root, pattern or "*")
    pieces, total, skipped = [], 0, []
    for file in files:
        try:
            content = file.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError) as error:
            logger.debug("text: skipping %s (%s)", file, error)
            skipped.append(file)
            continue
        if max_chars is not None and total + len(content) >= max_chars:
            pieces.append(content[:max_chars - total])
            break
        pieces.append(content)
        total += len(content)
    if skipped and not pieces:
        raise ConfigError(f"text.load: expected UTF-8 text in {str(root)!r}, got only files that do not "
                          f"decode as UTF-8 (such as {skipped[0].name!r}); hint: pass a text file or a "
                          "directory of text files")
    return "".join(pieces)


def _files_under(root, pattern):
    """Files matching ``pattern`` below ``root``, depth first in sorted order, skipping package dirs."""
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIPPED_DIRS)
        here = Path(directory)
        for name in sorted(names):
            file = here / name
            if file.match(pattern) and file.is_file():
                yield file
