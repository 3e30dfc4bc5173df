"""The one table of ops that drives the op tests of scalargrad and vecgrad.

Each case is written once against a namespace ``ns`` (the `scalargrad` module, the
`vecgrad` module or `torch`), so the same formula runs on Values, Tensors and the
PyTorch oracle. ``low``/``high`` bound the inputs; ``away_from`` keeps them clear of
the points where the op has no derivative (kinks and ties), so finite differences
are a fair oracle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class OpCase:
    name: str
    arity: int
    apply: Callable  # apply(ns, *operands) -> result
    low: float = -3.0
    high: float = 3.0
    away_from: Callable | None = None  # away_from(*floats) -> True where the case is fair

    def __repr__(self) -> str:
        return self.name


def _apart(x, y, gap=1e-3):
    return abs(x - y) > gap


OPS = [
    OpCase("add", 2, lambda ns, x, y: x + y),
    OpCase("radd", 1, lambda ns, x: 2.5 + x),
    OpCase("sub", 2, lambda ns, x, y: x - y),
    OpCase("rsub", 1, lambda ns, x: 2.5 - x),
    OpCase("mul", 2, lambda ns, x, y: x * y),
    OpCase("rmul", 1, lambda ns, x: 2.5 * x),
    OpCase("div", 2, lambda ns, x, y: x / y, away_from=lambda x, y: abs(y) > 0.1),
    OpCase("rdiv", 1, lambda ns, x: 2.5 / x, away_from=lambda x: abs(x) > 0.1),
    OpCase("neg", 1, lambda ns, x: -x),
    OpCase("pow_int", 1, lambda ns, x: x**3),
    OpCase("pow_half", 1, lambda ns, x: x**0.5, low=0.1, high=4.0),
    OpCase("pow_negative", 1, lambda ns, x: x**-2, away_from=lambda x: abs(x) > 0.1),
    OpCase("pow_node", 2, lambda ns, x, y: x**y, low=0.1, high=3.0),
    OpCase("rpow", 1, lambda ns, x: 2.0**x),
    OpCase("log", 1, lambda ns, x: ns.log(x), low=0.05, high=5.0),
    OpCase("exp", 1, lambda ns, x: ns.exp(x)),
    OpCase("sin", 1, lambda ns, x: ns.sin(x)),
    OpCase("cos", 1, lambda ns, x: ns.cos(x)),
    OpCase("tanh", 1, lambda ns, x: ns.tanh(x)),
    OpCase("sigmoid", 1, lambda ns, x: ns.sigmoid(x), low=-8.0, high=8.0),
    OpCase("relu", 1, lambda ns, x: ns.relu(x), away_from=lambda x: abs(x) > 1e-3),
    OpCase("abs", 1, lambda ns, x: abs(x), away_from=lambda x: abs(x) > 1e-3),
    OpCase("maximum", 2, lambda ns, x, y: ns.maximum(x, y), away_from=_apart),
    OpCase("minimum", 2, lambda ns, x, y: ns.minimum(x, y), away_from=_apart),
    # Compositions: the chain rule across several ops at once.
    OpCase(
        "lecture_y",
        2,
        lambda ns, x, y: ns.log(x) + x * y - ns.sin(y),
        low=0.1,
        high=5.0,
    ),
    OpCase(
        "neuron",
        2,
        lambda ns, x, y: ns.sigmoid(-3.0 + 2.0 * x - 3.0 * y),
    ),
]

OPS_BY_NAME = {case.name: case for case in OPS}
