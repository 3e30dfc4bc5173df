"""Gradient checking over the node protocol: one comparison, one report, one culprit search.

Both gradchecks use it: `scalargrad.numerical.gradcheck` on Values and `vecgrad.gradcheck`
on Tensors. A gradcheck compares the engine's ∂f/∂x (in vecgrad the vector-Jacobian
product uᵀ·J for a random u) with central differences, one `InputCheck` per input. On a
mismatch `first_wrong_op` walks the graph in topological order from the failing input and
tests each op on its path *locally*: a fresh copy of the op runs forward at the node's own
operand values, and its ``backward(ḡ)`` is compared with central differences of
Σ ḡ·forward (ḡ = 1 for a scalar, random for an array). The first op that disagrees is the
`Culprit`, named with its node label, formula, operand slot and numbers; where forward's
one-sided slopes differ, it is a kink or tie (relu at 0), not a wrong backward.

Everything here reads only ``data``, ``parents``, ``op`` and ``name`` of a node and
``forward``/``backward`` of an op, so scalars are simply 0-d entries.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# What an op's forward raises outside its domain: the point cannot be differenced there.
UNDEFINED = (ValueError, ZeroDivisionError, OverflowError, FloatingPointError)


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


# ---- central differences of Σ u·f, entry by entry -------------------------------------


def numeric_vjp(
    evaluate: Callable,
    operands: Sequence,
    slot: int,
    u,
    step: Callable[[float], float],
    one_sided: bool = True,
) -> np.ndarray:
    """Return central differences of Σ u·evaluate(*operands) for each entry of operands[slot].

    Operands are numbers or arrays; ``step(x)`` gives the h for an entry x. With
    ``one_sided``, an entry where one side is undefined (log at 1e-9) falls back to a
    one-sided difference, and one undefined on both sides is NaN (cannot judge); without
    it, any undefined side raises `Undefined` naming the entry.
    """
    x = np.asarray(operands[slot], dtype=np.float64)
    result = np.empty(x.shape)
    for index in np.ndindex(*x.shape):
        x0 = float(x[index])
        h = step(x0)

        def phi(t, index=index):
            value = np.asarray(evaluate(*_moved(operands, slot, index, t)), dtype=np.float64)
            if not np.isfinite(value).all():
                raise ValueError(f"not finite at {t!r}")
            return float(np.sum(u * value))

        sides = [(x0 + h, x0 - h, 2 * h)]
        if one_sided:
            sides += [(x0 + h, x0, h), (x0, x0 - h, h)]
        result[index] = math.nan
        for a, b, width in sides:
            try:
                result[index] = (phi(a) - phi(b)) / width
                break
            except UNDEFINED as error:
                if not one_sided:
                    raise Undefined(index, x0, h, error) from error
    return result


class Undefined(ValueError):
    """f cannot be evaluated on both sides of an entry: central differences cannot judge it."""

    def __init__(self, index: tuple, x: float, h: float, error: Exception):
        super().__init__(f"{error}")
        self.index, self.x, self.h, self.error = index, x, h, error


def _moved(operands: Sequence, slot: int, index: tuple, t: float) -> list:
    """The operands with entry ``index`` of operands[slot] set to t (a number stays a number)."""
    moved = list(operands)
    if isinstance(operands[slot], np.ndarray):
        moved[slot] = operands[slot].astype(np.float64)  # a copy: never the caller's array
        moved[slot][index] = t
    else:
        moved[slot] = float(t)
    return moved


# ---- what a check finds ------------------------------------------------------------------


def _difference(engine, numeric) -> np.ndarray:
    """|engine − numeric|, 0 where they are equal: equal infinities agree (∞ − ∞ is NaN)."""
    engine, numeric = np.asarray(engine, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    with np.errstate(invalid="ignore"):  # ∞ − ∞, replaced just below
        return np.where(engine == numeric, 0.0, np.abs(engine - numeric))


def _excess(engine, numeric, rtol: float, atol: float) -> np.ndarray:
    """|engine − numeric| / (atol + rtol·|numeric|): above 1 (or NaN) is a mismatch."""
    with np.errstate(invalid="ignore"):  # ∞/∞ where numeric is ∞ and engine is not: NaN
        return _difference(engine, numeric) / (atol + rtol * np.abs(numeric))


@dataclass
class InputCheck:
    """One input's comparison: the engine's ∂f/∂x (uᵀ·∂f/∂x for arrays) against central
    differences. ``engine`` and ``numeric`` are numbers for a scalar input, else arrays."""

    name: str
    engine: Any
    numeric: Any
    rtol: float
    atol: float

    @property
    def shape(self) -> tuple:
        return np.shape(self.engine)

    @property
    def excess(self) -> np.ndarray:
        """|engine − numeric| / (atol + rtol·|numeric|): above 1 is a mismatch."""
        return _excess(self.engine, self.numeric, self.rtol, self.atol)

    @property
    def ok(self) -> bool:
        return bool((self.excess <= 1).all())

    @property
    def worst(self) -> tuple:
        """The index of the entry that disagrees most (() for a scalar)."""
        if np.size(self.engine) == 0 or not self.shape:
            return ()
        return tuple(int(i) for i in np.unravel_index(np.argmax(self.excess), self.shape))

    @property
    def error(self) -> float:
        """The largest |engine − numeric|."""
        return float(np.max(_difference(self.engine, self.numeric), initial=0.0))

    @property
    def tolerance(self) -> float:
        """atol + rtol·|numeric| at the worst entry: the error allowed there."""
        if np.size(self.engine) == 0:
            return self.atol
        return self.atol + self.rtol * abs(float(np.asarray(self.numeric)[self.worst]))


@dataclass
class Culprit:
    """The first op on an input's path whose ``backward`` disagrees with its ``forward``."""

    op: Any  # the op object of the node
    node: str  # the node's label, e.g. "v4"
    formula: str  # what it computes, e.g. "x1 × x2"
    inputs: tuple  # the op's operand values
    slot: int  # the operand slot whose partial adjoint is wrong
    operand: str  # that operand's label, e.g. "x2"
    operand_shape: tuple
    output_shape: tuple
    index: tuple = ()  # where in the operand they disagree most
    analytic: float = math.nan  # the partial adjoint there, from op.backward(ḡ)
    numeric: float = math.nan  # the same from central differences of Σ ḡ·op.forward
    problem: str = ""  # set when backward's result cannot even be compared (its shape)
    kink: tuple | None = None  # (left, right) one-sided slopes where they differ: no derivative
    random_cotangent: bool = False  # ḡ random (arrays) rather than 1 (a scalar's ∂out/∂x)
    position: int = 0  # the node's place in topological order: the first culprit is named

    @property
    def at_kink(self) -> bool:
        """True when forward has no derivative here (relu at 0, a tie): not a wrong backward."""
        return self.kink is not None

    def describe(self) -> str:
        name, symbol = type(self.op).__name__, getattr(self.op, "symbol", "?")
        if self.random_cotangent or self.output_shape or self.operand_shape:
            where = (
                f"{name} ({symbol}) at {self.node} = {self.formula}, operand slot {self.slot} "
                f"({self.operand}, shape {self.operand_shape}; output shape {self.output_shape})"
            )
            at = f" at index {self.index}"
        else:  # numbers: the partial derivative itself, with the operand values
            values = ", ".join(f"{float(v):.6g}" for v in self.inputs)
            where = f"{name} ({symbol}) at {self.node} = {self.formula}, operands ({values})"
            at = ""
        if self.problem:
            return f"{where}: {self.problem}"
        if self.kink is not None:
            left, right = self.kink
            return (
                f"{where}: forward has a kink or tie{at} (slope {left:.6g} from the left, "
                f"{right:.6g} from the right), so no derivative exists there; move the point "
                "away from it"
            )
        if not at:
            return (
                f"{where}: ∂{self.node}/∂{self.operand} (operand slot {self.slot}) is "
                f"{self.analytic:.6g} from backward but {self.numeric:.6g} from central "
                "differences of forward"
            )
        return (
            f"{where}: backward(ḡ) gives {self.analytic:.6g}{at} but central differences of "
            f"forward give {self.numeric:.6g} (ḡ random)"
        )


