"""Read IDX files, the format MNIST and Fashion-MNIST are distributed in.

An IDX file is a header and then the numbers, big-endian, row-major:

    bytes 0-1    0x00 0x00
    byte  2      the type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                 0x0D float32, 0x0E float64
    byte  3      the number of dimensions, ndim
    4·ndim bytes the size of each dimension, big-endian uint32
    the rest     prod(sizes) numbers of that type

Files may also come gzipped (``*.gz``), as the mirrors serve them. Every way a file
can be wrong raises one error type, `IDXFormatError`, naming the file and the fault.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

# Type code → big-endian numpy dtype (IDX stores multi-byte numbers big-endian).
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXFormatError(ValueError):
    """A file that is not a well-formed IDX file (or gzipped IDX file)."""


def read_idx(path: str | os.PathLike, ndim: int | None = None) -> np.ndarray:
    """Return the array stored in the IDX file at ``path`` (gzipped or raw).

    Gzip is detected by its magic bytes (1f 8b), not by the file name. The array has
    the file's shape and type, in native byte order, and is writable. Pass ``ndim``
    to also require that many dimensions (3 for images, 1 for labels).
    Raises `IDXFormatError` for a bad magic number, an unknown type code, a wrong
    dimension count, a truncated or over-long file, an empty file or a broken gzip stream.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            # EOFError: the gzip stream stops early (a truncated download).
            raise IDXFormatError(f"{path}: broken gzip stream ({error})") from None
    return parse_idx(raw, source=str(path), ndim=ndim)


def parse_idx(raw: bytes, source: str = "<bytes>", ndim: int | None = None) -> np.ndarray:
    """Return the array encoded by the (uncompressed) IDX bytes ``raw``.

    ``source`` names the bytes in error messages; ``ndim`` is as in `read_idx`.
    """
    if len(raw) == 0:
        raise IDXFormatError(
            f"{source}: the file is empty (0 bytes); an IDX file starts with a 4-byte magic number"
        )
    if len(raw) < 4:
        raise IDXFormatError(
            f"{source}: only {len(raw)} byte(s); an IDX file starts with a 4-byte magic number"
        )
    magic = int.from_bytes(raw[:4], "big")
    if raw[0] != 0 or raw[1] != 0:
        raise IDXFormatError(
            f"{source}: bad magic number 0x{magic:08X} (first bytes {raw[:8]!r}); an IDX "
            "file starts with 0x00 0x00, a type code and the number of dimensions"
        )
    code, file_ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} {IDX_DTYPES[c].name}" for c in IDX_DTYPES)
        raise IDXFormatError(
            f"{source}: bad magic number 0x{magic:08X}: unknown type code 0x{code:02X} "
            f"(known: {known})"
        )
    if file_ndim == 0:
        raise IDXFormatError(f"{source}: magic number 0x{magic:08X} says 0 dimensions")
    if ndim is not None and file_ndim != ndim:
        raise IDXFormatError(
            f"{source}: expected {ndim} dimension(s), the magic number 0x{magic:08X} "
            f"says {file_ndim}"
        )
    header = 4 + 4 * file_ndim
    if len(raw) < header:
        raise IDXFormatError(
            f"{source}: truncated header: {file_ndim} dimension(s) need {header} header "
            f"bytes, the file has {len(raw)}"
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(file_ndim))
    dtype = IDX_DTYPES[code]
    expected = dtype.itemsize
    for size in shape:
        expected *= size  # Python ints: a garbage header cannot overflow
    actual = len(raw) - header
    if actual < expected:
        raise IDXFormatError(
            f"{source}: truncated data: shape {shape} of {dtype.name} needs {expected} "
            f"bytes after the {header}-byte header, found {actual}"
        )
    if actual > expected:
        raise IDXFormatError(
            f"{source}: {actual - expected} trailing byte(s) after the data: shape {shape} "
            f"of {dtype.name} needs {expected} bytes after the {header}-byte header, "
            f"found {actual}"
        )
    # astype copies into native byte order; the copy is also writable (frombuffer's
    # view of immutable bytes is not).
    data = np.frombuffer(raw, dtype=dtype, offset=header)
    return data.astype(dtype.newbyteorder("=")).reshape(shape)
