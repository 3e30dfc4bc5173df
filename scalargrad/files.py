"""Writing a file so that a reader sees the old contents or the new, never half of the new.

Every file the project writes (a saved model, metrics, a plot, a sweep's results, a
download) goes through `atomic_write`: the bytes go to a temporary file beside the
destination, are flushed to disk, and only then is the temporary file renamed over the
destination. ``os.replace`` is atomic on POSIX and Windows when both names are in one
directory, so a crash, Ctrl-C or a full disk at any moment leaves the destination as it
was. A failure inside the ``with`` block removes the temporary file; a process killed
outright (SIGKILL, power loss) may leave one behind, named ``.<name>.<random>.part``, which
never looks like the finished file.

    with atomic_write("model.npz") as file:
        np.savez(file, **state)
    with atomic_write("metrics.json", "w") as file:
        file.write(text)
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

MODES = ("wb", "w")


@contextmanager
def atomic_write(
    path: str | os.PathLike,
    mode: str = "wb",
    *,
    encoding: str = "utf-8",
    durable: bool = True,
    permissions: int = 0o644,
) -> Iterator[IO]:
    """Yield a file open for writing; when the block ends without an error, it becomes ``path``.

    ``mode`` is "wb" (bytes) or "w" (text in ``encoding``). ``durable`` fsyncs the file
    before the rename and the directory after it, so a power loss cannot leave the new
    name pointing at missing bytes. ``permissions`` are the finished file's mode bits
    (the temporary file is private while it is written). If the block raises, the
    destination is untouched, the temporary file is removed and the error propagates.
    The directory must exist.
    """
    if mode not in MODES:
        raise ValueError(f"atomic_write: mode must be one of {MODES}, got {mode!r}")
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"atomic_write: the directory {str(path.parent)!r} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"atomic_write: {str(path)!r} is a directory")
    # Beside the destination (one file system, so the rename is atomic); a unique name, so
    # two processes writing the same file never share a temporary file.
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    temp = Path(name)
    try:
        text = {"encoding": encoding, "newline": ""} if mode == "w" else {}
        with os.fdopen(fd, mode, **text) as file:
            yield file
            file.flush()
            if durable:
                os.fsync(file.fileno())  # the bytes are on disk before the name says "done"
        os.chmod(temp, permissions)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_directory(path.parent)  # the rename itself survives a power loss


def fsync_directory(directory: Path) -> None:
    """Flush a directory's entries to disk (POSIX; Windows cannot open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a directory; the data is safe anyway
        pass
    finally:
        os.close(fd)


__all__ = ["atomic_write", "fsync_directory"]
