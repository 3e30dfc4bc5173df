"""Train micrograd's demo with scalargrad: a 2-16-16-1 MLP on 100 two-moons points.

Run ``scalargrad-moons`` (or ``python -m scalargrad.apps.train_moons``). It prints the loss and
accuracy as it trains and writes, to ``--out`` (default ``out/moons``): the decision
boundary (PNG) and the three lecture graphs after their backward pass (SVG, which needs
Graphviz's ``dot``; without it the DOT text is written instead and the message says how
to install it).
"""

from __future__ import annotations

import argparse
import difflib
import io
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..functions import summation
from ..nn import MLP
from ..optim import SGD
from ..value import Value
from .datasets import make_moons
from .outputs import OutputError, check_outputs, silence_stdout, write_outputs


@dataclass
class Config:
    n_samples: int = 100  # two-moons points
    noise: float = 0.1  # standard deviation of the noise on the moons
    hidden: tuple[int, ...] = (16, 16)  # hidden layer sizes
    steps: int = 100  # full-batch gradient steps
    lr_start: float = 1.0  # learning rate at step 0, decayed linearly ...
    lr_end: float = 0.1  # ... to this at the last step (micrograd's demo schedule)
    l2: float = 1e-4  # α of the L2 penalty α·Σ p²
    seed: int = 1337  # seeds data and weights
    out: Path = Path("out/moons")  # where pictures go


def max_margin_loss(model: MLP, X: np.ndarray, y_sign: np.ndarray, l2: float):
    """Return (loss, accuracy): mean hinge loss relu(1 − yᵢ·scoreᵢ) + l2·Σ p²."""
    inputs = [[Value(float(a)), Value(float(b))] for a, b in X]
    scores = [model(x) for x in inputs]
    hinge = [(1 - float(yi) * score).relu() for yi, score in zip(y_sign, scores)]
    data_loss = summation(hinge) * (1.0 / len(hinge))
    reg_loss = l2 * summation([p * p for p in model.parameters()])
    correct = sum((yi > 0) == (score.data > 0) for yi, score in zip(y_sign, scores))
    return data_loss + reg_loss, correct / len(y_sign)


def train(config: Config, verbose: bool = True) -> tuple[MLP, list[dict]]:
    """Train the MLP; return it and one record (step, loss, accuracy) per step."""
    rng = np.random.default_rng(config.seed)
    X, y = make_moons(config.n_samples, config.noise, rng)
    y_sign = 2 * y - 1  # the hinge loss wants labels −1 and +1
    model = MLP(2, [*config.hidden, 1], rng=rng)
    optimizer = SGD(model.parameters(), lr=config.lr_start)
    history = []
    for step in range(config.steps):
        loss, accuracy = max_margin_loss(model, X, y_sign, config.l2)  # forward + loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.lr = config.lr_start - (config.lr_start - config.lr_end) * step / config.steps
        optimizer.step()
        history.append({"step": step, "loss": loss.data, "accuracy": accuracy})
        if verbose and (step % 10 == 0 or step == config.steps - 1):
            print(f"step {step:3d}  loss {loss.data:.4f}  accuracy {accuracy:.0%}")
    return model, history


def plot_decision_boundary(model: MLP, X: np.ndarray, y: np.ndarray) -> bytes:
    """Return a PNG of the model's decision regions with the training points on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = np.linspace(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5, 60)
    ys = np.linspace(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5, 60)
    grid_x, grid_y = np.meshgrid(xs, ys)
    scores = np.array(
        [model([float(a), float(b)]).data for a, b in zip(grid_x.ravel(), grid_y.ravel())]
    ).reshape(grid_x.shape)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.contourf(grid_x, grid_y, scores > 0, cmap="Spectral", alpha=0.6)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="Spectral", edgecolors="k", s=25)
    ax.set_title("scalargrad MLP 2-16-16-1 on two moons")
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return png.getvalue()


def lecture_graphs(out: Path) -> list[tuple[Path, str]]:
    """The lecture's three graphs after their backward pass, as (file, SVG text) pairs.

    Without Graphviz's ``dot`` the files are DOT text instead, and a note on stderr says
    how to install it.
    """
    from ..display.draw import GraphvizNotFound, to_dot, to_svg
    from . import lecture

    files = []
    for name, build in lecture.EXAMPLES.items():
        root = build()
        root.backward()
        try:
            files.append((out / f"{name}.svg", to_svg(root)))
        except GraphvizNotFound as missing:
            print(f"scalargrad-moons: note: {missing}; writing DOT text instead", file=sys.stderr)
            files.append((out / f"{name}.dot", to_dot(root)))
    return files


def main(argv: list[str] | None = None) -> int:
    """Train, then write the pictures; return the exit status (2: bad flags or --out)."""
    parser = _Parser(prog="scalargrad-moons", description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=Config.steps, help="training steps")
    parser.add_argument("--seed", type=int, default=Config.seed, help="random seed")
    parser.add_argument("--out", type=Path, default=Config.out, help="output directory")
    args = parser.parse_args(argv)
    config = Config(steps=args.steps, seed=args.seed, out=args.out)
    try:
        if args.steps < 1:
            raise OutputError(f"--steps must be at least 1, got {args.steps}")
        _prepare_out(config.out)  # before training: a bad --out must not cost the run
        model, history = train(config)
        X, y = make_moons(config.n_samples, config.noise, np.random.default_rng(config.seed))
        boundary = config.out / "decision_boundary.png"
        files = [(boundary, plot_decision_boundary(model, X, y)), *lecture_graphs(config.out)]
        write_outputs(files)
        print(f"final accuracy {history[-1]['accuracy']:.0%}")
        for path, _ in files:
            print(f"wrote {path}")
        sys.stdout.flush()  # here, not at exit: a reader that is gone must end us quietly
    except OutputError as error:
        print(f"scalargrad-moons: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `scalargrad-moons | head -1`: stop, as Unix tools do
        return silence_stdout()
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (status 2) that suggest the closest option."""

    def error(self, message: str):
        unknown = re.search(r"unrecognized arguments: (-\S+)", message)
        hint = ""
        if unknown:
            options = [s for action in self._actions for s in action.option_strings]
            close = difflib.get_close_matches(unknown.group(1).split("=")[0], options, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
        self.exit(2, f"{self.prog}: error: {message}{hint}\n")


def _prepare_out(out: Path) -> None:
    """Create the output folder and make sure it takes files, or raise `OutputError`.

    Should creating it fail part way (a name too long at its end), the folders this call
    made are removed again.
    """
    missing = [folder for folder in (out, *out.parents) if not os.path.lexists(folder)]
    if out not in missing and out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: it is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        for folder in missing:  # deepest first; only the empty folders just made
            try:
                folder.rmdir()
            except OSError:
                pass
        raise OutputError(f"--out {out}: cannot create it ({error.strerror or error})") from None
    try:
        check_outputs([out / "decision_boundary.png"])
    except OutputError as error:
        raise OutputError(f"--out {out}: {str(error).split(': ', 1)[1]}") from None


if __name__ == "__main__":
    sys.exit(main())
