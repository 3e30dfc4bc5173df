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
import io
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
_CHUNK = 1 << 20  # bytes per read
MAX_DIMENSIONS = 32  # numpy 1.x's limit (2.x allows 64); an IDX header may say 255
# Deflate's best: a 258-byte match costs at least two bits (length and distance codes), so
# n compressed bytes never inflate to more than 1032·n. A header promising more is a lie.
MAX_DEFLATE_RATIO = 1032
_COUNTED = 1 << 24  # bytes of a header's broken promise decompressed to report what is there


class IDXFormatError(ValueError):
    """A file that is not a well-formed IDX file (or gzipped IDX file)."""


def read_idx(path: str | os.PathLike, ndim: int | None = None) -> np.ndarray:
    """Return the array stored in the IDX file at ``path`` (gzipped or raw).

    Gzip is detected by its magic bytes (1f 8b), not by the file name. The array has
    the file's shape and type, in native byte order, and is writable. Pass ``ndim``
    to also require that many dimensions (3 for images, 1 for labels).
    The header is read first and checked against the file's size (a gzip file of n bytes
    inflates to at most 1032·n); then the data is decompressed into an array of the
    promised size, and one byte more is read to notice a longer stream. So a gzip bomb
    costs at most what its header declares, never what it inflates to, and a header
    promising more than the file could hold is refused before anything is decompressed.
    Raises `IDXFormatError` for a bad magic number, an unknown type code, a wrong
    dimension count, a truncated or over-long file, an empty file or a broken gzip stream.
    """
    path = Path(path)
    with open(path, "rb") as raw:
        if raw.read(2) == _GZIP_MAGIC:
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                compressed = os.fstat(raw.fileno()).st_size
                try:
                    return _read_stream(stream, str(path), ndim, size=None, compressed=compressed)
                except IDXFormatError:
                    # Corrupt deflate data can inflate to a garbage header before the CRC
                    # at the end is checked: read on a little (bounded) to name the real fault.
                    try:
                        _read_at_most(stream, _CHUNK)
                    except (OSError, EOFError, zlib.error) as error:
                        raise IDXFormatError(f"{path}: broken gzip stream ({error})") from None
                    raise
        raw.seek(0)
        return _read_stream(raw, str(path), ndim, size=os.fstat(raw.fileno()).st_size)


def parse_idx(raw: bytes, source: str = "<bytes>", ndim: int | None = None) -> np.ndarray:
    """Return the array encoded by the (uncompressed) IDX bytes ``raw``.

    ``source`` names the bytes in error messages; ``ndim`` is as in `read_idx`.
    """
    return _read_stream(io.BytesIO(raw), source, ndim, size=len(raw))


