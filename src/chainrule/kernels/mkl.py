"""2-D matrix products on Intel MKL (the optional ``mkl`` extra), called through ``ctypes``.

NumPy's wheels multiply matrices with OpenBLAS; PyTorch's CPU wheels use MKL, which is faster on some
machines and slower on others (benchmarks/README.md). When Intel's ``mkl`` package is installed
(``pip install chainrule[mkl]``) and measures faster here (:mod:`chainrule.kernels.blas_route`
decides, once a process), :func:`gemm` sends each 2-D float32/float64 product to
``cblas_sgemm``/``cblas_dgemm``; everything else (other dtypes, mixed dtypes, batches, strides BLAS
cannot describe, overlapping ``out``) goes to NumPy, so the answer is always NumPy's up to rounding.

Nothing here runs at ``import chainrule``: :mod:`chainrule.kernels` installs
:func:`chainrule.kernels.blas_route.first_gemm` as :func:`chainrule.backend.gemm`, which at the first
product looks for the library, times it against NumPy's BLAS, and installs :func:`gemm` or steps
aside for NumPy. Environment, read at that moment:

- ``CHAINRULE_BLAS=numpy`` forces NumPy's own BLAS (to compare, or to rule MKL out of a bug hunt),
  ``mkl`` forces MKL when it is installed; ``auto`` (the default) uses MKL where it measures faster.
- ``MKL_NUM_THREADS`` (else ``OMP_NUM_THREADS``) sets MKL's thread count; unset, MKL chooses (one
  thread per physical core).
- ``KMP_BLOCKTIME`` (Intel OpenMP's own setting, milliseconds, default 200) is how long MKL's worker
  threads spin after a product before they sleep. The spin makes back-to-back products cheap on an
  idle machine, but it holds the other cores meanwhile: on a busy machine, or beside OpenBLAS's own
  threads (products that still call ``numpy.matmul`` directly), ``KMP_BLOCKTIME=0`` is faster.

A product ``C = A B`` with ``A`` (m, k) and ``B`` (k, n) is one call in row-major order; a
transposed view (strides of a column-major matrix) is passed as the transpose flag and its leading
dimension instead of being copied, as NumPy does.
"""

import ctypes
import os
import sys
import warnings

import numpy
from numpy import dtype, empty, matmul, ndarray, uint8

from chainrule.backend import array_module

SWITCH_VARIABLE = "CHAINRULE_BLAS"
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # CBLAS enumerations
_PACKED, _B_MATRIX = 151, 162  # MKL's CblasPacked (a transpose-flag value) and CblasBMatrix
_INT_LIMIT = 1 << 31  # the LP64 interface takes 32-bit sizes and leading dimensions
_FLOAT32 = dtype("float32")
_FLOAT64 = dtype("float64")

library = None  # the loaded libmkl_rt (a ctypes.CDLL), or None
library_path = None  # where it was found
_routines = {}  # dtype -> (cblas_?gemm, alpha 1, beta 0): the one dict lookup per call
_packers = {}  # dtype -> (cblas_?gemm_pack_get_size, cblas_?gemm_pack, cblas_?gemm_compute)
_LP64 = 0  # MKL_INTERFACE_LP64
# m·n·k below which a product goes to NumPy (see gemm); >= 1. Alone, NumPy is faster up to ~2**19,
# but OpenBLAS starts its own worker threads above ~2**16, and in a step that also runs MKL's the two
# pools then fight for the 2 cores after any pause (deep_ae, measured on a quiet machine: 4.6 ms per
# step for as long as 200 steps after a 0.3 s sleep at 2**19, 3.3-3.7 ms at 2**16; steady 3.2 both).
SMALL_PRODUCT = 1 << 16


def requested():
    """What ``CHAINRULE_BLAS`` asks for: "numpy", "mkl" or "auto" (unset, empty or unknown)."""
    value = os.environ.get(SWITCH_VARIABLE, "").strip().lower()
    if value in ("numpy", "mkl"):
        return value
    if value not in ("", "auto"):
        warnings.warn(f"{SWITCH_VARIABLE}={value!r} is not one of 'numpy', 'mkl', 'auto'; using 'auto'",
                      RuntimeWarning, stacklevel=3)
    return "auto"


def find_library():
    """The path of ``libmkl_rt`` from the installed ``mkl`` distribution, or None.

    The distribution's file list is the authority (it holds for virtual environments and user
    installs); ``sys.prefix/lib`` is the fallback for installs without a RECORD.
    """
    from importlib import metadata

    names = ("libmkl_rt.so", "mkl_rt", "libmkl_rt.")  # Linux, Windows (mkl_rt.2.dll), macOS (.dylib)
    try:
        files = metadata.distribution("mkl").files or ()
    except metadata.PackageNotFoundError:
        files = ()
    found = sorted(os.path.normpath(f.locate()) for f in files if f.name.startswith(names))
    for path in found:
        if os.path.isfile(path):
            return path
    for folder in (os.path.join(sys.prefix, "lib"), os.path.join(sys.prefix, "Library", "bin")):
        for name in ("libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so", "mkl_rt.2.dll"):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                return path
    return None


