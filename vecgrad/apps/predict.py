"""``vecgrad-mnist predict``: classify images with a model saved by ``vecgrad-mnist train``.

    vecgrad-mnist predict --model out/mnist/model.npz digit.png
    vecgrad-mnist predict --model out/mnist/model.npz --test-index 7 0 --data-dir DIR --plot p.png

The model is rebuilt from the architecture recorded beside its weights (`load_model`),
never guessed. An image file is read with Pillow; one that is not 28×28 grayscale is
converted and resized, and a dark-on-light drawing is inverted (MNIST's digits are light
on dark); each such change is reported on stderr. Prints the predicted class and the
top-3 probabilities (softmax of the logits); ``--plot`` draws each image beside a bar
chart of all its class probabilities.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..grad_mode import no_grad
from ..tensor import Tensor
from .download import DownloadError
from .models import as_input
from .train_mnist import (
    DATASETS,
    ModelFileError,
    check_output_dir,
    cli_wording,
    data_error_message,
    load_model,
)

TOP = 3  # probabilities printed per image
PLOTTED = 12  # at most this many images in --plot's figure (one row each)


class ImageError(ValueError):
    """An image file that is missing or that Pillow cannot read."""


def load_image(path: str | Path, shape: tuple[int, int] = (28, 28)) -> tuple[np.ndarray, list]:
    """Return ``(pixels, notes)``: float32 ``shape`` in [0, 1], light strokes on dark.

    ``notes`` lists what was changed to get there (grayscale, size, inversion), for the
    user to see; empty for an MNIST-like 28×28 grayscale image.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ImageError(
            f"image {str(path)!r} {'is a directory' if path.is_dir() else 'does not exist'}"
        )
    try:
        with Image.open(path) as image:
            image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ImageError(f"{path}: not an image Pillow can read ({error})") from None
    notes = []
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16/32-bit or float grey
        # convert("L") would clip at 255: scale the image's own range to 0..255 instead.
        values = np.asarray(image, dtype=np.float64)
        if not np.isfinite(values).all():
            bad = int((~np.isfinite(values)).sum())
            raise ImageError(
                f"{path}: {bad} of its {values.size} pixels are NaN or infinite; an image's "
                "pixels must be numbers"
            )
        low, high = float(values.min()), float(values.max())
        values = (values - low) / (high - low or 1.0) * 255
        notes.append(f"scaled {image.mode} values {low:g}..{high:g} to 0..255")
        image = Image.fromarray(values.round().astype(np.uint8), mode="L")
    if image.mode != "L":
        notes.append(f"converted {image.mode} to grayscale")
        if "A" in image.getbands() or "transparency" in image.info:
            # A drawing on a transparent canvas: the canvas becomes white, then grey.
            canvas = Image.new("RGBA", image.size, "white")
            image = Image.alpha_composite(canvas, image.convert("RGBA"))
        image = image.convert("L")
    height, width = shape
    if image.size != (width, height):
        notes.append(f"resized {image.size[0]}×{image.size[1]} to {width}×{height}")
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    pixels = np.asarray(image, dtype=np.float32) / np.float32(255)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if border.mean() > 0.5:  # a light background: MNIST's is black
        pixels = 1 - pixels
        notes.append("inverted it (dark strokes on a light background; MNIST's are light on dark)")
    return pixels, notes


def softmax(logits: np.ndarray) -> np.ndarray:
    """Return softmax over the last axis: exp(z − max z) / Σ exp(z − max z)."""
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def predict_probabilities(model, images: np.ndarray, spec: dict | None = None) -> np.ndarray:
    """Return the (n, classes) class probabilities of ``model`` for ``images`` (n, …);
    ``spec`` (the recorded architecture) reshapes them for a CNN."""
    flat = images.reshape(len(images), -1).astype(np.float32)
    model.eval()
    with no_grad():
        logits = model(Tensor(flat if spec is None else as_input(spec, flat)))
    return softmax(logits.data.astype(np.float64))


