"""gradcheck for Tensors: reverse mode against central differences, in float64, naming the op.

scalargrad/numerical.py's gradcheck over arrays. f runs on float64 leaves; the engine's
vector-Jacobian product uᵀ·J for a random u (one backward pass) is compared, entry by
entry, with central differences of the scalar φ(x) = Σ u·f(x). On a mismatch the graph is
searched for the culprit: for each op node, in topological order, on a path from a
failing input, a fresh copy of its op is run forward at the node's own input values and
its ``backward(ḡ)`` (a random ḡ) is compared with central differences of ḡ·forward. The
first op that disagrees is named, with its node label, formula, operand slot and shapes.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scalargrad.display.labels import Labels
from scalargrad.display.tables import Table
from scalargrad.forward import parameter_names
from scalargrad.numerical import default_step

from .grad_mode import enable_grad, no_grad
from .tensor import Tensor, as_array
from .transforms import _pullbacks

_UNDEFINED = (ValueError, ZeroDivisionError, OverflowError)  # forward's domain errors


@dataclass
class InputCheck:
    """One input's comparison: the engine's uᵀ·∂f/∂x against central differences."""

    name: str
    engine: np.ndarray  # uᵀ·∂f/∂x from one backward pass, x's shape
    numeric: np.ndarray  # the same from central differences of Σ u·f
    rtol: float
    atol: float

    @property
    def shape(self) -> tuple:
        return self.engine.shape

    @property
    def excess(self) -> np.ndarray:
        """|engine − numeric| / (atol + rtol·|numeric|): above 1 is a mismatch."""
        return np.abs(self.engine - self.numeric) / (self.atol + self.rtol * np.abs(self.numeric))

    @property
    def ok(self) -> bool:
        return bool((self.excess <= 1).all())

    @property
    def worst(self) -> tuple:
        """The index of the entry that disagrees most."""
        if self.engine.size == 0:
            return ()
        return tuple(int(i) for i in np.unravel_index(np.argmax(self.excess), self.shape))

    @property
    def error(self) -> float:
        """The largest |engine − numeric|."""
        return float(np.max(np.abs(self.engine - self.numeric), initial=0.0))


@dataclass
class Culprit:
    """The first op on a failing input's path whose ``backward`` disagrees with ``forward``."""

    op: Any  # the op object of the node
    node: str  # the node's label, e.g. "v4"
    formula: str  # what it computes, e.g. "v2 @ v3"
    slot: int  # the operand slot whose partial adjoint is wrong
    operand: str  # that operand's label
    operand_shape: tuple
    output_shape: tuple
    index: tuple  # where in the operand they disagree most
    analytic: float  # the partial adjoint there, from op.backward(ḡ)
    numeric: float  # the same from central differences of Σ ḡ·op.forward
    problem: str = ""  # set when backward's result cannot even be compared (its shape)
    kink: tuple | None = None  # (left, right) one-sided slopes where they differ: no derivative

    @property
    def at_kink(self) -> bool:
        """True when forward has no derivative here (relu at 0, a tie): not a wrong backward."""
        return self.kink is not None

    def describe(self) -> str:
        name, symbol = type(self.op).__name__, getattr(self.op, "symbol", "?")
        where = (
            f"{name} ({symbol}) at {self.node} = {self.formula}, operand slot {self.slot} "
            f"({self.operand}, shape {self.operand_shape}; output shape {self.output_shape})"
        )
        if self.problem:
            return f"{where}: {self.problem}"
        if self.kink is not None:
            left, right = self.kink
            return (
                f"{where}: forward has a kink or tie at index {self.index} (slope {left:.6g} "
                f"from the left, {right:.6g} from the right), so no derivative exists there; "
                "move the point away from it"
            )
        return (
            f"{where}: backward(ḡ) gives {self.analytic:.6g} at index {self.index} but central "
            f"differences of forward give {self.numeric:.6g} (ḡ random)"
        )


class GradcheckError(AssertionError):
    """Raised by `gradcheck` on a mismatch; ``report`` holds every number."""

    def __init__(self, report: GradcheckReport):
        super().__init__(report.message)
        self.report = report