def thread_count():
    """The thread count asked of MKL: by ``cr.set_num_threads``, else by the environment; None to let
    MKL choose."""
    from chainrule.kernels import threads

    if threads.requested is not None:
        return threads.requested
    for variable in ("MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(variable, "").split(",")[0].strip()  # OMP_NUM_THREADS may list levels
        if value.isdigit() and int(value) > 0:
            return int(value)
    return None


def load():
    """Find and open MKL once; True when :func:`gemm` will use it. Later calls cost nothing."""
    global library, library_path
    if library is not None:
        return True
    if requested() == "numpy":
        return False
    path = find_library()
    if path is None:
        if requested() == "mkl":
            warnings.warn(f"{SWITCH_VARIABLE}=mkl but the mkl package is not installed "
                          "(pip install chainrule[mkl]); using NumPy's BLAS", RuntimeWarning, stacklevel=3)
        return False
    try:
        lib = ctypes.CDLL(path)
        # gemm passes 32-bit sizes: pin the LP64 interface before any other MKL call, whatever
        # MKL_INTERFACE_LAYER says (-1: another user of this library already chose otherwise)
        if lib.MKL_Set_Interface_Layer(_LP64) != _LP64:
            raise OSError("MKL's interface layer is not LP64 in this process")
        for routine, scalar, key in ((lib.cblas_sgemm, ctypes.c_float, _FLOAT32),
                                     (lib.cblas_dgemm, ctypes.c_double, _FLOAT64)):
            routine.restype = None
            # no argtypes, on purpose: converting 14 arguments through them costs ~1 µs a call, more
            # than the rest of gemm. The arguments are passed as ready C values instead: Python ints
            # (C int by default; gemm keeps them below 2**31), prebuilt alpha/beta scalars of the
            # routine's type, and c_void_p views of the arrays' data fields.
            _routines[key] = (routine, scalar(1.0), scalar(0.0))
        for prefix, key in (("cblas_s", _FLOAT32), ("cblas_d", _FLOAT64)):
            get_size, pack, compute = (getattr(lib, prefix + name)
                                       for name in ("gemm_pack_get_size", "gemm_pack", "gemm_compute"))
            get_size.restype, pack.restype, compute.restype = ctypes.c_size_t, None, None
            _packers[key] = (get_size, pack, compute)
        threads = thread_count()
        if threads is not None:
            lib.MKL_Set_Num_Threads(threads)
    except (OSError, AttributeError) as error:  # a broken or foreign install: say so once, keep NumPy
        _routines.clear()
        _packers.clear()
        warnings.warn(f"chainrule.kernels.mkl: cannot use MKL at {path} ({error}); using NumPy's BLAS",
                      RuntimeWarning, stacklevel=3)
        return False
    library, library_path = lib, path
    return True


def _data(a):
    """The address of ``a``'s data as a ``c_void_p``, passed to C as is.

    (An earlier form read NumPy's C struct through ``id(a)`` to save ~1.5 µs a product; under 1% of
    any workload's step, so it went: issue #19.)
    """
    return ctypes.c_void_p(a.ctypes.data)


def active():
    """The BLAS that the products run on: "mkl" or "numpy" (chosen once: :mod:`.blas_route`)."""
    from chainrule.kernels import blas_route

    return blas_route.active()


def numpy_gemm(a, b, out=None, accumulate=False):
    """NumPy's product, the reference and the fallback (``ndarray.dot`` where that is the same thing).

    ``accumulate=True``: ``out += a @ b``, through one temporary the size of ``out``.
    """
    if accumulate:
        out += numpy_gemm(a, b)
        return out
    if type(a) is ndarray and type(b) is ndarray:
        if out is None and a.ndim == 2 and b.ndim == 2:
            return a.dot(b)  # the product matmul computes, at half the matmul ufunc's call overhead
        if out is not None and not out.flags.c_contiguous:  # see chainrule.backend.matmul_gemm: 40x
            out[...] = matmul(a, b)
            return out
        return matmul(a, b, out=out)
    return array_module(b if type(a) is ndarray else a).matmul(a, b, out=out)  # CuPy data


def _layout(row_stride, col_stride, rows, cols, size):
    """(transpose flag, leading dimension) under which BLAS reads a (rows, cols) operand in place, or None.

    Row-major (unit stride along a row): no transpose, leading dimension = the row stride.
    Column-major (unit stride down a column): the transpose flag, leading dimension = the column
    stride. The stride of a dimension of length 1 is meaningless (NumPy leaves any value there); the
    leading dimension must still be at least the row length, as BLAS checks.
    """
    if col_stride == size or cols == 1:
        ld = row_stride // size if rows > 1 else cols
        return None if ld < cols or row_stride % size else (_NO_TRANS, ld)
    if row_stride == size or rows == 1:
        ld = col_stride // size  # here cols > 1
        return None if ld < rows or col_stride % size else (_TRANS, ld)
    return None


def _out_place(out, kind, m, n, a_start, a_row, a_col, k):
    """(data field, leading dimension, first byte, one past the last) of an ``out`` MKL can write the
    (m, n) product into, or None: a writable (m, n) array of ``kind`` with unit column stride,
    aligned, not overlapping the left operand (k columns from ``a_start`` with strides ``a_row``,
    ``a_col``; the right operand is the caller's to check). NumPy copies an operand that shares
    memory with out; that case is left to it. The spans are [first byte, one past the last) of each
    array, its strides all positive once checked (a length-1 dimension adds nothing whatever its
    stride)."""
    if type(out) is not ndarray or out.dtype is not kind or out.shape != (m, n) or not out.flags.writeable:
        return None
    size = kind.itemsize
    row, col = out.strides
    ldc = row // size if m > 1 else n
    data_out = _data(out)
    start = data_out.value
    if (col != size and n > 1) or ldc < n or row % size or start % size or ldc >= _INT_LIMIT:
        return None
    end = start + ((m - 1) * ldc + n) * size
    if a_start < end and start < a_start + (m - 1) * a_row + (k - 1) * a_col + size:
        return None
    return data_out, ldc, start, end


def gemm(a, b, out=None, accumulate=False):
    """``a @ b`` for 2-D arrays through MKL's ``cblas_?gemm`` where it applies, else :func:`numpy_gemm`.

    Applies to float32/float64 matrices of one dtype that are row-major or column-major (C- or
    F-ordered, transposed views, row or column slices), aligned, of at least ``SMALL_PRODUCT``
    multiply-adds (so no zero-size dimension); ``out``, when given, must be a writable (m, n) array
    of that dtype with unit column stride (C-contiguous, or a column slice of one) not overlapping
    the operands. With ``accumulate=True`` (``out`` required) the product is added to ``out``
    (BLAS's β = 1): MKL reads ``out`` inside the product, on its threads, instead of a separate pass.
    Call :func:`load` first.
    """
    if type(a) is not ndarray or type(b) is not ndarray or a.ndim != 2 or b.ndim != 2:
        return numpy_gemm(a, b, out, accumulate)
    m, k = a.shape
    k_b, n = b.shape
    # NumPy raises the shape error, fills zeros for k = 0, and is faster on small products: MKL's
    # fixed cost (~2 µs a call with this Python path) exceeds its gain on the smallest ones,
    # and OpenBLAS runs those on the calling thread alone, so its worker threads stay asleep
    if k != k_b or m * n * k < SMALL_PRODUCT:  # also every zero-size product (SMALL_PRODUCT >= 1)
        return numpy_gemm(a, b, out, accumulate)
    kind = a.dtype
    entry = _routines.get(kind)
    if entry is None or b.dtype is not kind:
        return numpy_gemm(a, b, out, accumulate)
    size = kind.itemsize
    a_row, a_col = a.strides
    b_row, b_col = b.strides
    layout_a, layout_b = _layout(a_row, a_col, m, k, size), _layout(b_row, b_col, k, n, size)
    if layout_a is None or layout_b is None:
        return numpy_gemm(a, b, out, accumulate)
    (trans_a, lda), (trans_b, ldb) = layout_a, layout_b
    data_a, data_b = _data(a), _data(b)  # c_void_p, passed to C as is
    if (data_a.value | data_b.value) % size or (m | n | k | lda | ldb) >= _INT_LIMIT:
        return numpy_gemm(a, b, out, accumulate)  # misaligned (a view of bytes), or too large for LP64
    routine, one, zero = entry
    if out is None and not accumulate:
        out = empty((m, n), kind)
        routine(_ROW_MAJOR, trans_a, trans_b, m, n, k, one, data_a, lda, data_b, ldb, zero,
                _data(out), n)
        return out
    place = _out_place(out, kind, m, n, data_a.value, a_row, a_col, k)
    if place is None:
        return numpy_gemm(a, b, out, accumulate)
    data_out, ldc, start, end = place
    b_start = data_b.value
    if b_start < end and start < b_start + (k - 1) * b_row + (n - 1) * b_col + size:
        return numpy_gemm(a, b, out, accumulate)
    routine(_ROW_MAJOR, trans_a, trans_b, m, n, k, one, data_a, lda, data_b, ldb, one if accumulate else zero,
            data_out, ldc)
    return out


class PackedRight:
    """A right operand ``b`` (k, n) of many products ``a @ b`` with ``rows``-row ``a``, packed once.

    Each ``cblas_?gemm`` call copies its operands into the blocked layout its kernel reads, so a
    product repeated with the same ``b`` repacks ``b`` every time. MKL can instead pack ``b`` once
    (``cblas_?gemm_pack``) and multiply from the packed copy (``cblas_?gemm_compute``): an LSTM's
    recurrent weight, used by every time step of a sequence, is such an operand (figures:
    benchmarks/README.md).

    The packed copy is of ``b``'s values when packed: pack again after ``b`` changes. Where the
    products do not run on MKL, or for anything the packed route does not take (another row count,
    dtype or layout), :meth:`matmul` is the plain product with ``b`` itself (:func:`_plain`), so
    the answer never depends on the route beyond rounding.
    The packed copy lives in workspace memory (MKL asks for ~10x the size of ``b`` and touches a
    fraction of it), held by this object until it is dropped.
    """

    def __init__(self, b, rows):
        self.matrix, self.rows, self.packed = b, int(rows), None
        if active() != "mkl" or type(b) is not ndarray or b.ndim != 2 or b.dtype not in _packers:
            return
        k, n = b.shape
        size = b.dtype.itemsize
        layout = _layout(*b.strides, k, n, size)
        if (layout is None or self.rows * k * n < SMALL_PRODUCT or b.ctypes.data % size
                or max(self.rows, k, n, layout[1]) >= _INT_LIMIT):
            return
        from chainrule.kernels import workspace

        get_size, pack, compute = _packers[b.dtype]
        nbytes = get_size(_B_MATRIX, self.rows, n, k)
        buffer = workspace.scratch(numpy, "blas_packed_right", nbytes + 64, uint8)
        self._buffer = buffer[-buffer.ctypes.data % 64:][:nbytes]  # 64-byte aligned, as MKL prefers
        one = _routines[b.dtype][1]
        pack(_ROW_MAJOR, _B_MATRIX, layout[0], self.rows, n, k, one, ctypes.c_void_p(b.ctypes.data),
             layout[1], ctypes.c_void_p(self._buffer.ctypes.data))
        self.packed = ctypes.c_void_p(self._buffer.ctypes.data)
        self._compute = compute
        self._shape, self._kind = (k, n), b.dtype

    def matmul(self, a, out=None, accumulate=False):
        """``a @ b`` (``accumulate=True``: ``out += a @ b``), from the packed copy where it applies."""
        packed = self.packed
        if packed is None or type(a) is not ndarray or a.ndim != 2:
            return _plain(a, self.matrix, out, accumulate)
        kind = self._kind
        k, n = self._shape
        m = a.shape[0]
        if m != self.rows or a.shape[1] != k or a.dtype is not kind:
            return _plain(a, self.matrix, out, accumulate)
        size = kind.itemsize
        layout_a = _layout(*a.strides, m, k, size)
        data_a = _data(a)
        if layout_a is None or data_a.value % size or layout_a[1] >= _INT_LIMIT:
            return _plain(a, self.matrix, out, accumulate)
        if out is None:
            if accumulate:
                return _plain(a, self.matrix, out, accumulate)  # raises, as gemm does
            out = empty((m, n), kind)
        place = _out_place(out, kind, m, n, data_a.value, *a.strides, k)
        if place is None:
            return _plain(a, self.matrix, out, accumulate)
        data_out, ldc = place[:2]
        _, one, zero = _routines[kind]
        self._compute(_ROW_MAJOR, layout_a[0], _PACKED, m, n, k, data_a, layout_a[1], packed, n,
                      one if accumulate else zero, data_out, ldc)
        return out


def _plain(a, b, out, accumulate):
    """The unpacked product on the BLAS in use: MKL's :func:`gemm`, or NumPy's where MKL lost."""
    if active() == "mkl":
        return gemm(a, b, out, accumulate)
    return numpy_gemm(a, b, out, accumulate)


def prepack(b, rows):
    """``b`` (k, n) made ready as the right operand of many products with ``rows``-row left operands.

    Returns an object whose ``matmul(a, out=None, accumulate=False)`` is the product with ``b``: from
    a copy packed once on MKL (:class:`PackedRight`), the plain product elsewhere. The packed copy
    holds ``b``'s values as they are now: prepack again after ``b`` changes.
    """
    return PackedRight(b, rows)


def gemm_accumulates():
    """True when ``gemm(..., accumulate=True)`` adds inside the product (MKL) rather than after it."""
    return active() == "mkl"
