"""Pictures of a training run: curves, confusion matrix, mistakes, first-layer weights.

Each function draws one PNG (written atomically) and returns its path. They use
matplotlib's object API on a fresh ``Figure`` (Agg, no pyplot), so no window opens and no
figure stays alive after a call: safe in scripts, tests and a long sweep.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from scalargrad.files import atomic_write


def plot_loss(history: Sequence[dict], path: Path) -> Path:
    """Draw the training loss per epoch; return ``path``."""
    epochs = [h["epoch"] for h in history]
    fig = Figure(figsize=(5, 3.5), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(epochs, [h["train_loss"] for h in history], marker="o")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax.set_title("Training loss (mean over each epoch's batches)", fontsize=10)
    ax.grid(alpha=0.3)
    return save_png(fig, path)


def plot_accuracy(history: Sequence[dict], path: Path) -> Path:
    """Draw train and test accuracy per epoch (in %), both measured at the epoch's end."""
    epochs = [h["epoch"] for h in history]
    fig = Figure(figsize=(5, 3.5), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(epochs, [100 * h["train_accuracy"] for h in history], marker="o", label="train")
    ax.plot(epochs, [100 * h["test_accuracy"] for h in history], marker="s", label="test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Accuracy at the end of each epoch")
    ax.grid(alpha=0.3)
    ax.legend()
    return save_png(fig, path)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int) -> np.ndarray:
    """Return the (classes, classes) count matrix: row = true class, column = predicted."""
    pairs = np.asarray(labels, np.int64) * classes + np.asarray(predictions, np.int64)
    return np.bincount(pairs, minlength=classes * classes).reshape(classes, classes)


def plot_confusion_matrix(
    labels: np.ndarray, predictions: np.ndarray, class_names: Sequence[str], path: Path
) -> Path:
    """Draw the test set's confusion matrix with counts in the cells; return ``path``."""
    k = len(class_names)
    counts = confusion_matrix(labels, predictions, k)
    fig = Figure(figsize=(6.5, 5.5), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(k), class_names, rotation=45 if max(map(len, class_names)) > 2 else 0)
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(f"Confusion matrix (test accuracy {accuracy:.2%})")
    dark = counts > counts.max() / 2  # white text on dark cells
    for i in range(k):
        for j in range(k):
            if counts[i, j]:
                color = "white" if dark[i, j] else "black"
                ax.text(j, i, counts[i, j], ha="center", va="center", fontsize=7, color=color)
    return save_png(fig, path)


def plot_misclassified(
    images: np.ndarray,
    labels: np.ndarray,
    predictions: np.ndarray,
    class_names: Sequence[str],
    path: Path,
    count: int = 36,
) -> Path:
    """Draw a grid of the first ``count`` misclassified test images, titled true → predicted.

    One mosaic image with the captions as text: a subplot per image cost 1–2 s.
    """
    wrong = np.flatnonzero(labels != predictions)[:count]
    side = max(1, math.ceil(math.sqrt(len(wrong))))
    rows = max(1, math.ceil(len(wrong) / side))
    tiles = [_as_square(images[i]) for i in wrong]
    height, width = tiles[0].shape if tiles else (28, 28)
    # Digits fit "5 → 6" on one line above a tile; "Sneaker → Sandal" takes two.
    two_lines = max(map(len, class_names)) > 3
    band = 17 if two_lines else 10  # pixels of caption above each tile
    mosaic = _mosaic(tiles, rows, side, pad=(band, 2)) if tiles else np.full((28, 28), np.nan)
    inch = 1.1 / (width + 2)  # the figure's inches per mosaic pixel
    title = 0.45  # inches above the mosaic
    size = (mosaic.shape[1] * inch + 0.2, mosaic.shape[0] * inch + title)
    fig = Figure(figsize=size)
    ax = fig.add_axes((0.01, 0.01, 0.98, 1 - title / size[1]))
    ax.imshow(mosaic, cmap="gray_r", interpolation="nearest", vmin=0, vmax=_peak(images))
    ax.axis("off")
    fig.suptitle(
        f"{int((labels != predictions).sum())} misclassified test images (true → predicted)",
        y=1 - 0.08 / size[1],
        va="top",
    )
    for n, i in enumerate(wrong):
        row, column = divmod(n, side)
        separator = "\n→ " if two_lines else " → "
        ax.text(
            column * (width + 2) + width / 2,
            row * (height + band) + band - 1,  # just above the tile, in its band
            f"{class_names[labels[i]]}{separator}{class_names[predictions[i]]}",
            ha="center",
            va="bottom",
            fontsize=7 if two_lines else 8,
            linespacing=1.0,
        )
    if not len(wrong):
        ax.text(14, 14, "no mistakes", ha="center", va="center")
    return save_png(fig, path)


