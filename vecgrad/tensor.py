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

PyTorch's names and in-place rules live in one block at the end of the class ("PyTorch's
names"): ``t += u`` and ``t[i] = v`` change the tensor itself and add one to its version,
every recorded node keeps the versions of its inputs, and `accumulate_grad` (which the
shared walk calls on each node before its op's backward) refuses numbers changed since.
"""

from __future__ import annotations

import copy
import math
import numbers
import operator
import weakref

import numpy as np

from scalargrad.autodiff import backward as run_backward
from scalargrad.autodiff import backward_steps as run_backward_steps
from scalargrad.float_checks import HOW_TO_ALLOW, derivative_error, float_checks_enabled

from . import array_ops, ops, softmax_ops, torch_ops
from .checks import all_finite, as_array, at, broadcast_shape, check_result, normalize_axes
from .grad_mode import enable_grad, is_grad_enabled
from .numpy_protocol import NumpyDispatch
from .torch_ops import accepts_dim


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
    __slots__ += ("_version_counter", "_saved_versions")  # in-place changes: "PyTorch's names"
    __slots__ += ("_finite_grad",)  # a weak mark on grad when the backward pass found it finite
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
        self._version_counter, self._saved_versions = [0], None
        self._finite_grad = None

    @classmethod
    def _node(cls, data: np.ndarray, op, parents: tuple, requires_grad: bool) -> Tensor:
        """Build a node without the public checks: the op already made a clean array."""
        out = cls.__new__(cls)
        out.data, out.grad, out.parents, out.op, out.name = data, None, parents, op, ""
        out.requires_grad, out.retains_grad = requires_grad, False
        out._version_counter, out._saved_versions, out._finite_grad = [0], None, None
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
        """The number of elements; called, ``size()`` is the shape (see `Size`)."""
        return Size(self.data.shape)

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
        out._version_counter = self._version_counter  # one array, one count (as PyTorch)
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

    @accepts_dim
    def sum(self, axis=None, keepdims: bool = False) -> Tensor:
        """Σ over ``axis`` (all axes when None), as ``numpy.sum``."""
        return apply_op(array_ops.Sum(axis, keepdims), self)

    @accepts_dim
    def mean(self, axis=None, keepdims: bool = False) -> Tensor:
        """The mean over ``axis`` (all axes when None), as ``numpy.mean``."""
        return apply_op(array_ops.Mean(axis, keepdims), self)

    @accepts_dim(indices="argmax")
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

    @accepts_dim(indices="argmin")
    def min(self, axis=None, keepdims: bool = False) -> Tensor:
        """The smallest entry over ``axis`` (a reduction, as ``numpy.min``); ties share ḡ.

        The elementwise minimum of two tensors is ``vecgrad.minimum(a, b)``.
        """
        if axis is not None and not isinstance(axis, (int, np.integer, tuple, list)):
            raise TypeError(
                f"min: Tensor.min(axis) is the reduction (as in numpy), got axis of type "
                f"{type(axis).__name__}; the elementwise minimum of two tensors is "
                "vecgrad.minimum(a, b)"
            )
        return apply_op(array_ops.Min(axis, keepdims), self)

    def reshape(self, *shape) -> Tensor:
        """The same entries in a new shape (one entry may be −1), as ``numpy.reshape``."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return apply_op(array_ops.Reshape(tuple(int(n) for n in shape)), self)

    def transpose(self, *axes) -> Tensor:
        """The axes permuted (reversed when none are given), as ``numpy.transpose``;
        two ints swap those two axes, as PyTorch's ``transpose(dim0, dim1)``."""
        if len(axes) == 2 and all(isinstance(a, (int, np.integer)) for a in axes):
            # PyTorch's meaning: swap the two (numpy's permutation is permute(…))
            (i,) = normalize_axes("transpose", axes[0], self.shape)
            (j,) = normalize_axes("transpose", axes[1], self.shape)
            order = list(range(self.ndim))
            order[i], order[j] = j, i
            return apply_op(array_ops.Transpose(tuple(order)), self)
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
        if self._saved_versions is not None:  # did an in-place change alter what op saved?
            _check_versions(self)
        if self.op is not None and not self.retains_grad:
            return  # an intermediate: its adjoint lives only while the pass needs it
        if isinstance(adjoint, Tensor):  # create_graph: keep the gradient differentiable
            if float_checks_enabled():  # a NaN gradient raises (scalargrad.float_checks)
                _finite_gradient(self, adjoint, partials)
            if self.grad is None:  # a node of its own, so two leaves never share one
                self.grad = Tensor._node(
                    adjoint.data.copy(), adjoint.op, adjoint.parents, adjoint.requires_grad
                )
                if adjoint._saved_versions is not None:  # the same op: the same check
                    self.grad._saved_versions = adjoint._saved_versions[:-1] + [0]
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
                grad = adjoint  # nobody else holds it: no copy needed
            else:
                grad = np.array(adjoint, dtype=data.dtype)  # a copy this tensor owns
        elif isinstance(self.grad, Tensor):
            grad = self.grad + adjoint
        else:
            grad = np.add(self.grad, adjoint, dtype=data.dtype)  # out of place
        if float_checks_enabled():  # a NaN gradient raises (scalargrad.float_checks)
            self._finite_grad = _finite_gradient(self, grad, partials)
        self.grad = grad

    def zero_grad(self) -> None:
        """Forget the gradient (``grad`` back to None, as before any backward pass)."""
        self.grad = self._finite_grad = None

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

    # ---- PyTorch's names ------------------------------------------------------------
    # What a PyTorch user reaches for, under PyTorch's names and with PyTorch's meaning.
    # The convention (README, "Coming from PyTorch"): numpy's names stay; dim=/keepdim= are
    # accepted wherever axis=/keepdims= are; where one call means two things in the two
    # libraries (transpose(0, 1), size(), var()), PyTorch's meaning wins or the ambiguous
    # form is refused with a message that says what to write.

    def dim(self) -> int:
        """The number of dimensions (PyTorch's ``t.dim()``; numpy's ``t.ndim``)."""
        return self.data.ndim

    def numel(self) -> int:
        """The number of elements (PyTorch's ``t.numel()``; numpy's ``t.size``)."""
        return self.data.size

    def tolist(self):
        """The numbers as nested Python lists (a number for a 0-d tensor)."""
        return self.data.tolist()

    def pow(self, exponent) -> Tensor:
        """``self ** exponent``."""
        return self.__pow__(exponent)

    def sqrt(self) -> Tensor:
        """√x of every entry, as ``x ** 0.5``: x̄ = ḡ/(2√x); x < 0 is refused (and x = 0 in
        backward, where the slope is infinite)."""
        return self.__pow__(0.5)

    def clamp(self, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
        """Every entry limited to [min, max] (either may be None); x̄ = ḡ inside, 0 outside."""
        low, high = _bounds("clamp", min, max)
        return apply_op(torch_ops.Clamp(low, high), self)

    clip = clamp  # numpy's name (and PyTorch's alias)

    def argmax(self, dim=None, keepdim: bool = False) -> Tensor:
        """Where the largest entry is along ``dim`` (of the flattened tensor when None),
        as int64; the first one on a tie. No gradient: it is an index."""
        return self._arg("argmax", dim, keepdim)

    def argmin(self, dim=None, keepdim: bool = False) -> Tensor:
        """Where the smallest entry is along ``dim`` (flattened when None), as int64."""
        return self._arg("argmin", dim, keepdim)

    def _arg(self, where: str, dim, keepdim: bool) -> Tensor:
        axis = None if dim is None else normalize_axes(where, dim, self.shape)
        if axis is not None and len(axis) != 1:
            raise TypeError(f"{where}: dim must be one int or None, got {dim!r}")
        if axis is None and self.data.size == 0:
            raise ValueError(f"{where}: the tensor is empty (shape {self.shape})")
        if axis is not None and self.shape[axis[0]] == 0:  # (0, 3) along 1 is fine: (0,)
            raise ValueError(f"{where}: axis {axis[0]} of shape {self.shape} is empty")
        found = getattr(np, where)(self.data, axis=None if axis is None else axis[0])
        if keepdim:
            found = np.reshape(
                found, [1 if axis is None or i in axis else n for i, n in enumerate(self.shape)]
            )
        return Tensor._node(np.asarray(found, dtype=np.int64), None, (), False)

    def softmax(self, dim: int) -> Tensor:
        """e^x / Σ e^x along ``dim`` (rows of probabilities), computed without overflow."""
        return apply_op(softmax_ops.Softmax(_one_dim("softmax", dim)), self)

    def log_softmax(self, dim: int) -> Tensor:
        """log softmax along ``dim``, by log-sum-exp: (x − m) − log Σ e^(x − m)."""
        return apply_op(softmax_ops.LogSoftmax(_one_dim("log_softmax", dim)), self)

    def var(self, dim=None, *, correction=None, keepdim: bool = False, **numpy_names) -> Tensor:
        """The variance over ``dim`` (all entries when None): Σ(x − x̄)² / (n − correction).

        PyTorch's default, ``correction=1`` (the unbiased estimate, divided by n − 1), where
        numpy's ``var`` divides by n (``ddof=0``). So that neither meaning is taken
        silently, numpy's spelling (``axis=``, ``keepdims=``) needs ``ddof=`` too.
        """
        centered, axes, keepdim, dof = self._deviations(
            "var", dim, correction, keepdim, numpy_names
        )
        return (centered * centered).sum(axis=axes, keepdims=keepdim) / dof

    def std(self, dim=None, *, correction=None, keepdim: bool = False, **numpy_names) -> Tensor:
        """The standard deviation √var over ``dim`` (``correction=1`` by default, as PyTorch).

        Computed as m·‖(x − x̄)/m‖ / √(n − correction) with m = max |x − x̄|, so that no
        square under- or overflows (1e-30² is 0 in float32) unless the answer does; the
        gradient (x − x̄)/((n − correction)·std) is 0 where all entries are equal (as PyTorch).
        """
        centered, axes, keepdim, dof = self._deviations(
            "std", dim, correction, keepdim, numpy_names
        )
        # The value does not depend on m, so m is a constant (no gradient); 1 where all
        # deviations are 0. The norm's gradient is 0 at 0, where √ has an infinite slope.
        m = np.max(np.abs(centered.data), axis=axes, keepdims=True)
        m = np.where(m > 0, m, 1).astype(centered.dtype)
        norm = (centered / m).norm(dim=axes, keepdim=keepdim)
        return norm / math.sqrt(dof) * np.reshape(m, norm.shape)

    def _deviations(self, where, dim, correction, keepdim, numpy_names) -> tuple:
        """var's and std's arguments checked: (x − x̄, axes, keepdim, n − correction)."""
        unknown = set(numpy_names) - {"axis", "keepdims", "ddof"}
        if unknown:
            raise TypeError(f"{where}: unexpected argument {sorted(unknown)[0]!r}")
        if "ddof" in numpy_names:
            if correction is not None:
                raise TypeError(f"{where}: got both correction= and ddof= (they are one)")
            correction = numpy_names["ddof"]
        if "axis" in numpy_names:
            if dim is not None:
                raise TypeError(f"{where}: got both dim= and axis= (they are one; give one)")
            if correction is None:
                raise TypeError(
                    f"{where}: numpy's {where}(axis=…) divides by n, PyTorch's by n − 1; say "
                    f"which: {where}(axis=…, ddof=0) for numpy's, {where}(dim=…) for PyTorch's"
                )
            dim = numpy_names["axis"]
        keepdim = numpy_names.get("keepdims", keepdim)
        correction = 1 if correction is None else correction
        axes = normalize_axes(where, dim, self.shape)
        n = math.prod(self.shape[a] for a in axes)
        if n - correction <= 0:
            raise ValueError(
                f"{where}: {n} entries with correction={correction} leave {n - correction} "
                "degrees of freedom; it needs at least 1"
            )
        return self - self.mean(axis=axes, keepdims=True), axes, keepdim, n - correction

    def norm(self, p="fro", dim=None, keepdim: bool = False) -> Tensor:
        """The p-norm over ``dim`` (all entries when None), as PyTorch's ``t.norm``.

        p = 2 or "fro": √(Σ x²), x̄ = ḡ·x/‖x‖ (0 at the zero vector, as PyTorch);
        p = 1: Σ |x|; p = inf: max |x| (ties share ḡ).
        """
        if p in ("fro", 2):
            return apply_op(torch_ops.Norm(dim, keepdim), self)
        if p == 1:
            return self.abs().sum(axis=dim, keepdims=keepdim)
        if p == math.inf:
            return self.abs().max(axis=dim, keepdims=keepdim)
        raise ValueError(f"norm: p must be 1, 2, 'fro' or math.inf, got {p!r}")

    def view(self, *shape) -> Tensor:
        """The same entries in a new shape (one entry may be −1): ``reshape``."""
        return self.reshape(*shape)

    def permute(self, *dims) -> Tensor:
        """The axes in the order ``dims`` (a permutation of all of them): numpy's
        ``transpose(axes)``, PyTorch's ``permute``."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        axes = normalize_axes("permute", dims, self.shape)
        if len(axes) != self.ndim:
            raise ValueError(
                f"permute: dims {tuple(dims)} are not a permutation of the {self.ndim} axes "
                f"of {self.shape}"
            )
        return apply_op(array_ops.Transpose(axes), self)

    def unsqueeze(self, dim: int) -> Tensor:
        """A new axis of size 1 at position ``dim`` (−1 for a new last axis)."""
        ndim = self.ndim + 1
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"unsqueeze: dim must be one int, got {dim!r}")
        if not -ndim <= dim < ndim:
            raise ValueError(f"unsqueeze: dim {dim} is out of range for shape {self.shape}")
        shape = list(self.shape)
        shape.insert(int(dim) % ndim, 1)
        return self.reshape(shape)

    def squeeze(self, dim=None) -> Tensor:
        """The axes of size 1 removed: all of them, or those of ``dim`` that have size 1
        (PyTorch's rule: an axis of ``dim`` with another size is left as it is)."""
        axes = range(self.ndim) if dim is None else normalize_axes("squeeze", dim, self.shape)
        drop = {a for a in axes if self.shape[a] == 1}
        return self.reshape([n for i, n in enumerate(self.shape) if i not in drop])

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """The axes ``start_dim`` … ``end_dim`` joined into one (all of them by default)."""
        if self.ndim == 0:
            return self.reshape(1)
        (start,) = normalize_axes("flatten", start_dim, self.shape)
        (end,) = normalize_axes("flatten", end_dim, self.shape)
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        shape = self.shape
        return self.reshape(shape[:start] + (math.prod(shape[start : end + 1]),) + shape[end + 1 :])

    def astype(self, dtype) -> Tensor:
        """A copy with the entries as ``dtype`` (numpy's ``astype``: always a copy).

        To a float type the gradient flows back (cast to this tensor's dtype); to an
        integer or bool type the result is a plain leaf, as PyTorch's ``t.long()``.
        """
        dtype = np.dtype(dtype)
        if dtype.kind not in "fiub":
            raise TypeError(f"astype: dtype must be a real number type, got {dtype}")
        if dtype.kind != "f":
            return Tensor._node(self.data.astype(dtype), None, (), False)
        return apply_op(torch_ops.Cast(dtype), self)

    def float(self) -> Tensor:
        """As float32: this tensor itself when it is float32 already (PyTorch's rule)."""
        return self if self.dtype == np.float32 else self.astype(np.float32)

    def double(self) -> Tensor:
        """As float64: this tensor itself when it is float64 already (PyTorch's rule)."""
        return self if self.dtype == np.float64 else self.astype(np.float64)

    def long(self) -> Tensor:
        """As int64 (a plain leaf: no gradient flows through an integer cast)."""
        return self if self.dtype == np.int64 else self.astype(np.int64)

    def clone(self) -> Tensor:
        """A copy with its own array, in the graph (x̄ = ḡ): change it in place freely."""
        return apply_op(torch_ops.Clone(), self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Turn gradient tracking of this leaf on (or off); returns the tensor itself."""
        if self.op is not None:
            raise RuntimeError(
                f"requires_grad_: only a leaf's requires_grad can be changed; this tensor came "
                f"from {self.op.name} (t.detach().requires_grad_() makes a new leaf)"
            )
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad_: only floating-point data can require grad, got {self.dtype} "
                "(t.float() first)"
            )
        self.requires_grad = bool(requires_grad)
        return self

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's numbers have seen (PyTorch's
        ``t._version``). Tensors that share one array (a ``detach()``, a view such as
        ``x.T`` or ``x[1:]``) share one count."""
        return self._version_counter[0]

    @_version.setter
    def _version(self, value: int) -> None:
        self._version_counter[0] = value

    # In-place changes, with PyTorch's rules. The tensor stays the same object; every change
    # adds one to ``_version``. A leaf that requires grad may change only under no_grad() (an
    # optimizer's step); a tensor that records gets the new value as a node of the graph.
    # Ops record the versions of their inputs, and backward refuses to use a changed one.

    def __iadd__(self, other):
        return self._in_place("+=", _add, other)

    def __isub__(self, other):
        return self._in_place("-=", _sub, other)

    def __imul__(self, other):
        return self._in_place("*=", _mul, other)

    def __itruediv__(self, other):
        return self._in_place("/=", _div, other)

    def __ipow__(self, exponent):
        return self._in_place("**=", _pow, exponent)

    def add_(self, other, alpha=1) -> Tensor:
        """self += alpha·other, in place."""
        return self._in_place("add_", _add, other if alpha == 1 else _scaled(other, alpha))

    def sub_(self, other, alpha=1) -> Tensor:
        """self −= alpha·other, in place."""
        return self._in_place("sub_", _sub, other if alpha == 1 else _scaled(other, alpha))

    def mul_(self, other) -> Tensor:
        """self *= other, in place."""
        return self._in_place("mul_", _mul, other)

    def div_(self, other) -> Tensor:
        """self /= other, in place."""
        return self._in_place("div_", _div, other)

    def pow_(self, exponent) -> Tensor:
        """self **= exponent, in place."""
        return self._in_place("pow_", _pow, exponent)

    def clamp_(self, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
        """Every entry limited to [min, max], in place."""
        low, high = _bounds("clamp_", min, max)
        return self._in_place("clamp_", lambda t: apply_op(torch_ops.Clamp(low, high), t))

    def zero_(self) -> Tensor:
        """Every entry set to 0, in place."""
        return self._set("zero_", Ellipsis, 0)

    def fill_(self, value) -> Tensor:
        """Every entry set to ``value``, in place."""
        return self._set("fill_", Ellipsis, value)

    def copy_(self, source) -> Tensor:
        """The entries of ``source`` (broadcast to this shape) copied in, in place."""
        return self._set("copy_", Ellipsis, source)

    def __setitem__(self, index, value) -> None:
        self._set("setitem", _clean_index(index), value)

    def _set(self, where: str, index, value) -> Tensor:
        """``self[index] = value`` by PyTorch's rules (see `_in_place`)."""
        value = _operand(value, self, where)
        if not self._records_in_place(where, value):  # no graph: write into the array
            try:
                self.data[index] = value.data
            except (IndexError, ValueError, TypeError) as error:
                raise type(error)(f"{where}: {_write_problem(error, self)}") from None
            self._version += 1
            return self
        return self._in_place(where, lambda t, v: apply_op(torch_ops.SetItem(index), t, v), value)

    def _records_in_place(self, where: str, *others) -> bool:
        """Whether an in-place op on self records (raises for a leaf that requires grad)."""
        if not is_grad_enabled():
            return False
        if self.op is None and self.requires_grad:
            raise RuntimeError(
                f"{where}: a leaf tensor that requires grad{_label(self)} is being used in an "
                "in-place operation; change it under vecgrad.no_grad() (as an optimizer step "
                "does), or write t = t … for a new tensor"
            )
        return self.requires_grad or any(getattr(o, "requires_grad", False) for o in others)

    def _in_place(self, where: str, compute, *others) -> Tensor:
        """Make this tensor hold ``compute(self, *others)`` (a Tensor), in place.

        Without a graph the result is written into ``self.data`` (same array). With one,
        the old value keeps this tensor's node as a new node ``before`` (its op, parents,
        array, version), the result is computed from ``before``, and this tensor takes the
        result's op and parents: the graph reads before → op → self. A leaf keeps its
        array (``before`` gets a copy of the old numbers); a non-leaf takes the result's
        array, because the ops that made it may have saved the old one.
        """
        if not self._records_in_place(where, *others):
            result = compute(self, *others)
            _write(where, self.data, result.data)
            self._version += 1
            return self
        # A leaf that owns its array keeps it (written in place: views and holders of the
        # array see the change), so before gets a copy. A non-leaf, or a view, takes the
        # result's array instead: the ops that made it, or read it, may have saved the old.
        in_place = self.op is None and self.data.base is None
        before = Tensor._node(
            self.data.copy() if in_place else self.data, self.op, self.parents, self.requires_grad
        )
        before.name, before._saved_versions = self.name, self._saved_versions
        # the copy counts on its own; the old array keeps its count (self gets a new one below)
        before._version_counter = [self._version] if in_place else self._version_counter
        others = tuple(before if o is self else o for o in others)
        result = compute(before, *others)
        if result.shape != self.shape:
            raise ValueError(
                f"{where}: the result has shape {result.shape} but the tensor has shape "
                f"{self.shape}; an in-place op cannot change a tensor's shape"
            )
        if result.dtype != self.dtype:
            _write(where, np.empty_like(self.data), result.data)  # raises if it cannot cast
            result = apply_op(torch_ops.Cast(self.dtype), result)
        if in_place:
            _write(where, self.data, result.data)
        else:
            self.data = result.data
            self._version_counter = [self._version]
            # Operands computed from this tensor (y += y * 2, x[0] = x[0] * 2) read its
            # old value, which is before's now. (A leaf's cannot: they saved the array it
            # overwrites, so the version check refuses them, as PyTorch does.)
            _repoint(others, self, before)
        self.op, self.parents, self.requires_grad = result.op, result.parents, True
        self._version += 1
        self._saved_versions = result._saved_versions[:-1] + [self._version]
        return self


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
    needs = tuple(map(_requires_grad, inputs))  # map, not a comprehension: no frame per op
    op.needs_input_grad = needs
    operands = list(map(_data, inputs))
    data = op.forward(*operands)
    if type(data) is not np.ndarray:  # numpy returns scalars from full reductions
        data = np.asarray(data)
    if float_checks_enabled():
        check_float_result(op, data, operands)
    if True in needs and is_grad_enabled():
        out = Tensor._node(data, op, inputs, True)
        if data.base is not None:  # a view of an input's array (x.T, x[1:]): one count
            _share_version_counter(out, inputs)
        out._saved_versions = [*map(_count, map(_counter_of, inputs)), out._version_counter[0]]
        return out
    out = Tensor._node(data, None, (), False)
    if data.base is not None:
        _share_version_counter(out, inputs)
    return out


def check_float_result(op: ops.Op, out: np.ndarray, operands: list) -> None:
    """The float policy (scalargrad.float_checks) for an op's result: one BLAS pass when it
    is finite, the common case; none for an op that cannot make NaN or overflow."""
    if out.dtype.kind == "f" and not op.keeps_finite and not all_finite(out):
        check_result(op, out, operands, isinstance(op, ops.ELEMENTWISE))  # rare: look closer


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
    linear, so they need no replayed forward, and neither does writing into an index.
    """
    if isinstance(node.op, array_ops.GetItem):
        return (apply_op(array_ops.ScatterAdd(node.op.index, node.op.shape), adjoint),)
    if isinstance(node.op, array_ops.ScatterAdd):
        return (adjoint[node.op.index],)
    if isinstance(node.op, (torch_ops.SetItem, torch_ops.Where)):  # linear too: backward alone
        return node.op.backward(adjoint)
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


@accepts_dim
def concatenate(tensors, axis: int = 0) -> Tensor:
    """The tensors joined along an existing ``axis``; each gets its slice of ḡ back."""
    items = _operands(tensors, "concatenate")
    return apply_op(array_ops.Concatenate(axis), *items)


@accepts_dim
def stack(tensors, axis: int = 0) -> Tensor:
    """The tensors (one shape) stacked along a new ``axis``; each gets its slice of ḡ."""
    items = _operands(tensors, "stack")
    return apply_op(array_ops.Stack(axis), *items)


# ---- making tensors --------------------------------------------------------------


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
        # A Python number adapts to the tensor (numpy's rule): 2.5 * float32 stays float32;
        # so does a numpy float64 scalar (np.sqrt(2.0)), as PyTorch takes it (numpy 2 would
        # make the result float64).
        if math.isnan(value):
            raise ValueError(f"{where}: got NaN, which has no derivative to follow")
        if isinstance(value, float):
            value = float(value)
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


def _preview(data) -> str:
    """A short repr of bad input for an error message."""
    text = repr(data)
    return text if len(text) <= 60 else text[:57] + "..."


# ---- PyTorch's names: what the methods above share ------------------------------------


class Size(int):
    """A tensor's number of elements that, called, gives its shape.

    numpy's ``t.size`` is the element count and PyTorch's ``t.size()`` the shape (and
    ``t.size(dim)`` one length): each spelling means what its library means, so neither a
    numpy user nor a PyTorch user meets a silently different answer.
    """

    def __new__(cls, shape: tuple):
        count = super().__new__(cls, math.prod(shape))
        count.shape = shape
        return count

    def __call__(self, dim=None):
        if dim is None:
            return self.shape
        (axis,) = normalize_axes("size", dim, self.shape)
        return self.shape[axis]

    def __reduce__(self):
        return int, (int(self),)  # pickles as the plain count


# A tensor's version is its counter's one entry; tensors that share an array share the
# counter. map(_count, map(_counter_of, tensors)) reads the versions at C speed.
_counter_of, _count = operator.attrgetter("_version_counter"), operator.itemgetter(0)
_requires_grad, _data = operator.attrgetter("requires_grad"), operator.attrgetter("data")


def _share_version_counter(out: Tensor, inputs: tuple) -> None:
    """Give ``out``, whose array is a view, the counter of the input whose memory it views
    (numpy points every view at the array that owns the memory: ``base``)."""
    base = out.data.base
    for t in inputs:
        if t.data is base or t.data.base is base:
            out._version_counter = t._version_counter
            return


def _check_versions(node: Tensor) -> None:
    """Raise PyTorch's error if an input of ``node`` (or ``node`` itself) changed in place
    since its op saved it: the backward pass would silently use the new numbers."""
    current = [*map(_count, map(_counter_of, node.parents)), node._version_counter[0]]
    if current == node._saved_versions:
        return
    op = node.op.name if node.op is not None else "the op"
    for slot, (tensor, was, now) in enumerate(
        zip(node.parents + (node,), node._saved_versions, current)
    ):
        if was != now:
            role = f"the output of {op}" if tensor is node else f"input {slot} of {op}"
            raise RuntimeError(
                "backward: one of the variables needed for gradient computation has been "
                f"modified by an in-place operation: {_described(tensor)}, {role}, is at "
                f"version {now}; it was at version {was} when {op} saved it. Run the forward "
                "pass again after the change, or change a copy (t.clone())"
            )


def _repoint(roots: tuple, old: Tensor, new: Tensor) -> None:
    """Make each node between ``roots`` and ``old`` that has ``old`` as a parent point at
    ``new`` instead: the operands of an in-place op on ``old`` that were computed from it
    read its value before the change, which is ``new`` (the ``before`` node) from now on.

    The walk visits the operands' ancestry up to ``old`` and ``new`` (which it does not
    enter), so its cost is the size of the operands' own graph.
    """
    stack = [r for r in roots if isinstance(r, Tensor) and r.parents]
    seen = set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if any(p is old for p in node.parents):
            node.parents = tuple(new if p is old else p for p in node.parents)
        stack.extend(p for p in node.parents if p.parents and p is not new and p not in seen)


class FiniteMark(weakref.ref):
    """A weak reference to a gradient that the backward pass found finite: ``mark() is
    p.grad`` tells an optimizer that no check is needed. Weak, so a dropped gradient is
    freed; pickled and copied as no mark (a copy's gradient is simply checked again)."""

    __slots__ = ()

    def __reduce__(self):
        return _no_mark, ()


def _no_mark() -> None:
    return None


def _finite_gradient(t: Tensor, grad, partials):
    """Raise where ``t``'s new gradient holds NaN, naming the op whose backward sent it;
    return a `FiniteMark` on it when every entry is finite (while it is still ``t.grad``,
    an optimizer need not look again: `vecgrad.optim`), None when it holds ±∞ (a
    derivative too large for a float, or infinite: allowed)."""
    numbers = grad.data if isinstance(grad, Tensor) else grad
    if numbers.dtype.kind != "f":
        return None
    if all_finite(numbers):
        return FiniteMark(grad)
    nan = np.isnan(numbers)
    if not nan.any():
        return None
    what = _described(t)
    for child, slot, value in partials:
        value = value.data if isinstance(value, Tensor) else np.asarray(value)
        if child is not None and np.isnan(value).any():
            raise derivative_error("backward", child.op.name, slot, what, at(nan))
    if len(partials) > 1:  # each partial finite or ±∞, their sum ∞ − ∞
        names = "+".join(c.op.name for c, _, _ in partials if c is not None)
        raise derivative_error("backward", names, "sum", what, at(nan))
    raise FloatingPointError(  # this pass's ±∞ met the opposite ±∞ of an earlier one
        f"backward: the derivative of {what} is NaN{at(nan)}: this backward pass's gradient "
        "plus the one accumulated before is ∞ − ∞ (zero_grad() between passes?); "
        f"{HOW_TO_ALLOW}"
    )


def _described(t: Tensor) -> str:
    return f"tensor {t.name!r} of shape {t.shape}" if t.name else f"a tensor of shape {t.shape}"


def _label(t: Tensor) -> str:
    return f" ({t.name!r}, shape {t.shape})" if t.name else f" (shape {t.shape})"


def _write(where: str, target: np.ndarray, values: np.ndarray) -> None:
    """Copy ``values`` into ``target`` (an in-place op's result into the tensor's array)."""
    if values.shape != target.shape:
        raise ValueError(
            f"{where}: the result has shape {values.shape} but the tensor has shape "
            f"{target.shape}; an in-place op cannot change a tensor's shape"
        )
    try:
        np.copyto(target, values, casting="same_kind")
    except (TypeError, ValueError) as error:
        if isinstance(error, TypeError):
            raise TypeError(
                f"{where}: the result has dtype {values.dtype}, which a {target.dtype} tensor "
                "cannot hold in place; write t = t … for a new tensor"
            ) from None
        raise ValueError(f"{where}: {_write_problem(error, target)}") from None


def _write_problem(error: Exception, target) -> str:
    target = target.data if isinstance(target, Tensor) else target
    if not target.flags.writeable:
        return (
            "this tensor's array is read-only (a broadcast view, or read-only numpy data); "
            "change a copy: t = t.clone()"
        )
    return f"{error} (a tensor of shape {target.shape})"


def _add(t: Tensor, other) -> Tensor:
    return _binary(ops.Add(), t, other)


def _sub(t: Tensor, other) -> Tensor:
    return _binary(ops.Sub(), t, other)


def _mul(t: Tensor, other) -> Tensor:
    return _binary(ops.Mul(), t, other)


def _div(t: Tensor, other) -> Tensor:
    return _binary(ops.Div(), t, other)


def _pow(t: Tensor, exponent) -> Tensor:
    return t.__pow__(exponent)


def _scaled(other, alpha):
    """alpha·other for add_/sub_'s ``alpha`` (a Tensor stays in the graph)."""
    if isinstance(other, (Tensor, numbers.Number)):
        return other * alpha
    return np.asarray(other) * alpha


def _bounds(where: str, low, high) -> tuple:
    """clamp's bounds as floats (or None), checked: at least one, not NaN, low ≤ high."""
    if low is None and high is None:
        raise ValueError(f"{where}: give min, max or both")
    bounds = []
    for what, bound in (("min", low), ("max", high)):
        if bound is not None:
            if isinstance(bound, (bool, np.bool_)) or not isinstance(bound, numbers.Real):
                raise TypeError(f"{where}: {what} must be a number or None, got {bound!r}")
            if math.isnan(bound):
                raise ValueError(f"{where}: {what} is NaN")
        bounds.append(bound)
    if low is not None and high is not None and low > high:
        raise ValueError(f"{where}: min {low!r} is larger than max {high!r}")
    return tuple(bounds)


def _one_dim(where: str, dim) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{where}: dim must be one int (e.g. {where}(dim=-1)), got {dim!r}")
    return int(dim)
