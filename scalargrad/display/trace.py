"""The forward and backward traces, as the lecture notes write them.

Forward (evaluation) trace, one row per node in topological order::

    v3 = ln(v1) = 0.693

Backward trace, one row per `BackwardStep` of the engine's own backward pass, in reverse
topological order: the node's adjoint as the sum of the partial adjoints it received::

    v̄2 = v̄5·cos(v2) + v̄4·v1 = −0.284 + 2 = 1.716

Forward-mode tangent trace (`tangent_trace`), one row per dual op, beside its primal::

    v3 = ln(v1) = 0.693 | v̇3 = v̇1 / v1 = 0.5

All render through `scalargrad.display.tables.Table` (text, Markdown, HTML, LaTeX). The
backward trace is *not* a second backward pass: it presents the steps of
`scalargrad.autodiff.backward_steps`, which is what ``Value.backward()`` runs; the tangent
trace records the ops that `scalargrad.forward.apply_op` runs on the duals it made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from .. import ops
from ..autodiff import BackwardStep, backward_steps, topological_order
from ..forward import Dual, parameter_names
from ..ops import Op
from ..value import Value
from .labels import MINUS, Labels, format_value, is_constant, tie_share
from .tables import Math, Name, Renders, Table

DOT = "\u0307"  # combining dot above: "v" + DOT + "3" reads v̇3 and renders \dot{v}_{3}


class TraceRow(NamedTuple):
    """One equation of a trace, in parts: ``v3`` ``ln(v1)`` ``0.693``.

    ``str(row)`` joins the non-empty parts with " = ": ``v3 = ln(v1) = 0.693``.
    """

    node: Any  # the node the row is about
    symbol: str  # ``v3`` in a forward trace, ``v̄3`` in a backward trace
    formula: str  # what it is computed from: ``ln(v1)``, ``v̄5·cos(v2) + v̄4·v1``
    terms: str  # the partial adjoints as numbers (backward, several partials only)
    value: str  # the result, formatted

    def __str__(self) -> str:
        return " = ".join(
            part for part in (self.symbol, self.formula, self.terms, self.value) if part
        )


def forward_rows(root: Any, labels: Labels | None = None) -> list[TraceRow]:
    """Return the evaluation trace of ``root``: one `TraceRow` per node, inputs first.

    Constants are not rows: they appear by value inside the formulas (``3 × v7``). An
    input's formula is its name, a `Name`.
    """
    labels = labels or Labels(root)
    return [
        TraceRow(node, labels[node], _formula(node, labels), "", format_value(node.data))
        for node in labels.order
        if not is_constant(node)
    ]


def _formula(node: Any, labels: Labels) -> str:
    """``ln(v1)``, or an input's name as a `Name` (which LaTeX escapes: ``a_b``)."""
    formula = labels.formula(node)
    return Name(formula) if node.op is None else formula


def backward_row(step: BackwardStep, labels: Labels) -> TraceRow:
    """Return one backward step as an equation: the adjoint as the sum of its partials.

    v̄_i = Σ_children v̄_child·∂v_child/∂v_i; the root's adjoint is the seed (1).
    """
    symbol = labels.adjoint(step.node)
    formulas, numbers = [], []
    for partial in step.partials:
        if partial.child is None:  # the seed ∂root/∂root that starts the pass
            continue
        formulas.append(labels.partial(partial.child, partial.slot))
        numbers.append(format_value(partial.value))
    terms = _sum(numbers) if len(numbers) > 1 else ""
    return TraceRow(step.node, symbol, _sum(formulas), terms, format_value(step.adjoint))


def backward_rows(
    root: Any,
    seed: Any = 1.0,
    steps: Iterable[BackwardStep] | None = None,
    labels: Labels | None = None,
) -> list[TraceRow]:
    """Return one `TraceRow` per backward step of ``root``, in reverse topological order.

    Without ``steps`` this runs the backward pass (`backward_steps(root, seed)`), so, as
    with ``backward()``, the adjoints are added into every node's ``grad``. Pass the
    ``steps`` of a pass already run to present it without running another.
    """
    labels = labels or Labels(root)
    steps = backward_steps(root, seed) if steps is None else steps
    return [backward_row(step, labels) for step in steps]


