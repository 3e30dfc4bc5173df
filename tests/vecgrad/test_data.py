"""vecgrad.apps.data: the shipped hashes, load_mnist / load_fashion_mnist, and DataLoader.

Oracles: the shared SHA256SUMS and hashlib for the pinned hashes; published class counts
of MNIST and Fashion-MNIST; the shared README's description of the 5,000-image subset;
arithmetic (⌈n/b⌉, permutations) for DataLoader.
"""

import dataclasses
import gzip
import hashlib
import math
import os
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecgrad.apps.data import (
    FASHION_MNIST,
    MNIST,
    DataLoader,
    DownloadError,
    IDXFormatError,
    load_fashion_mnist,
    load_idx_dataset,
    load_mnist,
    read_idx,
)

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist-5k"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_shared = pytest.mark.skipif(
    not (SHARED / "SHA256SUMS").is_file(),
    reason=f"real MNIST copy not found at {SHARED} (../shared/data)",
)
FOUR = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def shared_sums() -> dict[str, str]:
    lines = (SHARED / "SHA256SUMS").read_text().split("\n")
    return {line.split()[1]: line.split()[0] for line in lines if line.strip()}


@pytest.fixture
def refused():
    """The base URL of a port that refuses connections (no network)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def cache(monkeypatch, tmp_path):
    """An empty $VECGRAD_DATA."""
    monkeypatch.setenv("VECGRAD_DATA", str(tmp_path / "cache"))
    return tmp_path / "cache"


# --- the shipped hashes ------------------------------------------------------------------


@pytest.mark.parametrize("spec", [MNIST, FASHION_MNIST], ids=lambda s: s.name)
def test_specs_list_the_four_files_with_sha256(spec):
    assert list(spec.files) == FOUR
    for sha in spec.files.values():
        assert len(sha) == 64 and set(sha) <= set("0123456789abcdef")
    assert len(set(spec.files.values())) == 4
    assert list(spec.sizes) == FOUR and all(size > 0 for size in spec.sizes.values())
    assert all(m.startswith(("http://", "https://")) and m.endswith("/") for m in spec.mirrors)


@needs_shared
@pytest.mark.parametrize("name", ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])
def test_shipped_mnist_test_sizes_match_the_original_files(name):
    assert MNIST.sizes[name] == (SHARED / name).stat().st_size


@needs_shared
@pytest.mark.parametrize("name", ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])
def test_shipped_mnist_test_hashes_match_the_original_files(name):
    # The shared t10k files are byte-identical to the originals (their MD5 is the one
    # torchvision pins), so the SHA-256 we ship must be theirs.
    data = (SHARED / name).read_bytes()
    assert hashlib.md5(data).hexdigest() in {
        "9fb629c4189551a2d022fa330f9573f3",
        "ec29112dd5afa0611ce80d1b7f02629c",
    }
    assert MNIST.files[name] == hashlib.sha256(data).hexdigest() == shared_sums()[name]


# --- load_mnist from a directory ----------------------------------------------------------


@needs_shared
def test_load_mnist_defaults_float32_flat_and_int64():
    (X_train, y_train), (X_test, y_test) = load_mnist(SHARED, download=False)
    assert X_train.shape == (5000, 784) and X_train.dtype == np.float32
    assert X_test.shape == (10000, 784) and X_test.dtype == np.float32
    assert y_train.shape == (5000,) and y_train.dtype == np.int64
    assert y_test.shape == (10000,) and y_test.dtype == np.int64
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    assert np.bincount(y_train).tolist() == [500] * 10  # shared README: 500 per class
    assert np.bincount(y_test).tolist() == MNIST_TEST_COUNTS
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


@needs_shared
def test_load_mnist_raw_uint8_images():
    (X_train, _), (X_test, _) = load_mnist(SHARED, download=False, normalize=False, flatten=False)
    assert X_train.shape == (5000, 28, 28) and X_train.dtype == np.uint8
    assert X_test.shape == (10000, 28, 28) and X_test.dtype == np.uint8
    (X_float, _), _ = load_mnist(SHARED, download=False)
    np.testing.assert_array_equal(X_float, X_train.reshape(5000, 784) / np.float32(255))
    (X_3d, _), _ = load_mnist(SHARED, download=False, flatten=False)
    assert X_3d.shape == (5000, 28, 28) and X_3d.dtype == np.float32


@needs_shared
def test_uncompressed_and_mixed_files_load_the_same(tmp_path):
    for i, name in enumerate(FOUR):
        if i % 2:  # half raw, half gzipped
            (tmp_path / name.removesuffix(".gz")).write_bytes(
                gzip.decompress((SHARED / name).read_bytes())
            )
        else:
            shutil.copy(SHARED / name, tmp_path / name)
    ours, reference = load_mnist(tmp_path, download=False), load_mnist(SHARED, download=False)
    for a, b in zip(ours, reference):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


@needs_shared
def test_missing_files_without_download_name_the_directory_and_files(tmp_path):
    for name in FOUR[:2]:
        shutil.copy(SHARED / name, tmp_path / name)
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path) in message and "2 of the 4 files missing" in message
    assert FOUR[2] in message and FOUR[3] in message
    assert FOUR[0] not in message


# --- finding and downloading into the cache ---------------------------------------------------


@needs_shared
def test_files_in_the_cache_are_used_without_any_network(cache, refused):
    (cache / "mnist").mkdir(parents=True)
    for name in FOUR:
        shutil.copy(SHARED / name, cache / "mnist" / name)
    (X_train, _), (X_test, _) = load_mnist(mirrors=[refused], progress=False)
    assert X_train.shape == (5000, 784) and X_test.shape == (10000, 784)


@needs_shared
def test_a_complete_cache_is_tidied_of_stale_part_files(cache, refused):
    (cache / "mnist").mkdir(parents=True)
    for name in FOUR:
        shutil.copy(SHARED / name, cache / "mnist" / name)
    stale = cache / "mnist" / f".{FOUR[0]}.abc123.part"  # a killed download's, unlocked
    stale.write_bytes(b"half a file")
    load_mnist(mirrors=[refused], progress=False)
    assert not stale.exists()
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == sorted(FOUR)


@needs_shared
def test_only_missing_files_are_downloaded_checked_and_loaded(tmp_path):
    # The spec of a "dataset" whose originals are the shared files (their hashes), served
    # from a file:// mirror; two of the four are already in root.
    spec = shared_spec()
    root = tmp_path / "root"
    root.mkdir()
    for name in FOUR[:2]:
        shutil.copy(SHARED / name, root / name)
    mtimes = {name: (root / name).stat().st_mtime_ns for name in FOUR[:2]}
    (X_train, y_train), (X_test, y_test) = load_idx_dataset(spec, root, progress=False)
    assert X_test.shape == (10000, 784) and np.bincount(y_test).tolist() == MNIST_TEST_COUNTS
    assert sorted(p.name for p in root.iterdir()) == sorted(FOUR)
    assert {name: (root / name).stat().st_mtime_ns for name in FOUR[:2]} == mtimes


@needs_shared
def test_corrupted_download_through_the_loader_leaves_nothing(tmp_path):
    spec = shared_spec()
    spec.files["t10k-labels-idx1-ubyte.gz"] = "0" * 64  # the mirror's copy will not match
    with pytest.raises(DownloadError, match="SHA-256 mismatch"):
        load_idx_dataset(spec, tmp_path, progress=False)
    assert "t10k-labels-idx1-ubyte.gz" not in {p.name for p in tmp_path.iterdir()}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_no_network_message_says_where_to_put_the_four_files(cache, refused):
    with pytest.raises(DownloadError) as info:
        load_mnist(mirrors=[refused], progress=False, timeout=5)
    message = str(info.value)
    assert "MNIST" in message and "Without internet access" in message
    assert f"put them in {cache / 'mnist'}" in message
    for name in FOUR:
        assert name in message and MNIST.files[name] in message


def test_download_false_with_empty_cache(cache):
    with pytest.raises(FileNotFoundError, match="4 of the 4 files missing") as info:
        load_mnist(download=False)
    assert str(cache / "mnist") in str(info.value)


# --- bad files ---------------------------------------------------------------------------------


def labels_file(path: Path, labels) -> None:
    """Write an IDX uint8 label file by hand."""
    labels = bytes(labels)
    path.write_bytes(struct.pack(">BBBBI", 0, 0, 8, 1, len(labels)) + labels)


@needs_shared
def test_images_and_labels_of_different_lengths(tmp_path):
    for name in FOUR:
        shutil.copy(SHARED / name, tmp_path / name)
    shutil.copy(SHARED / FOUR[3], tmp_path / FOUR[1])  # 10,000 labels for 5,000 images
    with pytest.raises(ValueError, match="5000 images but .* has 10000 labels"):
        load_mnist(tmp_path, download=False)


@needs_shared
def test_label_out_of_range(tmp_path):
    for name in FOUR:
        shutil.copy(SHARED / name, tmp_path / name)
    (tmp_path / FOUR[1]).unlink()
    labels_file(tmp_path / FOUR[1].removesuffix(".gz"), [3] * 4999 + [12])
    with pytest.raises(ValueError, match="holds label 12; expected 0..9"):
        load_mnist(tmp_path, download=False)


@needs_shared
def test_a_label_file_in_place_of_images(tmp_path):
    for name in FOUR:
        shutil.copy(SHARED / name, tmp_path / name)
    shutil.copy(SHARED / FOUR[1], tmp_path / FOUR[0])
    with pytest.raises(IDXFormatError, match="expected 3 dimension"):
        load_mnist(tmp_path, download=False)


# --- Fashion-MNIST -------------------------------------------------------------------------------


@pytest.mark.skipif(
    not (DEBIAN_FASHION / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed (/usr/share/datasets/fashion-mnist)",
)
def test_fashion_mnist_found_where_debian_installs_it(cache, refused):
    (X_train, y_train), (X_test, y_test) = load_fashion_mnist(
        mirrors=[refused], normalize=False, flatten=False
    )
    assert X_train.shape == (60000, 28, 28) and X_train.dtype == np.uint8
    assert X_test.shape == (10000, 28, 28)
    # Published: 6,000 training and 1,000 test images per class.
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert not cache.exists()  # nothing was downloaded


def test_read_idx_and_the_downloader_are_reexported():
    import vecgrad.apps.download
    import vecgrad.apps.idx

    assert (
        read_idx is vecgrad.apps.idx.read_idx and IDXFormatError is vecgrad.apps.idx.IDXFormatError
    )
    assert DownloadError is vecgrad.apps.download.DownloadError


# --- the import stays light ----------------------------------------------------------------------


def test_import_does_not_load_the_download_machinery():
    code = (
        "import sys, vecgrad.apps.data; "
        "print(sorted(m for m in ('tqdm', 'urllib.request') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=True,
    ).stdout
    assert out.strip() == "[]"


# --- DataLoader ----------------------------------------------------------------------------------


def shared_sums_in(order):
    sums = shared_sums()
    return {name: sums[name] for name in order}


def shared_spec():
    """A "dataset" whose originals are the shared files (hashes, sizes), on a file:// mirror."""
    return dataclasses.replace(
        MNIST,
        files=shared_sums_in(FOUR),
        sizes={name: (SHARED / name).stat().st_size for name in FOUR},
        mirrors=(SHARED.as_uri(),),
    )


