"""The sweep's table and plot: test accuracy against λ, beside the course's numbers.

`summarize` turns the finished runs into one `Row` per λ (mean and sample std over the
seeds, in seed order, so the numbers do not depend on the order runs finished in);
`markdown_table` and `plot_sweep` show them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scalargrad.files import atomic_write

# The course's MNIST table: test accuracy (%) of its MLP, each the mean of 50 runs
# (full MNIST, 60,000 training images, 10 epochs, batch 100, SGD lr 0.1).
COURSE_MNIST = {
    0.0: 97.23,
    1e-7: 97.17,
    1e-6: 97.26,
    1e-5: 97.24,
    1e-4: 97.21,
    1e-3: 96.74,
    1e-2: 90.81,
}
DATASET_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


@dataclass(frozen=True)
class Row:
    """One λ of the table: test accuracy over its seeds, in %."""

    l2: float
    runs: int  # successful runs
    mean: float  # mean test accuracy (%); nan without runs
    std: float  # sample standard deviation (n − 1) of the test accuracy (%); nan if runs < 2


def summarize(records: Iterable[dict], l2s: Iterable[float]) -> list[Row]:
    """Return one Row per λ (ascending) from the successful records, seeds in order.

    The records are sorted by seed first, so the sums, and the table, do not depend on
    the order in which runs finished.
    """
    by_l2: dict[float, list[tuple[int, float]]] = {float(x): [] for x in l2s}
    for record in records:
        if record["status"] == "ok" and float(record["l2"]) in by_l2:
            by_l2[float(record["l2"])].append((record["seed"], 100 * record["test_accuracy"]))
    rows = []
    for l2 in sorted(by_l2):
        values = [accuracy for _, accuracy in sorted(by_l2[l2])]
        mean = statistics.fmean(values) if values else math.nan
        std = statistics.stdev(values) if len(values) >= 2 else math.nan
        rows.append(Row(l2, len(values), mean, std))
    return rows


def format_l2(l2: float) -> str:
    """Return λ as the course writes it: 0, 1e-7, ..., 1e-2 (else the shortest form)."""
    if l2 == 0:
        return "0"
    short = f"{l2:.0e}"
    if float(short) == l2:  # one significant digit: 1e-07 → 1e-7
        mantissa, exponent = short.split("e")
        return f"{mantissa}e{int(exponent)}"
    return repr(l2)


def markdown_table(rows: Sequence[Row], dataset: str, course: bool | None = None) -> str:
    """Return the table in Markdown: λ | mean ± std test accuracy | runs (| course's MNIST).

    ``course`` adds the course's column (its MLP on MNIST); None: when the dataset is MNIST.
    """
    course = dataset == "mnist" if course is None else course
    header = "| λ (L2) | test accuracy (%), mean ± std | runs |"
    rule = "| ---: | ---: | ---: |"
    if course:
        header += " course: full MNIST, 50 runs (%) |"
        rule += " ---: |"
    lines = [header, rule]
    for row in rows:
        if row.runs == 0:
            accuracy = "—"
        elif math.isnan(row.std):
            accuracy = f"{row.mean:.2f}"
        else:
            accuracy = f"{row.mean:.2f} ± {row.std:.2f}"
        line = f"| {format_l2(row.l2)} | {accuracy} | {row.runs} |"
        if course:
            reference = COURSE_MNIST.get(row.l2)
            line += f" {reference:.2f} |" if reference is not None else " — |"
        lines.append(line)
    return "\n".join(lines) + "\n"


def zero_position(l2s: Sequence[float]) -> float:
    """Return where λ = 0 is drawn on the log axis: one decade below the smallest λ > 0."""
    positive = [x for x in l2s if x > 0]
    return min(positive) / 10 if positive else 1.0


def sweep_figure(
    rows: Sequence[Row], dataset: str, train_images: int | None = None, course: bool | None = None
):
    """Return the matplotlib Figure of mean test accuracy against λ (log axis, ± std bars).

    log 0 is undefined, so λ = 0 is drawn one decade left of the smallest λ > 0, labelled
    "0", with a // break on the axis between it and the rest. The legend sits below the
    axes, where it covers no line, and names the data by its size (the 5k subset is not
    the course's 60,000 images).
    """
    from matplotlib.figure import Figure

    rows = [row for row in rows if row.runs]
    l2s = [row.l2 for row in rows]
    zero_x = zero_position(l2s)

    def x_of(l2: float) -> float:
        return l2 if l2 > 0 else zero_x

    name = DATASET_NAMES.get(dataset, dataset)
    data = name if train_images is None else f"{name}, {train_images:,} training images"
    fig = Figure(figsize=(6, 4.8), layout="constrained")
    ax = fig.add_subplot()
    ax.errorbar(
        [x_of(row.l2) for row in rows],
        [row.mean for row in rows],
        yerr=[0 if math.isnan(row.std) else row.std for row in rows],
        marker="o",
        capsize=3,
        label=f"vecgrad: {data} (mean ± std over seeds)",
    )
    if dataset == "mnist" if course is None else course:
        course = [(x_of(l2), COURSE_MNIST[l2]) for l2 in l2s if l2 in COURSE_MNIST]
        if course:
            label = "course: full MNIST, 60,000 training images (mean of 50 runs)"
            ax.plot(*zip(*course), "s--", color="gray", label=label)
    ax.set_xscale("log")
    if 0.0 in l2s:
        positive = sorted(x for x in l2s if x > 0)
        ax.set_xticks([zero_x, *positive], ["0", *(format_l2(x) for x in positive)])
        ax.minorticks_off()
        if positive:  # the break: the axis is not continuous between "0" and the rest
            ax.text(
                math.sqrt(zero_x * positive[0]),
                0,
                "//",
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="center",
                fontsize=12,
                backgroundcolor="white",
            )
    ax.set_xlabel("L2 weight λ (log scale; λ = 0 drawn one decade left of the rest)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"Test accuracy against λ ({name})")
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center")
    return fig


def plot_sweep(
    rows: Sequence[Row],
    path: Path,
    dataset: str,
    train_images: int | None = None,
    course: bool | None = None,
) -> Path:
    """Write `sweep_figure` as a PNG to ``path`` (atomically); return ``path``."""
    figure = sweep_figure(rows, dataset, train_images, course=course)
    with atomic_write(path) as file:
        figure.savefig(file, format="png", dpi=100, bbox_inches="tight")
    return Path(path)
