"""read_idx: well-formed files of every type, the real MNIST files, and every malformed kind.

Test files are built byte by byte with `struct` (the IDX layout written out by hand),
so the reader is checked against the format, not against itself.
"""

import gzip
import io
import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecgrad.apps.idx import IDXFormatError, read_idx

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist-5k"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"real MNIST copy not found at {SHARED} (../shared/data)"
)

CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    """The IDX encoding of ``array`` with type ``code``, written out by hand."""
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.asarray(array, dtype=CODES[code]).tobytes()


def write(tmp_path: Path, raw: bytes, name: str = "file.idx", gz: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


# --- well-formed files -----------------------------------------------------------------


def test_int16_bytes_written_by_hand_are_big_endian(tmp_path):
    # magic 0x00000B01 (int16, 1 dim), size 2, then 0xFFFE = -2 and 0x0102 = 258.
    raw = b"\x00\x00\x0b\x01" + b"\x00\x00\x00\x02" + b"\xff\xfe\x01\x02"
    out = read_idx(write(tmp_path, raw))
    assert out.dtype == np.int16 and out.dtype.isnative
    assert out.tolist() == [-2, 258]


def test_uint8_images_shape_and_values(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    out = read_idx(write(tmp_path, idx_bytes(images, 0x08)), ndim=3)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, images)
    out[0, 0, 0] = 7  # writable: the caller owns the array


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("code", sorted(CODES))
def test_every_type_code_round_trips(tmp_path, code, gz):
    values = np.array([[0, 1, -1], [100, -100, 7]]) if code != 0x08 else np.array([[0, 1, 255]])
    if code in (0x0D, 0x0E):
        values = values * 0.5
    out = read_idx(write(tmp_path, idx_bytes(values, code), gz=gz))
    assert out.dtype == np.dtype(CODES[code]).newbyteorder("=")
    np.testing.assert_array_equal(out, values)


def test_gzip_is_detected_by_magic_bytes_not_by_name(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    raw = idx_bytes(labels, 0x08)
    zipped_without_gz_name = write(tmp_path, raw, "labels.idx", gz=True)
    plain_with_gz_name = write(tmp_path, raw, "labels.gz", gz=False)
    np.testing.assert_array_equal(read_idx(zipped_without_gz_name), labels)
    np.testing.assert_array_equal(read_idx(plain_with_gz_name), labels)


@settings(max_examples=50, deadline=None)
@given(
    code=st.sampled_from(sorted(CODES)),
    shape=st.lists(st.integers(0, 5), min_size=1, max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_arrays_round_trip(tmp_path_factory, code, shape, seed):
    rng = np.random.default_rng(seed)
    info = np.iinfo if code not in (0x0D, 0x0E) else None
    if info:
        bounds = info(np.dtype(CODES[code]))
        values = rng.integers(bounds.min, bounds.max, size=shape, endpoint=True)
    else:
        values = rng.standard_normal(shape)
    values = values.astype(np.dtype(CODES[code]).newbyteorder("="))
    path = write(tmp_path_factory.mktemp("idx"), idx_bytes(values, code))
    out = read_idx(path)
    assert out.shape == tuple(shape)
    np.testing.assert_array_equal(out, values)


# --- the real files ----------------------------------------------------------------------


@needs_shared
def test_real_mnist_test_set():
    images = read_idx(SHARED / "t10k-images-idx3-ubyte.gz", ndim=3)
    labels = read_idx(SHARED / "t10k-labels-idx1-ubyte.gz", ndim=1)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    # Published facts about the official test set: its first labels and class counts.
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(labels, minlength=10).tolist() == counts
    assert images.min() == 0 and images.max() == 255


@needs_shared
def test_real_mnist_train_subset_sorted_by_class():
    labels = read_idx(SHARED / "train-labels-idx1-ubyte.gz")
    assert labels.shape == (5000,)
    assert np.bincount(labels).tolist() == [500] * 10
    assert np.all(np.diff(labels.astype(int)) >= 0)  # the shared README: sorted by class


@needs_shared
def test_raw_and_gzipped_real_file_agree(tmp_path):
    raw = gzip.decompress((SHARED / "t10k-labels-idx1-ubyte.gz").read_bytes())
    plain = write(tmp_path, raw, "t10k-labels-idx1-ubyte")
    np.testing.assert_array_equal(read_idx(plain), read_idx(SHARED / "t10k-labels-idx1-ubyte.gz"))


# --- malformed files: each raises one clear IDXFormatError naming the file -----------------

GOOD = idx_bytes(np.arange(12, dtype=np.uint8).reshape(2, 2, 3), 0x08)  # 16-byte header + 12

MALFORMED = {
    "empty": (b"", "empty"),
    "shorter than the magic": (b"\x00\x00", "4-byte magic"),
    "bad magic": (b"\x12\x34\x08\x03" + GOOD[4:], "bad magic number 0x12340803"),
    "garbage text": (b"<html>404 Not Found</html>", "bad magic number"),
    "unknown type code": (b"\x00\x00\x07\x03" + GOOD[4:], "unknown type code 0x07"),
    "zero dimensions": (b"\x00\x00\x08\x00", "0 dimensions"),
    "truncated header": (GOOD[:10], "truncated header: 3 dimension.* need 16 header bytes"),
    "truncated data": (GOOD[:-5], "truncated data: .*needs 12 bytes .*found 7"),
    # A raw file's length is known (3 extra bytes); a gzip stream is read one byte past
    # what the header promises, no further (see test_gzip_bomb_...).
    "trailing garbage": (GOOD + b"\x00\x01\x02", "trailing byte"),
    # The magic says 4 dimensions but the file lists 3 sizes: the first data bytes are
    # read as a fourth size, so the data is far too short.
    "too many dimensions in magic": (b"\x00\x00\x08\x04" + GOOD[4:], "truncated data"),
    "too few dimensions in magic": (b"\x00\x00\x08\x02" + GOOD[4:], "trailing byte"),
}


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_file_raises_one_clear_error(tmp_path, kind, gz):
    raw, message = MALFORMED[kind]
    path = write(tmp_path, raw, "broken-idx3-ubyte", gz=gz)
    with pytest.raises(IDXFormatError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_wrong_dimension_count_for_the_caller(tmp_path):
    labels = write(tmp_path, idx_bytes(np.zeros(5, np.uint8), 0x08))
    with pytest.raises(IDXFormatError, match="expected 3 dimension.*says 1"):
        read_idx(labels, ndim=3)


@needs_shared
def test_truncated_gzip_download(tmp_path):
    whole = (SHARED / "t10k-labels-idx1-ubyte.gz").read_bytes()
    path = write(tmp_path, whole[: len(whole) // 2], "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(IDXFormatError, match="broken gzip stream"):
        read_idx(path)


def test_corrupted_gzip_body(tmp_path):
    zipped = bytearray(gzip.compress(GOOD))
    zipped[12:20] = b"\xff" * 8  # inside the deflate stream
    path = write(tmp_path, bytes(zipped), "x.gz")
    with pytest.raises(IDXFormatError, match="broken gzip stream"):
        read_idx(path)


@settings(max_examples=50, deadline=None)
@given(cut=st.integers(0, len(GOOD) - 1))
def test_every_truncation_is_an_idx_error(tmp_path_factory, cut):
    path = write(tmp_path_factory.mktemp("cut"), GOOD[:cut])
    with pytest.raises(IDXFormatError):
        read_idx(path)


@settings(max_examples=50, deadline=None)
@given(junk=st.binary(max_size=64))
def test_random_bytes_never_crash_inside_numpy(tmp_path_factory, junk):
    # Garbage either happens to be a valid IDX file or raises IDXFormatError; nothing else.
    path = write(tmp_path_factory.mktemp("junk"), junk)
    try:
        out = read_idx(path)
    except IDXFormatError:
        return
    assert isinstance(out, np.ndarray)


def test_raw_trailing_bytes_are_counted(tmp_path):
    path = write(tmp_path, GOOD + b"\x00\x01\x02")
    with pytest.raises(IDXFormatError, match="3 trailing byte"):
        read_idx(path)


# --- hostile sizes: the header is read first, and no more than it promises --------------


def gzip_bomb(tmp_path: Path, inflated_mib: int = 64) -> Path:
    """A .gz whose header promises one 28×28 uint8 image but which inflates to ~``inflated_mib``."""
    header = struct.pack(">BBBBIII", 0, 0, 0x08, 3, 1, 28, 28)
    buffer = io.BytesIO()
    zeros = bytes(1 << 20)
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6) as stream:
        stream.write(header + bytes(784))
        for _ in range(inflated_mib):
            stream.write(zeros)
    return write(tmp_path, buffer.getvalue(), "train-images-idx3-ubyte.gz")


def refused_with_peak_memory(path: Path, match: str) -> tuple[str, int]:
    """read_idx(path)'s IDXFormatError message (it must match ``match``) and the peak of
    the memory Python allocated to get there."""
    tracemalloc.start()
    try:
        with pytest.raises(IDXFormatError, match=match) as info:
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return str(info.value), peak


def test_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    path = gzip_bomb(tmp_path, inflated_mib=64)
    assert path.stat().st_size < 1 << 20
    message, peak = refused_with_peak_memory(path, "trailing byte.*stream goes on")
    assert str(path) in message
    assert peak < 8 << 20, f"{peak / 2**20:.0f} MiB allocated for a 784-byte promise"


def test_a_huge_promise_with_little_data_is_truncated_not_a_memory_error(tmp_path):
    # The header promises 4 GiB × 28 × 28; the stream holds 10 bytes.
    raw = struct.pack(">BBBBIII", 0, 0, 0x08, 3, 0xFFFFFFFF, 28, 28) + bytes(10)
    for gz in (False, True):
        path = write(tmp_path, raw, f"huge-{gz}", gz=gz)
        with pytest.raises(IDXFormatError, match="truncated data.*found 10") as info:
            read_idx(path)
        assert str(path) in str(info.value)


def forged_bomb(tmp_path: Path, images: int, inflated_mib: int) -> Path:
    """A .gz whose header promises ``images`` 28×28 images and which inflates to ~``inflated_mib``
    MiB of zeros (compressed about 1000:1)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    parts = [compressor.compress(struct.pack(">BBBBIII", 0, 0, 0x08, 3, images, 28, 28))]
    zeros = bytes(1 << 20)
    parts += [compressor.compress(zeros) for _ in range(inflated_mib)]
    parts.append(compressor.flush())
    return write(tmp_path, b"".join(parts), "train-images-idx3-ubyte.gz")


def test_a_bomb_promising_a_billion_images_costs_little_memory(tmp_path):
    # QA's bomb: 10⁹ images (784 GB) promised by a file that inflates to 256 MiB. The
    # reader kept every inflated byte and then joined them (2× the stream) before
    # saying "truncated"; a 64 KiB file cannot hold more than 1032× its size.
    path = forged_bomb(tmp_path, 10**9, inflated_mib=256)
    assert path.stat().st_size < 1 << 20
    message, peak = refused_with_peak_memory(path, "truncated data")
    assert str(path) in message and "corrupt or forged" in message and "\n" not in message
    assert peak < 8 << 20, f"{peak / 2**20:.0f} MiB allocated to refuse a forged header"
    # and it stopped counting after 16 MiB of the 256 it could inflate to
    assert "more than 16777216 (stopped there)" in message


def test_a_plausible_promise_is_read_into_one_array_of_its_size(tmp_path):
    # 5000 images (3.9 MB) promised, 64 MiB inflated: the array of the promised size is
    # all that is held, and reading stops one byte past it.
    path = forged_bomb(tmp_path, 5000, inflated_mib=64)
    _, peak = refused_with_peak_memory(path, "trailing byte.*stream goes on")
    assert peak < 5000 * 784 + (4 << 20), f"{peak / 2**20:.0f} MiB for a 3.7 MiB promise"


@pytest.mark.parametrize("gz", [False, True])
def test_255_dimensions_is_an_idx_error_not_numpys(tmp_path, gz):
    raw = b"\x00\x00\x08\xff" + struct.pack(">255I", *([1] * 255)) + b"\x07"
    path = write(tmp_path, raw, "many-dims", gz=gz)
    with pytest.raises(IDXFormatError, match="255 dimensions; at most 32") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_parse_idx_reads_bytes_with_the_same_checks():
    from vecgrad.apps.idx import parse_idx

    np.testing.assert_array_equal(parse_idx(GOOD), np.arange(12).reshape(2, 2, 3))
    with pytest.raises(IDXFormatError, match="<bytes>: 3 trailing byte"):
        parse_idx(GOOD + b"abc")
