"""The lecture's worked examples, each a function that builds its graph at the given point.

Shared by the tests, the notebooks and ``scalargrad-moons`` (which draws them).
"""

from __future__ import annotations

from ..functions import log, maximum, sigmoid, sin
from ..value import Value


def ln_x1_x1x2_sin_x2(x1: float = 2.0, x2: float = 5.0) -> Value:
    """y = ln x1 + x1·x2 − sin x2; at (2, 5): y = 11.652, ∂y/∂x1 = 5.5, ∂y/∂x2 = 1.716."""
    a, b = Value(x1, name="x1"), Value(x2, name="x2")
    return log(a) + a * b - sin(b)


def sum_times(x: float = -2.0, y: float = 5.0, z: float = -4.0) -> Value:
    """f = (x + y)·z; at (−2, 5, −4): f = −12, grads (−4, −4, 3)."""
    a, b, c = Value(x, name="x"), Value(y, name="y"), Value(z, name="z")
    return (a + b) * c


def x_over_x_plus_y(x: float = -1.0, y: float = 2.0) -> Value:
    """f = x / (x + y); at (−1, 2): f = −1, ∂f/∂x = 2, ∂f/∂y = 1 (x branches: grads add)."""
    a, b = Value(x, name="x"), Value(y, name="y")
    return a / (a + b)


def three_xy_plus_max(x: float = 3.0, y: float = -4.0, z: float = 2.0, w: float = -1.0) -> Value:
    """f = 3(xy + max(z, w)); at (3, −4, 2, −1): f = −30, grads (−12, 9, 3, 0)."""
    a, b = Value(x, name="x"), Value(y, name="y")
    c, d = Value(z, name="z"), Value(w, name="w")
    return 3 * (a * b + maximum(c, d))


def logistic_neuron(
    w: tuple[float, float, float] = (-3.0, 2.0, -3.0), x: tuple[float, float] = (-1.0, -2.0)
) -> Value:
    """f = σ(w0 + w1·x1 + w2·x2) with a single sigmoid gate; at the lecture's point f = 0.731."""
    w0, w1, w2 = (Value(v, name=f"w{i}") for i, v in enumerate(w))
    x1, x2 = (Value(v, name=f"x{i + 1}") for i, v in enumerate(x))
    return sigmoid(w0 + w1 * x1 + w2 * x2)


EXAMPLES = {
    "ln_x1_x1x2_sin_x2": ln_x1_x1x2_sin_x2,
    "x_over_x_plus_y": x_over_x_plus_y,
    "three_xy_plus_max": three_xy_plus_max,
}