def batches(loader):
    return [(X.copy(), y.copy()) for X, y in loader]


@pytest.mark.parametrize(
    "n, size, drop_last, sizes",
    [
        (10, 3, False, [3, 3, 3, 1]),
        (10, 3, True, [3, 3, 3]),
        (9, 3, False, [3, 3, 3]),
        (9, 3, True, [3, 3, 3]),
        (5, 8, False, [5]),
        (5, 8, True, []),
        (1, 1, False, [1]),
    ],
)
def test_batch_sizes_and_len(n, size, drop_last, sizes):
    X, y = np.arange(n * 2).reshape(n, 2), np.arange(n)
    loader = DataLoader(X, y, size, drop_last=drop_last)
    assert len(loader) == len(sizes)
    got = batches(loader)
    assert [len(yb) for _, yb in got] == sizes
    if got:  # in order, without shuffle
        np.testing.assert_array_equal(np.concatenate([yb for _, yb in got]), y[: sum(sizes)])
        np.testing.assert_array_equal(np.concatenate([Xb for Xb, _ in got]), X[: sum(sizes)])


def test_shuffle_uses_the_generator_and_reshuffles_each_epoch():
    n = 50
    X, y = np.arange(n) * 10.0, np.arange(n)
    loader = DataLoader(X, y, 8, shuffle=True, rng=np.random.default_rng(0))
    reference = np.random.default_rng(0)  # the documented draw: one permutation per epoch
    epochs = []
    for _ in range(3):
        order = np.concatenate([yb for _, yb in loader])
        np.testing.assert_array_equal(order, reference.permutation(n))
        for Xb, yb in loader:
            np.testing.assert_array_equal(Xb, yb * 10.0)  # pairs stay together
            break
        reference.permutation(n)  # the partial epoch above drew one too
        epochs.append(order)
    assert not np.array_equal(epochs[0], epochs[1])


