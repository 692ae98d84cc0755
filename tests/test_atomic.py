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


def test_a_write_killed_midway_leaves_a_temporary_that_the_next_write_removes(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    script = ("import sys, time\nfrom chainrule.atomic import atomic_write\n"
              "def slow(handle):\n    handle.write(b'x' * 1000); handle.flush()\n"
              "    print('writing', flush=True)\n"
              "    time.sleep(60)\n"
              f"atomic_write({str(tmp_path / 'model.bin')!r}, slow)\n")
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        left = [p.name for p in tmp_path.iterdir()]
        assert len(left) == 1 and left[0].startswith(f".model.bin.{writer.pid}-") and left[0].endswith(".tmp")
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    time.sleep(0.01)
    atomic_write_bytes(tmp_path / "other.bin", b"new")  # any write into the folder cleans up
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.bin"]


def test_only_stale_temporaries_of_our_pattern_are_removed(tmp_path):
    from chainrule.atomic import STALE_SECONDS, remove_stale_temporaries

    live = tmp_path / f".model.bin.{os.getpid()}-abcd_123.tmp"  # a write in progress in this process
    legacy_old = tmp_path / ".model.bin.k2j4h5g6.tmp"
    legacy_new = tmp_path / ".model.bin.q1w2e3r4.tmp"
    foreign = tmp_path / ".notes.txt.tmp"
    for path in (live, legacy_old, legacy_new, foreign):
        path.write_bytes(b"partial")
    hour_ago = os.stat(legacy_old).st_mtime - STALE_SECONDS - 10
    os.utime(legacy_old, (hour_ago, hour_ago))
    os.utime(foreign, (hour_ago, hour_ago))
    assert remove_stale_temporaries(tmp_path) == [legacy_old.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, legacy_new.name, foreign.name])
