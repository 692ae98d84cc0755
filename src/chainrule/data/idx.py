"""The IDX file format, in which MNIST is distributed: read and write N-dimensional arrays.

Layout (all integers big-endian)::

    bytes 0-1   0x00 0x00                     magic: two zero bytes
    byte  2     dtype code                    0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int,
                                              0x0D float, 0x0E double
    byte  3     ndim                          number of dimensions
    4 * ndim    uint32 sizes                  one per dimension
    rest        the data, C order             prod(sizes) * itemsize bytes, big-endian

A file is gzip-compressed when it starts with the gzip magic bytes ``1f 8b`` (reading); ``write``
compresses when the name ends in ``.gz``. Every inconsistency (bad magic, unknown dtype, data shorter
or longer than the dimensions promise, a broken gzip stream) raises
:class:`chainrule.errors.FormatError` naming the file, what was expected and what came.

    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte.gz"
    >>> write(path, np.array([5, 0, 4], dtype=np.uint8))
    >>> read(path)
    array([5, 0, 4], dtype=uint8)
"""

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy

from chainrule.atomic import atomic_write_bytes
from chainrule.data._arrays import as_numpy
from chainrule.errors import DTypeError, FormatError, ShapeError

# dtype code -> big-endian NumPy dtype
CODE_TO_DTYPE = {
    0x08: numpy.dtype(">u1"),
    0x09: numpy.dtype(">i1"),
    0x0B: numpy.dtype(">i2"),
    0x0C: numpy.dtype(">i4"),
    0x0D: numpy.dtype(">f4"),
    0x0E: numpy.dtype(">f8"),
}
_KIND_SIZE_TO_CODE = {(dtype.kind, dtype.itemsize): code for code, dtype in CODE_TO_DTYPE.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_DIM = 2**32 - 1
_MAX_DEFLATE_RATIO = 1032  # deflate expands at most about 1032:1, so a gzip file bounds its content


def read(path):
    """Read an IDX file (plain or gzip) into a native-endian NumPy array.

    The file is streamed: the header is read first, and the data size its dimensions promise is
    checked against what the file can hold (its size, or for gzip the most that deflate can expand
    it to) before the array is allocated; then exactly that many bytes are read. So a corrupt header
    or a gzip bomb fails fast with bounded memory. Raises ``FileNotFoundError`` if the file is missing
    and :class:`FormatError` if it is not a valid IDX file.
    """
    path = Path(path)
    name = str(path)
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        compressed = file.read(2) == _GZIP_MAGIC
        file.seek(0)
        if not compressed:
            return _read_stream(file, name, size, size)
        try:
            with gzip.GzipFile(fileobj=file) as stream:
                return _read_stream(stream, name, size * _MAX_DEFLATE_RATIO, size)
        except (OSError, EOFError, zlib.error) as error:
            raise FormatError(
                f"IDX file {name!r}: expected a complete gzip stream, got a broken one ({error}); "
                "the file is truncated or corrupted, download it again"
            ) from None


def _read_stream(stream, name, limit, size):
    """Read header then data from a binary stream that can yield at most ``limit`` bytes."""
    head = _read_up_to(stream, 4)
    dtype, ndim = _magic(head, name)
    dims = _read_up_to(stream, 4 * ndim)
    shape = _shape(head + dims, ndim, name)
    expected = math.prod(shape) * dtype.itemsize
    if 4 + 4 * ndim + expected > limit:
        if limit == size:  # a plain file: its data is simply shorter than the dimensions say
            _check_length(name, shape, dtype, expected, size - 4 - 4 * ndim)
        raise FormatError(
            f"IDX file {name!r}: expected dimensions whose data fits the file ({size} bytes can hold at most "
            f"{limit} uncompressed), got shape {shape} of {dtype.name} promising {expected} bytes; the "
            "header is corrupted (or the file is a decompression bomb)"
        )
    data = numpy.empty(expected, dtype=numpy.uint8)
    got = _read_into(stream, data)
    extra = len(stream.read(1)) if got == expected else 0
    _check_length(name, shape, dtype, expected, got + extra)
    return data.view(dtype).reshape(shape).astype(dtype.newbyteorder("="))  # a native-endian copy


def _read_up_to(stream, count):
    chunks, total = [], 0
    while total < count:
        chunk = stream.read(count - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _read_into(stream, array):
    view, total = memoryview(array), 0
    while total < len(view):
        count = stream.readinto(view[total:])
        if not count:
            break
        total += count
    return total


def decode(raw, name="<bytes>"):
    """Decode the (uncompressed) bytes of an IDX file; ``name`` appears in error messages."""
    dtype, ndim = _magic(raw[:4], name)
    shape = _shape(raw, ndim, name)
    header_size = 4 + 4 * ndim
    expected = math.prod(shape) * dtype.itemsize  # exact: a corrupt header cannot overflow it
    _check_length(name, shape, dtype, expected, len(raw) - header_size)
    array = numpy.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a writable, native-endian copy


def _magic(head, name):
    """``(dtype, ndim)`` from the first 4 bytes, or FormatError."""
    if len(head) < 4:
        raise FormatError(f"IDX file {name!r}: expected a 4-byte header, got {len(head)} bytes; "
                          "the file is truncated or empty")
    zero_a, zero_b, code, ndim = head[:4]
    if zero_a != 0 or zero_b != 0 or code not in CODE_TO_DTYPE:
        known = ", ".join(f"0x{c:02X}" for c in CODE_TO_DTYPE)
        raise FormatError(
            f"IDX file {name!r}: expected a magic number 00 00 <dtype> <ndim> with dtype one of {known}, "
            f"got {bytes(head[:4]).hex(' ')}; this is not an IDX file (or it is compressed in another way)"
        )
    return CODE_TO_DTYPE[code], ndim


def _shape(head, ndim, name):
    header_size = 4 + 4 * ndim
    if len(head) < header_size:
        raise FormatError(f"IDX file {name!r}: expected {ndim} dimension sizes ({header_size} header "
                          f"bytes), got only {len(head)} bytes; the file is truncated")
    return struct.unpack(f">{ndim}I", head[4:header_size])


def _check_length(name, shape, dtype, expected, got):
    if got != expected:
        problem = "truncated" if got < expected else "longer than its dimensions say (wrong dimensions?)"
        raise FormatError(
            f"IDX file {name!r}: expected {expected} data bytes for shape {shape} of {dtype.name} "
            f"({dtype.itemsize} bytes each), got {got if got < expected else 'more'}; the file is {problem}"
        )


def encode(array):
    """The bytes of ``array`` as an IDX file (uncompressed)."""
    array = as_numpy(array)
    code = _KIND_SIZE_TO_CODE.get((array.dtype.kind, array.dtype.itemsize))
    if code is None or array.dtype.kind == "b":
        raise DTypeError(
            f"idx.write: expected an array of uint8, int8, int16, int32, float32 or float64, got "
            f"{array.dtype}; cast it first, e.g. array.astype('int32')"
        )
    if array.ndim > 255:
        raise ShapeError(f"idx.write: expected at most 255 dimensions, got {array.ndim}")
    if any(size > _MAX_DIM for size in array.shape):
        raise ShapeError(f"idx.write: expected every dimension below 2**32, got shape {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    big_endian = numpy.ascontiguousarray(array, dtype=CODE_TO_DTYPE[code])
    return header + big_endian.tobytes()


def write(path, array, compress=None):
    """Write ``array`` as an IDX file, atomically; gzip-compressed when the name ends in ``.gz``.

    ``compress`` (True/False) overrides the choice made from the name. The gzip header carries no
    timestamp, so the same array always gives the same bytes.
    """
    path = Path(path)
    data = encode(array)
    if compress is None:
        compress = path.suffix == ".gz"
    if compress:
        data = gzip.compress(data, mtime=0)
    atomic_write_bytes(path, data)
