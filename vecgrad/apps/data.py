"""Data for vecgrad: MNIST and Fashion-MNIST loaders and a minibatch `DataLoader`.

    (X_train, y_train), (X_test, y_test) = load_mnist()      # float32 (n, 784), int64 (n,)
    for X, y in DataLoader(X_train, y_train, 64, shuffle=True, rng=np.random.default_rng(0)):
        ...                                                  # numpy arrays, one batch each

The loaders look for the four standard IDX files (gzipped or not) in ``root`` if given,
else in the cache (``$VECGRAD_DATA/<dataset>``, or ``~/.cache/vecgrad/<dataset>``) and the
places a system package installs them; missing files are downloaded from the mirrors,
checked against their published SHA-256 (see `vecgrad.apps.download`).
This module yields numpy arrays only: wrapping them in Tensors is the training code's job.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vecgrad.apps.download import (
    DownloadError,
    cache_dir,
    download,
    download_file,
    remove_stale_parts,
    sha256_of,
)
from vecgrad.apps.idx import IDXFormatError, parse_idx, read_idx

__all__ = [
    "DataLoader",
    "DatasetSpec",
    "DownloadError",
    "FASHION_MNIST",
    "IDXFormatError",
    "MNIST",
    "MissingFilesError",
    "WrongDatasetError",
    "cache_dir",
    "content_sha256",
    "download",
    "download_file",
    "load_fashion_mnist",
    "load_mnist",
    "parse_idx",
    "read_idx",
    "sha256_of",
]


@dataclass(frozen=True)
class DatasetSpec:
    """Where a four-file IDX dataset comes from and how to check it."""

    name: str  # the cache subfolder
    title: str  # for messages
    files: dict[str, str]  # file name → SHA-256: train images, train labels, test images, labels
    sizes: dict[str, int]  # file name → bytes of the published file (caps a download)
    mirrors: tuple[str, ...]  # base URLs, tried in order
    system_dirs: tuple[Path, ...] = ()  # where an OS package may already have installed it
    classes: int = 10
    image_shape: tuple[int, ...] = (28, 28)
    # file name → SHA-256 of the *uncompressed* file (``zcat FILE | sha256sum``), for the
    # files whose content is known: they tell one dataset's files from another's however
    # they were gzipped. A file matching none (a subset, your own data) is not judged.
    contents: dict[str, str] = field(default_factory=dict)


# SHA-256 of the original gzipped files, as pinned by TensorFlow Datasets in
# tensorflow/datasets, tensorflow_datasets/url_checksums/mnist.txt (sizes 9912422, 28881,
# 1648877, 4542 bytes). The two t10k hashes are also verified here against the copies in
# ../shared/data/mnist-5k/ (byte-identical to the originals; tests/vecgrad/test_data.py checks it).
# Mirrors: the two torchvision falls back on today (its own S3 copy and Google's CVDF
# copy that TFDS uses), then the original site, which now often refuses downloads.
MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    files={
        "train-images-idx3-ubyte.gz": (
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
        ),
        "train-labels-idx1-ubyte.gz": (
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
        ),
        "t10k-images-idx3-ubyte.gz": (
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
        ),
    },
    # The uncompressed official test files (the shared copies are byte-identical); the
    # full training files' content is not pinned here (only their gzipped SHA-256 above).
    contents={
        "t10k-images-idx3-ubyte.gz": (
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
        ),
    },
    sizes={
        "train-images-idx3-ubyte.gz": 9912422,
        "train-labels-idx1-ubyte.gz": 28881,
        "t10k-images-idx3-ubyte.gz": 1648877,
        "t10k-labels-idx1-ubyte.gz": 4542,
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
)

# SHA-256 of the original gzipped files, as pinned by TensorFlow Datasets in
# tensorflow/datasets, tensorflow_datasets/url_checksums/fashion_mnist.txt (sizes 26421880,
# 29515, 4422102, 5148 bytes; torchvision pins the same files by MD5). Debian's
# dataset-fashion-mnist package ships the same images re-gzipped (23 bytes shorter: no
# file name in the gzip header), so its hashes differ; the loader reads it without a
# hash check, as it does any file already on disk.
FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    files={
        "train-images-idx3-ubyte.gz": (
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
        ),
        "train-labels-idx1-ubyte.gz": (
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
        ),
        "t10k-images-idx3-ubyte.gz": (
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
        ),
    },
    # Uncompressed, as read from Debian's package (sizes 47040016, 60008, 7840016, 10008).
    contents={
        "train-images-idx3-ubyte.gz": (
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
        ),
        "train-labels-idx1-ubyte.gz": (
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
        ),
        "t10k-images-idx3-ubyte.gz": (
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
        ),
    },
    sizes={
        "train-images-idx3-ubyte.gz": 26421880,
        "train-labels-idx1-ubyte.gz": 29515,
        "t10k-images-idx3-ubyte.gz": 4422102,
        "t10k-labels-idx1-ubyte.gz": 5148,
    },
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    system_dirs=(Path("/usr/share/datasets/fashion-mnist"),),  # Debian: dataset-fashion-mnist
)

SPECS = (MNIST, FASHION_MNIST)

Split = tuple[np.ndarray, np.ndarray]


class MissingFilesError(FileNotFoundError):
    """Some of a dataset's files are in none of the places searched (and no download)."""

    def __init__(self, message: str, spec: DatasetSpec, directory: Path, missing: list[str]):
        super().__init__(message)
        self.spec, self.directory, self.missing = spec, directory, missing


