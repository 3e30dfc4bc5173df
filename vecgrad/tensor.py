"""`Tensor`: a numpy array, the op that made it, and its gradient.

scalargrad/value.py over arrays: the same methods under the same names (``x.log()``,
``x * y``, ``backward()``, ``zero_grad()``), and the same node protocol (``data``, ``grad``,
``parents``, ``op``, ``name``, ``requires_grad``, ``accumulate_grad``), so scalargrad's one
graph walk, drawing and step-through serve Tensors too. Every method names its op
explicitly (``__mul__`` → ``Mul``), so ``grep Mul`` finds everything.

Three things are new with arrays:

* Broadcasting: `_binary` checks that the shapes broadcast and, where an input that needs a
  gradient is broadcast, records a `BroadcastTo` node in front of it; its backward sums
  the gradient back. No other code thinks about broadcast gradients.
* Recording is optional: only when some input requires grad and grad mode is on
  (``vecgrad.no_grad()``). Only leaves keep ``.grad`` (and tensors that asked with
  ``retain_grad()``): an intermediate's adjoint is freed as soon as the pass moves on.
* ``backward(create_graph=True)`` records the backward pass itself, so gradients can be
  differentiated again (Hessian-vector products): see `_replay`.
"""

from __future__ import annotations

import copy
import math
import numbers

import numpy as np

from scalargrad.autodiff import backward as run_backward
from scalargrad.autodiff import backward_steps as run_backward_steps

from . import array_ops, ops
from .checks import as_array, broadcast_shape, normalize_axes
from .grad_mode import enable_grad, is_grad_enabled
from .numpy_protocol import NumpyDispatch