def forward_trace(root: Any) -> Table:
    """Return the evaluation trace of ``root`` as a `Table`: rows like ``v3 = ln(v1) = 0.693``."""
    rows = forward_rows(root)
    return Table(
        "Forward (evaluation) trace",
        ["node", "formula", "value"],
        [[row.symbol, _eq(row.formula), _eq(row.value)] for row in rows],
        math_columns=(0, 1, 2),
    )


def backward_trace(
    root: Any, seed: Any = 1.0, steps: Iterable[BackwardStep] | None = None
) -> Table:
    """Return the backward trace of ``root`` as a `Table`, one row per backward step.

    Rows read ``v̄2 = v̄5·cos(v2) + v̄4·v1 = −0.284 + 2 = 1.716``. Without ``steps`` this
    runs the backward pass, which adds the adjoints into each node's ``grad`` (exactly as
    ``backward()`` does); pass the ``steps`` of a pass already run to avoid that.
    """
    rows = backward_rows(root, seed, steps)
    return Table(
        "Backward (adjoint) trace",
        ["adjoint", "sum of partial adjoints", "terms", "value"],
        [[row.symbol, _eq(row.formula), _eq(row.terms), _eq(row.value)] for row in rows],
        math_columns=(0, 1, 2, 3),
    )


def _eq(text: str) -> str:
    """A table cell continuing the equation: ``= ln(v1)``, or empty."""
    return Math("= ", text) if text else ""


def _sum(terms: list[str]) -> str:
    """Terms joined as a sum, a leading minus turned into subtraction: ``a − b``."""
    out = ""
    for term in terms:
        if not out:
            out = term
        elif term.startswith(MINUS):
            out += f" {MINUS} {term[1:]}"
        else:
            out += f" + {term}"
    return out


# ---- the tangent trace of forward mode ----------------------------------------------

# The tangent of each op as text: one term per operand slot, ȯut = Σᵢ ∂out/∂vᵢ · v̇ᵢ, with
# ``{0}``, ``{1}`` for the operands and ``{t0}``, ``{t1}`` for their tangents (``v̇1``),
# so the term of a constant operand (tangent 0) drops out of the printed formula.
TANGENT_TERMS = {
    ops.Add: ("{t0}", "{t1}"),
    ops.Sub: ("{t0}", "−{t1}"),
    ops.Mul: ("{t0}·{1}", "{0}·{t1}"),
    ops.Div: ("{t0} / {1}", "−{0}·{t1} / {1}²"),
    ops.Power: ("{1}·{0}^({1}−1)·{t0}", "{0}^{1}·ln({0})·{t1}"),
    ops.Maximum: ("[{0} > {1}]·{t0}", "[{1} > {0}]·{t1}"),
    ops.Minimum: ("[{0} < {1}]·{t0}", "[{1} < {0}]·{t1}"),
    ops.Neg: ("−{t0}",),
    ops.Log: ("{t0} / {0}",),
    ops.Exp: ("exp({0})·{t0}",),
    ops.Sin: ("cos({0})·{t0}",),
    ops.Cos: ("−sin({0})·{t0}",),
    ops.Tanh: ("(1 − tanh²({0}))·{t0}",),
    ops.Sigmoid: ("σ({0})·(1 − σ({0}))·{t0}",),
    ops.ReLU: ("[{0} > 0]·{t0}",),
    ops.Abs: ("sign({0})·{t0}",),
}


def tangent_terms(op: Op) -> tuple:
    """The tangent of ``op`` as text, one term per operand slot (see `TANGENT_TERMS`)."""
    if isinstance(op, ops.Pow):
        k = op.exponent
        power = "{0}" if k - 1 == 1 else "{0}^" + _exponent_text(k - 1)
        return (f"{ops.number_text(k)}·{power}·{{t0}}",)
    if isinstance(op, (ops.Summation, ops.Dot)):  # n-ary: the local derivatives times tangents
        return tuple(
            f"{local}·{{t{i}}}" if local != "1" else f"{{t{i}}}" for i, local in enumerate(op.local)
        )
    return TANGENT_TERMS[type(op)]


