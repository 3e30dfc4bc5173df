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
from types import SimpleNamespace

import numpy as np

from vecgrad import functional as F


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


# ---- ops of whole arrays (vecgrad only): fixed shapes, one namespace per engine ---------


@dataclass(frozen=True)
class ArrayCase:
    name: str
    shapes: tuple  # one shape per operand
    apply: Callable  # apply(ns, *operands) -> result, ns from array_namespace(...)
    low: float = -3.0
    high: float = 3.0
    dual: bool = True  # runs through forward mode too (vecgrad.forward.Dual)

    def __repr__(self) -> str:
        return self.name


ARRAY_OPS = [
    ArrayCase("matmul", ((3, 4), (4, 2)), lambda ns, x, w: ns.matmul(x, w)),
    ArrayCase("matmul_vector", ((4,), (4, 2)), lambda ns, x, w: ns.matmul(x, w)),
    ArrayCase("matmul_batched", ((2, 3, 4), (4, 5)), lambda ns, x, w: ns.matmul(x, w)),
    ArrayCase("linear", ((3, 4), (4, 2), (2,)), lambda ns, x, w, b: ns.linear(x, w, b)),
    ArrayCase("sum_all", ((3, 4),), lambda ns, x: ns.sum(x, None)),
    ArrayCase("sum_axis", ((3, 4),), lambda ns, x: ns.sum(x, 1)),
    ArrayCase("mean_axis", ((3, 4, 2),), lambda ns, x: ns.mean(x, (0, 2))),
    ArrayCase("max_axis", ((3, 4),), lambda ns, x: ns.amax(x, 0)),
    ArrayCase("reshape", ((3, 4),), lambda ns, x: ns.reshape(x, (2, 6)) * 1.5),
    ArrayCase("transpose", ((3, 4, 2),), lambda ns, x: ns.permute(x, (2, 0, 1)) * 1.5),
    ArrayCase("getitem_slice", ((4, 5),), lambda ns, x: x[1:3, ::2] * 2.0),
    ArrayCase("getitem_repeat", ((4, 3),), lambda ns, x: x[ns.index([0, 2, 0])] * 2.0),
    ArrayCase("concatenate", ((2, 3), (4, 3)), lambda ns, x, y: ns.cat([x, y * 2.0], 0)),
    ArrayCase("stack", ((2, 3), (2, 3)), lambda ns, x, y: ns.stack([x, y * 2.0], 1)),
    ArrayCase("softmax", ((3, 5),), lambda ns, x: ns.softmax(x, -1)),
    ArrayCase("softmax_axis0", ((3, 5),), lambda ns, x: ns.softmax(x, 0)),
    ArrayCase("log_softmax", ((3, 5),), lambda ns, x: ns.log_softmax(x, -1)),
    ArrayCase(
        "cross_entropy",
        ((4, 5),),
        lambda ns, z: ns.cross_entropy(z, ns.index([1, 0, 4, 1])),
        dual=False,  # a loss for reverse mode: forward mode has no cross_entropy function
    ),
    ArrayCase(
        "mlp_layer",
        ((3, 4), (4, 2)),
        lambda ns, x, w: ns.sum(ns.matmul(x, w).tanh() * ns.matmul(x, w).sigmoid(), None),
    ),
]


def array_namespace(kind: str, module):
    """The functions ARRAY_OPS use, for ``kind`` "vecgrad", "dual" or "torch" (``module``
    is vecgrad, vecgrad.forward or torch), each under one name."""
    if kind == "torch":
        torch = module
        return SimpleNamespace(
            matmul=torch.matmul,
            linear=lambda x, w, b: x @ w + b,
            sum=lambda x, axis: x.sum() if axis is None else x.sum(dim=axis),
            mean=lambda x, axis: x.mean(dim=axis),
            amax=lambda x, axis: x.amax(dim=axis),
            reshape=lambda x, shape: x.reshape(shape),
            permute=lambda x, axes: x.permute(axes),
            index=lambda i: torch.tensor(i),
            cat=torch.cat,
            stack=torch.stack,
            softmax=torch.softmax,
            log_softmax=torch.log_softmax,
            cross_entropy=torch.nn.functional.cross_entropy,
        )
    forward = kind == "dual"
    return SimpleNamespace(
        matmul=module.matmul,
        linear=(lambda x, w, b: x @ w + b) if forward else F.linear,
        sum=lambda x, axis: x.sum(axis),
        mean=lambda x, axis: x.mean(axis),
        amax=lambda x, axis: x.max(axis),
        reshape=lambda x, shape: x.reshape(shape),
        permute=lambda x, axes: x.transpose(axes),
        index=np.array,
        cat=module.concatenate,
        stack=module.stack,
        softmax=module.softmax if forward else F.softmax,
        log_softmax=module.log_softmax if forward else F.log_softmax,
        cross_entropy=F.cross_entropy,
    )