def _read_stream(
    stream, source: str, ndim: int | None, size: int | None, compressed: int | None = None
) -> np.ndarray:
    """Read one IDX array from the binary ``stream``: the header, then exactly its data.

    ``size`` is the stream's length when known (a plain file), None for a gzip stream;
    ``compressed`` is then the gzip file's size, which bounds what the stream can hold.
    """
    gzipped = compressed is not None

    def read(n: int) -> bytes:
        try:
            return _read_at_most(stream, n)
        except (OSError, EOFError, zlib.error) as error:
            # EOFError: the gzip stream stops early (a truncated download).
            raise IDXFormatError(f"{source}: broken gzip stream ({error})") from None

    magic_bytes = read(4)
    if len(magic_bytes) == 0:
        raise IDXFormatError(
            f"{source}: the file is empty (0 bytes); an IDX file starts with a 4-byte magic number"
        )
    if len(magic_bytes) < 4:
        raise IDXFormatError(
            f"{source}: only {len(magic_bytes)} byte(s); an IDX file starts with a 4-byte "
            "magic number"
        )
    magic = int.from_bytes(magic_bytes, "big")
    if magic_bytes[0] != 0 or magic_bytes[1] != 0:
        raise IDXFormatError(
            f"{source}: bad magic number 0x{magic:08X} (first bytes "
            f"{magic_bytes + read(4)!r}); an IDX file starts with 0x00 0x00, a type code "
            "and the number of dimensions"
        )
    code, file_ndim = magic_bytes[2], magic_bytes[3]
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
    if file_ndim > MAX_DIMENSIONS:
        raise IDXFormatError(
            f"{source}: magic number 0x{magic:08X} says {file_ndim} dimensions; "
            f"at most {MAX_DIMENSIONS} are supported (MNIST's files have 1 or 3)"
        )
    header = 4 + 4 * file_ndim
    sizes = read(4 * file_ndim)
    if len(sizes) < 4 * file_ndim:
        raise IDXFormatError(
            f"{source}: truncated header: {file_ndim} dimension(s) need {header} header "
            f"bytes, the file has {4 + len(sizes)}"
        )
    shape = tuple(int.from_bytes(sizes[4 * i : 4 * i + 4], "big") for i in range(file_ndim))
    dtype = IDX_DTYPES[code]
    expected = dtype.itemsize
    for dimension in shape:
        expected *= dimension  # Python ints: a garbage header cannot overflow
    if size is not None and size != header + expected:  # a plain file: known without reading
        actual = size - header
        if actual < expected:
            raise IDXFormatError(
                f"{source}: truncated data: shape {shape} of {dtype.name} needs {expected} "
                f"bytes after the {header}-byte header, found {actual}"
            )
        raise IDXFormatError(
            f"{source}: {actual - expected} trailing byte(s) after the data: shape {shape} "
            f"of {dtype.name} needs {expected} bytes after the {header}-byte header, "
            f"found {actual}"
        )
    if gzipped and header + expected > compressed * MAX_DEFLATE_RATIO:
        # The file cannot hold what the header promises. Count what it holds, a chunk at a
        # time (memory stays one chunk), and at most _COUNTED bytes (time stays short).
        found = _count(stream, source, _COUNTED)
        found_text = f"{found}" if found <= _COUNTED else f"more than {_COUNTED} (stopped there)"
        raise IDXFormatError(
            f"{source}: truncated data: shape {shape} of {dtype.name} needs {expected} "
            f"bytes after the {header}-byte header, found {found_text}; a {compressed}-byte "
            f"gzip file inflates to at most {MAX_DEFLATE_RATIO}× its size: the header is "
            "corrupt or forged"
        )
    try:
        # Filled as the stream is read, never more: the bytes are not kept twice.
        buffer = np.empty(expected, dtype=np.uint8)
    except MemoryError:
        raise IDXFormatError(
            f"{source}: shape {shape} of {dtype.name} needs {expected:,} bytes of memory, "
            "more than is available"
        ) from None
    filled = _read_into(stream, memoryview(buffer), source)
    if filled < expected:
        raise IDXFormatError(
            f"{source}: truncated data: shape {shape} of {dtype.name} needs {expected} "
            f"bytes after the {header}-byte header, found {filled}"
        )
    if read(1):  # one byte more than promised: the stream is longer
        raise IDXFormatError(
            f"{source}: trailing byte(s) after the data: shape {shape} of {dtype.name} "
            f"needs {expected} bytes after the {header}-byte header, and the "
            f"{'decompressed ' if gzipped else ''}stream goes on (decompression stopped "
            "there)"
        )
    data = buffer.view(dtype)
    if not dtype.isnative:  # swap in place into native byte order: no second copy
        data = data.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return data.reshape(shape)


def _count(stream, source: str, limit: int) -> int:
    """Return the number of bytes left in ``stream`` (read and dropped a chunk at a time),
    or a number above ``limit`` once more than ``limit`` have been read."""
    total = 0
    try:
        while total <= limit and (chunk := stream.read(_CHUNK)):
            total += len(chunk)
    except (OSError, EOFError, zlib.error) as error:
        raise IDXFormatError(f"{source}: broken gzip stream ({error})") from None
    return total


def _read_into(stream, view: memoryview, source: str) -> int:
    """Fill ``view`` from ``stream`` in chunks; return the bytes read (fewer only at its end)."""
    filled = 0
    try:
        while filled < len(view):
            n = stream.readinto(view[filled : filled + _CHUNK])
            if not n:
                break
            filled += n
    except (OSError, EOFError, zlib.error) as error:
        # EOFError: the gzip stream stops early (a truncated download).
        raise IDXFormatError(f"{source}: broken gzip stream ({error})") from None
    return filled


def _read_at_most(stream, n: int) -> bytes:
    """Return up to ``n`` bytes of ``stream``, fewer only at its end.

    Read in chunks: a header may promise far more than the stream holds, and asking for
    it in one call would allocate the promised size up front.
    """
    chunks, remaining = [], n
    while remaining > 0:
        chunk = stream.read(min(remaining, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