@dataclass
class GradcheckReport:
    """What `gradcheck` found: one `InputCheck` per input, and the culprit op if any."""

    output_shape: tuple
    inputs: list
    culprit: Culprit | None = None
    graph_cut: bool = False  # f's output does not depend on any input through the graph
    engine_error: str = ""  # the error the backward pass itself raised, if it failed

    @property
    def ok(self) -> bool:
        return not self.engine_error and all(check.ok for check in self.inputs)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def message(self) -> str:
        """A readable verdict: every mismatching input, and the op where the error starts."""
        if self.ok:
            names = ", ".join(check.name for check in self.inputs)
            return f"gradcheck: the engine's gradient matches central differences for {names}"
        lines = ["gradcheck: the engine's gradient disagrees with central differences (float64):"]
        if self.engine_error:
            lines = [f"gradcheck: the backward pass itself failed: {self.engine_error}"]
        for check in self.inputs:
            if not check.ok:
                i = check.worst
                lines.append(
                    f"  ∂f/∂{check.name} (shape {check.shape}) at index {i}: engine "
                    f"{check.engine[i]:.6g}, central difference {check.numeric[i]:.6g} "
                    f"(|error| up to {check.error:.3g})"
                )
        if self.graph_cut:
            lines.append(
                "  f's output does not depend on the inputs through the graph: did f use "
                ".data, .numpy(), .item() or detach() on them?"
            )
        elif self.culprit is not None and self.culprit.at_kink:
            lines.append("  the first op that disagrees is not differentiable here: ")
            lines[-1] += self.culprit.describe()
        elif self.culprit is not None:
            lines.append("  the first op whose backward disagrees: " + self.culprit.describe())
        else:
            lines.append(
                "  every op on the path agrees locally: f may have a kink or a tie at this "
                "point (relu at 0, max of equal entries), or h is too large for its curvature"
            )
        return "\n".join(lines)

    def table(self) -> Table:
        """Return the comparison as a `Table` (text, Markdown, HTML, LaTeX)."""
        rows = []
        for c in self.inputs:
            i = c.worst
            engine = f"{c.engine[i]:.10g}" if c.engine.size else "–"
            numeric = f"{c.numeric[i]:.10g}" if c.engine.size else "–"
            verdict = "ok" if c.ok else "MISMATCH"
            rows.append(
                [f"∂f/∂{c.name}", str(c.shape), str(i), engine, numeric, f"{c.error:.2e}", verdict]
            )
        header = ["partial", "shape", "worst index", "engine (reverse)", "central difference"]
        return Table("gradcheck (uᵀ·J, u random)", header + ["max |error|", ""], rows)

    def __str__(self) -> str:
        return self.message


