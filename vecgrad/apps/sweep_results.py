"""The sweep's results file: one JSON line per run, appended whole, checked when read back.

Each record is one line written with a single ``os.write`` on an ``O_APPEND`` descriptor
and then ``fsync``-ed, so after a crash the file holds every finished run and at most one
cut-short last line. Reading it back keeps only the lines that are valid records
(`RECORD_SCHEMA`); any other line is reported with its number and what is wrong, and the
run it claims counts as not done, so a resumed sweep trains it again.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

try:  # POSIX only: elsewhere two sweeps on one results file are not prevented
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

Key = tuple[str, float, int]  # (config hash, λ, seed): what identifies a run


class ResultsFileError(ValueError):
    """A results file that cannot be used: locked by another sweep."""


class ResultsFileWarning(UserWarning):
    """A line of the results file that is not a valid record (it is ignored)."""


def _number(value, low: float = 0, high: float = math.inf) -> bool:
    """Is ``value`` a JSON number in [low, high]? (not true/false, not NaN or ±inf)"""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )


def _integer(value, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _epochs(value) -> bool:
    return isinstance(value, list) and len(value) > 0 and all(_number(x, 0, 1) for x in value)


# What the sweep writes: field → (check, what the value must be), then the fields of each
# status. An "ok" record is a finished run; a "failed" one is a failed attempt.
RECORD_SCHEMA = {
    "config_hash": (lambda v: isinstance(v, str), "a string"),
    "l2": (_number, "a finite number ≥ 0"),
    "seed": (lambda v: _integer(v, 0), "an integer ≥ 0"),
    "status": (lambda v: v in ("ok", "failed"), '"ok" or "failed"'),
    "attempt": (lambda v: _integer(v, 1), "an integer ≥ 1"),
    "finished": (lambda v: isinstance(v, str), "a time stamp"),
}
STATUS_SCHEMA = {
    "ok": {
        "test_accuracy": (lambda v: _number(v, 0, 1), "a number in [0, 1]"),
        "train_loss": (_number, "a finite number ≥ 0"),
        "train_accuracy": (lambda v: _number(v, 0, 1), "a number in [0, 1]"),
        "test_accuracy_per_epoch": (_epochs, "a list of numbers in [0, 1], one per epoch"),
        "seconds": (_number, "a finite number ≥ 0"),
        "worker": (lambda v: isinstance(v, str), "host:pid"),
        "config": (lambda v: isinstance(v, dict), "an object"),
        "data": (lambda v: isinstance(v, str), "the data's fingerprint"),
    },
    "failed": {"error": (lambda v: isinstance(v, str), "the error message")},
}


def record_problem(record: object) -> str | None:
    """Return what is wrong with a parsed line of the results file, or None for a good record."""
    if not isinstance(record, dict):
        return f"is {json.dumps(record)[:40]}, not a JSON object"
    schema = {**RECORD_SCHEMA, **STATUS_SCHEMA.get(record.get("status"), {})}
    for name, (check, meaning) in schema.items():
        if name not in record:
            return f'has no "{name}"'
        if not check(record[name]):
            return (
                f'has "{name}": {json.dumps(record[name], ensure_ascii=False)[:40]}, not {meaning}'
            )
    return None


def read_results(path: Path) -> list[dict]:
    """Return the valid records of the results file at ``path`` ([] if it does not exist).

    A line that is not a valid record is ignored with a `ResultsFileWarning` naming its
    line number and what is wrong: the last line cut short by a crash, a damaged line, or
    a parsable record that breaks the schema (so the run it claims is trained again).
    """
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            cut_short = number == len(lines)  # no newline after it: its write never finished
            why = "was cut short (a sweep killed while writing it?)" if cut_short else "is damaged"
        else:
            why = record_problem(record)
            if why is None:
                records.append(record)
                continue
            if isinstance(record, dict) and record.get("status") == "ok":
                why += "; it is ignored and the run it claims is trained again"
        if not why.endswith("trained again"):
            why += "; it is ignored"
        warnings.warn(f"{path}: line {number} {why}", ResultsFileWarning, 2)
    return records


def finished_runs(records: Iterable[dict]) -> dict[Key, dict]:
    """Return {(config hash, λ, seed): record} of the successful runs (the first of each)."""
    done: dict[Key, dict] = {}
    for record in records:
        if record["status"] == "ok":
            done.setdefault((record["config_hash"], float(record["l2"]), record["seed"]), record)
    return done


class ResultsFile:
    """The results file, open for appending and locked for this sweep alone."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        self.fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(self.fd)
                raise ResultsFileError(
                    f"sweep: {self.path} is in use by another sweep (it holds the file's lock)"
                ) from None
        if created:  # the new file's name must survive a crash too
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        # A crash may have cut the last line short: the first record written then starts
        # with a newline, so it is not glued to the fragment (which stays, ignored).
        size = os.fstat(self.fd).st_size
        self.cut_short = size > 0 and os.pread(self.fd, 1, size - 1) != b"\n"

    def append(self, record: dict) -> None:
        """Write ``record`` as one line, in one write call, and force it to the disk."""
        text = json.dumps(record, sort_keys=True, ensure_ascii=False, allow_nan=False)
        data = (("\n" if self.cut_short else "") + text + "\n").encode()
        self.cut_short = False
        written = os.write(self.fd, data)
        if written != len(data):  # a full disk; never leave the line silently cut
            raise OSError(f"sweep: wrote {written} of {len(data)} bytes to {self.path}")
        os.fsync(self.fd)

    def close(self) -> None:
        """Release the lock and close the file."""
        if self.fd >= 0:
            os.close(self.fd)  # closing releases the flock
            self.fd = -1

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