class Tensor(NumpyDispatch):
    """A node of the computational graph holding a numpy array.

    ``data`` is the array, ``grad`` the adjoint ∂root/∂self as an array of the same shape
    (None until a backward pass reaches this leaf), ``parents`` the operands in order,
    ``op`` the op that made it (None for an input), ``name`` its label in drawings.

    Python numbers and lists of them become float32 (integers stay int64, for labels);
    a numpy array keeps its dtype and is not copied.
    """

    __slots__ = ("data", "grad", "parents", "op", "name", "requires_grad", "retains_grad")
    __slots__ += ("__weakref__",)  # so tests and caches can watch a node being freed
    is_constant = False  # drawings and traces number every node that is not a constant
    _numpy_refusal = (
        "vecgrad Tensors (no gradient rule): use a vecgrad op, or t.numpy() for the plain numbers"
    )

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str = ""):
        self.data = as_array(data, dtype, "Tensor", float_ints=bool(requires_grad))
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"Tensor: only floating-point data can require grad, got {self.data.dtype} "
                "(pass dtype=np.float32, or float data)"
            )
        if not isinstance(name, str):
            raise TypeError(f"Tensor: name must be a str, got {type(name).__name__}")
        self.grad = None
        self.parents = ()
        self.op = None
        self.name = name
        self.requires_grad = bool(requires_grad)
        self.retains_grad = False

    @classmethod
    def _node(cls, data: np.ndarray, op, parents: tuple, requires_grad: bool) -> Tensor:
        """Build a node without the public checks: the op already made a clean array."""
        out = cls.__new__(cls)
        out.data, out.grad, out.parents, out.op, out.name = data, None, parents, op, ""
        out.requires_grad, out.retains_grad = requires_grad, False
        return out

    # ---- what it holds --------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        """The array's shape."""
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        """The array's dtype (float32 unless float64 data was given)."""
        return self.data.dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """The number of elements."""
        return self.data.size

    def item(self) -> float:
        """Return the one number held, as a Python number (like ``Value.item()``)."""
        if self.data.size != 1:
            raise ValueError(
                f"item: the tensor has shape {self.shape} ({self.data.size} elements); "
                "item() needs exactly one"
            )
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """Return the array itself (shared, not copied): the numbers without the graph."""
        return self.data

    def detach(self) -> Tensor:
        """Return a new leaf with the same array that records nothing (no gradient)."""
        out = Tensor._node(self.data, None, (), False)
        out.name = self.name
        return out

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        """The sub-tensors along the first axis (``x[0], x[1], …``), each a graph node."""
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    # ---- building the graph: arithmetic ---------------------------------------------

    def __add__(self, other):
        return _binary(ops.Add(), self, other)

    def __radd__(self, other):
        return _binary(ops.Add(), other, self)

    def __sub__(self, other):
        return _binary(ops.Sub(), self, other)

    def __rsub__(self, other):
        return _binary(ops.Sub(), other, self)

    def __mul__(self, other):
        return _binary(ops.Mul(), self, other)

    def __rmul__(self, other):
        return _binary(ops.Mul(), other, self)

    def __truediv__(self, other):
        return _binary(ops.Div(), self, other)

    def __rtruediv__(self, other):
        return _binary(ops.Div(), other, self)

    def __pow__(self, exponent):
        if isinstance(exponent, numbers.Real) and not isinstance(exponent, (bool, np.bool_)):
            k = float(exponent)
            if math.isnan(k):
                raise ValueError("pow: the exponent is NaN")
            return apply_op(ops.Pow(k), self)
        return _binary(ops.Power(), self, exponent)

    def __rpow__(self, base):
        return _binary(ops.Power(), base, self)

    def __neg__(self):
        return apply_op(ops.Neg(), self)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    # ---- elementwise functions -------------------------------------------------------

    def log(self) -> Tensor:
        """ln of every entry; raises ValueError for an entry ≤ 0."""
        return apply_op(ops.Log(), self)

    def exp(self) -> Tensor:
        """e to every entry; raises OverflowError where the result does not fit."""
        return apply_op(ops.Exp(), self)

    def sin(self) -> Tensor:
        """sin of every entry."""
        return apply_op(ops.Sin(), self)

    def cos(self) -> Tensor:
        """cos of every entry."""
        return apply_op(ops.Cos(), self)

    def tanh(self) -> Tensor:
        """tanh of every entry."""
        return apply_op(ops.Tanh(), self)

    def sigmoid(self) -> Tensor:
        """σ(x) = 1/(1 + e⁻ˣ) of every entry, computed without overflow."""
        return apply_op(ops.Sigmoid(), self)

    def relu(self) -> Tensor:
        """max(x, 0) of every entry."""
        return apply_op(ops.ReLU(), self)

    def abs(self) -> Tensor:
        """|x| of every entry."""
        return apply_op(ops.Abs(), self)

    __abs__ = abs

    def maximum(self, other) -> Tensor:
        """The elementwise larger of self and other; a tie splits the gradient."""
        return maximum(self, other)

    def minimum(self, other) -> Tensor:
        """The elementwise smaller of self and other; a tie splits the gradient."""
        return minimum(self, other)

    # ---- reductions and shapes ------------------------------------------------------

    def sum(self, axis=None, keepdims: bool = False) -> Tensor:
        """Σ over ``axis`` (all axes when None), as ``numpy.sum``."""
        return apply_op(array_ops.Sum(axis, keepdims), self)

    def mean(self, axis=None, keepdims: bool = False) -> Tensor:
        """The mean over ``axis`` (all axes when None), as ``numpy.mean``."""
        return apply_op(array_ops.Mean(axis, keepdims), self)

    def max(self, axis=None, keepdims: bool = False) -> Tensor:
        """The largest entry over ``axis`` (a reduction, as ``numpy.max``); ties share ḡ.

        The elementwise maximum of two tensors is ``vecgrad.maximum(a, b)``.
        """
        if axis is not None and not isinstance(axis, (int, np.integer, tuple, list)):
            raise TypeError(
                f"max: Tensor.max(axis) is the reduction (as in numpy), got axis of type "
                f"{type(axis).__name__}; the elementwise maximum of two tensors is "
                "vecgrad.maximum(a, b)"
            )
        return apply_op(array_ops.Max(axis, keepdims), self)

    def min(self, axis=None, keepdims: bool = False) -> Tensor:
        """The smallest entry over ``axis``: min x = −max(−x), so ties share ḡ as in max.

        The elementwise minimum of two tensors is ``vecgrad.minimum(a, b)``.
        """
        if axis is not None and not isinstance(axis, (int, np.integer, tuple, list)):
            raise TypeError(
                f"min: Tensor.min(axis) is the reduction (as in numpy), got axis of type "
                f"{type(axis).__name__}; the elementwise minimum of two tensors is "
                "vecgrad.minimum(a, b)"
            )
        return -((-self).max(axis, keepdims))

    def reshape(self, *shape) -> Tensor:
        """The same entries in a new shape (one entry may be −1), as ``numpy.reshape``."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return apply_op(array_ops.Reshape(tuple(int(n) for n in shape)), self)

    def transpose(self, *axes) -> Tensor:
        """The axes permuted (reversed when none are given), as ``numpy.transpose``."""
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return apply_op(array_ops.Transpose(tuple(axes) if axes else None), self)

    @property
    def T(self) -> Tensor:
        """The axes reversed: the transpose of a matrix."""
        return self.transpose()

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Axes ``axis1`` and ``axis2`` exchanged (a Transpose node)."""
        axes = list(range(self.ndim))
        (axis1,) = normalize_axes("swapaxes", axis1, self.shape)
        (axis2,) = normalize_axes("swapaxes", axis2, self.shape)
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return apply_op(array_ops.Transpose(tuple(axes)), self)

    def broadcast_to(self, shape) -> Tensor:
        """Copies along new or size-1 axes, as ``numpy.broadcast_to``; ḡ is summed back."""
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        if shape == self.shape:
            return self
        broadcast_shape("broadcast_to", self.shape, shape, target=shape)
        return apply_op(array_ops.BroadcastTo(shape), self)

    def __getitem__(self, index) -> Tensor:
        return apply_op(array_ops.GetItem(_clean_index(index)), self)

    # ---- comparisons: no gradient flows through them, so they give plain bool arrays ----

    def __lt__(self, other) -> np.ndarray:
        return self.data < Tensor._numbers(other)

    def __le__(self, other) -> np.ndarray:
        return self.data <= Tensor._numbers(other)

    def __gt__(self, other) -> np.ndarray:
        return self.data > Tensor._numbers(other)

    def __ge__(self, other) -> np.ndarray:
        return self.data >= Tensor._numbers(other)

    # ``==`` stays identity (Tensors are dict keys and set members); compare ``t.data``.

    @staticmethod
    def _numbers(x):
        """The plain numbers of a Tensor, or ``x`` itself (for comparisons and predicates)."""
        return x.data if isinstance(x, Tensor) else x

    @staticmethod
    def _join(kind: str, arrays, axis: int = 0) -> Tensor:
        """``np.concatenate``/``np.stack`` of a list holding Tensors (numpy_protocol)."""
        return concatenate(arrays, axis) if kind == "concatenate" else stack(arrays, axis)

    # ---- reverse mode ---------------------------------------------------------------

    def backward(self, grad=None, create_graph: bool = False) -> None:
        """Add ∂self/∂leaf into ``leaf.grad`` for every leaf that requires grad.

        A scalar output needs no ``grad``; any other output needs ``grad`` (the adjoint
        ḡ of self, same shape). Gradients accumulate across calls, as in scalargrad and
        PyTorch: reset with ``zero_grad()``. With ``create_graph=True`` the backward pass
        is recorded, so the gradients are Tensors that can be differentiated again.
        """
        seed = self._seed(grad, "backward")
        if create_graph:
            with enable_grad():  # the replayed ops must record, even inside no_grad
                run_backward(self, Tensor._node(seed, None, (), False), vjp=_replay)
        else:
            run_backward(self, seed)

    def backward_steps(self, grad=None):
        """Run the backward pass one node at a time (see `scalargrad.backward_steps`)."""
        return run_backward_steps(self, self._seed(grad, "backward_steps"))

    def _seed(self, grad, where: str) -> np.ndarray:
        """ḡ of the root: ones for a one-element output, else the checked ``grad``."""
        if not self.requires_grad:
            raise RuntimeError(
                f"{where}: this tensor does not require grad: no input of its expression "
                "was created with requires_grad=True (or it was computed under no_grad())"
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"{where}: the output has shape {self.shape}; backward() without grad= "
                    "needs a one-element output (e.g. loss.sum() or loss.mean()), or pass "
                    f"grad= an array of shape {self.shape}"
                )
            return np.ones(self.shape, dtype=self.dtype)
        seed = as_array(grad.data if isinstance(grad, Tensor) else grad, None, where)
        if seed.shape != self.shape:
            raise ValueError(
                f"{where}: grad has shape {seed.shape} but the output has shape {self.shape}"
            )
        return seed.astype(self.dtype, copy=False)

    def accumulate_grad(self, adjoint, partials: list = ()) -> None:
        """Node protocol: add one backward pass's adjoint (the sum of ``partials``) into
        ``grad``.

        Only leaves (and tensors that called ``retain_grad()``) keep it. The first
        gradient is kept as it is when nothing else holds it (`_owns`: a product such as
        xᵀ·ḡ) and copied otherwise (``a + b`` hands both the same ḡ); later ones are added
        out of place. So no two ``.grad`` arrays share memory, and an in-place update of
        one never changes another.
        """
        if self.op is not None and not self.retains_grad:
            return  # an intermediate: its adjoint lives only while the pass needs it
        if isinstance(adjoint, Tensor):  # create_graph: keep the gradient differentiable
            if self.grad is None:  # a node of its own, so two leaves never share one
                self.grad = Tensor._node(
                    adjoint.data.copy(), adjoint.op, adjoint.parents, adjoint.requires_grad
                )
            else:
                self.grad = self.grad + adjoint
            return
        data = self.data
        if getattr(adjoint, "shape", ()) != data.shape:
            if np.size(adjoint) != 1:
                raise ValueError(
                    f"accumulate_grad: an adjoint of shape {np.shape(adjoint)} cannot be the "
                    f"gradient of a tensor of shape {self.shape}"
                )
            adjoint = np.broadcast_to(adjoint, self.shape)  # a number as seed
        if self.grad is None:
            if _owns(adjoint, partials, data.dtype):
                self.grad = adjoint  # nobody else holds it: no copy needed
            else:
                self.grad = np.array(adjoint, dtype=data.dtype)  # a copy this tensor owns
        elif isinstance(self.grad, Tensor):
            self.grad = self.grad + adjoint
        else:
            self.grad = np.add(self.grad, adjoint, dtype=data.dtype)  # out of place

    def zero_grad(self) -> None:
        """Forget the gradient (``grad`` back to None, as before any backward pass)."""
        self.grad = None

    def retain_grad(self) -> None:
        """Keep this intermediate's gradient in ``grad`` after backward passes."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad")
        self.retains_grad = True

    # ---- numpy interoperation -------------------------------------------------------

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """numpy may read a Tensor that needs no gradient; one that does would lose it."""
        if self.requires_grad:
            raise TypeError(
                "numpy cannot use a Tensor that requires grad (the gradient would be lost); "
                "use t.detach().numpy() or t.data for the numbers"
            )
        return self.data if dtype is None else self.data.astype(dtype, copy=bool(copy))

    def _repr_svg_(self) -> str | None:
        """Jupyter shows a Tensor as its graph; None (so the text repr) without ``dot``."""
        # Imported when Jupyter asks, not with the engine: the display layer is above it
        # (it imports graphviz) and the library must run without it.
        from scalargrad.display.draw import repr_svg

        return repr_svg(self)

    def __repr__(self) -> str:
        text = np.array2string(
            self.data, separator=", ", precision=4, threshold=20, edgeitems=3, prefix="Tensor("
        )
        extras = f", dtype={self.dtype}" if self.dtype != np.float32 else ""
        extras += ", requires_grad=True" if self.requires_grad else ""
        extras += f", name={self.name!r}" if self.name else ""
        return f"Tensor({text}{extras})"


class Constant(Tensor):
    """A plain number or array mixed into an expression (the 2.5 of ``2.5 * x``).

    A leaf that needs no gradient: the backward pass does not enter it, and drawings
    label it by its value instead of numbering it.
    """

    __slots__ = ()
    is_constant = True


# ---- recording ops ---------------------------------------------------------------


def apply_op(op: ops.Op, *inputs: Tensor) -> Tensor:
    """Return ``op`` applied to Tensors: a graph node when a gradient can flow through it.

    The one place where nodes are made. With no input requiring grad, or under
    ``no_grad()``, the result is a plain leaf (``parents == ()``, ``op is None``).
    """
    needs = tuple([t.requires_grad for t in inputs])
    op.needs_input_grad = needs
    data = op.forward(*[t.data for t in inputs])
    if type(data) is not np.ndarray:  # numpy returns scalars from full reductions
        data = np.asarray(data)
    if True in needs and is_grad_enabled():
        return Tensor._node(data, op, inputs, True)
    return Tensor._node(data, None, (), False)


def _binary(op: ops.Op, a, b) -> Tensor:
    """Apply an elementwise op to two operands (Tensors, arrays or numbers), broadcasting.

    An operand that needs a gradient and gets broadcast goes through a `BroadcastTo` node
    first, so the op itself sees one shape and its backward never sums.
    """
    like = a if isinstance(a, Tensor) else b
    a, b = _operand(a, like, op.name), _operand(b, like, op.name)
    if a.data.shape != b.data.shape:
        shape = broadcast_shape(op.name, a.data.shape, b.data.shape)
        if is_grad_enabled():
            if a.requires_grad and a.data.shape != shape:
                a = apply_op(array_ops.BroadcastTo(shape), a)
            if b.requires_grad and b.data.shape != shape:
                b = apply_op(array_ops.BroadcastTo(shape), b)
    return apply_op(op, a, b)


def _replay(node: Tensor, adjoint: Tensor) -> tuple:
    """create_graph's vjp: the node's op run again on its parent *Tensors*, then backward.

    The ops are written with numpy functions that Tensors also implement, so given
    Tensors the copy records its forward (keeping Tensors, not arrays) and then its
    backward as graph nodes: the partial adjoints come out differentiable. Indexing is the
    one op whose backward is no numpy function but an op of its own (scatter-add); both are
    linear, so they need no replayed forward.
    """
    if isinstance(node.op, array_ops.GetItem):
        return (apply_op(array_ops.ScatterAdd(node.op.index, node.op.shape), adjoint),)
    if isinstance(node.op, array_ops.ScatterAdd):
        return (adjoint[node.op.index],)
    op = copy.copy(node.op)
    op.forward(*node.parents)
    return op.backward(adjoint)


# ---- functions that build nodes (vecgrad.matmul, maximum, …) --------------------------


def matmul(x, W) -> Tensor:
    """x @ W as numpy's matmul (1-D, 2-D and batched, batch dims broadcast).

    out = x @ W  x:(n,d) W:(d,k);  x̄ = ḡ·Wᵀ,  W̄ = xᵀ·ḡ
    """
    like = x if isinstance(x, Tensor) else W
    x, W = _operand(x, like, "matmul"), _operand(W, like, "matmul")
    return apply_op(array_ops.MatMul(), x, W)  # MatMul.forward checks the shapes


def maximum(a, b) -> Tensor:
    """The elementwise larger of a and b (the "router" gate: a tie splits ḡ/2 each)."""
    return _binary(ops.Maximum(), a, b)


def minimum(a, b) -> Tensor:
    """The elementwise smaller of a and b (a tie splits ḡ/2 each)."""
    return _binary(ops.Minimum(), a, b)


def concatenate(tensors, axis: int = 0) -> Tensor:
    """The tensors joined along an existing ``axis``; each gets its slice of ḡ back."""
    items = _operands(tensors, "concatenate")
    return apply_op(array_ops.Concatenate(axis), *items)


def stack(tensors, axis: int = 0) -> Tensor:
    """The tensors (one shape) stacked along a new ``axis``; each gets its slice of ḡ."""
    items = _operands(tensors, "stack")
    return apply_op(array_ops.Stack(axis), *items)


# ---- making tensors --------------------------------------------------------------


def tensor(data, requires_grad: bool = False, dtype=None, name: str = "") -> Tensor:
    """Return ``Tensor(data, requires_grad, dtype, name)``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def zeros(shape, dtype=np.float32, requires_grad: bool = False, name: str = "") -> Tensor:
    """Return a tensor of zeros (float32 unless told)."""
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=requires_grad, name=name)