def gradcheck(
    f: Callable[..., Any],
    inputs,
    names: Sequence[str] | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    seed: int = 0,
    raise_exception: bool = True,
) -> GradcheckReport:
    """Return a report comparing reverse mode's uᵀ·∂f/∂x with central differences, in float64.

    ``inputs`` is a tuple of arrays (a single array is one input); f takes one float64
    Tensor per input and returns a Tensor. u is drawn from ``seed``. An entry passes when
    |engine − numeric| ≤ atol + rtol·|numeric|. On a mismatch the report names the first
    op whose backward disagrees with central differences of its forward (see the module
    docstring); `GradcheckError` is raised unless ``raise_exception`` is False. Costs two
    evaluations of f per input entry: use small shapes. Names default to f's parameters.
    """
    arrays = _float64_inputs(inputs)
    names = list(names) if names is not None else parameter_names(f, len(arrays))
    if len(names) != len(arrays):
        raise ValueError(f"gradcheck: {len(arrays)} inputs but {len(names)} names")
    leaves = [Tensor(a, requires_grad=True, name=n) for a, n in zip(arrays, names)]
    with enable_grad():
        out = f(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(
            f"gradcheck: f must return a vecgrad Tensor, got {type(out).__name__} "
            "(did f use .data, .numpy() or .item()?)"
        )
    if out.dtype != np.float64:
        raise TypeError(
            f"gradcheck: f returned {out.dtype}; the check runs in float64 throughout (a "
            "float32 array or Tensor made inside f?): central differences in float32 are "
            "too coarse to judge a gradient"
        )
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(out.shape)
    try:
        (engine,) = _pullbacks(out, leaves, [u], create_graph=False)
    except (ValueError, TypeError, IndexError) as error:  # e.g. a backward of the wrong shape
        culprit = _first_wrong_op(out, leaves, rng, rtol, atol)
        if culprit is None:
            raise
        report = GradcheckReport(out.shape, [], culprit, engine_error=str(error))
        if raise_exception:
            raise GradcheckError(report) from error
        return report

    def evaluate(*xs):
        with no_grad():
            return f(*(Tensor(x) for x in xs)).data

    report = GradcheckReport(out.shape, [], graph_cut=not out.requires_grad)
    for i, name in enumerate(names):
        numeric = _numeric_vjp(evaluate, arrays, i, u, f"gradcheck: input {name}")
        report.inputs.append(InputCheck(name, np.asarray(engine[i]), numeric, rtol, atol))
    if not report.ok and not report.graph_cut:
        failing = [leaf for leaf, check in zip(leaves, report.inputs) if not check.ok]
        report.culprit = _first_wrong_op(out, failing, rng, rtol, atol)
    if not report.ok and raise_exception:
        raise GradcheckError(report)
    return report


def _first_wrong_op(out: Tensor, failing: list, rng, rtol: float, atol: float) -> Culprit | None:
    """The first op, in topological order, on a path from a failing input to ``out`` whose
    ``backward(ḡ)`` disagrees with central differences of ḡ·forward at its own inputs."""
    labels = Labels(out)
    depends = {id(leaf) for leaf in failing}  # nodes on a path from a failing input

    def label(node) -> str:
        return node.name or labels[node]

    for node in labels.order:
        if node.op is None:
            continue
        slots = [k for k, p in enumerate(node.parents) if id(p) in depends]
        if not slots:
            continue
        depends.add(id(node))
        operands = [p.data for p in node.parents]
        g = rng.standard_normal(node.data.shape)
        fresh = copy.copy(node.op)  # never disturb the numbers the graph's own op keeps
        fresh.needs_input_grad = tuple(k in slots for k in range(len(operands)))
        fresh.forward(*operands)
        partials = fresh.backward(g)

        def forward(*xs, op=node.op):
            return np.asarray(copy.copy(op).forward(*xs))

        names = [label(p) for p in node.parents]
        for k in slots:
            found = Culprit(
                node.op,
                label(node),
                node.op.formula.format(*names),
                k,
                names[k],
                operands[k].shape,
                node.data.shape,
                (),
                math.nan,
                math.nan,
            )
            analytic = partials[k]
            if analytic is None or np.shape(analytic) != operands[k].shape:
                got = "None" if analytic is None else f"shape {np.shape(analytic)}"
                found.problem = (
                    f"backward returned {got} for this operand; it must return its shape"
                )
                return found
            numeric = _numeric_vjp(forward, operands, k, g, None)
            analytic = np.asarray(analytic, dtype=np.float64)
            defined = ~np.isnan(numeric)  # forward undefined on both sides: cannot judge
            excess = np.abs(analytic - numeric) / (atol + rtol * np.abs(numeric))
            excess = np.where(defined, excess, 0.0)
            if (excess > 1).any():
                index = np.unravel_index(np.argmax(excess), excess.shape)
                found.index = tuple(int(i) for i in index)
                found.analytic, found.numeric = float(analytic[index]), float(numeric[index])
                left, right = _one_sided(forward, operands, k, g, index)
                if abs(left - right) > atol + rtol * max(abs(left), abs(right)) + 1e-3:
                    found.kink = (left, right)  # one-sided slopes differ: no derivative here
                return found
    return None


def _numeric_vjp(evaluate: Callable, arrays: list, slot: int, u, where: str | None):
    """Central differences of Σ u·evaluate(…) with respect to each entry of arrays[slot].

    Near a domain edge (log at 1e-9) one side may be undefined: fall back to one side.
    Undefined on both sides: NaN (``where`` given: an error naming the input and index).
    """
    x = arrays[slot]
    result = np.empty(x.shape)
    for index in np.ndindex(*x.shape):
        x0 = float(x[index])
        h = default_step(x0)

        def phi(t, index=index):
            moved = list(arrays)
            moved[slot] = x.copy()
            moved[slot][index] = t
            value = np.asarray(evaluate(*moved), dtype=np.float64)
            if not np.isfinite(value).all():
                raise ValueError(f"f is not finite at {t!r}")
            return float(np.sum(u * value))

        result[index] = math.nan
        for a, b, width in ((x0 + h, x0 - h, 2 * h), (x0 + h, x0, h), (x0, x0 - h, h)):
            try:
                result[index] = (phi(a) - phi(b)) / width
                break
            except _UNDEFINED:
                continue
        if math.isnan(result[index]) and where is not None:
            raise ValueError(
                f"{where}: f cannot be evaluated around entry {index} = {x0:g} (± {h:.2g}); "
                "central differences need f defined on both sides"
            )
    return result


def _one_sided(forward: Callable, operands: list, slot: int, g, index: tuple) -> tuple:
    """(left, right): one-sided difference slopes of Σ g·forward at one operand entry."""
    x = operands[slot]
    h = default_step(float(x[index]), "forward")

    def phi(shift: float) -> float:
        moved = list(operands)
        moved[slot] = x.copy()
        moved[slot][index] += shift
        try:
            return float(np.sum(g * forward(*moved)))
        except _UNDEFINED:
            return math.nan

    at = phi(0.0)
    return (at - phi(-h)) / h, (phi(h) - at) / h


def _float64_inputs(inputs) -> list[np.ndarray]:
    """The inputs as float64 arrays (copies), each checked: real, finite."""
    if isinstance(inputs, (np.ndarray, Tensor)) or not isinstance(inputs, (tuple, list)):
        inputs = (inputs,)
    if not inputs:
        raise ValueError("gradcheck: give at least one input")
    arrays = []
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor):
            x = x.data
        array = as_array(x, None, f"gradcheck: input {i}")
        if array.dtype.kind not in "fiu":
            raise TypeError(f"gradcheck: input {i} must hold real numbers, got {array.dtype}")
        array = array.astype(np.float64)  # a copy: f's perturbed inputs never alias the caller's
        if not np.isfinite(array).all():
            raise ValueError(f"gradcheck: input {i} holds an infinite entry")
        arrays.append(array)
    return arrays
