"""Function transforms: ``grad``, ``vjp``, ``jvp``, ``jacobian`` (with a cost counter), ``hessian``.

The course's comparison, runnable: for f: Rⁿ → Rᵐ with Jacobian J (m × n),

* ``jvp(f, x, v)`` = (f(x), J·v): one forward-mode pass (`vecgrad.forward.Dual`), one
  column of J for v = e_j;
* ``vjp(f, x, u)`` = (f(x), uᵀ·J): one reverse-mode pass (``backward``), one row of J for
  u = e_i;
* ``jacobian(f, x, mode)`` fills J by n JVPs (``mode="forward"``) or by m VJPs
  (``mode="reverse"``) and says how many passes it made: forward mode wins for a tall J
  (n ≪ m), reverse mode for a wide one (m ≪ n, e.g. a loss: m = 1);
* ``grad(f)`` = ∇f for a scalar f (one VJP with u = 1), ``hessian(f, x)`` = ∇²f.

f is written once, with Tensor methods, operators, numpy functions or vecgrad's lecture
twins; each transform calls it with what it needs (Tensors that record a graph, or duals).
Arrays and numbers in give arrays out. A Tensor that requires grad in gives a Tensor out
that is itself differentiable (``backward(create_graph=True)``), so transforms nest:
``grad(grad(f))``, ``hessian`` = ``jacobian(grad(f))``. Transforms never touch the
``.grad`` of anything else (a model's accumulated gradients stay as they were).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from scalargrad.autodiff import topological_order

from .forward import Dual
from .grad_mode import enable_grad, no_grad
from .tensor import Tensor, as_array

_MODES = ("reverse", "forward")
_HESSIAN_MODES = ("reverse-over-reverse", "reverse-over-forward")


@dataclass(frozen=True)
class Jacobian:
    """A Jacobian and what it cost: J[i…, j…] = ∂f(x)[i…]/∂x[j…], shape f(x).shape + x.shape.

    ``passes`` is the number of JVPs (``mode="forward"``: one per input entry, n) or VJPs
    (``mode="reverse"``: one per output entry, m) that filled it; ``output`` is f(x).
    ``numpy.asarray(jac)`` gives ``value``.
    """

    value: np.ndarray
    output: np.ndarray
    passes: int
    mode: str

    @property
    def shape(self) -> tuple:
        """The Jacobian's shape: f(x).shape + x.shape."""
        return self.value.shape

    @property
    def matrix(self) -> np.ndarray:
        """The Jacobian as an m × n matrix (outputs flattened × inputs flattened)."""
        m = self.output.size
        return self.value.reshape(m, self.value.size // m if m else 0)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.value if dtype is None else self.value.astype(dtype)

    def __repr__(self) -> str:
        kind = {"forward": "JVPs", "reverse": "VJPs"}.get(self.mode, "passes")
        m, n = self.matrix.shape
        return (
            f"Jacobian(shape {self.shape}, {m}×{n}; {self.mode} mode: {self.passes} {kind})\n"
            f"{np.array2string(self.value, precision=4, threshold=50)}"
        )


# ---- grad and vjp: reverse mode ------------------------------------------------------


def grad(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """Return the function x ↦ ∇f(x) of a scalar-valued f (one backward pass per call).

    ``argnums`` picks the argument(s) to differentiate (an int, or a tuple: then a tuple
    of gradients). ∇f has x's shape: ∇f(x)[j…] = ∂f/∂x[j…].
    """
    many = not isinstance(argnums, (int, np.integer))
    picked = tuple(argnums) if many else (int(argnums),)
    if not picked or any(
        isinstance(i, bool) or not isinstance(i, (int, np.integer)) for i in picked
    ):
        raise TypeError(f"grad: argnums must be an int or a tuple of ints, got {argnums!r}")

    def gradient(*args):
        for i in picked:
            if not -len(args) <= i < len(args):
                raise ValueError(f"grad: argnums {i} is out of range for {len(args)} arguments")
        args = list(args)
        inputs, nested = [], False
        for i in picked:
            leaf, through = _input(args[i], "grad")
            args[i] = leaf
            inputs.append(leaf)
            nested = nested or through
        with enable_grad():  # a transform records even inside no_grad(), as torch.func
            out = f(*args)
        _check_output(out, "grad", scalar=True)
        grads = _pullbacks(out, inputs, [None], create_graph=nested)[0]
        return tuple(grads) if many else grads[0]

    gradient.__name__ = f"grad_{getattr(f, '__name__', 'f')}"
    gradient.__doc__ = f"∇ of {getattr(f, '__name__', 'f')} (see vecgrad.grad)."
    return gradient


def vjp(f: Callable, x, v) -> tuple:
    """Return ``(f(x), vᵀ·J)``: the value and the vector-Jacobian product, by one backward pass.

    (vᵀJ)[j…] = Σ_i v[i…]·∂f[i…]/∂x[j…], shaped like x; v has f(x)'s shape. With v = e_i it
    is row i of the Jacobian. ``x`` may be a tuple of inputs (f takes them in order); the
    product is then a tuple too.
    """
    xs, many = _arguments(x)
    inputs, nested = [], False
    for item in xs:
        leaf, through = _input(item, "vjp")
        inputs.append(leaf)
        nested = nested or through
    with enable_grad():
        out = f(*inputs)
    _check_output(out, "vjp")
    seed = _seed(v, out, "vjp")
    products = _pullbacks(out, inputs, [seed], create_graph=nested)[0]
    value = out if nested else _numbers(out)
    return value, (tuple(products) if many else products[0])


# ---- jvp: forward mode ---------------------------------------------------------------


def jvp(f: Callable, x, v) -> tuple:
    """Return ``(f(x), J·v)``: the value and the Jacobian-vector product, in one forward pass.

    (J·v)[i…] = Σ_j ∂f[i…]/∂x[j…]·v[j…], shaped like f(x); v has x's shape. With v = e_j it
    is column j of the Jacobian. f runs once, on `Dual` arrays (no backward pass).
    ``x`` may be a tuple of inputs, with ``v`` a tuple of tangents.
    """
    xs, many = _arguments(x)
    vs, _ = _arguments(v) if many else ((v,), False)
    if len(vs) != len(xs):
        raise ValueError(
            f"jvp: {len(xs)} inputs but {len(vs)} tangents; give one tangent per input"
        )
    duals = [
        _dual(item, tangent, k if many else None) for k, (item, tangent) in enumerate(zip(xs, vs))
    ]
    nested = any(isinstance(d.value, Tensor) for d in duals)
    # With nothing to differentiate afterwards, Tensors inside f (a model's weights) need
    # not record a graph: the pass is forward mode only.
    with enable_grad() if nested else no_grad():
        out = f(*duals)
    if isinstance(out, Dual):
        value, tangent = out.value, out.tangent
    elif isinstance(out, (Tensor, np.ndarray, np.generic)) or _is_number(out):
        value = out  # f ignored its input: the tangent is zero
        tangent = np.zeros(np.shape(_numbers(out)), dtype=np.result_type(_numbers(out), np.float32))
    else:
        raise TypeError(
            f"jvp: f must return one Dual (or an array), got {type(out).__name__}; "
            "join several outputs into one with vecgrad.forward.concatenate"
        )
    if nested:  # Tensors out, even where f's tangent did not depend on x (a linear f)
        return _as_tensor(value), _as_tensor(tangent)
    return _numbers(value), np.ascontiguousarray(_numbers(tangent))  # no read-only broadcast view


# ---- jacobian and hessian ------------------------------------------------------------


def jacobian(f: Callable, x, mode: str = "reverse") -> Jacobian:
    """Return the `Jacobian` of f at x, filled by m VJPs (reverse) or n JVPs (forward).

    J has shape f(x).shape + x.shape. Reverse mode runs f once, then one backward pass per
    output entry (a row each); forward mode runs f on duals once per input entry (a column
    each). ``.passes`` says how many; ``.value`` holds the numbers.
    """
    if mode not in _MODES:
        raise ValueError(f"jacobian: mode must be 'reverse' or 'forward', got {mode!r}")
    x = _array(x, "jacobian")
    if mode == "forward":
        columns, output = [], None
        for j in range(x.size):
            e_j = np.zeros(x.size, dtype=x.dtype)
            e_j[j] = 1
            output, column = jvp(f, x, e_j.reshape(x.shape))
            columns.append(np.asarray(column).reshape(-1))
        if output is None:  # x has no entries: one call for the output's shape
            output = _numbers(jvp(f, x, x)[0])
        output = np.asarray(output)
        value = np.stack(columns, axis=-1) if columns else np.zeros((output.size, 0), x.dtype)
        return Jacobian(value.reshape(output.shape + x.shape), output, x.size, mode)
    leaf = Tensor(x, requires_grad=True)
    with enable_grad():
        out = f(leaf)
    _check_output(out, "jacobian")
    output = np.asarray(_numbers(out))
    seeds = []
    for i in range(output.size):
        e_i = np.zeros(output.size, dtype=output.dtype)
        e_i[i] = 1
        seeds.append(e_i.reshape(output.shape))
    rows = [row for (row,) in _pullbacks(out, [leaf], seeds, create_graph=False)]
    value = np.stack(rows) if rows else np.zeros((0,) + x.shape, x.dtype)
    return Jacobian(value.reshape(output.shape + x.shape), output, len(seeds), mode)


def hessian(f: Callable, x, mode: str = "reverse-over-reverse") -> Jacobian:
    """Return the Hessian ∇²f(x) of a scalar f as a `Jacobian` (shape x.shape + x.shape).

    ``"reverse-over-reverse"``: the Jacobian of ∇f by reverse mode, differentiating the
    recorded backward pass (``create_graph``) once per entry of x.
    ``"reverse-over-forward"``: column j is ∇(∇f·e_j), the gradient of one JVP whose dual
    holds Tensors. Both make n passes for x with n entries.
    """
    if mode not in _HESSIAN_MODES:
        raise ValueError(
            f"hessian: mode must be 'reverse-over-reverse' or 'reverse-over-forward', got {mode!r}"
        )
    x = _array(x, "hessian")
    gradient = grad(f)
    if mode == "reverse-over-reverse":
        jac = jacobian(gradient, x, mode="reverse")
        return Jacobian(jac.value, jac.output, jac.passes, mode)
    columns = []
    for j in range(x.size):
        e_j = np.zeros(x.size, dtype=x.dtype)
        e_j[j] = 1
        columns.append(np.asarray(grad(_directional(f, e_j.reshape(x.shape)))(x)).reshape(-1))
    value = np.stack(columns, axis=-1) if columns else np.zeros((0, 0), x.dtype)
    return Jacobian(value.reshape(x.shape + x.shape), gradient(x), x.size, mode)


def _directional(f: Callable, e: np.ndarray) -> Callable:
    """X ↦ ∇f(X)·e by one JVP: a Tensor when X requires grad, so grad can take it further."""
    return lambda X: jvp(f, X, e)[1]


# ---- the reverse passes, without side effects ------------------------------------------


def _pullbacks(out: Tensor, inputs: list, seeds: list, create_graph: bool) -> list:
    """Return, for each seed u, [uᵀ·∂out/∂input for each input] by one backward pass each.

    ``backward`` adds into the ``.grad`` of every leaf it reaches: the grads of all those
    leaves (a model's weights, an outer transform's inputs) are saved and put back, so a
    transform never changes them. A seed None is ∂out/∂out = 1 (a one-element output).
    """
    zeros = [np.zeros(t.shape, dtype=t.dtype) for t in inputs]
    if not out.requires_grad:  # out does not depend on anything that needs a gradient
        return [[Tensor(z) if create_graph else z for z in zeros] for _ in seeds]
    # Every tensor whose .grad a backward pass may write: leaves, retained intermediates.
    holders = [
        n for n in topological_order(out) if n.requires_grad and (n.op is None or n.retains_grad)
    ]
    holders += [t for t in inputs if all(t is not h for h in holders)]
    saved = [(n, n.grad, n.retains_grad) for n in holders]
    results = []
    try:
        for t in inputs:
            t.retains_grad = True  # an input that is an intermediate (nested) keeps its grad
        for seed in seeds:
            for n in holders:
                n.grad = None
            out.backward(seed, create_graph=create_graph)
            row = []
            for t, z in zip(inputs, zeros):
                g = t.grad
                if g is None:  # no path from this input to out
                    g = Tensor(z) if create_graph else z
                row.append(g)
            results.append(row)
    finally:
        for n, g, retains in saved:
            n.grad, n.retains_grad = g, retains
    return results


# ---- checking input ------------------------------------------------------------------


def _input(x, where: str) -> tuple[Tensor, bool]:
    """(the Tensor f gets, whether to differentiate through it): a Tensor that requires
    grad is used as is (a nested transform), anything else becomes a fresh leaf."""
    if isinstance(x, Tensor) and x.requires_grad:
        return x, True
    return Tensor(_array(x, where), requires_grad=True), False


def _array(x, where: str) -> np.ndarray:
    """x's numbers as a floating-point array (Python numbers become float32, as Tensor)."""
    if isinstance(x, Dual):
        raise TypeError(
            f"{where}: got a forward-mode Dual; reverse mode over forward mode is "
            "supported the other way round (jvp inside grad)"
        )
    if isinstance(x, Tensor):
        x = x.data
    array = as_array(x, None, where, float_ints=True)
    if array.dtype.kind != "f":
        raise TypeError(
            f"{where}: x must hold floating-point numbers to be differentiated, got "
            f"{array.dtype} (pass x.astype(float))"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{where}: x holds an infinite entry; a derivative needs a finite point")
    return array


def _dual(x, v, k: int | None) -> Dual:
    """The dual x + vε for jvp, with v checked against x's shape."""
    where = "jvp" if k is None else f"jvp: input {k}"
    value = x if isinstance(x, Tensor) and x.requires_grad else _array(x, where)
    if isinstance(v, Tensor) and not v.requires_grad:
        v = v.data
    if not isinstance(v, Tensor):
        v = as_array(v, None, where, float_ints=True)
    if tuple(v.shape) != tuple(value.shape):
        raise ValueError(
            f"{where}: the tangent v has shape {tuple(v.shape)} but x has shape "
            f"{tuple(value.shape)}; v must have x's shape"
        )
    return Dual(value, v)


def _arguments(x) -> tuple[tuple, bool]:
    """(the inputs, whether several were given as a tuple)."""
    if isinstance(x, tuple):
        if not x:
            raise ValueError("give at least one input")
        return x, True
    return (x,), False


def _seed(v, out: Tensor, where: str) -> np.ndarray:
    """The cotangent v as an array of out's shape and dtype."""
    if isinstance(v, Tensor):
        v = v.data
    seed = as_array(v, None, where, float_ints=True)
    if seed.shape != out.shape:
        raise ValueError(
            f"{where}: v has shape {seed.shape} but f(x) has shape {out.shape}; "
            "v must have f(x)'s shape"
        )
    return seed.astype(out.dtype, copy=False)


def _check_output(out, where: str, scalar: bool = False) -> None:
    """f must return a Tensor (one element for grad), or say clearly what it returned."""
    if isinstance(out, Dual):
        raise TypeError(f"{where}: f returned a Dual; {where} runs f on Tensors, not duals")
    if not isinstance(out, Tensor):
        raise TypeError(
            f"{where}: f must return a vecgrad Tensor, got {type(out).__name__}; "
            "did f use .data, .numpy() or .item() (which leave the graph)?"
        )
    if scalar and out.size != 1:
        raise ValueError(
            f"{where}: f must return one number (a scalar loss), got shape {out.shape}; "
            "use vecgrad.jacobian or vecgrad.vjp for a vector output"
        )


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def _numbers(x):
    return x.data if isinstance(x, Tensor) else x


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)
