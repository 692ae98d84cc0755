import gzip
import os
import struct

import numpy as np
import pytest

from chainrule import atomic
from chainrule.atomic import atomic_write
from chainrule.data import idx
from chainrule.errors import DTypeError, FormatError

DTYPES_AND_CODES = [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C),
                    (np.float32, 0x0D), (np.float64, 0x0E)]


def sample(dtype, shape=(3, 4, 5)):
    values = np.arange(np.prod(shape)).reshape(shape) - 20
    if np.dtype(dtype).kind == "u":
        values = values + 20
    return (values * (1.5 if np.dtype(dtype).kind == "f" else 1)).astype(dtype)


@pytest.mark.parametrize("dtype,code", DTYPES_AND_CODES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_every_dtype_plain_and_gzip(tmp_path, dtype, code, suffix):
    array = sample(dtype)
    path = tmp_path / f"data-idx3{suffix}"
    idx.write(path, array)
    raw = path.read_bytes()
    if suffix:
        assert raw[:2] == b"\x1f\x8b"
        raw = gzip.decompress(raw)
    # the header is the one the format specifies, written by hand here
    assert raw[:4] == bytes([0, 0, code, 3])
    assert struct.unpack(">3I", raw[4:16]) == (3, 4, 5)
    assert raw[16:] == array.astype(np.dtype(dtype).newbyteorder(">")).tobytes()
    back = idx.read(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    back[0] = 0  # a writable copy, not a view of the file's bytes


def test_gzip_detected_by_content_not_name(tmp_path):
    array = sample(np.int16, (2, 2))
    path = tmp_path / "labels"
    idx.write(path, array, compress=True)
    np.testing.assert_array_equal(idx.read(path), array)


def test_one_dimension_and_empty_arrays(tmp_path):
    labels = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
    idx.write(tmp_path / "l.idx1", labels)
    np.testing.assert_array_equal(idx.read(tmp_path / "l.idx1"), labels)
    idx.write(tmp_path / "e.idx", np.zeros((0, 28, 28), np.uint8))
    assert idx.read(tmp_path / "e.idx").shape == (0, 28, 28)


def test_unsupported_dtype_is_refused(tmp_path):
    with pytest.raises(DTypeError, match="int64"):
        idx.write(tmp_path / "x", np.arange(3, dtype=np.int64))
    assert not (tmp_path / "x").exists()


def valid_bytes():
    return idx.encode(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))


CORRUPTIONS = {
    "bad magic": (lambda raw: b"\x08\x03" + raw[2:], "magic number"),
    "unknown dtype": (lambda raw: raw[:2] + b"\x0a" + raw[3:], "magic number"),
    "wrong dims": (lambda raw: raw[:4] + struct.pack(">I", 5) + raw[8:], "expected 60 data bytes"),
    "too few dims": (lambda raw: raw[:3] + b"\x02" + raw[4:], "longer than its dimensions"),
    "truncated data": (lambda raw: raw[:-5], "truncated"),
    "truncated header": (lambda raw: raw[:10], "truncated"),
    "empty": (lambda raw: b"", "4-byte header"),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
@pytest.mark.parametrize("gzipped", [False, True])
def test_corruption_raises_format_error_naming_the_file(tmp_path, name, gzipped):
    corrupt, message = CORRUPTIONS[name]
    data = corrupt(valid_bytes())
    path = tmp_path / f"broken-{name.replace(' ', '-')}"
    path.write_bytes(gzip.compress(data) if gzipped else data)
    with pytest.raises(FormatError, match=message) as info:
        idx.read(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_truncated_gzip_stream_raises_format_error(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(valid_bytes())[:-12])
    with pytest.raises(FormatError, match="gzip") as info:
        idx.read(path)
    assert str(path) in str(info.value)


def test_failed_write_leaves_no_partial_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "images-idx3-ubyte"
    old = np.ones((2, 2), np.uint8)
    idx.write(path, old)

    def failing_fsync(fd):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(atomic.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="simulated"):
        idx.write(path, np.zeros((50, 50), np.uint8))
    with pytest.raises(OSError, match="simulated"):
        idx.write(tmp_path / "new.gz", np.zeros((5, 5), np.uint8))
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["images-idx3-ubyte"]  # no temp file, no new file
    np.testing.assert_array_equal(idx.read(path), old)


def test_atomic_write_cleans_up_when_the_writer_fails_midway(tmp_path):
    target = tmp_path / "sub" / "file.bin"

    def half_then_fail(handle):
        handle.write(b"half of it")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        atomic_write(target, half_then_fail)
    assert os.listdir(tmp_path / "sub") == []


def _gzip_of_zeros(header, megabytes):
    """A gzip stream of ``header`` then ``megabytes`` MiB of zeros (a few KiB per MiB: a bomb)."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    chunk = bytes(1 << 20)
    parts = [packer.compress(header)] + [packer.compress(chunk) for _ in range(megabytes)]
    return b"".join(parts) + packer.flush()


def test_a_gzip_bomb_declaring_huge_dimensions_fails_before_decompressing(tmp_path):
    import time

    bomb = tmp_path / "bomb-idx1-ubyte.gz"
    bomb.write_bytes(_gzip_of_zeros(bytes([0, 0, 0x08, 1]) + struct.pack(">I", 2**31), 16))
    start = time.perf_counter()
    with pytest.raises(FormatError, match="promising 2147483648 bytes.*decompression bomb"):
        idx.read(bomb)
    assert time.perf_counter() - start < 0.5


def test_a_gzip_bomb_under_small_dimensions_is_read_only_as_far_as_they_say(tmp_path):
    import tracemalloc

    bomb = tmp_path / "bomb-idx1-ubyte.gz"
    bomb.write_bytes(_gzip_of_zeros(bytes([0, 0, 0x08, 1]) + struct.pack(">I", 1000), 64))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="longer than its dimensions say"):
            idx.read(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20  # the 64 MiB inside are never decompressed
