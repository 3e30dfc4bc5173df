"""scalargrad.files.atomic_write: the destination holds the old bytes or the new, never half."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys

import numpy as np
import pytest

from scalargrad.files import atomic_write
from tests.conftest import REPO


def _leftovers(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


def test_bytes_and_text_land_whole_and_readable(tmp_path):
    path = tmp_path / "out.bin"
    with atomic_write(path) as file:
        file.write(b"\x00\x01" * 1000)
        assert not path.exists()  # nothing under the real name until the block ends
    assert path.read_bytes() == b"\x00\x01" * 1000
    with atomic_write(tmp_path / "notes.txt", "w") as file:
        file.write("λ = 1e-4\nline two\n")
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "λ = 1e-4\nline two\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's private 0o600
    assert _leftovers(tmp_path) == []


def test_a_failure_midway_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"the old model")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_write(path) as file:
            file.write(b"half of the new mod")
            raise RuntimeError("disk full")
    assert path.read_bytes() == b"the old model"
    assert _leftovers(tmp_path) == []
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C is not an Exception, and still cleaned up
        with atomic_write(path) as file:
            file.write(b"partial")
            raise KeyboardInterrupt
    assert path.read_bytes() == b"the old model" and _leftovers(tmp_path) == []


def test_a_failing_rename_or_fsync_leaves_nothing_behind(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    path.write_text("old", encoding="utf-8")

    def no_space(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError, match="No space left"):
        with atomic_write(path, "w") as file:
            file.write("new")
    assert path.read_text(encoding="utf-8") == "old" and _leftovers(tmp_path) == []


def test_durable_writes_fsync_the_file_and_the_directory(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.fstat(fd).st_mode), real(fd)))
    with atomic_write(tmp_path / "a.bin") as file:
        file.write(b"x")
    assert [stat.S_ISREG(m) for m in synced] == [True, False]  # the file, then its directory
    synced.clear()
    with atomic_write(tmp_path / "b.bin", durable=False) as file:
        file.write(b"x")
    assert synced == []


def test_numpy_writes_through_the_file_object(tmp_path):
    path = tmp_path / "state.npz"
    with atomic_write(path) as file:  # a file object: savez adds no second ".npz"
        np.savez(file, w=np.arange(3.0))
    with np.load(path) as archive:
        assert archive["w"].tolist() == [0.0, 1.0, 2.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.npz"]


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="mode must be one of"):
        with atomic_write(tmp_path / "x", "a"):
            pass
    with pytest.raises(FileNotFoundError, match="does not exist"):
        with atomic_write(tmp_path / "missing" / "x"):
            pass
    with pytest.raises(IsADirectoryError, match="is a directory"):
        with atomic_write(tmp_path):
            pass


def test_a_process_killed_midway_leaves_the_old_file(tmp_path):
    """SIGKILL runs no cleanup: the destination is intact; only a .part file may remain."""
    path = tmp_path / "results.json"
    path.write_text("old results", encoding="utf-8")
    code = (
        "import sys, time\n"
        "from scalargrad.files import atomic_write\n"
        f"with atomic_write({str(path)!r}, 'w') as file:\n"
        "    file.write('new res'); file.flush()\n"
        "    print('writing', flush=True); time.sleep(60)\n"
        "    file.write('ults')\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "writing"
        leftovers = _leftovers(tmp_path)
        assert len(leftovers) == 1 and leftovers[0].startswith(".results.json.")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        child.kill()
        child.stdout.close()
    assert path.read_text(encoding="utf-8") == "old results"


def test_concurrent_writers_never_mix_their_bytes(tmp_path):
    """Eight threads write the same file at once: it ends as one writer's bytes, whole."""
    import threading

    path = tmp_path / "shared.bin"
    contents = [bytes([i]) * 2_000_000 for i in range(8)]
    start = threading.Barrier(len(contents))

    def write(data):
        start.wait()
        with atomic_write(path, durable=False) as file:
            for k in range(0, len(data), 100_000):  # many small writes: interleaving chances
                file.write(data[k : k + 100_000])

    threads = [threading.Thread(target=write, args=(c,)) for c in contents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert path.read_bytes() in contents
    assert _leftovers(tmp_path) == []
