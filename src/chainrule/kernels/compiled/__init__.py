"""Optional compiled kernels for the hot spots of a training step (the ``fast`` extra: Numba).

Each kernel is a second form of something NumPy already does in the library, tested equal to it, and
used only where it applies; NumPy stays the default when Numba is absent. Nothing here runs at import
of ``chainrule``: the optimisers load their kernels at their first ``step()``. Set the environment
variable ``CHAINRULE_NO_NUMBA=1`` to force the NumPy path (to test it, or to compare the two).

Compiled code is cached on disk (``cache=True``), so only the very first run on a machine pays for
compilation; later processes load the machine code in milliseconds.
"""

import importlib
import importlib.util
import os
import warnings

import numpy

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
    try:
        return importlib.import_module(f"chainrule.kernels.compiled.{name}")
    except ImportError as error:
        _failed.add(name)
        warnings.warn(f"chainrule.kernels.compiled: {name} kernels unavailable ({error}); using NumPy",
                      RuntimeWarning, stacklevel=3)
        return None
