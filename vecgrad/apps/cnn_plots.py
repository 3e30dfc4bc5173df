"""Pictures of a convolutional network: its first-layer kernels and one image's feature maps.

    plot_kernels(model[0].weight.data, "kernels.png")          # (C_out, C_in, kH, kW)
    plot_feature_maps(model, X_test[0], "feature_maps.png", label="7")
    write_cnn_plots(model, X_test, y_test, out)                 # both, as vecgrad-mnist does

As `vecgrad.apps.plots`: each function draws one PNG on a fresh matplotlib ``Figure`` (Agg,
no pyplot) and returns its path. `feature_maps` gives the numbers behind the second picture.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .. import nn
from ..grad_mode import no_grad
from ..tensor import Tensor
from .plots import save_png

_ACTIVATIONS = (nn.ReLU, nn.Sigmoid, nn.Tanh)


def plot_kernels(weights: np.ndarray, path: Path, title: str | None = None) -> Path:
    """Draw every kernel of a convolution's weight (C_out, C_in, kH, kW); return ``path``.

    One row per input channel, one column per output channel, on one colour scale
    symmetric about 0 (red positive, blue negative), with its key: so the kernels can be
    compared with each other, not only within themselves.
    """
    weights = np.asarray(weights)
    if weights.ndim != 4:
        raise ValueError(
            f"plot_kernels: expected a convolution weight (C_out, C_in, kH, kW), got shape "
            f"{weights.shape}"
        )
    out_channels, in_channels, kH, kW = weights.shape
    scale = float(np.abs(weights).max()) or 1.0
    fig = Figure(figsize=(1.3 * out_channels + 1.2, 1.4 * in_channels + 0.8))
    axes = fig.subplots(in_channels, out_channels, squeeze=False)
    for c in range(in_channels):
        for o in range(out_channels):
            ax = axes[c, o]
            shown = ax.imshow(weights[o, c], cmap="RdBu_r", vmin=-scale, vmax=scale)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_title(f"kernel {o}", fontsize=9)
            if o == 0 and in_channels > 1:
                ax.set_ylabel(f"input {c}", fontsize=9)
    fig.colorbar(shown, ax=axes, fraction=0.03, pad=0.02, label="weight")
    fig.suptitle(title or f"First-layer kernels ({out_channels} of {kH}×{kW})")
    return save_png(fig, path, tight=True)


def feature_maps(model: nn.Sequential, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Return what each convolution of ``model`` makes of one image: a list of
    ``(name, maps)`` with maps (C_out, oH, oW), taken after the convolution's activation
    when one follows it (the maps the next layer reads), in eval mode and without a graph.

    ``image`` is one example in any layout of its numbers: (784,), (28, 28) or (1, 28, 28)
    for LeNet (it is reshaped to the first convolution's channels).
    """
    layers = list(model)
    convs = [i for i, layer in enumerate(layers) if isinstance(layer, nn.Conv2d)]
    if not convs:
        raise ValueError("feature_maps: the model has no Conv2d layer")
    channels = layers[convs[0]].in_channels
    image = np.asarray(image, dtype=layers[convs[0]].weight.data.dtype)
    side = math.isqrt(image.size // channels)
    if channels * side * side != image.size:
        raise ValueError(
            f"feature_maps: an image of {image.size} values is not {channels} square channel(s)"
        )
    was_training = model.training
    model.eval()
    outputs = []  # every layer's output for this image
    try:
        with no_grad():
            x = Tensor(image.reshape(1, channels, side, side))
            for layer in layers:
                x = layer(x)
                outputs.append(x.data[0])
    finally:
        model.train(was_training)
    maps = []
    for n, i in enumerate(convs, start=1):
        activated = i + 1 < len(layers) and isinstance(layers[i + 1], _ACTIVATIONS)
        name = f"conv {n}" + (f" + {type(layers[i + 1]).__name__}" if activated else "")
        maps.append((name, outputs[i + 1] if activated else outputs[i]))
    return maps


def plot_feature_maps(
    model: nn.Sequential,
    image: np.ndarray,
    path: Path,
    label: str | None = None,
    columns: int = 8,
) -> Path:
    """Draw one image and every feature map of each convolution (see `feature_maps`);
    return ``path``. Each convolution's maps share one colour scale, with its key.
    """
    maps = feature_maps(model, image)
    image = np.asarray(image)
    side = math.isqrt(image.size)
    rows_per = [math.ceil(len(m) / columns) for _, m in maps]
    fig = Figure(figsize=(1.25 * columns + 1.5, 1.35 * (sum(rows_per) + 1) + 0.8))
    grid = fig.add_gridspec(sum(rows_per) + 1, columns)
    ax = fig.add_subplot(grid[0, 0])
    if side * side == image.size:
        ax.imshow(image.reshape(side, side), cmap="gray_r")
    else:  # several channels: the first
        ax.imshow(image.reshape(-1, *maps[0][1].shape[1:])[0], cmap="gray_r")
    ax.set_title("input" + (f", label {label}" if label is not None else ""), fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    row = 1
    for (name, stack), n_rows in zip(maps, rows_per):
        low, high = float(stack.min()), float(stack.max())
        axes = []
        for c in range(len(stack)):
            ax = fig.add_subplot(grid[row + c // columns, c % columns])
            shown = ax.imshow(
                stack[c], cmap="magma", vmin=low, vmax=high if high > low else low + 1
            )
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"map {c}", fontsize=8)
            axes.append(ax)
        axes[0].set_ylabel(f"{name}\n{stack.shape[1]}×{stack.shape[2]}", fontsize=8)
        fig.colorbar(shown, ax=axes, fraction=0.02, pad=0.01, label="activation")
        row += n_rows
    fig.suptitle("Feature maps of one image after each convolution")
    return save_png(fig, path, tight=True)


def write_cnn_plots(
    model: nn.Sequential,
    images: np.ndarray,
    labels: np.ndarray,
    out: Path,
    class_names=None,
    index: int = 0,
) -> list[Path]:
    """Write ``out``/first_layer_kernels.png and ``out``/feature_maps.png (of ``images[index]``,
    titled with its class) for a trained CNN; return the two paths (what ``vecgrad-mnist
    --model lenet`` adds to the MLP's plots)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    first = next(layer for layer in model if isinstance(layer, nn.Conv2d))
    label = int(labels[index])
    name = str(class_names[label]) if class_names is not None else str(label)
    return [
        plot_kernels(first.weight.data, out / "first_layer_kernels.png"),
        plot_feature_maps(model, images[index], out / "feature_maps.png", label=name),
    ]


__all__ = ["feature_maps", "plot_feature_maps", "plot_kernels", "write_cnn_plots"]