class WrongDatasetError(ValueError):
    """A file whose content is another dataset's (MNIST files asked to be Fashion-MNIST)."""

    def __init__(self, message: str, found: str = ""):
        super().__init__(message)
        self.found = found  # the name of the dataset the files are


def load_mnist(
    root: str | os.PathLike | None = None,
    download: bool = True,
    *,
    normalize: bool = True,
    flatten: bool = True,
    mirrors: Sequence[str] | None = None,
    progress: bool = True,
    timeout: float = 30.0,
    splits: Sequence[str] = ("train", "test"),
) -> tuple[Split, ...]:
    """Return MNIST as ``(X_train, y_train), (X_test, y_test)`` numpy arrays.

    By default images are float32 in [0, 1] (pixel / 255), flattened to (n, 784), the
    form a dense network takes; ``normalize=False, flatten=False`` gives the stored
    uint8 (n, 28, 28). Labels are int64 in 0..9.
    ``root``: a directory holding the four files (``train-images-idx3-ubyte.gz``,
    ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
    ``t10k-labels-idx1-ubyte.gz``, gzipped or not); missing files are downloaded into it.
    Without ``root``, the cache ``$VECGRAD_DATA/mnist`` (or ``~/.cache/vecgrad/mnist``).
    ``download=False`` raises FileNotFoundError instead of downloading;
    ``mirrors`` overrides the mirror list (a proxy or a local copy).
    ``splits=("test",)`` returns ``((X_test, y_test),)`` and needs (or downloads) only the
    two test files.
    """
    return load_idx_dataset(
        MNIST,
        root,
        download,
        normalize=normalize,
        flatten=flatten,
        mirrors=mirrors,
        progress=progress,
        timeout=timeout,
        splits=splits,
    )


def load_fashion_mnist(
    root: str | os.PathLike | None = None,
    download: bool = True,
    *,
    normalize: bool = True,
    flatten: bool = True,
    mirrors: Sequence[str] | None = None,
    progress: bool = True,
    timeout: float = 30.0,
    splits: Sequence[str] = ("train", "test"),
) -> tuple[Split, ...]:
    """Return Fashion-MNIST as ``(X_train, y_train), (X_test, y_test)`` numpy arrays.

    Same files, shapes and arguments as `load_mnist` (60,000 + 10,000 images of 10
    clothing classes). Without ``root`` it looks in ``$VECGRAD_DATA/fashion-mnist`` (or
    ``~/.cache/vecgrad/fashion-mnist``), then in /usr/share/datasets/fashion-mnist
    (Debian's ``dataset-fashion-mnist``), before downloading into the cache.
    """
    return load_idx_dataset(
        FASHION_MNIST,
        root,
        download,
        normalize=normalize,
        flatten=flatten,
        mirrors=mirrors,
        progress=progress,
        timeout=timeout,
        splits=splits,
    )