def top_k(probabilities: np.ndarray, names: list[str], k: int = TOP) -> str:
    """Return '7 98.12%, 2 1.03%, 3 0.40%': the ``k`` most probable classes."""
    order = np.argsort(-probabilities, kind="stable")[:k]
    return ", ".join(f"{names[i]} {probabilities[i]:.2%}" for i in order)


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags of ``vecgrad-mnist predict``."""
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="image files (PNG, JPEG, …)")
    parser.add_argument(
        "--model",
        type=Path,
        default=Path("out/mnist/model.npz"),
        help="a model saved by vecgrad-mnist train (%(default)s)",
    )
    parser.add_argument(
        "--test-index",
        type=int,
        nargs="+",
        default=[],
        metavar="N",
        help="also classify test-set images by index (0-based), e.g. --test-index 7",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="where the test set's IDX files are, for --test-index (default: the cache)",
    )
    parser.add_argument(
        "--plot", type=Path, metavar="PNG", help="draw each image beside its probabilities"
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no download progress bar (--test-index)"
    )


def run_predict(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``vecgrad-mnist predict``: load the model, classify each image, print, plot."""
    if not args.images and not args.test_index:
        parser.error("nothing to classify: give IMAGE files or --test-index N")
    try:
        model, spec = load_model(args.model)
    except ModelFileError as error:
        parser.error(str(error))
    names = spec["classes"]  # load_model checked: one name per output
    shape = tuple(spec.get("input_shape", (28, 28)))
    if len(shape) != 2:
        parser.error(f"{args.model}: the model reads inputs of shape {shape}, not images")
    if args.plot is not None:
        if args.plot.suffix.lower() != ".png":
            parser.error(f"--plot {args.plot}: the file name must end in .png")
        if args.plot.is_dir():
            parser.error(f"--plot {args.plot}: is a directory; give the PNG file to write")
        try:
            check_output_dir(args.plot.parent, "--plot's directory")
        except ValueError as error:
            parser.error(str(error))

    images, labels, titles = [], [], []
    for path in args.images:
        try:
            pixels, notes = load_image(path, shape)
        except ImageError as error:
            parser.error(str(error))
        if notes:
            print(f"{path}: {', '.join(notes)}", file=sys.stderr)
        images.append(pixels)
        labels.append(None)
        titles.append(str(path))
    if args.test_index:
        X_test, y_test = _test_set(args, parser, spec)
        for index in args.test_index:
            if not 0 <= index < len(X_test):
                parser.error(
                    f"--test-index {index}: the test set has {len(X_test)} images "
                    f"(0 to {len(X_test) - 1})"
                )
            images.append(X_test[index].reshape(shape))
            labels.append(int(y_test[index]))
            titles.append(f"test image {index}")

    probabilities = predict_probabilities(model, np.stack(images), spec)
    for title, label, p in zip(titles, labels, probabilities):
        truth = "" if label is None else f" (true {names[label]})"
        print(f"{title}{truth}: {names[int(p.argmax())]}   top {TOP}: {top_k(p, names)}")
    if args.plot is not None:
        from . import plots

        if len(images) > PLOTTED:
            print(f"--plot: drawing the first {PLOTTED} of {len(images)} images", file=sys.stderr)
        images, probabilities = images[:PLOTTED], probabilities[:PLOTTED]
        labels, titles = labels[:PLOTTED], titles[:PLOTTED]
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        titles = [
            t if lab is None else f"{t} (true {names[lab]})" for t, lab in zip(titles, labels)
        ]
        path = plots.plot_predictions(np.stack(images), probabilities, names, titles, args.plot)
        print(f"wrote {path}")
    return 0


def _test_set(args, parser, spec) -> tuple[np.ndarray, np.ndarray]:
    """The test split of the model's dataset, from --data-dir or the cache."""
    from .train_mnist import Config

    config = Config(data_dir=args.data_dir, dataset=spec["dataset"])
    if spec.get("dataset") not in DATASETS:
        parser.error(
            f"{args.model}: trained on {spec.get('dataset')!r}, which has no test set here"
        )
    load = DATASETS[spec["dataset"]]
    try:
        if args.data_dir is not None and not args.data_dir.is_dir():
            what = "is a file, not a directory" if args.data_dir.exists() else "does not exist"
            raise ValueError(f"--data-dir {args.data_dir} {what} (it should hold the IDX files)")
        if args.data_dir is not None:
            (test,) = load(args.data_dir, download=False, splits=("test",))
        else:  # the cache, else a download of the two test files alone
            (test,) = load(None, download=True, progress=not args.no_progress, splits=("test",))
    except (ValueError, FileNotFoundError) as error:
        parser.error(data_error_message(error, config))
    except DownloadError as error:
        parser.exit(2, f"{parser.prog}: error: {cli_wording(str(error))}\n")
    return test


__all__ = [
    "ImageError",
    "add_predict_arguments",
    "load_image",
    "predict_probabilities",
    "run_predict",
]