class GradcheckError(AssertionError):
    """Raised by gradcheck on a mismatch; ``report`` holds every number."""

    def __init__(self, report: GradcheckReport):
        super().__init__(report.message)
        self.report = report


@dataclass
class GradcheckReport:
    """What a gradcheck found: one `InputCheck` per input, a `Culprit` per failing input."""

    value: Any  # f at the inputs
    inputs: list[InputCheck]
    culprits: dict[str, Culprit | None] = field(default_factory=dict)
    graph_cut: bool = False  # f's output does not depend on any input through the graph
    engine_error: str = ""  # the error the backward pass itself raised, if it failed
    vjp: bool = False  # True: engine and numeric are uᵀ·J for a random u (vecgrad)

    @property
    def ok(self) -> bool:
        return not self.engine_error and all(check.ok for check in self.inputs)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def output_shape(self) -> tuple:
        return np.shape(self.value)

    @property
    def culprit(self) -> Culprit | None:
        """The first culprit in topological order among all failing inputs, if any."""
        found = [c for c in self.culprits.values() if c is not None]
        return min(found, key=lambda c: c.position) if found else None

    @property
    def message(self) -> str:
        """A readable verdict: every mismatching input, and where its error starts."""
        if self.ok:
            names = ", ".join(check.name for check in self.inputs)
            return f"gradcheck: the engine's gradient matches central differences for {names}"
        if self.engine_error:
            lines = [f"gradcheck: the backward pass itself failed: {self.engine_error}"]
        else:
            lines = ["gradcheck: the engine's gradient disagrees with central differences:"]
        for check in self.inputs:
            if check.ok:
                continue
            i = check.worst
            numbers = np.asarray(check.engine)[i], np.asarray(check.numeric)[i]
            if check.shape:
                lines.append(
                    f"  ∂f/∂{check.name} (shape {check.shape}) at index {i}: engine "
                    f"{numbers[0]:.6g}, central difference {numbers[1]:.6g} (|error| up to "
                    f"{check.error:.3g})"
                )
            else:
                lines.append(
                    f"  ∂f/∂{check.name}: engine {numbers[0]:.6g}, central difference "
                    f"{numbers[1]:.6g} (|error| {check.error:.3g} > tolerance "
                    f"{check.tolerance:.3g})"
                )
        if self.graph_cut:
            lines.append(
                "  f's output does not depend on the inputs through the graph: did f use "
                ".data, .numpy(), .item() or detach() on them?"
            )
            return "\n".join(lines)
        failing = [check.name for check in self.inputs if not check.ok]
        if self.engine_error:  # no numbers to compare: the ops that were found
            failing = [name for name, culprit in self.culprits.items() if culprit is not None]
        for name in failing:
            culprit = self.culprits.get(name)
            if culprit is not None:
                lines.append(
                    f"    first op on the path from {name} where they disagree: "
                    + culprit.describe()
                )
            else:
                lines.append(
                    f"    every op on the path from {name} agrees locally: f may have a kink "
                    "or tie here (relu at 0, max of equal entries), or h is too large for its "
                    "curvature"
                )
        return "\n".join(lines)

    def table(self):
        """Return the comparison as a `Table` (text, Markdown, HTML, LaTeX)."""
        from .display.tables import Math, Name, Table  # the display layer loads on first use

        arrays = any(check.shape for check in self.inputs)
        rows = []
        for c in self.inputs:
            i = c.worst
            empty = np.size(c.engine) == 0
            engine = "–" if empty else f"{np.asarray(c.engine)[i]:.10g}"
            numeric = "–" if empty else f"{np.asarray(c.numeric)[i]:.10g}"
            verdict = "ok" if c.ok else "MISMATCH"
            where = [str(c.shape), str(i)] if arrays else []
            partial = Math("∂f/∂", Name(c.name))  # LaTeX escapes the name: ∂f/∂a\_b
            rows.append([partial, *where, engine, numeric, f"{c.error:.2e}", verdict])
        header = ["partial", *(["shape", "worst index"] if arrays else [])]
        header += ["engine (reverse mode)", "central difference", "max |error|", ""]
        title = "gradcheck (uᵀ·J, u random)" if self.vjp else "gradcheck"
        return Table(title, header, rows, math_columns=(0,))

    def __str__(self) -> str:
        return self.message


