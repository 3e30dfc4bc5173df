"""Forward mode: dual numbers, carrying a value and its tangent through one forward pass.

A dual number a + ȧε (with ε² = 0) holds a value ``a`` and a tangent ``ȧ`` = ∂a/∂(input)
along one chosen direction. Every op maps it by its first-order Taylor rule,
f(a + ȧε) = f(a) + f′(a)·ȧ ε, so ``f(Dual(2, 1), Dual(5, 0))`` returns y and ∂y/∂x1 in
one pass: one JVP, one column of the Jacobian (reverse mode's one VJP gives one row).

`Dual` has exactly `Value`'s op names, so a lecture expression written with the twins of
`scalargrad.functions` (``log(x1) + x1 * x2 - sin(x2)``) runs on floats, Values and duals
unchanged. Each rule below is written with those twins applied to the components, so a
component may itself be

- a `Dual`:  nested duals give higher derivatives (forward over forward, `derivative`);
- a `Value`: the tangent becomes a graph, and its ``backward()`` differentiates the
  directional derivative again (reverse over forward, `hvp`).

The rules sit one small class each, in the order of ops.py, with the math in the
docstring and the tangent as text templates for the tangent trace: ``{0}``, ``{1}`` stand
for the operands and ``{t0}``, ``{t1}`` for their tangents (``v̇1``), one term per operand
slot, so the term of a constant operand (tangent 0) drops out of the printed formula.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

from . import ops
from .autodiff import topological_order
from .display.tables import Renders, Table
from .functions import cos, exp, log, maximum, minimum, relu, sigmoid, sin, tanh
from .value import Value

DOT = "\u0307"  # combining dot above: "v" + DOT + "3" reads v̇3 and renders \dot{v}_{3}


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
        self._trace: TangentTrace | None = None  # set only on the inputs of a TangentTrace

    # Every dunder names its rule explicitly, as Value names its op: grep Mul finds it.

    def __add__(self, other):
        return _apply(Add(), self, other)

    def __radd__(self, other):
        return _apply(Add(), other, self)

    def __sub__(self, other):
        return _apply(Sub(), self, other)

    def __rsub__(self, other):
        return _apply(Sub(), other, self)

    def __mul__(self, other):
        return _apply(Mul(), self, other)

    def __rmul__(self, other):
        return _apply(Mul(), other, self)

    def __truediv__(self, other):
        return _apply(Div(), self, other)

    def __rtruediv__(self, other):
        return _apply(Div(), other, self)

    def __pow__(self, exponent):
        # As in Value: a node exponent (here a Dual or a Value) is the two-operand Power,
        # whose base must be ≥ 0 (ln appears in ∂/∂y); a plain number is the constant Pow.
        if isinstance(exponent, (Dual, Value)):
            return _apply(Power(), self, exponent)
        return _apply(Pow(_real(exponent, "pow")), self)

    def __rpow__(self, base):
        return _apply(Power(), base, self)

    def __neg__(self):
        return _apply(Neg(), self)

    def log(self) -> Dual:
        """ln(self); raises ValueError for a non-positive value."""
        return _apply(Log(), self)

    def exp(self) -> Dual:
        return _apply(Exp(), self)

    def sin(self) -> Dual:
        return _apply(Sin(), self)

    def cos(self) -> Dual:
        return _apply(Cos(), self)

    def tanh(self) -> Dual:
        return _apply(Tanh(), self)

    def sigmoid(self) -> Dual:
        return _apply(Sigmoid(), self)

    def relu(self) -> Dual:
        return _apply(ReLU(), self)

    def abs(self) -> Dual:
        return _apply(Abs(), self)

    def max(self, other) -> Dual:
        """The larger of self and other; on a tie the tangent is the mean of both."""
        return _apply(Maximum(), self, other)

    def min(self, other) -> Dual:
        """The smaller of self and other; on a tie the tangent is the mean of both."""
        return _apply(Minimum(), self, other)

    __abs__ = abs

    def __repr__(self) -> str:
        return f"Dual(value={_short(self.value)}, tangent={_short(self.tangent)})"


# ---- the rules: value and tangent of each op, side by side --------------------------


class Rule:
    """Base of the dual rules: ``op`` (the ops.py op, for its name and formula) and
    ``tangent``, one text term per operand slot: v̇out = Σ_i ∂out/∂v_i · v̇_i."""

    __slots__ = ()
    op: ops.Op = ops.Op()
    tangent: tuple = ()

    def __repr__(self) -> str:
        return type(self).__name__ + "()"


class Add(Rule):
    """(a + ȧε) + (b + ḃε) = (a + b) + (ȧ + ḃ)ε"""

    op, tangent = ops.Add(), ("{t0}", "{t1}")

    def __call__(self, a, da, b, db):
        return a + b, da + db


class Sub(Rule):
    """(a + ȧε) − (b + ḃε) = (a − b) + (ȧ − ḃ)ε"""

    op, tangent = ops.Sub(), ("{t0}", "−{t1}")

    def __call__(self, a, da, b, db):
        return a - b, da - db


class Mul(Rule):
    """(a + ȧε)(b + ḃε) = ab + (ȧ·b + a·ḃ)ε   (the product rule; ε² = 0)"""

    op, tangent = ops.Mul(), ("{t0}·{1}", "{0}·{t1}")

    def __call__(self, a, da, b, db):
        return a * b, da * b + a * db


class Div(Rule):
    """(a + ȧε) / (b + ḃε) = a/b + (ȧ/b − a·ḃ/b²)ε = a/b + ((ȧ − (a/b)·ḃ)/b)ε"""

    op, tangent = ops.Div(), ("{t0} / {1}", "−{0}·{t1} / {1}²")

    def __call__(self, a, da, b, db):
        out = _div(a, b)  # raises, naming div, on a zero divisor
        return out, _div(da - out * db, b)


class Power(Rule):
    """(a + ȧε)^(b + ḃε) = aᵇ + (b·a^(b−1)·ȧ + aᵇ·ln a·ḃ)ε   (a ≥ 0, as Value's Power)"""

    op, tangent = ops.Power(), ("{1}·{0}^({1}−1)·{t0}", "{0}^{1}·ln({0})·{t1}")

    def __call__(self, a, da, b, db):
        out = _power(a, b)
        a0, b0 = _primal(a), _primal(b)
        # The same conventions at a = 0 as ops.Power.backward (and PyTorch).
        d_base = b * _power(a, b - 1) * da if (a0 != 0 or b0 >= 1) else 0.0
        d_exponent = out * log(a) * db if a0 > 0 else 0.0
        return out, d_base + d_exponent


class Maximum(Rule):
    """max(a + ȧε, b + ḃε) = max(a, b) + (ȧ if a > b, ḃ if b > a, (ȧ + ḃ)/2 on a tie)ε"""

    op, tangent = ops.Maximum(), ("[{0} > {1}]·{t0}", "[{1} > {0}]·{t1}")

    def __call__(self, a, da, b, db):
        a0, b0 = _primal(a), _primal(b)
        # A tie splits the tangent equally, as Value's gradient splits ḡ.
        d = (da + db) * 0.5 if a0 == b0 else da if a0 > b0 else db
        return maximum(a, b), d


class Minimum(Rule):
    """min(a + ȧε, b + ḃε) = min(a, b) + (ȧ if a < b, ḃ if b < a, (ȧ + ḃ)/2 on a tie)ε"""

    op, tangent = ops.Minimum(), ("[{0} < {1}]·{t0}", "[{1} < {0}]·{t1}")

    def __call__(self, a, da, b, db):
        a0, b0 = _primal(a), _primal(b)
        d = (da + db) * 0.5 if a0 == b0 else da if a0 < b0 else db
        return minimum(a, b), d


class Neg(Rule):
    """−(a + ȧε) = −a + (−ȧ)ε"""

    op, tangent = ops.Neg(), ("−{t0}",)

    def __call__(self, a, da):
        return -a, -da


class Pow(Rule):
    """(a + ȧε)^k = aᵏ + (k·a^(k−1)·ȧ)ε   for a constant k"""

    __slots__ = ("exponent", "op")

    def __init__(self, exponent: float):
        self.exponent = exponent
        self.op = ops.Pow(exponent)

    @property
    def tangent(self) -> tuple:
        k = self.exponent
        power = "{0}" if k - 1 == 1 else "{0}^" + _exponent_text(k - 1)
        return (f"{ops._number(k)}·{power}·{{t0}}",)

    def __call__(self, a, da):
        k = self.exponent
        if k == 0:  # a⁰ = 1 is constant (also at a = 0, where a^(k−1) would divide by 0)
            return _pow(a, k), 0.0
        return _pow(a, k), k * _pow(a, k - 1) * da

    def __repr__(self) -> str:
        return f"Pow({self.exponent!r})"


class Log(Rule):
    """ln(a + ȧε) = ln a + (ȧ / a)ε"""

    op, tangent = ops.Log(), ("{t0} / {0}",)

    def __call__(self, a, da):
        return log(a), _div(da, a)  # log raises, naming log, for a ≤ 0


class Exp(Rule):
    """exp(a + ȧε) = eᵃ + (eᵃ·ȧ)ε"""

    op, tangent = ops.Exp(), ("exp({0})·{t0}",)

    def __call__(self, a, da):
        out = exp(a)
        return out, out * da


class Sin(Rule):
    """sin(a + ȧε) = sin a + (cos a·ȧ)ε"""

    op, tangent = ops.Sin(), ("cos({0})·{t0}",)

    def __call__(self, a, da):
        return sin(a), cos(a) * da


class Cos(Rule):
    """cos(a + ȧε) = cos a + (−sin a·ȧ)ε"""

    op, tangent = ops.Cos(), ("−sin({0})·{t0}",)

    def __call__(self, a, da):
        return cos(a), -sin(a) * da


class Tanh(Rule):
    """tanh(a + ȧε) = t + ((1 − t²)·ȧ)ε   with t = tanh a"""

    op, tangent = ops.Tanh(), ("(1 − tanh²({0}))·{t0}",)

    def __call__(self, a, da):
        t = tanh(a)
        return t, (1.0 - t * t) * da


class Sigmoid(Rule):
    """σ(a + ȧε) = s + (s·(1 − s)·ȧ)ε   with s = σ(a)"""

    op, tangent = ops.Sigmoid(), ("σ({0})·(1 − σ({0}))·{t0}",)

    def __call__(self, a, da):
        s = sigmoid(a)
        return s, s * (1.0 - s) * da


class ReLU(Rule):
    """relu(a + ȧε) = relu(a) + ([a > 0]·ȧ)ε   (0 at a = 0, as Value and PyTorch)"""

    op, tangent = ops.ReLU(), ("[{0} > 0]·{t0}",)

    def __call__(self, a, da):
        return relu(a), da if _primal(a) > 0 else 0.0


class Abs(Rule):
    """|a + ȧε| = |a| + (sign(a)·ȧ)ε   (0 at a = 0, as Value and PyTorch)"""

    op, tangent = ops.Abs(), ("sign({0})·{t0}",)

    def __call__(self, a, da):
        a0 = _primal(a)
        return abs(a), da if a0 > 0 else -da if a0 < 0 else 0.0


def _apply(rule: Rule, *operands) -> Dual:
    """Run ``rule`` on the operands (plain numbers become constants with tangent 0)."""
    duals = [_operand(x, rule) for x in operands]
    value, tangent = rule(*(c for d in duals for c in (d.value, d.tangent)))
    out = Dual.__new__(Dual)  # the rule built the components: skip the public checks
    out.value, out.tangent, out._trace = value, tangent, None
    trace = next((d._trace for d in duals if d._trace is not None), None)
    if trace is not None:
        trace._record(out, rule, duals, [isinstance(x, Dual) for x in operands])
    return out


# ---- helpers: checks with Value's messages when the components are plain numbers ------


def _primal(x) -> float:
    """The plain number at the bottom of a component (for branches: max, relu, ...)."""
    while isinstance(x, Dual):
        x = x.value
    return x.data if isinstance(x, Value) else x


def _div(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return ops.Div().forward(a, b)  # a clear error naming div for b = 0
    return a / b


def _pow(a, k: float):
    return ops._pow("pow", a, k) if isinstance(a, float) else a**k


def _power(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return ops.Power().forward(a, b)  # rejects a negative base, as Value does
    return a**b


def _component(x, where: str):
    """A dual's component: a float, a Value or a Dual; else an error naming ``where``."""
    if isinstance(x, (Dual, Value)):
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return _real(x, f"Dual: {where}")
    raise TypeError(
        f"Dual: {where} must be a real number, a Value or a Dual, got {type(x).__name__} {x!r}"
    )


def _real(x, where: str) -> float:
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        value = float(x)
        if math.isnan(value):
            raise ValueError(f"{where}: got NaN, which has no derivative to follow")
        return value
    raise TypeError(f"{where}: expected a real number, got {type(x).__name__} {x!r}")


def _operand(x, rule: Rule) -> Dual:
    """``x`` as a dual: a plain number or a Value is a constant (tangent 0)."""
    if isinstance(x, Dual):
        return x
    if isinstance(x, Value) or (isinstance(x, numbers.Real) and not isinstance(x, bool)):
        return Dual(x, 0.0)
    name = type(rule).__name__.lower()
    raise TypeError(
        f"{name}: cannot combine a Dual with {type(x).__name__} {x!r} "
        "(expected a real number, a Value or a Dual)"
    )


def _exponent_text(k: float) -> str:
    text = ops._number(k)
    return f"({text})" if k < 0 else text


def _short(x) -> str:
    return f"{x:.6g}" if isinstance(x, float) else repr(x)


def _number_text(x) -> str:
    """A number for a trace cell, as the lecture prints it: 0.693, 5.5, 11.652."""
    x = _primal(x)
    if x == 0 or abs(x) >= 1e-3:
        return f"{round(x, 3):g}".replace("-", "−")
    return f"{x:.3g}".replace("-", "−")


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
    nested = x if isinstance(x, Value) else _real(x, "derivatives: x")
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


# ---- the tangent trace ---------------------------------------------------------------


class _TraceNode:
    """One recorded dual; ``parents`` lets `topological_order` number the trace."""

    __slots__ = ("dual", "rule", "operands", "is_node", "parents", "name")

    def __init__(self, dual, rule, operands, is_node, parents, name=""):
        self.dual, self.rule, self.operands, self.is_node = dual, rule, operands, is_node
        self.parents, self.name = parents, name


class TangentTrace(Renders):
    """Records the dual ops run on its inputs; renders the forward tangent trace.

    >>> trace = TangentTrace()
    >>> x1, x2 = trace.input(2.0, 1.0, "x1"), trace.input(5.0, 0.0, "x2")
    >>> y = trace.output(log(x1) + x1 * x2 - sin(x2), "y")
    >>> print(trace.table().rows[2])
    ['v3 = ln(v1) = 0.693', 'v̇3 = v̇1 / v1 = 0.5']

    Rows are numbered as the lecture numbers the evaluation trace: inputs first
    (v1, v2, …), then the ops level by level, then the outputs.
    """

    def __init__(self) -> None:
        self._nodes: dict[int, _TraceNode] = {}  # id(dual) → node; the node keeps the dual
        self._inputs: list[_TraceNode] = []
        self._outputs: list[tuple[str, Any]] = []

    def input(self, value: float, tangent: float, name: str = "") -> Dual:
        """Return a new input dual whose ops this trace records."""
        x = Dual(value, tangent)
        x._trace = self
        node = _TraceNode(x, None, (), (), (), name or f"x{len(self._inputs) + 1}")
        self._nodes[id(x)] = node
        self._inputs.append(node)
        return x

    def output(self, y: Any, name: str = "") -> Any:
        """Mark ``y`` (what f returned) as an output row; return it unchanged."""
        self._outputs.append((name or f"y{len(self._outputs) + 1}", y))
        return y

    def _record(self, out: Dual, rule: Rule, operands: list, is_node: list) -> None:
        out._trace = self
        parents = tuple(
            self._nodes[id(d)]
            for d, node in zip(operands, is_node)
            if node and id(d) in self._nodes
        )
        self._nodes[id(out)] = _TraceNode(out, rule, tuple(operands), tuple(is_node), parents)

    def table(self, title: str = "") -> Table:
        """Return the trace as a `Table`: forward primal trace | forward tangent trace."""
        outputs = [self._nodes[id(y)] for _, y in self._outputs if id(y) in self._nodes]
        ends = outputs if self._outputs else list(self._nodes.values())
        # A root above the inputs and the outputs: topological_order then lists the inputs
        # first, in the order given, and drops ops the outputs do not depend on.
        root = _TraceNode(None, None, (), (), (*self._inputs, *ends))
        order = [node for node in topological_order(root) if node is not root]
        labels = {id(node): f"v{i}" for i, node in enumerate(order, start=1)}

        def label(dual, is_node):
            node = self._nodes.get(id(dual)) if is_node else None
            return labels[id(node)] if node is not None else _number_text(dual.value)

        rows = []
        for node in order:
            v, d = labels[id(node)], node.dual
            if node.rule is None:  # an input
                primal, tangent = node.name, _dotted(node.name)
            else:
                names = [label(x, is_node) for x, is_node in zip(node.operands, node.is_node)]
                dotted = {f"t{i}": _dotted(n) for i, n in enumerate(names)}
                primal = node.rule.op.formula.format(*names)
                terms = [
                    term.format(*names, **dotted)
                    for term, is_node in zip(node.rule.tangent, node.is_node)
                    if is_node  # a constant's tangent is 0: its term drops out
                ]
                tangent = _sum_text(terms)
            rows.append(
                [
                    f"{v} = {primal} = {_number_text(d.value)}",
                    f"{_dotted(v)} = {tangent} = {_number_text(d.tangent)}",
                ]
            )
        for name, y in self._outputs:
            node = self._nodes.get(id(y)) if isinstance(y, Dual) else None
            if node is not None:
                v = labels[id(node)]
                primal, tangent = f"{v} = {_number_text(y.value)}", f"{_dotted(v)} = "
                tangent += _number_text(y.tangent)
            else:  # f returned a constant
                primal, tangent = _number_text(_value_of(y)), "0"
            rows.append([f"{name} = {primal}", f"{_dotted(name)} = {tangent}"])
        seed = ", ".join(
            f"{_dotted(n.name)} = {_number_text(n.dual.tangent)}" for n in self._inputs
        )
        return Table(
            title or f"Forward mode, seed {seed}",
            ["Forward primal trace", "Forward tangent trace"],
            rows,
            math_columns=(0, 1),
        )

    def to_text(self) -> str:
        return self.table().to_text()

    def to_markdown(self) -> str:
        return self.table().to_markdown()

    def to_html(self) -> str:
        return self.table().to_html()

    def to_latex(self) -> str:
        return self.table().to_latex()


def tangent_trace(
    f: Callable,
    inputs: Sequence[float],
    tangents: Sequence[float],
    names: Sequence[str] | None = None,
    output_name: str = "y",
) -> TangentTrace:
    """Return the tangent trace of one forward pass of ``f`` at ``inputs`` with seed ``tangents``.

    Input names default to f's parameter names (``lambda x1, x2: …`` gives x1, x2).
    """
    if len(inputs) != len(tangents):
        raise ValueError(
            f"tangent_trace: {len(inputs)} inputs but {len(tangents)} tangents; give one each"
        )
    names = list(names) if names is not None else parameter_names(f, len(inputs))
    if len(names) != len(inputs):
        raise ValueError(f"tangent_trace: {len(inputs)} inputs but {len(names)} names")
    trace = TangentTrace()
    duals = [trace.input(x, t, n) for x, t, n in zip(inputs, tangents, names)]
    out = f(*duals)
    if isinstance(out, (tuple, list)):
        for i, y in enumerate(out, start=1):
            trace.output(y, f"{output_name}{i}")
    else:
        trace.output(out, output_name)
    return trace


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


def _dotted(label: str) -> str:
    """v3 → v̇3, x1 → ẋ1, y → ẏ: a dot over the first letter, as the lecture writes it."""
    return label[0] + DOT + label[1:] if label and label[0].isalpha() else f"d({label})"


def _sum_text(terms: list[str]) -> str:
    """Join terms with + and −: ["v̇1", "−v̇2"] → "v̇1 − v̇2"."""
    if not terms:
        return "0"
    text = terms[0]
    for term in terms[1:]:
        text += f" − {term[1:]}" if term.startswith("−") else f" + {term}"
    return text
