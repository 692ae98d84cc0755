"""Optional compiled kernels for the hot spots of a training step (the ``fast`` extra: Numba).

Each kernel is a second form of something NumPy already does in the library, tested equal to it, and
used only where it applies; NumPy stays the default when Numba is absent. Nothing here runs at import
of ``chainrule``: the optimisers load their kernels at their first ``step()``. Set the environment
variable ``CHAINRULE_NO_NUMBA=1`` to force the NumPy path (to test it, or to compare the two).

Compiled code is cached on disk (``cache=True``), so only the very first run on a machine pays for
compilation; later processes load each kernel's machine code in milliseconds. What a process still
pays at the first compiled call is Numba's own start (importing it, its typing and lowering tables,
LLVM; benchmarks/README.md has the figures), once, whatever the kernels.

Numba keeps the cache beside the source (``__pycache__``), else in the user's cache directory, else
where ``NUMBA_CACHE_DIR`` says; where none of them is writable (a read-only install and home) it
refuses ``cache=True`` outright, so :func:`load` then gives it a private directory of this user's.
"""

import importlib
import importlib.util
import os
import stat
import sys
import tempfile
import warnings

import numpy

from chainrule.kernels import threads

DISABLE_VARIABLE = "CHAINRULE_NO_NUMBA"


def disabled_by_environment():
    """True when ``CHAINRULE_NO_NUMBA`` is set to anything but "" or "0"."""
    return os.environ.get(DISABLE_VARIABLE, "") not in ("", "0")


def numba_installed():
    """True when Numba can be imported (checked without importing it)."""
    return importlib.util.find_spec("numba") is not None


def enabled():
    """True when compiled kernels will be used: Numba is installed and not switched off."""
    return not disabled_by_environment() and numba_installed()


_failed = set()


def for_arrays(name, *arrays, dtypes="fd"):
    """The compiled module ``<name>`` here when its kernels apply to these arrays, else None.

    They apply to NumPy arrays (not CuPy's, not subclasses) whose dtype character is in ``dtypes``
    (float32 and float64 unless a kernel says otherwise), with Numba installed and not switched off.
    The one rule every op asks before it runs a compiled form instead of its NumPy one.
    """
    for a in arrays:
        if type(a) is not numpy.ndarray or a.dtype.char not in dtypes:
            return None
    return load(name)


def load(name):
    """The kernel module ``chainrule.kernels.compiled.<name>``, or None where compiled kernels do not apply.

    None when Numba is absent or switched off, and also when importing the module fails (a Numba
    that does not fit this NumPy): then a warning says so, once, and the caller keeps its NumPy form.
    """
    if not enabled() or name in _failed:
        return None
    module = f"chainrule.kernels.compiled.{name}"
    try:
        try:
            first = module not in sys.modules
            loaded = importlib.import_module(module)
            if first:  # Numba may have started just now: the count cr.set_num_threads asked before
                threads.numba_threads(sys.modules.get("numba"))
            return loaded
        except RuntimeError:  # Numba found no writable place for the cache: give it one, once
            if not _give_numba_a_cache_directory():
                raise
            return importlib.import_module(module)
    except (ImportError, RuntimeError) as error:
        _failed.add(name)
        warnings.warn(f"chainrule.kernels.compiled: {name} kernels unavailable ({error}); using NumPy",
                      RuntimeWarning, stacklevel=3)
        return None


def private_cache_directory():
    """A directory for Numba's cache that only this user can write: stable across processes.

    ``<temp>/chainrule-numba-<uid>``, made with mode 700; where it exists but is someone else's or
    others may write to it (a cache holds pickles, which run code when loaded), a fresh one instead.
    """
    uid = os.getuid() if hasattr(os, "getuid") else None
    path = os.path.join(tempfile.gettempdir(), f"chainrule-numba-{uid if uid is not None else 'user'}")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.lstat(path)
        if stat.S_ISDIR(info.st_mode) and (uid is None or info.st_uid == uid) \
                and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return path
    except OSError:
        pass
    return tempfile.mkdtemp(prefix="chainrule-numba-")


def _give_numba_a_cache_directory():
    """Point Numba's cache at :func:`private_cache_directory` unless one was chosen; False if one was."""
    numba = sys.modules.get("numba")
    if numba is None or numba.config.CACHE_DIR:
        return False
    path = private_cache_directory()
    # both: the environment survives Numba's re-reading of it at compile time, the attribute is what
    # the decorations read now
    os.environ["NUMBA_CACHE_DIR"] = numba.config.CACHE_DIR = path
    return True
