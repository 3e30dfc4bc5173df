"""Pictures of a training run: curves, confusion matrix, mistakes, first-layer weights.

Each function draws one PNG and returns its path. They use matplotlib's object API on a
fresh ``Figure`` (Agg, no pyplot), so no window opens and no figure stays alive after a
call: safe in scripts, tests and a long sweep.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure


def plot_loss(history: Sequence[dict], path: Path) -> Path:
    """Draw the training loss per epoch; return ``path``."""
    epochs = [h["epoch"] for h in history]
    fig = Figure(figsize=(5, 3.5))
    ax = fig.add_subplot()
    ax.plot(epochs, [h["train_loss"] for h in history], marker="o", label="train (cross-entropy)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("Training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_accuracy(history: Sequence[dict], path: Path) -> Path:
    """Draw train and test accuracy per epoch (in %); return ``path``."""
    epochs = [h["epoch"] for h in history]
    fig = Figure(figsize=(5, 3.5))
    ax = fig.add_subplot()
    ax.plot(epochs, [100 * h["train_accuracy"] for h in history], marker="o", label="train")
    ax.plot(epochs, [100 * h["test_accuracy"] for h in history], marker="s", label="test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Accuracy")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


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
    fig = Figure(figsize=(6.5, 5.5))
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
    return _save(fig, path)


def plot_misclassified(
    images: np.ndarray,
    labels: np.ndarray,
    predictions: np.ndarray,
    class_names: Sequence[str],
    path: Path,
    count: int = 36,
) -> Path:
    """Draw a grid of the first ``count`` misclassified test images, titled true → predicted."""
    wrong = np.flatnonzero(labels != predictions)[:count]
    side = max(1, math.ceil(math.sqrt(len(wrong))))
    fig = Figure(figsize=(1.4 * side, 1.6 * side + 0.4))
    fig.suptitle(
        f"{int((labels != predictions).sum())} misclassified test images (true → predicted)"
    )
    for n, i in enumerate(wrong):
        ax = fig.add_subplot(side, side, n + 1)
        ax.imshow(_as_square(images[i]), cmap="gray_r")
        ax.set_title(f"{class_names[labels[i]]} → {class_names[predictions[i]]}", fontsize=8)
        ax.axis("off")
    if not len(wrong):
        fig.text(0.5, 0.5, "no mistakes", ha="center")
    return _save(fig, path)


def plot_first_layer(weights: np.ndarray, path: Path, units: int = 100) -> Path:
    """Draw the first layer's weights, one image per unit (column of W:(784, h)); return path.

    Each unit's 784 weights shown as a 28×28 picture, red positive, blue negative, on one
    colour scale per unit: the strokes a unit responds to.
    """
    columns = weights.shape[1]
    shown = min(units, columns)
    side = math.ceil(math.sqrt(shown))
    fig = Figure(figsize=(1.0 * side, 1.0 * side + 0.4))
    fig.suptitle(f"First-layer weights ({shown} of {columns} units)")
    for unit in range(shown):
        w = weights[:, unit]
        scale = np.abs(w).max() or 1.0
        ax = fig.add_subplot(side, side, unit + 1)
        ax.imshow(_as_square(w), cmap="RdBu_r", vmin=-scale, vmax=scale)
        ax.axis("off")
    return _save(fig, path)


def _as_square(row: np.ndarray) -> np.ndarray:
    """A flattened image (784,) as its square (28, 28)."""
    side = math.isqrt(row.size)
    if side * side != row.size:
        raise ValueError(f"plots: cannot show {row.size} values as a square image")
    return row.reshape(side, side)


def _save(fig: Figure, path: Path) -> Path:
    path = Path(path)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


__all__ = [
    "confusion_matrix",
    "plot_accuracy",
    "plot_confusion_matrix",
    "plot_first_layer",
    "plot_loss",
    "plot_misclassified",
]
