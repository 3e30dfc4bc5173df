"""The commands' files and standard output: all written or none, and a quiet end in a pipe.

`check_outputs` refuses, before any work is done, every output that could not be
written: an empty or too long name, a missing folder, a folder or device in place of a
file, a folder that takes no new file (``/proc``, read-only), or two outputs with one
name. `write_outputs` then writes each file to a temporary file beside it and renames
them into place only once all are written, so a failure (a full disk, Ctrl-C) leaves no
partial file and no stray one.

`SIGPIPE_STATUS` is what a shell reports for a Unix tool that stops when its reader does
(``scalargrad draw … | head -1``); `silence_stdout` makes Python's exit flush quiet too.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

SIGPIPE_STATUS = 128 + 13  # 128 + SIGPIPE: the status of `yes | head -1`'s yes
_TEMPORARY_NAME_CHARS = 40  # of the target's name in its temporary's (≤ 160 bytes in UTF-8)


class OutputError(Exception):
    """An output that cannot be written; the message names it and says why, in one line."""


def check_outputs(paths: Sequence[str | os.PathLike]) -> None:
    """Raise `OutputError` unless every path can take a new file and no two are the same file.

    Creates (and removes) a probe file in each folder: only trying tells whether a
    folder such as ``/proc`` or a read-only mount accepts a new file.
    """
    seen: dict[str, str] = {}
    for path in paths:
        if not os.fspath(path):  # realpath("") would be the current folder
            raise OutputError('cannot write "": the file name is empty')
        target = Path(os.path.realpath(path))  # through symlinks: the file that is written
        try:
            if target.is_dir():
                raise OutputError(f"cannot write {path}: it is a folder")
            if target.exists() and not target.is_file():
                raise OutputError(f"cannot write {path}: it is not a regular file (a device?)")
            if not target.parent.is_dir():
                raise OutputError(f"cannot write {path}: its folder does not exist")
        except OSError as error:  # a name the system refuses to look up: too long, say
            raise OutputError(f"cannot write {path}: {_reason(error)}") from None
        key = os.path.normcase(str(target))
        same = [other for k, other in seen.items() if k == key or _same_file(k, target)]
        if same:
            what = (
                f"{path} is named for two outputs"
                if same[0] == str(path)
                else f"{same[0]} and {path} are one file"
            )
            raise OutputError(f"{what}: give each output its own file")
        seen[key] = str(path)
        try:
            with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".scalargrad-probe-"):
                pass
        except OSError as error:
            raise OutputError(
                f"cannot write {path}: its folder takes no new file ({_reason(error)})"
            ) from None


def write_outputs(outputs: Sequence[tuple[str | os.PathLike, str | bytes]]) -> None:
    """Write each ``(path, data)`` (text as UTF-8), all or none; raise `OutputError` on failure.

    Each file goes to a temporary file in its own folder first (so the final rename is
    atomic); only when every one is written are they renamed over their targets. Should
    a rename fail after others worked, the files those created are removed again.
    """
    check_outputs([path for path, _ in outputs])
    written: list[tuple[str, Path, str | os.PathLike]] = []  # (temporary, target, as given)
    created: list[Path] = []  # targets that did not exist before their rename
    failed = outputs[0][0] if outputs else ""  # the output being written, for the message
    try:
        for path, data in outputs:
            failed = path
            target = Path(os.path.realpath(path))
            # The temporary's name is the target's, cut short: a name near the system's
            # limit must not overflow it once the dot and the random suffix are added.
            prefix = f".{target.name[:_TEMPORARY_NAME_CHARS]}."
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=prefix)
            written.append((temporary, target, path))
            with open(fd, "wb") as file:
                file.write(data.encode("utf-8") if isinstance(data, str) else data)
            os.chmod(temporary, _file_mode(target))
        for temporary, target, path in written:
            failed = path
            existed = target.exists()
            os.replace(temporary, target)
            if not existed:
                created.append(target)
    except OSError as error:
        for target in created:  # a rename failed after others worked: undo the new files
            target.unlink(missing_ok=True)
        raise OutputError(f"cannot write {failed}: {_reason(error)}") from None
    finally:  # on success every temporary has been renamed; otherwise none may stay behind
        for temporary, _, _ in written:
            if os.path.lexists(temporary):
                os.unlink(temporary)


def silence_stdout() -> int:
    """Point standard output at the null device (the reader is gone); return SIGPIPE_STATUS.

    Python flushes stdout on exit; without this a closed pipe would still print an
    "Exception ignored" message there.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests capture it)
        pass
    return SIGPIPE_STATUS


def _same_file(key: str, target: Path) -> bool:
    """Two names of one existing file (a hard link, a case-insensitive file system)."""
    try:
        return os.path.samefile(key, target)
    except OSError:
        return False


def _file_mode(target: Path) -> int:
    """An existing file keeps its mode; a new one gets the usual 0o666 less the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _reason(error: OSError) -> str:
    return error.strerror or str(error)