class _TraceNode:
    """One recorded dual; ``parents`` lets `topological_order` number the trace."""

    __slots__ = ("dual", "op", "operands", "is_node", "parents", "name")

    def __init__(self, dual, op, operands, is_node, parents, name=""):
        self.dual, self.op, self.operands, self.is_node = dual, op, operands, is_node
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

    def record(self, out: Dual, op: Op, operands: tuple) -> None:
        """Note that ``op`` made ``out`` from ``operands`` (`forward.apply_op` calls this)."""
        out._trace = self
        is_node = tuple(isinstance(x, Dual) for x in operands)
        known = self._nodes
        parents = tuple(known[id(x)] for x in operands if isinstance(x, Dual) and id(x) in known)
        self._nodes[id(out)] = _TraceNode(out, op, tuple(operands), is_node, parents)

    def table(self, title: str = "") -> Table:
        """Return the trace as a `Table`: forward primal trace | forward tangent trace."""
        outputs = [self._nodes[id(y)] for _, y in self._outputs if id(y) in self._nodes]
        ends = outputs if self._outputs else list(self._nodes.values())
        # A root above the inputs and the outputs: topological_order then lists the inputs
        # first, in the order given, and drops ops the outputs do not depend on.
        root = _TraceNode(None, None, (), (), (*self._inputs, *ends))
        order = [node for node in topological_order(root) if node is not root]
        labels = {id(node): f"v{i}" for i, node in enumerate(order, start=1)}

        def label(operand, is_node):
            node = self._nodes.get(id(operand)) if is_node else None
            return labels[id(node)] if node is not None else _number_text(operand)

        rows = []
        for node in order:
            v, d = labels[id(node)], node.dual
            if node.op is None:  # an input
                primal, tangent = Name(node.name), Name(_dotted(node.name))
            else:
                names = [label(x, is_node) for x, is_node in zip(node.operands, node.is_node)]
                dotted = {f"t{i}": _dotted(n) for i, n in enumerate(names)}
                primal = node.op.formula.format(*names)
                values = [_primal(x) for x in node.operands]
                terms = [
                    tie_share(term, values).format(*names, **dotted)  # max at a tie: ½·v̇1
                    for term, is_node in zip(tangent_terms(node.op), node.is_node)
                    if is_node  # a constant's tangent is 0: its term drops out
                ]
                tangent = _sum_text(terms)
            rows.append(
                [
                    Math(f"{v} = ", primal, f" = {_number_text(d.value)}"),
                    Math(f"{_dotted(v)} = ", tangent, f" = {_number_text(d.tangent)}"),
                ]
            )
        for name, y in self._outputs:
            node = self._nodes.get(id(y)) if isinstance(y, Dual) else None
            if node is not None:
                v = labels[id(node)]
                primal, tangent = f"{v} = {_number_text(y.value)}", f"{_dotted(v)} = "
                tangent += _number_text(y.tangent)
            else:  # f returned a constant
                primal, tangent = _number_text(y), "0"
            rows.append(
                [Math(Name(name), f" = {primal}"), Math(Name(_dotted(name)), f" = {tangent}")]
            )
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


def _primal(x) -> float:
    """The plain number at the bottom of a dual's component (or a constant operand)."""
    while isinstance(x, Dual):
        x = x.value
    return x.data if isinstance(x, Value) else x


def _exponent_text(k: float) -> str:
    text = ops.number_text(k)
    return f"({text})" if k < 0 else text


def _number_text(x) -> str:
    """A number for a trace cell, as the lecture prints it: 0.693, 5.5, 11.652."""
    x = _primal(x)
    if x == 0 or abs(x) >= 1e-3:
        return f"{round(x, 3):g}".replace("-", "−")
    return f"{x:.3g}".replace("-", "−")
