"""gradcheck for Tensors: reverse mode against central differences, in float64, naming the op.

scalargrad/numerical.py's gradcheck over arrays, with the same report and the same culprit
search (scalargrad/gradcheck.py). f runs on float64 leaves; the engine's vector-Jacobian
product uᵀ·J for a random u (one backward pass) is compared, entry by entry, with central
differences of the scalar φ(x) = Σ u·f(x). On a mismatch the graph is searched for the
culprit: for each op node, in topological order, on a path from a failing input, a fresh
copy of its op is run forward at the node's own input values and its ``backward(ḡ)`` (a
random ḡ) is compared with central differences of ḡ·forward. The first op that disagrees
is named, with its node label, formula, operand slot and shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from scalargrad.gradcheck import (
    Culprit,
    GradcheckError,
    GradcheckReport,
    InputCheck,
    first_wrong_op,
    numeric_vjp,
    parameter_names,
)
from scalargrad.numerical import default_step

from .grad_mode import enable_grad, no_grad
from .tensor import Tensor, as_array
from .transforms import _pullbacks


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
    |engine − numeric| ≤ atol + rtol·|numeric|. On a mismatch the report names, for each
    failing input, the first op whose backward disagrees with central differences of its
    forward (see the module docstring; ``report.culprit`` is the first of them);
    `GradcheckError` is raised unless ``raise_exception`` is False. Costs two evaluations
    of f per input entry: use small shapes. Names default to f's parameters.
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

    def culprit_of(leaf):  # each op is tested with a random ḡ of its output's shape
        return first_wrong_op(
            out, leaf, lambda node: rng.standard_normal(node.data.shape), default_step, rtol, atol
        )

    try:
        (engine,) = _pullbacks(out, leaves, [u], create_graph=False)
    except (ValueError, TypeError, IndexError) as error:  # e.g. a backward of the wrong shape
        culprits = {name: culprit_of(leaf) for name, leaf in zip(names, leaves)}
        report = GradcheckReport(out.data, [], culprits, engine_error=str(error), vjp=True)
        if report.culprit is None:
            raise
        if raise_exception:
            raise GradcheckError(report) from error
        return report

    def evaluate(*xs):
        with no_grad():
            return f(*(Tensor(x) for x in xs)).data

    report = GradcheckReport(out.data, [], graph_cut=not out.requires_grad, vjp=True)
    for i, name in enumerate(names):
        # Near a domain edge (log at 1e-9) one side may be undefined: a one-sided difference.
        numeric = numeric_vjp(evaluate, arrays, i, u, default_step)
        if np.isnan(numeric).any():
            index = tuple(int(j) for j in np.argwhere(np.isnan(numeric))[0])
            x0 = float(arrays[i][index])
            raise ValueError(
                f"gradcheck: input {name}: f cannot be evaluated around entry {index} = {x0:g} "
                f"(± {default_step(x0):.2g}); central differences need f defined on both sides"
            )
        report.inputs.append(InputCheck(name, np.asarray(engine[i]), numeric, rtol, atol))
    if not report.ok and not report.graph_cut:
        for leaf, check in zip(leaves, report.inputs):
            if not check.ok:
                report.culprits[check.name] = culprit_of(leaf)
    if not report.ok and raise_exception:
        raise GradcheckError(report)
    return report


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


__all__ = ["gradcheck", "GradcheckError", "GradcheckReport", "InputCheck", "Culprit"]