def load_idx_dataset(
    spec: DatasetSpec,
    root: str | os.PathLike | None = None,
    download: bool = True,
    *,
    normalize: bool = True,
    flatten: bool = True,
    mirrors: Sequence[str] | None = None,
    progress: bool = True,
    timeout: float = 30.0,
    splits: Sequence[str] = ("train", "test"),
) -> tuple[Split, ...]:
    """Return ``(X_train, y_train), (X_test, y_test)`` of the four-file IDX dataset ``spec``.

    The engine behind `load_mnist` and `load_fashion_mnist`; see them for the arguments.
    ``splits`` picks which (and in which order): only their files are needed.
    """
    names = list(spec.files)  # train images, train labels, test images, test labels
    pairs = {"train": names[0:2], "test": names[2:4]}
    unknown = [split for split in splits if split not in pairs]
    if unknown or not splits:
        raise ValueError(f"{spec.title}: splits must be 'train' and/or 'test', got {splits!r}")
    wanted = [name for split in splits for name in pairs[split]]
    paths = _locate(spec, root, download, mirrors, progress, timeout, wanted)
    cache = cache_dir(spec.name) if root is None else None

    def read(path: Path, ndim: int) -> np.ndarray:
        return _read_or_refetch(spec, path, ndim, cache, download, mirrors, progress, timeout)

    loaded = []
    for split in splits:
        images_path, labels_path = (paths[name] for name in pairs[split])
        images = read(images_path, 3)
        labels = read(labels_path, 1)
        _check_split(spec, images, labels, images_path, labels_path)
        _check_identity(spec, images_path, images)
        _check_identity(spec, labels_path, labels)
        if flatten:
            images = images.reshape(len(images), -1)
        if normalize:
            images = images.astype(np.float32) / np.float32(255)
        loaded.append((images, labels.astype(np.int64)))
    return tuple(loaded)


def _read_or_refetch(spec, path, ndim, cache, allow_download, mirrors, progress, timeout):
    """Return ``read_idx(path, ndim)``; a damaged download in the cache is fetched again.

    A file that fails to read and whose SHA-256 is not the published one is a damaged
    copy (a download cut short by a full disk, a copy by hand): in the cache, with
    downloads allowed, it is replaced from the mirrors and read again; elsewhere the
    error says so and what to do. A file that reads well is never hashed: a subset or
    your own data in the cache stays yours.
    """
    try:
        return read_idx(path, ndim=ndim)
    except IDXFormatError as error:
        name, published = path.name, spec.files.get(path.name)
        if published is None or sha256_of(path) == published:
            raise  # not a download, or the published file itself: the message says it all
        in_cache = cache is not None and path.parent == cache
        if not (in_cache and allow_download):
            where = "downloaded into the cache" if in_cache else "published"
            raise IDXFormatError(
                f"{error}; its SHA-256 is not that of the {where} {spec.title} file: a "
                "damaged copy: delete it and download it again"
            ) from None
    print(
        f"{path}: damaged (its SHA-256 is not the published file's); downloading it again",
        file=sys.stderr,
    )
    path.unlink()
    download_file(
        name,
        published,
        mirrors if mirrors is not None else spec.mirrors,
        cache,
        size=spec.sizes.get(name),
        timeout=timeout,
        progress=progress,
    )
    return read_idx(path, ndim=ndim)


