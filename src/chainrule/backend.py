"""The array module behind every tensor.

Ops never name NumPy: they ask :func:`array_module` for the module that owns their data, so that the
same code runs on ``numpy`` arrays and, when CuPy is installed and the data lives on a GPU, on
``cupy`` arrays.
"""

import numpy

DEFAULT_FLOAT = numpy.float32


# array type -> its array module, for array types neither NumPy's nor CuPy's (the test suite's strict
# stand-in for CuPy registers itself here)
_ARRAY_MODULES = {}


def register_array_type(array_type, module):
    """Make :func:`array_module` answer ``module`` for arrays of ``array_type``."""
    _ARRAY_MODULES[array_type] = module


def array_module(array):
    """Return ``numpy`` or ``cupy``, whichever owns ``array``."""
    kind = type(array)
    if kind is numpy.ndarray:
        return numpy
    if kind in _ARRAY_MODULES:
        return _ARRAY_MODULES[kind]
    if kind.__module__.startswith("cupy"):
        import cupy

        return cupy
    return numpy


def on_host(array):
    """True when ``array`` is a NumPy array (or scalar), the only kind Numba and MKL kernels take."""
    return array_module(array) is numpy


def asarray(value, dtype=None):
    """Turn Python numbers, lists and arrays into an array.

    Python floats (and lists holding any float) become ``float32``; Python ints and bools keep an
    integer or boolean dtype, as in PyTorch; an array keeps its own dtype unless ``dtype`` is given.
    """
    if hasattr(value, "__array__") or type(value).__module__.startswith("cupy"):
        xp = array_module(value)
        return xp.asarray(value, dtype=dtype)
    array = numpy.asarray(value, dtype=dtype)
    if dtype is None and array.dtype == numpy.float64:
        array = array.astype(DEFAULT_FLOAT)
    return array


def is_floating(dtype):
    return numpy.issubdtype(dtype, numpy.floating)


def gemm(a, b, out=None, accumulate=False):
    """The matrix product ``a @ b`` of two 2-D arrays, the one door every hot 2-D product goes through.

    ``xp.matmul`` unless a faster product was installed with :func:`set_gemm` (the ``mkl`` extra's,
    installed by :mod:`chainrule.kernels`; ``CHAINRULE_BLAS=numpy`` keeps NumPy's). With
    ``accumulate=True`` it computes ``out += a @ b``.
    """
    if accumulate and out is None:
        raise ValueError("gemm: accumulate=True adds the product into out, and out is missing")
    return _gemm(a, b, out, accumulate)


def matmul_gemm(a, b, out=None, accumulate=False):
    """``a @ b`` by the array module's own ``matmul`` (``accumulate``: ``out += a @ b``)."""
    xp = array_module(a)
    if accumulate:
        out += xp.matmul(a, b)
        return out
    if out is not None and not out.flags.c_contiguous:
        # NumPy's matmul into a strided out (a column block of a larger array) measured 40x slower
        # than into fresh memory with OpenBLAS on 2 threads (39 against 0.9 ms at 32x289 @ 289x8192)
        out[...] = xp.matmul(a, b)
        return out
    return xp.matmul(a, b, out=out)


_gemm = matmul_gemm


def set_gemm(function):
    """Install ``function(a, b, out, accumulate)`` behind :func:`gemm`; None restores ``xp.matmul``.

    The backend never imports an optional library itself: the kernels package calls this.
    """
    global _gemm
    _gemm = matmul_gemm if function is None else function
