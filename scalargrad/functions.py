"""The lecture's notation as functions: ``log(x1) + x1 * x2 - sin(x2)``.

Each function calls the method of the same name on a node (`Value`, `Dual`, or
vecgrad's `Tensor`), and on a plain number computes a plain float, with the ops' domain
checks (they are the very functions the ops compute with, from scalargrad/ops.py). So one
expression runs on numbers, on Values and on duals. `summation` and `dot` build one node
for a whole sum.
"""

from __future__ import annotations

from . import ops
from .ops import cos, exp, log, maximum, minimum, relu, sigmoid, sin, tanh
from .value import Constant, Value, apply_op

ln = log

__all__ = [
    "log",
    "ln",
    "exp",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "relu",
    "maximum",
    "minimum",
    "summation",
    "dot",
]


def summation(values) -> object:
    """Σ values as ONE node (the `Summation` op) rather than a chain of n − 1 additions.

    Plain numbers among Values become constants. Other operands (floats, duals) are added
    left to right with ``+``, which rounds the same way.
    """
    values = list(values)
    if not values:
        raise ValueError("summation: got no values to add")
    if not _one_node(values):
        total = values[0]
        for v in values[1:]:
            total = total + v
        return total
    op = ops.Summation()
    return apply_op(op, *(v if isinstance(v, Value) else Constant(v, op) for v in values))


def dot(ws, xs) -> object:
    """Σᵢ wᵢ·xᵢ as ONE node (the `Dot` op): a neuron's weighted sum.

    Operands other than Values and numbers (duals) use ``*`` and ``+`` left to right.
    """
    ws, xs = list(ws), list(xs)
    if len(ws) != len(xs) or not ws:
        raise ValueError(
            f"dot: needs two equally long, non-empty lists, got {len(ws)} and {len(xs)}"
        )
    if not _one_node(ws + xs):
        total = 0.0
        for w, x in zip(ws, xs):
            total = total + w * x
        return total
    op = ops.Dot()
    return apply_op(op, *(v if isinstance(v, Value) else Constant(v, op) for v in ws + xs))


def _one_node(operands: list) -> bool:
    """True when one node serves: some operand is a Value and none a Dual.

    All numbers make a float; a Dual among them brings its own + and × (a Value defers
    to it, ``lifts_values``). Anything else becomes a constant, which checks it.
    """
    has_value = False
    for x in operands:  # a neuron's every weight and input: the Value test first, it is cheap
        if isinstance(x, Value):
            has_value = True
        elif getattr(x, "lifts_values", False):
            return False
    return has_value
