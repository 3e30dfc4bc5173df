"""Forward mode: dual numbers, carrying a value and its tangent through one forward pass.

A dual number a + ȧε (with ε² = 0) holds a value ``a`` and a tangent ``ȧ`` = ∂a/∂(input)
along one chosen direction. Every op maps it by its first-order Taylor rule,
f(a + ȧε) = f(a) + f′(a)·ȧ ε, so ``f(Dual(2, 1), Dual(5, 0))`` returns y and ∂y/∂x1 in
one pass: one JVP, one column of the Jacobian (reverse mode's one VJP gives one row).

`Dual` is a node type like `Value`, with exactly its op names, and no rules of its own:
`apply_op` runs the op of ops.py, ``op.forward`` on the values and ``op.jvp`` on the
tangents. So a derivative is written once, for both modes. A lecture expression written
with the twins of `scalargrad.functions` (``log(x1) + x1 * x2 - sin(x2)``) runs on floats,
Values and duals unchanged. The ops compute with those twins, so a component may itself be

- a `Dual`:  nested duals give higher derivatives (forward over forward, `derivative`);
- a `Value`: the tangent becomes a graph, and its ``backward()`` differentiates the
  directional derivative again (reverse over forward, `hvp`).

The tangent trace (`scalargrad.tangent_trace`) lives with the other traces in the display
layer; a dual made by a trace carries it, and `apply_op` reports each op to it.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

from . import ops
from .float_checks import check_result, derivative_error, float_checks_enabled
from .ops import real
from .value import Value


class Dual:
    """A dual number ``value + tangent·ε``: a value and its derivative along one direction.

    ``value`` and ``tangent`` are real numbers, `Value`s (reverse over forward) or duals
    themselves (higher derivatives). Plain numbers mixed into an expression are constants:
    their tangent is 0.
    """

    lifts_values = True  # Value's operators defer to Dual, so Value(2) * Dual(…) works

    __slots__ = ("value", "tangent", "_trace")

    def __init__(self, value: Any, tangent: Any = 0.0):
        self.value = _component(value, "value")
        self.tangent = _component(tangent, "tangent")
        self._trace = None  # a TangentTrace recording the ops on this dual, if any

    # Every dunder names its op explicitly, as Value does: grep Mul finds it.

    def __add__(self, other):
        return apply_op(ops.Add(), self, other)

    def __radd__(self, other):
        return apply_op(ops.Add(), other, self)

    def __sub__(self, other):
        return apply_op(ops.Sub(), self, other)

    def __rsub__(self, other):
        return apply_op(ops.Sub(), other, self)

    def __mul__(self, other):
        return apply_op(ops.Mul(), self, other)

    def __rmul__(self, other):
        return apply_op(ops.Mul(), other, self)

    def __truediv__(self, other):
        return apply_op(ops.Div(), self, other)

    def __rtruediv__(self, other):
        return apply_op(ops.Div(), other, self)

    def __pow__(self, exponent):
        # As in Value: a node exponent (here a Dual or a Value) is the two-operand Power,
        # whose base must be ≥ 0 (ln appears in ∂/∂y); a plain number is the constant Pow.
        if isinstance(exponent, (Dual, Value)):
            return apply_op(ops.Power(), self, exponent)
        return apply_op(ops.Pow(real(exponent, "pow")), self)

    def __rpow__(self, base):
        return apply_op(ops.Power(), base, self)

    def __neg__(self):
        return apply_op(ops.Neg(), self)

    def log(self) -> Dual:
        """ln(self); raises ValueError for a non-positive value."""
        return apply_op(ops.Log(), self)

    def exp(self) -> Dual:
        return apply_op(ops.Exp(), self)

    def sin(self) -> Dual:
        return apply_op(ops.Sin(), self)

    def cos(self) -> Dual:
        return apply_op(ops.Cos(), self)

    def tanh(self) -> Dual:
        return apply_op(ops.Tanh(), self)

    def sigmoid(self) -> Dual:
        return apply_op(ops.Sigmoid(), self)

    def relu(self) -> Dual:
        return apply_op(ops.ReLU(), self)

    def abs(self) -> Dual:
        return apply_op(ops.Abs(), self)

    def maximum(self, other) -> Dual:
        """The larger of self and other; on a tie the tangent is the mean of both."""
        return apply_op(ops.Maximum(), self, other)

    def minimum(self, other) -> Dual:
        """The smaller of self and other; on a tie the tangent is the mean of both."""
        return apply_op(ops.Minimum(), self, other)

    __abs__ = abs

    # ---- comparisons read the values: piecewise constant, so no tangent ----------
    # (``==`` stays identity, as for Value. Ops branch on these: relu, max, pow at 0.)

    def __lt__(self, other) -> bool:
        return self.value < _value_of(other)

    def __le__(self, other) -> bool:
        return self.value <= _value_of(other)

    def __gt__(self, other) -> bool:
        return self.value > _value_of(other)

    def __ge__(self, other) -> bool:
        return self.value >= _value_of(other)

    def __repr__(self) -> str:
        return f"Dual(value={_short(self.value)}, tangent={_short(self.tangent)})"


def apply_op(op: ops.Op, *operands) -> Dual:
    """Return ``op`` applied to duals: ``op.forward`` on the values, ``op.jvp`` on the
    tangents (None for a constant operand: a number or a Value). The one place where
    duals are made."""
    values, tangents = [], []
    for x in operands:
        if isinstance(x, Dual):
            values.append(x.value)
            tangents.append(x.tangent)
        else:
            values.append(_constant(x, op))
            tangents.append(None)
    out = Dual.__new__(Dual)  # the op built the components: skip the public checks
    out.value = op.forward(*values)
    out.tangent = op.jvp(*tangents)
    out._trace = None
    if type(out.value) is float and not math.isfinite(out.value):  # as Value's apply_op
        check_result(op, values, out.value)
    if out.tangent != out.tangent and float_checks_enabled():  # NaN (a float ≠ itself)
        raise derivative_error("jvp", op.name, None, f"{op.name}'s result")
    for x in operands:
        if isinstance(x, Dual) and x._trace is not None:
            x._trace.record(out, op, operands)  # the display layer's TangentTrace
            break
    return out


# ---- helpers: checks with Value's messages when the components are plain numbers ------


def _component(x, where: str):
    """A dual's component: a float, a Value or a Dual; else an error naming ``where``."""
    if isinstance(x, (Dual, Value)):
        return x
    if ops.is_number(x) and not isinstance(x, bool):
        return real(x, f"Dual: {where}")
    raise TypeError(
        f"Dual: {where} must be a real number, a Value or a Dual, got {type(x).__name__} {x!r}"
    )


