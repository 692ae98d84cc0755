"""The device these tests run on: the strict stand-in for CuPy, or CuPy itself on a machine with a GPU.

``CHAINRULE_TEST_DEVICE=cupy`` runs this folder on a real GPU (``benchmarks/gpu_check.py`` does);
otherwise the tests use :mod:`strict_array`. ``RTOL`` is how closely device results must match NumPy's
in float64: the stand-in computes with NumPy itself; a GPU sums in other orders (1e-5, the issue's
bound).
"""

import os

import numpy

if os.environ.get("CHAINRULE_TEST_DEVICE") == "cupy":
    import cupy as xp

    DeviceArray = xp.ndarray
    RTOL = 1e-5
else:
    from strict_array import StrictArray as DeviceArray
    from strict_array import xp

    from chainrule import backend

    backend.register_array_type(DeviceArray, xp)
    RTOL = 1e-10


def to_host(array):
    """A NumPy copy of a device array (a NumPy array as it is)."""
    return array.get() if isinstance(array, DeviceArray) else numpy.asarray(array)


__all__ = ["RTOL", "DeviceArray", "to_host", "xp"]