def plot_first_layer(weights: np.ndarray, path: Path, units: int = 100) -> Path:
    """Draw the first layer's weights, one image per unit (column of W:(784, h)); return path.

    Each unit's 784 weights shown as a 28×28 picture, red positive, blue negative, each
    divided by that unit's largest |weight| (the colour bar's scale): the strokes a unit
    responds to. One mosaic image, so the PNG is small and quick to draw.
    """
    columns = weights.shape[1]
    shown = min(units, columns)
    side = math.ceil(math.sqrt(shown))
    rows = math.ceil(shown / side)
    tiles = []
    for unit in range(shown):
        w = weights[:, unit].astype(np.float64)
        tiles.append(_as_square(w / (np.abs(w).max() or 1.0)))
    fig = Figure(figsize=(0.42 * side + 1.3, 0.42 * rows + 0.6), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(
        _mosaic(tiles, rows, side, pad=(2, 2)),
        cmap="RdBu_r",
        vmin=-1,
        vmax=1,
        interpolation="nearest",
    )
    ax.axis("off")
    ax.set_title(f"First-layer weights ({shown} of {columns} units)", fontsize=10)
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03, ticks=[-1, 0, 1])
    bar.ax.set_yticklabels(["−max", "0", "+max"])
    bar.set_label("weight ÷ the unit's largest |weight|", fontsize=8)
    return save_png(fig, path)


def plot_predictions(
    images: np.ndarray,
    probabilities: np.ndarray,
    class_names: Sequence[str],
    titles: Sequence[str],
    path: Path,
) -> Path:
    """Draw each image (as the model saw it) beside a bar chart of its class probabilities."""
    n = len(images)
    fig = Figure(figsize=(6.5, 2.3 * n))
    axes = fig.subplots(n, 2, squeeze=False, gridspec_kw={"width_ratios": [1, 2.2]})
    for (image_ax, bar_ax), image, p, title in zip(axes, images, probabilities, titles):
        image_ax.imshow(np.asarray(image).reshape(28, 28) if image.size == 784 else image,
                        cmap="gray", vmin=0, vmax=1, interpolation="nearest")  # fmt: skip
        image_ax.set_title(title, fontsize=8)
        image_ax.axis("off")
        best = int(np.argmax(p))
        colours = ["tab:orange" if k == best else "tab:blue" for k in range(len(p))]
        bar_ax.barh(range(len(p)), 100 * p, color=colours)
        bar_ax.set_yticks(range(len(p)), class_names, fontsize=7)
        bar_ax.invert_yaxis()
        bar_ax.set_xlim(0, 100)
        bar_ax.set_xlabel("probability (%)", fontsize=8)
        bar_ax.set_title(f"predicted: {class_names[best]} ({p[best]:.1%})", fontsize=9)
        bar_ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return save_png(fig, path)


def _mosaic(tiles: Sequence[np.ndarray], rows: int, columns: int, pad: tuple[int, int]):
    """Tiles in a rows × columns grid, ``pad`` = (above, between) pixels of NaN (blank)."""
    height, width = tiles[0].shape
    above, between = pad
    mosaic = np.full((rows * (height + above), columns * (width + between) - between), np.nan)
    for n, tile in enumerate(tiles):
        row, column = divmod(n, columns)
        top, left = row * (height + above) + above, column * (width + between)
        mosaic[top : top + height, left : left + width] = tile
    return mosaic


def _peak(images: np.ndarray) -> float:
    """The brightest value to expect: 1 for [0, 1] floats, 255 for uint8."""
    return 255.0 if np.asarray(images).dtype == np.uint8 else 1.0


def _as_square(row: np.ndarray) -> np.ndarray:
    """A flattened image (784,) as its square (28, 28)."""
    side = math.isqrt(row.size)
    if side * side != row.size:
        raise ValueError(f"plots: cannot show {row.size} values as a square image")
    return row.reshape(side, side)


def save_png(fig: Figure, path: Path, tight: bool = False) -> Path:
    """Write ``fig`` as a PNG, atomically: a kill mid-write leaves no truncated file (see
    `scalargrad.files.atomic_write`); return ``path``. These figures lay themselves out;
    ``tight`` trims the margins to the drawing (the CNN plots' grids)."""
    path = Path(path)
    with atomic_write(path) as file:
        fig.savefig(file, format="png", dpi=100, bbox_inches="tight" if tight else None)
    return path


__all__ = [
    "confusion_matrix",
    "plot_accuracy",
    "plot_confusion_matrix",
    "plot_first_layer",
    "plot_loss",
    "plot_misclassified",
    "plot_predictions",
]