def _constant(x, op: ops.Op):
    """A constant operand (tangent 0): a Value as it is, a plain number as a float."""
    if isinstance(x, Value):
        return x
    if ops.is_number(x) and not isinstance(x, bool):
        return real(x, op.name)
    raise TypeError(
        f"{op.name}: cannot combine a Dual with {type(x).__name__} {x!r} "
        "(expected a real number, a Value or a Dual)"
    )


def _value_of(x):
    """The value to compare with: a Dual's value; anything else as it is."""
    return x.value if isinstance(x, Dual) else x


def _short(x) -> str:
    return f"{x:.6g}" if isinstance(x, float) else repr(x)


# ---- forward mode, ready to use ------------------------------------------------------


def jvp(f: Callable, primals: Sequence, tangents: Sequence) -> tuple:
    """Return ``(f(x), J·v)``, the value and the directional derivative, in one forward pass.

    ``f`` takes ``len(primals)`` arguments and returns one number or a tuple of them.
    J·v = Σ_i ∂f/∂x_i · v_i: with v = e_j it is column j of the Jacobian.
    """
    if len(primals) != len(tangents):
        raise ValueError(
            f"jvp: {len(primals)} primals but {len(tangents)} tangents; give one tangent each"
        )
    out = f(*(Dual(x, v) for x, v in zip(primals, tangents)))
    if isinstance(out, (tuple, list)):
        return tuple(_value_of(y) for y in out), tuple(_tangent_of(y) for y in out)
    return _value_of(out), _tangent_of(out)


