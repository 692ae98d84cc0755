"""Reading and writing safetensors files, with errors that say what is wrong with the file.

The safetensors layout: 8 bytes (little-endian unsigned length n), n bytes of JSON header (per tensor
its dtype, shape and byte range; ``__metadata__`` maps strings to strings), then the raw bytes. The
``safetensors`` package encodes and decodes; this module checks the frame first, so that a truncated
or corrupted file raises a :class:`FormatError` naming the file, what was expected and what came.

Writes go through :mod:`chainrule.atomic`, so a crash leaves the old file or the new one, never half.
"""

import json
import os
import struct

from chainrule.atomic import atomic_write_bytes
from chainrule.errors import ChainruleError, FormatError

_HEADER_LIMIT = 100 * 1024 * 1024  # safetensors' own limit on the JSON header


def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError as error:  # an optional dependency (the "io" extra)
        raise ChainruleError("saving and loading models needs the 'safetensors' package; hint: "
                             "pip install 'chainrule[io]'") from error
    return safetensors.numpy


def write(path, tensors, metadata):
    """Save ``{name: array}`` and ``{str: str}`` metadata as one safetensors file, atomically."""
    data = _safetensors_numpy().save(tensors, metadata=metadata)
    atomic_write_bytes(path, data)


def read(path):
    """Return ``(tensors, metadata)`` of a safetensors file, or raise FormatError naming the file."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FormatError(f"{path}: expected a file, got a directory; hint: name the .chainrule or "
                          ".safetensors file inside it") from None
    header, metadata = _read_header(path, data)
    try:
        tensors = _safetensors_numpy().load(data)
    except Exception as error:  # the package raises its own SafetensorError
        raise FormatError(f"{path}: expected valid safetensors tensor data, got an error decoding it "
                          f"({error}); hint: the file is corrupted, save it again") from None
    return tensors, metadata


def _read_header(path, data):
    size = len(data)
    if size < 8:
        raise FormatError(f"{path}: expected a safetensors file (an 8-byte header length, then a JSON "
                          f"header), got {size} bytes; hint: the file is truncated or empty")
    (length,) = struct.unpack("<Q", data[:8])
    if length > _HEADER_LIMIT or 8 + length > size:
        raise FormatError(f"{path}: expected a JSON header of {length} bytes after the first 8, got "
                          f"{size - 8} bytes in all; hint: the file is truncated or not a safetensors file")
    try:
        header = json.loads(data[8:8 + length].decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
    except (UnicodeDecodeError, ValueError) as error:
        raise FormatError(f"{path}: expected a JSON object as the safetensors header, got bytes that do "
                          f"not decode ({error}); hint: the file is corrupted or not a safetensors file")\
            from None
    body = size - 8 - length
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2):
            raise FormatError(f"{path}: expected 'data_offsets' for tensor '{name}' in the header, got "
                              f"{entry!r:.80}; hint: the file is corrupted")
        end = max(end, offsets[1])
    if end > body:
        raise FormatError(f"{path}: expected {end} bytes of tensor data, got {body}; hint: the file is "
                          "truncated (an interrupted copy or download?)")
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict):
        raise FormatError(f"{path}: expected '__metadata__' to map strings to strings, got "
                          f"{type(metadata).__name__}; hint: the file is corrupted")
    return header, metadata