# ---- the culprit search ------------------------------------------------------------------


def first_wrong_op(
    out: Any,
    leaf: Any,
    cotangent: Callable[[Any], Any],
    step: Callable[..., float],
    rtol: float,
    atol: float,
) -> Culprit | None:
    """Return the first op, in topological order, on a path from ``leaf`` to ``out`` whose
    ``backward(ḡ)`` disagrees with central differences of Σ ḡ·forward at its own operands.

    ``cotangent(node)`` gives the ḡ to test a node with (1.0, or a random array of its
    shape); ``step(x, method)`` the difference step for an operand entry x
    (`scalargrad.numerical.default_step`).
    """
    from .display.labels import Labels  # v1, v2, … as every drawing numbers the nodes

    labels = Labels(out)

    def label(node) -> str:
        return node.name or labels[node]

    depends = {id(leaf)}  # nodes on a path from leaf
    for position, node in enumerate(labels.order):
        if node.op is None:
            continue
        slots = [k for k, p in enumerate(node.parents) if id(p) in depends]
        if not slots:
            continue
        depends.add(id(node))
        operands = [p.data for p in node.parents]
        g = cotangent(node)
        fresh = copy.copy(node.op)  # never disturb the numbers the graph's own op keeps
        try:
            fresh.needs_input_grad = tuple(k in slots for k in range(len(operands)))
        except AttributeError:  # scalargrad's ops compute every operand's partial
            pass
        fresh.forward(*operands)
        partials = fresh.backward(g)

        def forward(*xs, op=node.op):
            return copy.copy(op).forward(*xs)

        names = [label(p) for p in node.parents]
        for k in slots:
            found = Culprit(
                node.op,
                label(node),
                _formula(node.op, names),
                tuple(operands),
                k,
                names[k],
                np.shape(operands[k]),
                np.shape(node.data),
                random_cotangent=isinstance(g, np.ndarray),
                position=position,
            )
            analytic = partials[k]
            if analytic is None and not isinstance(operands[k], np.ndarray):
                analytic = 0.0  # a scalar op's "no dependence"
            if analytic is None or np.shape(analytic) != np.shape(operands[k]):
                got = "None" if analytic is None else f"shape {np.shape(analytic)}"
                found.problem = (
                    f"backward returned {got} for this operand; it must return its shape"
                )
                return found
            numeric = numeric_vjp(forward, operands, k, g, step)
            analytic = np.asarray(analytic, dtype=np.float64)
            defined = ~np.isnan(numeric)  # forward undefined on both sides: cannot judge
            excess = np.where(defined, _excess(analytic, numeric, rtol, atol), 0.0)
            if (excess > 1).any():
                index = tuple(int(i) for i in np.unravel_index(np.argmax(excess), excess.shape))
                found.index = index
                found.analytic, found.numeric = float(analytic[index]), float(numeric[index])
                left, right = _one_sided(forward, operands, k, g, index, step)
                if abs(left - right) > atol + rtol * max(abs(left), abs(right)) + 1e-3:
                    found.kink = (left, right)  # one-sided slopes differ: no derivative here
                return found
    return None


def _formula(op: Any, names: list[str]) -> str:
    """What the op computes in terms of its operands' labels, e.g. "x1 × x2"."""
    try:
        return op.formula.format(*names)
    except (IndexError, KeyError, ValueError, AttributeError):
        return f"{getattr(op, 'symbol', type(op).__name__)}({', '.join(names)})"


def _one_sided(forward: Callable, operands: list, slot: int, g, index: tuple, step) -> tuple:
    """(left, right): one-sided difference slopes of Σ g·forward at one operand entry."""
    x0 = float(np.asarray(operands[slot])[index])
    h = step(x0, "forward")  # the step that balances a one-sided difference's two errors

    def phi(t: float) -> float:
        try:
            return float(np.sum(g * np.asarray(forward(*_moved(operands, slot, index, t)))))
        except UNDEFINED:
            return math.nan

    at = phi(x0)
    return (at - phi(x0 - h)) / h, (phi(x0 + h) - at) / h


__all__ = [
    "GradcheckError",
    "GradcheckReport",
    "InputCheck",
    "Culprit",
    "first_wrong_op",
    "numeric_vjp",
    "parameter_names",
]