def gradient(f: Callable, xs: Sequence[float]) -> list:
    """Return ∇f at ``xs`` by forward mode: one pass per input (reverse mode needs one)."""
    n = len(xs)
    return [jvp(f, xs, [1.0 if i == j else 0.0 for i in range(n)])[1] for j in range(n)]


def jacobian(f: Callable, xs: Sequence[float]) -> list[list]:
    """Return the Jacobian J[i][j] = ∂f_i/∂x_j of ``f`` (one number or a tuple of them).

    Forward mode fills it a column at a time: column j is the JVP with e_j.
    """
    n = len(xs)
    columns = []
    for j in range(n):
        _, column = jvp(f, xs, [1.0 if i == j else 0.0 for i in range(n)])
        columns.append(column if isinstance(column, tuple) else (column,))
    return [list(row) for row in zip(*columns)]


def derivatives(f: Callable, x: Any, order: int) -> list:
    """Return ``[f(x), f′(x), …, f⁽ⁿ⁾(x)]`` for n = ``order``, from nested duals.

    x + ε1 + ε2 + … + εn (each εk² = 0) is a dual of duals n deep; f of it holds
    f⁽ᵏ⁾(x) as the coefficient of any k of the ε's: k tangents in, then values.
    ``x`` may be a number or a `Value` (then each derivative is a Value: reverse over
    forward). The work grows as 2ⁿ: fine for the orders a lecture shows.
    Duals carry no tag saying which ε they belong to, so f must not close over duals
    made outside it (nesting ``derivative`` inside f risks "perturbation confusion").
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ValueError(f"derivatives: order must be a non-negative integer, got {order!r}")
    nested = x if isinstance(x, Value) else real(x, "derivatives: x")
    for _ in range(order):
        nested = Dual(nested, 1.0)  # the outer tangent 1 is the inner dual 1 + 0ε
    out = f(nested)
    result = []
    for k in range(order + 1):
        part = out
        for _ in range(k):
            part = part.tangent if isinstance(part, Dual) else 0.0
        while isinstance(part, Dual):
            part = part.value
        result.append(part)
    return result


def derivative(f: Callable, x: Any, order: int = 1) -> Any:
    """Return the ``order``-th derivative f⁽ⁿ⁾(x), by nested duals (see `derivatives`)."""
    return derivatives(f, x, order)[order]


def hvp(f: Callable, xs: Sequence[float], vs: Sequence[float]) -> list[float]:
    """Return the Hessian-vector product H·v = ∇(∇f·v) at ``xs``: reverse over forward.

    The duals hold Values: the forward pass computes ∇f·v as a graph of Values, and one
    ``backward()`` of it gives its gradient, H·v. No second backward pass is needed.
    """
    if len(xs) != len(vs):
        raise ValueError(f"hvp: {len(xs)} inputs but {len(vs)} directions; give one each")
    leaves = [Value(x) for x in xs]
    out = f(*(Dual(leaf, v) for leaf, v in zip(leaves, vs)))
    directional = out.tangent if isinstance(out, Dual) else 0.0
    if isinstance(directional, Value):
        directional.backward()
    return [leaf.grad for leaf in leaves]


def _value_of(y) -> Any:
    while isinstance(y, Dual):
        y = y.value
    return y


def _tangent_of(y) -> Any:
    return y.tangent if isinstance(y, Dual) else 0.0


def parameter_names(f: Callable, n: int) -> list[str]:
    """Return the names of f's first ``n`` parameters, or x1, x2, … where f has none."""
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature
        params = []
    plain = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if len(params) >= n and all(p.kind in plain for p in params[:n]):
        return [p.name for p in params[:n]]
    return [f"x{i}" for i in range(1, n + 1)]