def ones(shape, dtype=np.float32, requires_grad: bool = False, name: str = "") -> Tensor:
    """Return a tensor of ones (float32 unless told)."""
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad, name=name)


def randn(
    shape,
    rng: np.random.Generator,
    dtype=np.float32,
    requires_grad: bool = False,
    name: str = "",
) -> Tensor:
    """Return standard-normal samples drawn from ``rng`` (explicit randomness, no globals)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            "randn: rng must be a numpy.random.Generator, e.g. numpy.random.default_rng(0); "
            f"got {type(rng).__name__}"
        )
    data = rng.standard_normal(shape, dtype=np.dtype(dtype))
    return Tensor(data, requires_grad=requires_grad, name=name)


def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Return evenly spaced numbers as ``numpy.arange`` (ints stay ints; floats float32)."""
    data = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and data.dtype == np.float64:
        data = data.astype(np.float32)
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


# ---- operands --------------------------------------------------------------------


def _owns(adjoint, partials: list, dtype) -> bool:
    """True when nothing but the backward pass holds ``adjoint``, so a leaf may keep it:
    the sum of several partials (the pass made it), or the one partial of an op whose
    partials are always new arrays (``fresh_grads``: MatMul, Linear). Not the seed."""
    if type(adjoint) is not np.ndarray or adjoint.dtype != dtype:
        return False
    if len(partials) > 1:
        return True
    child = partials[0][0] if partials else None
    return child is not None and getattr(child.op, "fresh_grads", False)


