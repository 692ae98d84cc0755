"""The array module behind every tensor.

Ops never name NumPy: they ask :func:`array_module` for the module that owns their data, so that the
same code runs on ``numpy`` arrays and, when CuPy is installed and the data lives on a GPU, on
``cupy`` arrays.
"""

import numpy

DEFAULT_FLOAT = numpy.float32


def array_module(array):
    """Return ``numpy`` or ``cupy``, whichever owns ``array``."""
    if type(array).__module__.startswith("cupy"):
        import cupy

        return cupy
    return numpy


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

    With the optional ``mkl`` extra installed it runs on Intel MKL (see :mod:`chainrule.fast.blas`;
    ``CHAINRULE_BLAS=numpy`` turns that off); otherwise, and for anything MKL does not take (other
    dtypes, odd strides, CuPy data), it is ``xp.matmul(a, b, out=out)``. Batched products stay on
    ``xp.matmul``. The library is looked for at the first call, not at ``import chainrule``.

    ``accumulate=True`` computes ``out += a @ b``: inside the product on MKL (free there, see
    :func:`gemm_accumulates`), with one temporary on NumPy.
    """
    if accumulate:
        if out is None:
            raise ValueError("gemm: accumulate=True adds the product into out, and out is missing")
        return _gemm(a, b, out, True)
    return _gemm(a, b, out)


def prepack(b, rows):
    """``b`` (k, n) made ready as the right operand of many products ``a @ b`` with ``rows``-row ``a``.

    Returns an object whose ``matmul(a, out=None, accumulate=False)`` is :func:`gemm` with ``b``. On
    MKL, ``b`` is packed once into the layout MKL's kernel reads, which each plain product otherwise
    repeats (see :class:`chainrule.fast.blas.PackedRight`); elsewhere it is the plain product. The
    packed copy holds ``b``'s values as they are now: prepack again after ``b`` changes.
    """
    from chainrule.fast import blas

    return blas.PackedRight(b, rows)


def gemm_accumulates():
    """True when ``gemm(..., accumulate=True)`` adds inside the product (MKL) rather than after it.

    An op that would otherwise add the product to another array in a kernel of its own asks this to
    choose the form with fewer passes over memory.
    """
    from chainrule.fast import blas

    return blas.active() == "mkl"


def _first_gemm(a, b, out=None, accumulate=False):
    """Choose the product once (MKL or NumPy), then step aside."""
    global _gemm
    from chainrule.fast import blas

    _gemm = blas.gemm if blas.load() else blas.numpy_gemm
    return _gemm(a, b, out, accumulate)


_gemm = _first_gemm
