"""The lecture's notation as functions: ``log(x1) + x1 * x2 - sin(x2)``.

Each function calls the method of the same name on a node (`Value`, `Dual`, or
vecgrad's `Tensor`), and on a plain number computes a plain float through the same op,
with the same domain checks. So one expression runs on numbers, on Values and on duals.
"""

from __future__ import annotations

from . import ops


def _unary(method: str, op_class: type):
    def apply(x):
        if hasattr(x, method):
            return getattr(x, method)()
        return op_class().forward(_as_float(x, method))

    apply.__name__ = method
    apply.__doc__ = f"{method}(x): ``x.{method}()`` for a node, a float for a number.\n\n" + (
        op_class.__doc__ or ""
    )
    return apply


def _as_float(x, where: str) -> float:
    from .value import _checked_float

    return _checked_float(x, where)


log = _unary("log", ops.Log)
exp = _unary("exp", ops.Exp)
sin = _unary("sin", ops.Sin)
cos = _unary("cos", ops.Cos)
tanh = _unary("tanh", ops.Tanh)
sigmoid = _unary("sigmoid", ops.Sigmoid)
relu = _unary("relu", ops.ReLU)
ln = log


def maximum(a, b):
    """max(a, b) as a node when either is one (the "router" gate: a tie splits ḡ)."""
    return _binary_router("maximum", "max", ops.Maximum, a, b)


def minimum(a, b):
    """min(a, b) as a node when either is one (a tie splits ḡ)."""
    return _binary_router("minimum", "min", ops.Minimum, a, b)


def _binary_router(elementwise: str, scalar: str, op_class: type, a, b):
    # A Tensor's max() is a reduction, so array nodes name the elementwise op
    # (maximum); a Value or Dual calls it max. Both are symmetric, so the node's method
    # may take the plain number from either side.
    for node, other in ((a, b), (b, a)):
        if hasattr(node, elementwise):
            return getattr(node, elementwise)(other)
        if hasattr(node, scalar):
            return getattr(node, scalar)(other)
    return op_class().forward(_as_float(a, scalar), _as_float(b, scalar))


def summation(values) -> object:
    """Σ values as ONE node (the `Sum` op) rather than a chain of n − 1 additions.

    Plain numbers among Values become constants. Other operands (floats, duals) are added
    left to right with ``+``, which rounds the same way.
    """
    from .value import Constant, Value

    values = list(values)
    if not values:
        raise ValueError("summation: got no values to add")
    if not any(isinstance(v, Value) for v in values) or any(
        _is_other_node(v, Value) for v in values
    ):
        total = values[0]
        for v in values[1:]:
            total = total + v
        return total
    op = ops.Sum()
    nodes = tuple(v if isinstance(v, Value) else Constant(v, op) for v in values)
    return Value._from_op(op, op.forward(*(n.data for n in nodes)), nodes)


def dot(ws, xs) -> object:
    """Σᵢ wᵢ·xᵢ as ONE node (the `Dot` op): a neuron's weighted sum.

    Operands other than Values and numbers (duals) use ``*`` and ``+`` left to right.
    """
    from .value import Constant, Value

    ws, xs = list(ws), list(xs)
    if len(ws) != len(xs) or not ws:
        raise ValueError(
            f"dot: needs two equally long, non-empty lists, got {len(ws)} and {len(xs)}"
        )
    if any(_is_other_node(v, Value) for v in ws + xs) or not any(
        isinstance(v, Value) for v in ws + xs
    ):
        total = 0.0
        for w, x in zip(ws, xs):
            total = total + w * x
        return total
    op = ops.Dot()
    nodes = tuple(v if isinstance(v, Value) else Constant(v, op) for v in ws + xs)
    return Value._from_op(op, op.forward(*[n.data for n in nodes]), nodes)


def _is_other_node(x, value_type: type) -> bool:
    """True for a node type other than Value (a Dual): it brings its own + and ×.

    The caller passes Value in: an import here would run once per operand (hot in dot()).
    """
    return not isinstance(x, value_type) and hasattr(x, "log")