def _operand(value, like: Tensor, where: str) -> Tensor:
    """A Tensor as is; a number or array as a `Constant` (a number typed like ``like``)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: expected a number, array or Tensor, got the bool {value!r}")
    if isinstance(value, (int, float)):
        # A Python number adapts to the tensor (numpy's rule): 2.5 * float32 stays float32.
        if math.isnan(value):
            raise ValueError(f"{where}: got NaN, which has no derivative to follow")
        dtype = np.result_type(like.data, value)
        with np.errstate(over="ignore"):
            data = np.asarray(value, dtype=dtype)
        if not np.isfinite(data) and math.isfinite(value):
            raise OverflowError(f"{where}: {value!r} does not fit in {dtype}")
    else:
        data = as_array(value, None, where)
    return Constant._node(data, None, (), False)


def _operands(tensors, where: str) -> list[Tensor]:
    """A sequence of operands as Tensors (numbers and arrays become constants)."""
    if isinstance(tensors, (Tensor, np.ndarray)):
        raise TypeError(
            f"{where}: expected a list or tuple of tensors, got one {type(tensors).__name__}"
        )
    items = list(tensors)
    if not items:
        raise ValueError(f"{where}: needs at least one tensor")
    like = next((t for t in items if isinstance(t, Tensor)), None)
    if like is None:
        like = Tensor(items[0])
    return [_operand(t, like, where) for t in items]


def _clean_index(index):
    """An index with Tensors, ranges and lists turned into numpy arrays."""
    parts = index if isinstance(index, tuple) else (index,)
    cleaned = []
    for part in parts:
        if isinstance(part, Tensor):
            part = part.data
        if isinstance(part, (range, list)):
            part = np.asarray(part)
            if part.size == 0:
                part = part.astype(np.intp)
        if isinstance(part, np.ndarray) and part.dtype.kind not in "iub":
            raise IndexError(f"getitem: index arrays must hold integers or bools, got {part.dtype}")
        cleaned.append(part)
    return tuple(cleaned) if isinstance(index, tuple) else cleaned[0]
