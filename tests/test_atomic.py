import os
import stat

import pytest

from chainrule.atomic import atomic_write, atomic_write_bytes


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "model.bin"
    atomic_write_bytes(target, b"old")

    def half_then_fail(handle):
        handle.write(b"ne")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]


def test_new_files_get_the_permissions_open_would_give(tmp_path):
    old_mask = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "a.bin", b"x")
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == 0o644
