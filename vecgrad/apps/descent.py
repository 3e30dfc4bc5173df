"""Gradient descent you can watch: run an optimizer on a small function, draw and animate its path.

``descend(loss, start, make_optimizer, steps)`` runs the five-step loop (forward,
loss, zero_grad, backward, step) on one parameter θ and returns every iterate and loss
value. ``draw_paths`` draws such paths over the contour lines of a 2-D function,
``animate_paths`` turns them into a matplotlib animation and ``to_html`` renders that to
one self-contained HTML page. Write the function once for both: indexing ``theta[0]``
and ``theta[1]`` works on a Tensor of shape (2,) and on a grid of shape (2, rows,
columns). The drawings use matplotlib's object API (a fresh ``Figure``, no pyplot), so
they are safe headless.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..optim import Optimizer
from ..tensor import Tensor


@dataclass(frozen=True)
class Path:
    """The iterates θ⁽⁰⁾ … θ⁽ᵏ⁾ of one run and the loss J(θ⁽ⁱ⁾) at each."""

    points: np.ndarray  # (k + 1, *θ's shape): the start, then one row per step
    values: np.ndarray  # (k + 1,): the loss at each point

    @property
    def steps(self) -> int:
        """Return the number of steps taken (one less than the number of points)."""
        return len(self.points) - 1


def descend(
    loss: Callable[[Tensor], Tensor],
    start,
    make_optimizer: Callable[[list[Tensor]], Optimizer],
    steps: int,
    *,
    give_up_above: float = 1e100,
) -> Path:
    """Return the path of ``steps`` optimizer steps on ``loss`` from ``start``.

    ``loss`` maps the parameter (a float64 Tensor of ``start``'s shape) to a one-element
    Tensor; ``make_optimizer`` builds the optimizer from the parameter list, e.g.
    ``lambda params: optim.SGD(params, lr=0.1, momentum=0.9)``. A run that diverges stops
    at the first loss above ``give_up_above`` (that point is the path's last), before its
    numbers overflow.
    """
    if steps < 0:
        raise ValueError(f"descend: steps must be at least 0, got {steps}")
    theta = Tensor(np.array(start, dtype=np.float64), requires_grad=True, name="θ")
    optimizer = make_optimizer([theta])
    points, values = [], []
    for step in range(steps + 1):
        J = loss(theta)  # forward and loss
        points.append(theta.data.copy())  # a copy: the optimizer changes θ in place
        values.append(J.item())
        if step == steps or not abs(values[-1]) <= give_up_above:  # also stops on NaN
            break
        optimizer.zero_grad()
        J.backward()
        optimizer.step()
    return Path(np.array(points), np.array(values))


def draw_paths(
    f: Callable[[np.ndarray], np.ndarray],
    paths: Mapping[str, Path],
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    *,
    ax: Axes | None = None,
    levels: int | Sequence[float] = 20,
    minimum: Sequence[float] | None = None,
    title: str = "Descent paths over the contours of J",
) -> Axes:
    """Return the axes with ``f``'s contour lines and each path as a line with markers.

    ``f`` maps an array of shape (2, rows, columns), x then y, to the values on that grid;
    ``minimum`` marks a point with a star. Draws on ``ax`` if given, else on a new Figure.
    """
    if ax is None:
        ax = Figure(figsize=(6, 4.5)).add_subplot()
    xs, ys = np.linspace(*xlim, 300), np.linspace(*ylim, 300)
    grid = np.stack(np.meshgrid(xs, ys))
    ax.contour(xs, ys, f(grid), levels=levels, cmap="viridis", linewidths=0.7)
    for label, path in paths.items():
        points = path.points
        ax.plot(points[:, 0], points[:, 1], ".-", markersize=3, linewidth=1, label=label)
    if minimum is not None:
        ax.plot(*minimum, "*", color="black", markersize=12, label="minimum")
    ax.set(xlim=xlim, ylim=ylim, xlabel="θ₁", ylabel="θ₂", title=title)
    if paths or minimum is not None:
        ax.legend(loc="best", fontsize=8)
    return ax


def animate_paths(
    f: Callable[[np.ndarray], np.ndarray],
    paths: Mapping[str, Path],
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    *,
    frames: int | None = None,
    interval: int = 80,
    levels: int | Sequence[float] = 20,
    minimum: Sequence[float] | None = None,
    title: str = "Gradient descent, step by step",
    figsize: tuple[float, float] = (5.5, 4.2),
) -> FuncAnimation:
    """Return an animation of the paths growing one step per frame over ``f``'s contours.

    ``frames`` defaults to the longest path's number of points (shorter paths stop at
    their end); ``interval`` is the time per frame in ms. ``to_html(animation)`` renders
    it to one self-contained HTML page (Jupyter shows it with ``IPython.display.HTML``).
    """
    longest = max(len(path.points) for path in paths.values())
    frames = longest if frames is None else frames
    fig = Figure(figsize=figsize, dpi=72)
    ax = draw_paths(
        f, {}, xlim, ylim, ax=fig.add_subplot(), levels=levels, minimum=minimum, title=title
    )
    lines = [ax.plot([], [], ".-", markersize=4, linewidth=1.2, label=label)[0] for label in paths]
    ax.legend(loc="best", fontsize=8)
    counter = ax.text(0.02, 0.95, "", transform=ax.transAxes, fontsize=9, va="top")
    fig.tight_layout()

    def show(frame: int):
        # Frame i shows each path up to step i (a path's points are steps 0, 1, …).
        count = min(longest, round(frame * (longest - 1) / max(frames - 1, 1)) + 1)
        for line, path in zip(lines, paths.values()):
            line.set_data(path.points[:count, 0], path.points[:count, 1])
        counter.set_text(f"step {count - 1}")
        return [*lines, counter]

    return FuncAnimation(fig, show, frames=frames, interval=interval, blit=False)


# matplotlib's player draws its buttons with Font Awesome icons from a CDN; these need none.
_BUTTON_SYMBOLS = {
    "minus": "−",
    "fast-backward": "⏮",
    "step-backward": "|◀",
    "play fa-flip-horizontal": "◀",
    "pause": "⏸",
    "play": "▶",
    "step-forward": "▶|",
    "fast-forward": "⏭",
    "plus": "+",
}
_ICON = re.compile(r'<i class="fa fa-([a-z -]+?)"></i>')
_STYLESHEET = re.compile(r"<link[^>]*>")


def to_html(animation: FuncAnimation, **options) -> str:
    """Return the animation as one self-contained HTML page (no network, no external player).

    This is ``animation.to_jshtml(**options)`` (every frame embedded as a PNG, with
    matplotlib's JavaScript player) without the stylesheet it links from a CDN: the
    player's buttons show Unicode symbols instead of Font Awesome icons.
    """
    html = _STYLESHEET.sub("", animation.to_jshtml(**options))
    return _ICON.sub(lambda icon: _BUTTON_SYMBOLS.get(icon.group(1), icon.group(1)), html)


__all__ = ["Path", "descend", "draw_paths", "animate_paths", "to_html"]
