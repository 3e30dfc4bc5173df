"""Download data files from a list of mirrors, checking each file's SHA-256.

A file is written to a temporary ``.part`` file beside its destination and renamed
into place only after its SHA-256 matches, so an interrupted, truncated or corrupted
download never leaves a file that looks complete. A mirror that is down, answers 404,
drops the connection or serves wrong bytes is skipped for the next one; when every
mirror fails, `DownloadError` lists each attempt and says where to put the files by hand.

A file's known size caps what is written: a mirror that streams on (without
Content-Length, or announcing the wrong one) is cut off one byte past it. A process killed
mid-transfer cannot remove its ``.part`` file; each download holds an exclusive lock on
its own, so the next run deletes the ``.part`` files whose lock nobody holds any more.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

_CHUNK = 1 << 16  # bytes per read: small enough for a smooth progress bar

try:  # POSIX: a .part file's owner holds a lock on it while it lives
    import fcntl
except ImportError:  # pragma: no cover - elsewhere, stale .part files are left alone
    fcntl = None


class DownloadError(OSError):
    """No mirror delivered a file with the expected SHA-256."""


class _MirrorFailed(Exception):
    """One mirror failed for one file; the reason is the message. Internal."""


def cache_dir(dataset: str | None = None) -> Path:
    """Return the directory vecgrad keeps downloaded data in (``dataset``'s subfolder).

    ``$VECGRAD_DATA`` if set, else ``$XDG_CACHE_HOME/vecgrad``, else ``~/.cache/vecgrad``.
    The directory is not created here.
    """
    if os.environ.get("VECGRAD_DATA"):
        root = Path(os.environ["VECGRAD_DATA"]).expanduser()
    elif os.environ.get("XDG_CACHE_HOME"):
        root = Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "vecgrad"
    else:
        root = Path.home() / ".cache" / "vecgrad"
    return root / dataset if dataset else root


def sha256_of(path: str | os.PathLike) -> str:
    """Return the SHA-256 of the file at ``path`` as 64 lowercase hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(
    files: Mapping[str, str],
    mirrors: Sequence[str],
    dest_dir: str | os.PathLike,
    *,
    sizes: Mapping[str, int] | None = None,
    timeout: float = 30.0,
    progress: bool = True,
) -> dict[str, Path]:
    """Return ``{name: path}`` for every file in ``files`` (name → SHA-256), in ``dest_dir``.

    A file already in ``dest_dir`` with the right SHA-256 is kept; any other is fetched
    from ``mirror + name``, trying the mirrors in order. ``sizes`` (name → bytes) caps each
    download at its known size. ``timeout`` bounds (in seconds) the connection and each
    read; ``progress`` shows a tqdm bar on stderr.
    Raises `DownloadError` naming every failed attempt and the files to place by hand.
    """
    if not mirrors:
        raise ValueError("download: the mirror list is empty")
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, sha256 in files.items():
        remove_stale_parts(dest_dir, name)  # even when the file itself is complete
        path = dest_dir / name
        if not (path.is_file() and sha256_of(path) == sha256.lower()):
            try:
                download_file(
                    name,
                    sha256,
                    mirrors,
                    dest_dir,
                    size=(sizes or {}).get(name),
                    timeout=timeout,
                    progress=progress,
                )
            except DownloadError as error:
                raise DownloadError(f"{error}\n{_by_hand(files, dest_dir)}") from None
        paths[name] = path
    return paths


def download_file(
    name: str,
    sha256: str,
    mirrors: Sequence[str],
    dest_dir: str | os.PathLike,
    *,
    size: int | None = None,
    timeout: float = 30.0,
    progress: bool = True,
) -> Path:
    """Return the path of ``dest_dir/name`` after fetching it from the first good mirror.

    The file is renamed into place only once its SHA-256 equals ``sha256``; ``size``, when
    known, caps the bytes accepted from a mirror. Stale ``.part`` files of ``name`` left
    by a killed run are removed first. Raises `DownloadError` listing, for each mirror,
    why it failed.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(dest_dir, name)
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        fd, tmp = _new_part(dest_dir, name)
        renamed = False
        # The file stays open (and locked) until it is renamed or removed: a concurrent
        # run's stale-file sweep must never see it unlocked while it still matters.
        with os.fdopen(fd, "wb") as out:
            try:
                got = _fetch(url, out, name, timeout, progress, size)
                out.flush()
                os.fsync(out.fileno())  # the bytes are on disk before the name says "done"
                if got != sha256.lower():
                    raise _MirrorFailed(
                        f"SHA-256 mismatch: got {got}, expected {sha256.lower()} "
                        "(a corrupted download or a changed file on the mirror)"
                    )
                os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache file is readable
                os.replace(tmp, dest_dir / name)  # atomic: readers never see a partial file
                renamed = True
                return dest_dir / name
            except _MirrorFailed as failure:
                failures.append(f"  {url}: {failure}")
            finally:
                # Whatever happened (a bad mirror, Ctrl-C, a full disk), no partial file stays.
                if not renamed:
                    tmp.unlink(missing_ok=True)
    raise DownloadError(f"could not download {name} from any mirror:\n" + "\n".join(failures))


def _new_part(dest_dir: Path, name: str) -> tuple[int, Path]:
    """Create and lock a fresh ``.NAME.*.part`` file in ``dest_dir``; return (fd, path).

    The name starts with "." and ends in ".part": it never looks like the finished file,
    and each attempt (or concurrent process) gets its own. The lock lives as long as the
    process: once it is gone (finished or killed), the file is free to remove.
    """
    while True:
        fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=f".{name}.", suffix=".part")
        if fcntl is None:
            return fd, Path(tmp_name)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # new and private: cannot be held
        if os.fstat(fd).st_nlink:  # not removed as stale between mkstemp and flock
            return fd, Path(tmp_name)
        os.close(fd)


def remove_stale_parts(dest_dir: str | os.PathLike, name: str) -> list[Path]:
    """Remove the ``.NAME.*.part`` files in ``dest_dir`` that no live download holds.

    Return the paths removed. A download in progress (this process or another) holds an
    exclusive lock on its part file; a killed one does not, so its file is stale.
    """
    if fcntl is None:  # pragma: no cover
        return []
    removed = []
    for part in Path(dest_dir).glob(f".{name}.*.part"):
        try:
            fd = os.open(part, os.O_RDONLY)
        except OSError:  # gone already, or not ours to read
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: a live download
            os.close(fd)
            continue
        try:
            part.unlink(missing_ok=True)  # while holding the lock
            removed.append(part)
        except OSError:  # a read-only directory: not ours to tidy
            pass
        finally:
            os.close(fd)
    return removed


def _fetch(url: str, out, name: str, timeout: float, progress: bool, size: int | None) -> str:
    """Return the SHA-256 of the body of ``url``, which is written to ``out``.

    At most ``size`` + 1 bytes are accepted when ``size`` is known: one more means the
    mirror is sending something else. Network faults and oversized bodies become
    `_MirrorFailed`; local faults (a full disk) propagate.
    """
    # Imported here so that `import vecgrad.apps.data` stays fast for users who never download.
    import http.client
    import urllib.error
    import urllib.request

    from tqdm import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": "vecgrad-data"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        raise _MirrorFailed(f"HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise _MirrorFailed(f"unreachable ({error.reason})") from None
    except (OSError, http.client.HTTPException) as error:  # timeouts, resets
        raise _MirrorFailed(f"{type(error).__name__}: {error}") from None
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if size is not None and total is not None and total != size:
            raise _MirrorFailed(
                f"the mirror announces {total} bytes (Content-Length); {name} has {size}"
            )
        digest = hashlib.sha256()
        received = 0
        with tqdm(
            total=total if total is not None else size,
            desc=name,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=sys.stderr,
            disable=not progress,
        ) as bar:
            while True:
                want = _CHUNK if size is None else min(_CHUNK, size + 1 - received)
                try:
                    chunk = response.read(want)
                except (OSError, http.client.HTTPException) as error:
                    raise _MirrorFailed(
                        f"connection failed after {received} bytes "
                        f"({type(error).__name__}: {error})"
                    ) from None
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
                if size is not None and received > size:
                    raise _MirrorFailed(
                        f"the mirror sent more than the {size} bytes of {name}; "
                        f"stopped after {received}"
                    )
    # http.client returns b"" when the server closes early, without an error: check.
    if total is not None and received != total:
        raise _MirrorFailed(
            f"connection dropped: received {received} of {total} bytes (Content-Length)"
        )
    return digest.hexdigest()


def _by_hand(files: Mapping[str, str], dest_dir: Path) -> str:
    """Return the instructions for placing ``files`` in ``dest_dir`` without a network."""
    names = "\n".join(f"  {name}  (sha256 {sha})" for name, sha in files.items())
    return (
        f"Without internet access, download these {len(files)} files elsewhere and put "
        f"them in {dest_dir}:\n{names}"
    )
