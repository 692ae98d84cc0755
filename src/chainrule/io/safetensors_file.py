"""Reading and writing safetensors files, with errors that say what is wrong with the file.

The safetensors layout: 8 bytes (little-endian unsigned length n), n bytes of JSON header (per tensor
its dtype, shape and byte range; ``__metadata__`` maps strings to strings), then the raw bytes. The
``safetensors`` package encodes and decodes; this module checks the frame first, so that a truncated,
corrupted or hostile file raises a :class:`FormatError` naming the file, what was expected and what
came, before anything large is read or allocated:

* :func:`read_header` reads the 8 bytes and then only the header, after checking its declared length
  against :data:`HEADER_LIMIT` and the file's size; it bounds the JSON's nesting depth and the number
  of tensors before parsing, and checks every entry (dtype, shape, byte range = shape x item size,
  inside the file). A caller compares these names, shapes and dtypes with what it expects;
* :meth:`Header.load` then reads only the tensors asked for (``safetensors.safe_open`` maps the file).

Writes go through :mod:`chainrule.atomic`, so a crash leaves the old file or the new one, never half.
The header is written with sorted keys, so the same tensors and metadata always give the same bytes
(the package itself orders the metadata differently from one call to the next).
"""

import json
import math
import os
import struct

import numpy

from chainrule.atomic import atomic_write_bytes
from chainrule.errors import ChainruleError, FormatError
from chainrule.io import bounded_json

HEADER_LIMIT = 16 * 1024 * 1024  # a 1,000-layer model with its optimiser state needs a few hundred KiB
MAX_TENSORS = 100_000
_HEADER_DEPTH = 3  # {name: {"shape": [...]}}
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
          "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}


def _safetensors():
    try:
        import safetensors
        import safetensors.numpy
    except ImportError as error:  # an optional dependency (the "io" extra)
        raise ChainruleError("saving and loading models needs the 'safetensors' package; hint: "
                             "pip install 'chainrule[io]'") from error
    return safetensors


def write(path, tensors, metadata):
    """Save ``{name: array}`` and ``{str: str}`` metadata as one safetensors file, atomically."""
    atomic_write_bytes(path, encode(tensors, metadata))


def encode(tensors, metadata):
    """The bytes of the safetensors file :func:`write` writes."""
    return _sorted_header(_safetensors().numpy.save(tensors, metadata=metadata))


def _sorted_header(data):
    """The same file with its header's keys sorted (padded with spaces to 8 bytes, as the package does)."""
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data[8 + length:]


class Header:
    """A checked safetensors header: ``tensors`` maps each name to ``(dtype, shape)``; ``metadata``."""

    def __init__(self, path, tensors, metadata):
        self.path = path
        self.tensors = tensors
        self.metadata = metadata

    def load(self, names=None):
        """``{name: array}`` of the tensors ``names`` (all by default), read from the file."""
        names = list(self.tensors) if names is None else list(names)
        try:
            with _safetensors().safe_open(self.path, framework="numpy") as file:
                arrays = {name: file.get_tensor(name) for name in names}
        except Exception as error:  # the package raises its own SafetensorError
            raise FormatError(f"{self.path}: expected valid safetensors tensor data, got an error decoding "
                              f"it ({error}); hint: the file is corrupted, save it again") from None
        return {name: array if array.flags.writeable else array.copy() for name, array in arrays.items()}


def read(path):
    """Return ``(tensors, metadata)`` of a safetensors file, or raise FormatError naming the file."""
    header = read_header(path)
    return header.load(), header.metadata


def read_header(path):
    """Read and check the header of a safetensors file (no tensor data is read); see the module doc."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            start = file.read(8)
            if len(start) < 8:
                raise FormatError(f"{path}: expected a safetensors file (an 8-byte header length, then a "
                                  f"JSON header), got {size} bytes; hint: the file is truncated or empty")
            (length,) = struct.unpack("<Q", start)
            if length > HEADER_LIMIT or 8 + length > size:
                raise FormatError(f"{path}: expected a JSON header of at most {min(HEADER_LIMIT, size - 8)} "
                                  f"bytes after the first 8, got a declared length of {length} (the file "
                                  f"has {size} bytes); hint: the file is truncated or not a safetensors file")
            raw = file.read(length)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FormatError(f"{path}: expected a file, got a directory; hint: name the .chainrule or "
                          ".safetensors file inside it") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FormatError(f"{path}: expected a JSON object (UTF-8) as the safetensors header, got bytes that "
                          f"do not decode ({error}); "
                          "hint: the file is corrupted or not a safetensors file") from None
    count = text.count('"data_offsets"')
    if count > MAX_TENSORS:
        raise FormatError(f"{path}: expected at most {MAX_TENSORS} tensors, got a header naming {count}; "
                          "hint: the file is corrupted or hostile")
    header = bounded_json.loads(text, path, "the safetensors header", _HEADER_DEPTH)
    if not isinstance(header, dict):
        raise FormatError(f"{path}: expected a JSON object as the safetensors header, got "
                          f"{type(header).__name__}; hint: the file is corrupted or not a safetensors file")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise FormatError(f"{path}: expected '__metadata__' to map strings to strings, got "
                          f"{metadata!r:.100}; hint: the file is corrupted")
    body = size - 8 - length
    tensors = {name: _entry(path, name, entry, body) for name, entry in header.items()}
    return Header(path, tensors, metadata)


def _entry(path, name, entry, body):
    """``(dtype, shape)`` of one header entry, after checking it fits the file."""
    if not isinstance(entry, dict):
        raise FormatError(f"{path}: expected an entry {{dtype, shape, data_offsets}} for tensor "
                          f"'{name:.80}', got {entry!r:.80}; hint: the file is corrupted")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not (isinstance(dtype, str) and dtype in DTYPES):
        raise FormatError(f"{path}: expected the dtype of tensor '{name:.80}' to be one of "
                          f"{', '.join(DTYPES)}, got {dtype!r:.40}; hint: the file is corrupted")
    if not (isinstance(shape, list) and len(shape) <= 32 and all(_count(s) for s in shape)):
        raise FormatError(f"{path}: expected the shape of tensor '{name:.80}' to be a list of sizes, got "
                          f"{shape!r:.80}; hint: the file is corrupted")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_count(o) for o in offsets)
            and offsets[0] <= offsets[1]):
        raise FormatError(f"{path}: expected 'data_offsets' [begin, end] (integers) for tensor '{name:.80}', "
                          f"got {offsets!r:.80}; hint: the file is corrupted")
    dtype = numpy.dtype(DTYPES[dtype])
    expected = math.prod(shape) * dtype.itemsize
    if offsets[1] - offsets[0] != expected:
        raise FormatError(f"{path}: expected {expected} bytes for tensor '{name:.80}' of shape {shape} "
                          f"({dtype.name}), got a byte range of {offsets[1] - offsets[0]}; hint: the file is "
                          "corrupted")
    if offsets[1] > body:
        raise FormatError(f"{path}: expected {offsets[1]} bytes of tensor data, got {body}; hint: the file "
                          "is truncated (an interrupted copy or download?)")
    return dtype, tuple(shape)


def _count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
