"""Numerical differentiation: finite differences, and a gradient check built on them.

Forward differences  (f(x + h) − f(x)) / h           error ≈ h·|f″|/2 + ε·|f|/h
central differences  (f(x + h) − f(x − h)) / (2h)    error ≈ h²·|f‴|/6 + ε·|f|/h

The first term (truncation) shrinks with h, the second (round-off: f is only known to
about ε = 2.2e-16 relative) grows as h shrinks, so the total error is a U-curve over h.
Its bottom sits near h ≈ √ε ≈ 1e-8 for forward and ∛ε ≈ 1e-5 for central differences;
`difference_error` measures the curve and `plot_difference_error` draws it.

`gradcheck` compares the engine's reverse-mode gradient with central differences and,
on a mismatch, names the input and the first op on its path whose ``backward`` disagrees
with central differences of its own ``forward``. Its report and culprit search live in
scalargrad/gradcheck.py, shared with vecgrad's gradcheck.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .gradcheck import (
    Culprit,
    GradcheckError,
    GradcheckReport,
    InputCheck,
    Undefined,
    first_wrong_op,
    numeric_vjp,
    parameter_names,
)
from .value import Value

EPS = sys.float_info.epsilon  # 2.2e-16: the spacing of floats near 1
METHODS = ("forward", "central", "backward")


def default_step(x: float, method: str = "central") -> float:
    """Return the step h that balances truncation and round-off error at ``x``.

    √ε·max(1, |x|) for one-sided differences, ∛ε·max(1, |x|) for central ones.
    """
    scale = max(1.0, abs(x))
    return scale * (EPS ** (1 / 3) if method == "central" else math.sqrt(EPS))


def derivative(
    f: Callable[[float], Any], x: float, h: float | None = None, method: str = "central"
) -> float:
    """Return the finite-difference estimate of f′(x).

    forward (f(x+h) − f(x))/h, backward (f(x) − f(x−h))/h, central (f(x+h) − f(x−h))/(2h).
    ``h`` defaults to `default_step`.
    """
    x = _real(x, "derivative: x")
    if method not in METHODS:
        raise ValueError(f"derivative: method must be one of {METHODS}, got {method!r}")
    h = default_step(x, method) if h is None else _step(h, "derivative")
    if method == "forward":
        return (_call(f, (x + h,), "derivative") - _call(f, (x,), "derivative")) / h
    if method == "backward":
        return (_call(f, (x,), "derivative") - _call(f, (x - h,), "derivative")) / h
    return (_call(f, (x + h,), "derivative") - _call(f, (x - h,), "derivative")) / (2 * h)


def gradient(
    f: Callable[..., Any],
    xs: Sequence[float],
    h: float | None = None,
    method: str = "central",
) -> list[float]:
    """Return the finite-difference estimate of ∇f at ``xs`` (f takes ``len(xs)`` numbers).

    One partial derivative at a time: ∂f/∂x_i ≈ derivative of t ↦ f(…, t, …) at x_i,
    so it costs 2n evaluations of f (central) against one backward pass.
    """
    xs = [_real(x, f"gradient: xs[{i}]") for i, x in enumerate(xs)]
    grads = []
    for i in range(len(xs)):

        def partial(t, i=i):
            return f(*xs[:i], t, *xs[i + 1 :])

        grads.append(derivative(partial, xs[i], h, method))
    return grads


# ---- the U-curve ---------------------------------------------------------------------


@dataclass
class DifferenceError:
    """|estimate − exact| of forward and central differences for each step size in ``hs``."""

    hs: np.ndarray
    forward: np.ndarray
    central: np.ndarray
    exact: float

    def best_h(self, method: str = "central") -> float:
        """Return the step size with the smallest error (the bottom of the U-curve)."""
        if method not in ("forward", "central"):
            raise ValueError(f"best_h: method must be 'forward' or 'central', got {method!r}")
        return float(self.hs[int(np.argmin(getattr(self, method)))])


def difference_error(
    f: Callable[[float], Any],
    df: Callable[[float], Any] | float,
    x: float,
    hs: Sequence[float] | None = None,
) -> DifferenceError:
    """Return the error of forward and central differences of f′(x) for each step in ``hs``.

    ``df`` is the exact derivative, a function or the number f′(x). ``hs`` defaults to
    161 steps from 1e-16 to 1, log-spaced (both ends of the U-curve).
    """
    x = _real(x, "difference_error: x")
    exact = _call(df, (x,), "difference_error: df") if callable(df) else _real(df, "df")
    hs = np.logspace(-16, 0, 161) if hs is None else np.asarray(hs, dtype=float)
    if hs.ndim != 1 or hs.size == 0:
        raise ValueError(f"difference_error: hs must be a non-empty 1-D list, shape {hs.shape}")
    for h in hs:
        _step(h, "difference_error")
    forward = [abs(derivative(f, x, h, "forward") - exact) for h in hs]
    central = [abs(derivative(f, x, h, "central") - exact) for h in hs]
    return DifferenceError(hs, np.array(forward), np.array(central), exact)


def plot_difference_error(
    f: Callable[[float], Any],
    df: Callable[[float], Any] | float,
    x: float,
    hs: Sequence[float] | None = None,
    ax: Any = None,
    title: str = "",
):
    """Return a matplotlib Figure with the log-log U-curves of forward and central error.

    Dashed guides show the two error terms: truncation (∝ h, ∝ h²) and round-off (∝ ε/h).
    Draws on ``ax`` if given; never calls ``plt.show`` (Jupyter shows the returned Figure).
    """
    from matplotlib.figure import Figure  # no pyplot: no global figure state to leak

    errors = difference_error(f, df, x, hs)
    if ax is None:
        fig = Figure(figsize=(6.4, 4.4))
        ax = fig.subplots()
    else:
        fig = ax.figure
    tiny = np.finfo(float).tiny  # an exact hit (error 0) cannot sit on a log axis
    hs = errors.hs
    for method, style in (("forward", "o-"), ("central", "s-")):
        err = np.maximum(getattr(errors, method), tiny)
        (line,) = ax.loglog(hs, err, style, markersize=3, label=f"{method} differences")
        best = errors.best_h(method)
        ax.axvline(best, color=line.get_color(), linestyle=":", linewidth=1)
        ax.annotate(
            f"best h ≈ {best:.0e}",
            (best, max(np.min(getattr(errors, method)), tiny)),
            textcoords="offset points",
            xytext=(4, -12),
            color=line.get_color(),
            fontsize=8,
        )
    # Dashed guides with the slopes of the two error terms, labelled where they are in view.
    scale = max(abs(_call(f, (x,), "plot_difference_error")), 1e-300)
    guides = [(hs, "truncation ∝ h", 1e-3, "right"), (hs**2, "truncation ∝ h²", 1e-2, "right")]
    guides.append((EPS * scale / hs, "round-off ∝ ε·|f|/h", hs[0] * 10, "left"))
    for values, label, at, align in guides:
        ax.loglog(hs, values, "--", color="gray", linewidth=0.8, alpha=0.7)
        ax.annotate(
            label,
            (at, np.interp(np.log(at), np.log(hs), values)),
            fontsize=8,
            color="gray",
            textcoords="offset points",
            xytext=(-4 if align == "right" else 4, 4),
            ha=align,
        )
    floor = min(float(np.min(getattr(errors, m))) for m in ("forward", "central"))
    ax.set_ylim(max(floor / 100, tiny), None)
    ax.set_xlabel("step size h")
    ax.set_ylabel("|estimate − exact|")
    ax.set_title(title or f"Finite-difference error of f′({x:g}) = {errors.exact:.6g}")
    ax.legend(loc="upper center")
    ax.grid(True, which="major", alpha=0.3)
    return fig


# ---- gradcheck -----------------------------------------------------------------------


def gradcheck(
    f: Callable[..., Any],
    inputs: Sequence[float],
    names: Sequence[str] | None = None,
    h: float | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    raise_exception: bool = True,
) -> GradcheckReport:
    """Return a report comparing reverse mode's ∂f/∂x_i with central differences.

    ``f`` takes one Value per input and returns a Value. An input passes when
    |engine − numeric| ≤ atol + rtol·|numeric|. On a mismatch the report names the input
    and the first op (in topological order) on its path whose ``backward`` disagrees with
    central differences of its ``forward`` (`scalargrad.gradcheck.first_wrong_op`, the
    search vecgrad's gradcheck uses too); `GradcheckError` is raised unless
    ``raise_exception`` is False. Input names default to f's parameter names.
    """
    xs = [_real(x, f"gradcheck: inputs[{i}]") for i, x in enumerate(inputs)]
    names = list(names) if names is not None else parameter_names(f, len(xs))
    if len(names) != len(xs):
        raise ValueError(f"gradcheck: {len(xs)} inputs but {len(names)} names")
    step = default_step if h is None else _fixed_step(_step(h, "gradcheck"))
    leaves = [Value(x, name=n) for x, n in zip(xs, names)]
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(
            f"gradcheck: f must return a Value, got {type(out).__name__} {out!r} "
            "(a constant has no gradient to check)"
        )
    out.backward()

    def evaluate(*numbers):
        return _call(f, [Value(x) for x in numbers], "gradcheck")

    report = GradcheckReport(out.data, [])
    for i, (leaf, name) in enumerate(zip(leaves, names)):
        try:
            numeric = float(numeric_vjp(evaluate, xs, i, 1.0, step, one_sided=False))
        except Undefined as undefined:
            raise ValueError(
                f"gradcheck: f cannot be evaluated at {name} ± h = {xs[i]:g} ± "
                f"{undefined.h:.2g} ({undefined.error}); pass a smaller h"
            ) from undefined.error
        check = InputCheck(name, leaf.grad, numeric, rtol, atol)
        report.inputs.append(check)
        if not check.ok:  # ḡ = 1: each op's backward gives its partial derivatives
            culprit = first_wrong_op(out, leaf, lambda node: 1.0, default_step, rtol, atol)
            report.culprits[name] = culprit
    if not report.ok and raise_exception:
        raise GradcheckError(report)
    return report


def _fixed_step(h: float) -> Callable[..., float]:
    """A step rule that always answers ``h`` (the caller chose it)."""
    return lambda x, method="central": h


# ---- helpers -------------------------------------------------------------------------


def _real(x, where: str) -> float:
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        value = float(x)
        if not math.isfinite(value):
            raise ValueError(f"{where}: got {value!r}; a derivative needs a finite point")
        return value
    raise TypeError(f"{where}: expected a real number, got {type(x).__name__} {x!r}")


def _step(h, where: str) -> float:
    h = _real(h, f"{where}: h")
    if h <= 0:
        raise ValueError(f"{where}: step h must be positive, got {h!r}")
    return h


def _call(f: Callable, args: Sequence, where: str) -> float:
    """f(*args) as a finite float (a Value's data counts), or an error naming the point."""
    out = f(*args)
    if isinstance(out, Value):
        out = out.data
    if not isinstance(out, numbers.Real) or isinstance(out, bool):
        raise TypeError(f"{where}: f must return a number, got {type(out).__name__} {out!r}")
    out = float(out)
    if not math.isfinite(out):
        point = ", ".join(f"{a.data if isinstance(a, Value) else a:.17g}" for a in args)
        raise ValueError(f"{where}: f({point}) returned {out!r}, not a finite number")
    return out


__all__ = [
    "EPS",
    "default_step",
    "derivative",
    "gradient",
    "DifferenceError",
    "difference_error",
    "plot_difference_error",
    "gradcheck",
    "GradcheckError",
    "GradcheckReport",
    "InputCheck",
    "Culprit",
]