def _find(directory: Path, name: str) -> Path | None:
    """Return ``directory/name`` or its uncompressed twin (no ``.gz``), whichever exists."""
    for candidate in (directory / name, directory / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def _locate(spec, root, allow_download, mirrors, progress, timeout, names) -> dict[str, Path]:
    """Return the path of each of ``names`` (files of ``spec``), downloading the missing ones
    if allowed."""
    target = Path(root).expanduser() if root is not None else cache_dir(spec.name)
    searched = [target] if root is not None else [target, *spec.system_dirs]
    if allow_download and target.is_dir():  # the directory downloads go to: tidy it
        for name in spec.files:
            remove_stale_parts(target, name)  # .part files of killed downloads
    for directory in searched:
        found = {name: _find(directory, name) for name in names}
        if all(found.values()):
            return found
    # Complete the target directory; another directory's partial set is not mixed in.
    found = {name: _find(target, name) for name in names}
    missing = [name for name, path in found.items() if path is None]
    where = " or ".join(str(d) for d in searched)
    if not allow_download:
        raise MissingFilesError(
            f"{spec.title}: {len(missing)} of the {len(names)} files missing from "
            f"{target}: {', '.join(missing)} (gzipped, or uncompressed without .gz). "
            f"Looked in {where}. Put them there, pass root= a directory that holds them, "
            "or pass download=True.",
            spec,
            target,
            missing,
        )
    try:
        fetched = download(
            {name: spec.files[name] for name in missing},
            mirrors if mirrors is not None else spec.mirrors,
            target,
            sizes=spec.sizes,
            timeout=timeout,
            progress=progress,
        )
    except DownloadError as error:
        raise DownloadError(
            f"{spec.title}: {error}\n(The loader looks in {where}; files may also be "
            "uncompressed, without .gz. Or pass root= a directory that holds all four.)"
        ) from None
    return {name: found[name] or fetched[name] for name in names}


def _canonical(name: str) -> str:
    """The spec's name of a file found as ``name`` (with or without ``.gz``)."""
    return name if name.endswith(".gz") else name + ".gz"


def content_sha256(array: np.ndarray) -> str:
    """Return the SHA-256 of the uncompressed IDX file that stores the uint8 ``array``.

    The same digest as ``zcat FILE | sha256sum``, however the file was compressed.
    """
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    digest = hashlib.sha256(header)
    digest.update(np.ascontiguousarray(array, dtype=np.uint8).data)
    return digest.hexdigest()


def _check_identity(spec: DatasetSpec, path: Path, array: np.ndarray) -> None:
    """Raise `WrongDatasetError` if ``path``'s content is known to be another dataset's."""
    name = _canonical(path.name)
    others = [other for other in SPECS if other.name != spec.name and name in other.contents]
    if not others:
        return
    digest = content_sha256(array)
    if digest == spec.contents.get(name):
        return
    for other in others:
        if digest == other.contents[name]:
            raise WrongDatasetError(
                f"{spec.title}: {path} is {other.title}'s {name.removesuffix('.gz')} "
                f"(its uncompressed content matches the known file), not {spec.title}'s: "
                f"that directory holds {other.title}, not {spec.title}",
                other.name,
            )


def _check_split(spec, images, labels, images_path, labels_path) -> None:
    """Raise IDXFormatError unless ``images`` and ``labels`` make one consistent split."""
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise IDXFormatError(
            f"{spec.title}: expected uint8 images and labels, {images_path} holds "
            f"{images.dtype} and {labels_path} holds {labels.dtype}"
        )
    if len(images) == 0:
        raise IDXFormatError(f"{spec.title}: {images_path} holds no images (its header says 0)")
    if images.shape[1:] != spec.image_shape:
        want = "×".join(map(str, spec.image_shape))
        raise IDXFormatError(
            f"{spec.title}: {images_path} holds {'×'.join(map(str, images.shape[1:]))} "
            f"images; {spec.title}'s are {want}"
        )
    if len(images) != len(labels):
        raise IDXFormatError(
            f"{spec.title}: {images_path} has {len(images)} images but {labels_path} has "
            f"{len(labels)} labels"
        )
    if labels.size and labels.max() >= spec.classes:
        raise IDXFormatError(
            f"{spec.title}: {labels_path} holds label {labels.max()}; "
            f"expected 0..{spec.classes - 1}"
        )


class DataLoader:
    """Minibatches ``(X[i:j], y[i:j])`` of numpy arrays, one pass over the data per epoch.

    ``len(loader)`` is the number of batches: ⌈n / batch_size⌉, or ⌊n / batch_size⌋ with
    ``drop_last=True`` (which skips a short last batch). With ``shuffle=True`` every
    iteration (epoch) draws a new order from ``rng``, a ``numpy.random.Generator`` (or an
    int seed): the same seed gives the same sequence of epochs.
    """

    def __init__(
        self,
        X,
        y,
        batch_size: int,
        shuffle: bool = False,
        rng: np.random.Generator | int | None = None,
        drop_last: bool = False,
    ) -> None:
        X, y = np.asarray(X), np.asarray(y)
        if X.ndim == 0 or y.ndim == 0:
            raise ValueError(
                f"DataLoader: X and y need a first (sample) axis; got shapes {X.shape} "
                f"and {y.shape}"
            )
        if len(X) != len(y):
            raise ValueError(
                f"DataLoader: X has {len(X)} samples (shape {X.shape}) but y has {len(y)} "
                f"(shape {y.shape})"
            )
        # bool is an int subclass: DataLoader(X, y, True) is a mistake, not batch size 1.
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
            raise TypeError(f"DataLoader: batch_size must be an int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be at least 1, got {batch_size}")
        if rng is None:
            rng = np.random.default_rng()  # unseeded: a different order every run
        elif isinstance(rng, int | np.integer) and not isinstance(rng, bool):
            rng = np.random.default_rng(rng)
        elif not isinstance(rng, np.random.Generator):
            raise TypeError(
                "DataLoader: rng must be a numpy.random.Generator (np.random.default_rng(seed))"
                f", an int seed or None, got {type(rng).__name__}"
            )
        self.X, self.y = X, y
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.rng = rng
        self.drop_last = bool(drop_last)

    def __len__(self) -> int:
        """Return the number of batches per epoch."""
        n = len(self.X)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(X_batch, y_batch)`` for one epoch, reshuffled first if ``shuffle``."""
        n, size = len(self.X), self.batch_size
        order = self.rng.permutation(n) if self.shuffle else None
        for start in range(0, len(self) * size, size):
            stop = min(start + size, n)
            if order is None:
                yield self.X[start:stop], self.y[start:stop]  # views: no copy
            else:
                index = order[start:stop]
                yield self.X[index], self.y[index]