def test_same_seed_same_batches_int_seed_allowed():
    X, y = np.random.default_rng(1).standard_normal((40, 3)), np.arange(40)
    a = DataLoader(X, y, 7, shuffle=True, rng=123)
    b = DataLoader(X, y, 7, shuffle=True, rng=np.random.default_rng(123))
    for _ in range(2):
        for (Xa, ya), (Xb, yb) in zip(batches(a), batches(b), strict=True):
            np.testing.assert_array_equal(Xa, Xb)
            np.testing.assert_array_equal(ya, yb)


def test_images_keep_their_shape():
    X, y = np.zeros((10, 28, 28), np.float32), np.zeros(10, np.int64)
    Xb, yb = next(iter(DataLoader(X, y, 4, shuffle=True, rng=0)))
    assert Xb.shape == (4, 28, 28) and Xb.dtype == np.float32 and yb.dtype == np.int64


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(1, 60),
    size=st.integers(1, 70),
    drop_last=st.booleans(),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_one_epoch_visits_each_sample_at_most_once(n, size, drop_last, shuffle, seed):
    loader = DataLoader(np.arange(n), np.arange(n), size, shuffle, seed, drop_last)
    expected = n // size if drop_last else math.ceil(n / size)
    got = batches(loader)
    assert len(loader) == len(got) == expected
    seen = np.concatenate([yb for _, yb in got]) if got else np.array([], int)
    assert len(set(seen.tolist())) == len(seen) == (expected * size if drop_last else n)
    assert all(len(yb) == size for _, yb in got[:-1])


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"batch_size": 0}, ValueError, "batch_size must be at least 1, got 0"),
        ({"batch_size": -3}, ValueError, "at least 1, got -3"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an int, got 2.5"),
        ({"batch_size": True}, TypeError, "batch_size must be an int, got True"),
        ({"batch_size": "8"}, TypeError, "must be an int"),
        ({"rng": np.random.RandomState(0)}, TypeError, "numpy.random.Generator.*RandomState"),
        ({"y": np.arange(9)}, ValueError, r"X has 10 samples \(shape \(10, 2\)\) but y has 9"),
        ({"X": np.float64(3.0)}, ValueError, "need a first"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    args = {"X": np.zeros((10, 2)), "y": np.arange(10), "batch_size": 4, **kwargs}
    with pytest.raises(error, match=message):
        DataLoader(**args)


# --- hostile and mismatched files (issue #13): IDXFormatError naming the file -------------------


def images_file(path: Path, images: np.ndarray) -> None:
    """Write an IDX uint8 image file (n, h, w) by hand, gzipped."""
    header = struct.pack(">BBBBIII", 0, 0, 8, 3, *images.shape)
    path.write_bytes(gzip.compress(header + images.astype(np.uint8).tobytes()))


def tiny_dataset(directory: Path, train_shape=(4, 28, 28), test_shape=(3, 28, 28)) -> Path:
    directory.mkdir(exist_ok=True)
    images_file(directory / FOUR[0], np.zeros(train_shape, np.uint8))
    labels_file(directory / FOUR[1].removesuffix(".gz"), [1] * train_shape[0])
    images_file(directory / FOUR[2], np.zeros(test_shape, np.uint8))
    labels_file(directory / FOUR[3].removesuffix(".gz"), [2] * test_shape[0])
    return directory


def test_the_tiny_dataset_loads(tmp_path):
    (X, y), (Xt, yt) = load_mnist(tiny_dataset(tmp_path / "d"), download=False)
    assert X.shape == (4, 784) and Xt.shape == (3, 784) and y.tolist() == [1] * 4


def test_27_by_27_training_images_are_refused_naming_the_file(tmp_path):
    root = tiny_dataset(tmp_path / "d", train_shape=(4, 27, 27))
    with pytest.raises(IDXFormatError, match="holds 27×27 images; MNIST's are 28×28") as info:
        load_mnist(root, download=False)
    assert str(root / FOUR[0]) in str(info.value)


def test_a_file_of_zero_images_is_refused_naming_the_file(tmp_path):
    root = tiny_dataset(tmp_path / "d", test_shape=(0, 28, 28))
    with pytest.raises(IDXFormatError, match="holds no images") as info:
        load_mnist(root, download=False)
    assert str(root / FOUR[2]) in str(info.value)


def test_missing_files_error_carries_the_directory_and_names(tmp_path):
    from vecgrad.apps.data import MissingFilesError

    root = tiny_dataset(tmp_path / "d")
    (root / FOUR[0]).unlink()
    with pytest.raises(MissingFilesError) as info:
        load_mnist(root, download=False)
    assert info.value.directory == root and info.value.missing == [FOUR[0]]
    assert isinstance(info.value, FileNotFoundError)


# --- the files are the dataset asked for ---------------------------------------------------------


def zcat_sha256(path: Path) -> str:
    return hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest()


@needs_shared
def test_mnist_content_hashes_are_those_of_the_shared_official_test_files():
    for name, sha in MNIST.contents.items():
        assert zcat_sha256(SHARED / name) == sha, name


needs_debian_fashion = pytest.mark.skipif(
    not (DEBIAN_FASHION / "t10k-images-idx3-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed (/usr/share/datasets/fashion-mnist)",
)


@needs_debian_fashion
def test_fashion_content_hashes_are_those_of_debians_files():
    for name, sha in FASHION_MNIST.contents.items():
        assert zcat_sha256(DEBIAN_FASHION / name) == sha, name


@needs_shared
def test_mnist_files_asked_to_be_fashion_mnist_are_refused():
    from vecgrad.apps.data import WrongDatasetError

    with pytest.raises(WrongDatasetError, match="is MNIST's t10k-images-idx3-ubyte") as info:
        load_fashion_mnist(SHARED, download=False)
    assert "not Fashion-MNIST's" in str(info.value) and str(SHARED) in str(info.value)
    load_mnist(SHARED, download=False)  # the 5k subset (train files unknown) is MNIST


@needs_debian_fashion
def test_fashion_files_asked_to_be_mnist_are_refused(tmp_path):
    from vecgrad.apps.data import WrongDatasetError

    # Recompressed at another level: other gzip bytes, same content, still recognised.
    for name in FOUR[2:]:
        (tmp_path / name).write_bytes(
            gzip.compress(gzip.decompress((DEBIAN_FASHION / name).read_bytes()), 1)
        )
    with pytest.raises(WrongDatasetError, match="is Fashion-MNIST's t10k-images"):
        load_mnist(tmp_path, download=False, splits=("test",))  # the test files alone


def test_unknown_content_is_not_judged(tmp_path):
    root = tiny_dataset(tmp_path / "d")
    (X, _), _ = load_fashion_mnist(root, download=False)
    (X2, _), _ = load_mnist(root, download=False)
    assert X.shape == X2.shape == (4, 784)


@needs_shared
def test_the_test_split_alone_needs_and_downloads_only_its_two_files(tmp_path):
    """vecgrad-mnist predict --test-index: the 10,000 test images, not the training set."""
    spec = shared_spec()
    root = tmp_path / "root"
    ((X_test, y_test),) = load_idx_dataset(spec, root, progress=False, splits=("test",))
    assert X_test.shape == (10000, 784) and np.bincount(y_test).tolist() == MNIST_TEST_COUNTS
    assert sorted(p.name for p in root.iterdir()) == sorted(FOUR[2:])  # no training files
    with pytest.raises(ValueError, match="splits must be 'train' and/or 'test', got"):
        load_idx_dataset(spec, root, splits=("validation",))
