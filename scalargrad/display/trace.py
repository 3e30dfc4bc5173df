"""The forward and backward traces, as the lecture notes write them.

Forward (evaluation) trace, one row per node in topological order::

    v3 = ln(v1) = 0.693

Backward trace, one row per `BackwardStep` of the engine's own backward pass, in reverse
topological order: the node's adjoint as the sum of the partial adjoints it received::

    v̄2 = v̄5·cos(v2) + v̄4·v1 = −0.284 + 2 = 1.716

Both render through `scalargrad.display.tables.Table` (text, Markdown, HTML, LaTeX). The
backward trace is *not* a second backward pass: it presents the steps of
`scalargrad.autodiff.backward_steps`, which is what ``Value.backward()`` runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from ..autodiff import BackwardStep, backward_steps
from .labels import MINUS, Labels, format_value, is_constant
from .tables import Table


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

    Constants are not rows: they appear by value inside the formulas (``3 × v7``).
    """
    labels = labels or Labels(root)
    return [
        TraceRow(node, labels[node], labels.formula(node), "", format_value(node.data))
        for node in labels.order
        if not is_constant(node)
    ]


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
    return f"= {text}" if text else ""


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
