"""Forward mode over arrays: `Dual` carries a value and its tangent through one forward pass.

scalargrad/forward.py for arrays. A dual array x + ẋε holds the value x and the tangent ẋ
(same shape): the derivative of x along one chosen direction of the inputs. Every op maps
it by its first-order Taylor rule, f(x + ẋε) = f(x) + f′(x)[ẋ]ε, where f′(x)[ẋ] is the
Jacobian-vector product, computed as a linear map of ẋ (never as the Jacobian itself).
So one pass seeded with ẋ = v gives J·v: column j of the Jacobian for v = e_j, where
reverse mode's one VJP gives one row.

`Dual` is a node type with `Tensor`'s method names and no rules of its own: `apply_op`
runs vecgrad's op, ``op.forward`` on the values (the same checks and messages as a
Tensor's) and ``op.jvp`` on the tangents. So an f written with methods and operators
(``(W @ x).tanh().sum()``), numpy functions (``np.tanh(W @ x)``) or vecgrad's lecture
twins (``vecgrad.log(x)``) runs on duals unchanged; ``softmax``, ``log_softmax``,
``concatenate`` and ``stack`` below take duals too. A constant operand (a number, an
array, a Tensor that needs no gradient) has no tangent: jvp gets None for it, so
``W @ x`` with a constant W costs one product for the tangent, W @ ẋ.

A component may be a Tensor that records a graph (reverse over forward): the op then
computes on Tensors (its rules use numpy functions that Tensors understand), the tangent
∇f·v is a Tensor, and its ``backward()`` gives the Hessian-vector product H·v.
"""

from __future__ import annotations

import numbers

import numpy as np

from scalargrad.float_checks import derivative_error, float_checks_enabled

from . import array_ops, conv_functional, ops, softmax_ops
from .checks import all_finite, as_array, at, normalize_axes, preview
from .functional import log_softmax as tensor_log_softmax
from .functional import softmax as tensor_softmax
from .numpy_protocol import NumpyDispatch
from .tensor import Tensor, check_float_result
from .tensor import concatenate as tensor_concatenate
from .tensor import matmul as tensor_matmul
from .tensor import maximum as tensor_maximum
from .tensor import minimum as tensor_minimum
from .tensor import stack as tensor_stack


class Dual(NumpyDispatch):
    """A dual array ``value + tangent·ε``: an array and its derivative along one direction.

    ``value`` is a float array (or a Tensor, for reverse over forward); ``tangent`` has its
    shape (zeros when not given). Numbers, arrays and Tensors mixed into an expression are
    constants: their tangent is zero.
    """

    __slots__ = ("value", "tangent")
    lifts_tensors = True  # vecgrad's lecture twins hand a Dual to its own method
    _numpy_refusal = "a forward-mode Dual (no tangent rule): use d.value for the numbers alone"

    def __init__(self, value, tangent=None):
        self.value = _component(value, "value")
        if tangent is None:
            tangent = np.zeros(self.value.shape, dtype=self.value.dtype)
        tangent = _component(tangent, "tangent", self.value.dtype)
        if tangent.shape != self.value.shape:
            raise ValueError(
                f"Dual: the tangent has shape {tangent.shape} but the value has shape "
                f"{self.value.shape}; they need one shape"
            )
        self.tangent = tangent

    # ---- what it holds --------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        """The value's shape (the tangent's too)."""
        return self.value.shape

    @property
    def dtype(self) -> np.dtype:
        """The value's dtype."""
        return self.value.dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return len(self.value.shape)

    @property
    def size(self) -> int:
        """The number of elements."""
        return Tensor._numbers(self.value).size

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d Dual")
        return self.shape[0]

    def __iter__(self):
        """The sub-duals along the first axis (``x[0], x[1], …``)."""
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        return bool(Tensor._numbers(self.value))

    # ---- arithmetic: every dunder names its rule, as Tensor names its op ---------------

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
        # As in Tensor: a plain number is the constant Pow; anything else the two-operand
        # Power, whose base must be ≥ 0 (ln appears in ∂/∂y).
        if isinstance(exponent, numbers.Real) and not isinstance(exponent, (bool, np.bool_)):
            return apply_op(ops.Pow(float(exponent)), self)
        return apply_op(ops.Power(), self, exponent)

    def __rpow__(self, base):
        return apply_op(ops.Power(), base, self)

    def __neg__(self):
        return apply_op(ops.Neg(), self)

    def __matmul__(self, other):
        return apply_op(array_ops.MatMul(), self, other)

    def __rmatmul__(self, other):
        return apply_op(array_ops.MatMul(), other, self)

    # ---- elementwise functions -------------------------------------------------------

    def log(self) -> Dual:
        """ln of every entry; raises ValueError for an entry ≤ 0."""
        return apply_op(ops.Log(), self)

    def exp(self) -> Dual:
        """e to every entry."""
        return apply_op(ops.Exp(), self)

    def sin(self) -> Dual:
        """sin of every entry."""
        return apply_op(ops.Sin(), self)

    def cos(self) -> Dual:
        """cos of every entry."""
        return apply_op(ops.Cos(), self)

    def tanh(self) -> Dual:
        """tanh of every entry."""
        return apply_op(ops.Tanh(), self)

    def sigmoid(self) -> Dual:
        """σ(x) = 1/(1 + e⁻ˣ) of every entry."""
        return apply_op(ops.Sigmoid(), self)

    def relu(self) -> Dual:
        """max(x, 0) of every entry (tangent 0 at x = 0, as the gradient)."""
        return apply_op(ops.ReLU(), self)

    def abs(self) -> Dual:
        """|x| of every entry (tangent 0 at x = 0, as the gradient)."""
        return apply_op(ops.Abs(), self)

    __abs__ = abs

    def maximum(self, other) -> Dual:
        """The elementwise larger of self and other; a tie takes the mean of both tangents."""
        return apply_op(ops.Maximum(), self, other)

    def minimum(self, other) -> Dual:
        """The elementwise smaller of self and other; a tie takes the mean of both tangents."""
        return apply_op(ops.Minimum(), self, other)

    # ---- reductions and shapes ------------------------------------------------------

    def sum(self, axis=None, keepdims: bool = False) -> Dual:
        """Σ over ``axis`` (all axes when None), as ``numpy.sum``."""
        return apply_op(array_ops.Sum(axis, keepdims), self)

    def mean(self, axis=None, keepdims: bool = False) -> Dual:
        """The mean over ``axis`` (all axes when None), as ``numpy.mean``."""
        return apply_op(array_ops.Mean(axis, keepdims), self)

    def max(self, axis=None, keepdims: bool = False) -> Dual:
        """The largest entry over ``axis`` (a reduction); ties share the tangent equally."""
        return apply_op(array_ops.Max(axis, keepdims), self)

    def min(self, axis=None, keepdims: bool = False) -> Dual:
        """The smallest entry over ``axis`` (a reduction); ties share the tangent equally."""
        return apply_op(array_ops.Min(axis, keepdims), self)

    def reshape(self, *shape) -> Dual:
        """The same entries in a new shape (one entry may be −1)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return apply_op(array_ops.Reshape(tuple(int(n) for n in shape)), self)

    def transpose(self, *axes) -> Dual:
        """The axes permuted (reversed when none are given)."""
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return apply_op(array_ops.Transpose(tuple(axes) if axes else None), self)

    @property
    def T(self) -> Dual:
        """The axes reversed: the transpose of a matrix."""
        return self.transpose()

    def swapaxes(self, axis1: int, axis2: int) -> Dual:
        """Axes ``axis1`` and ``axis2`` exchanged."""
        axes = list(range(self.ndim))
        (axis1,) = normalize_axes("swapaxes", axis1, self.shape)
        (axis2,) = normalize_axes("swapaxes", axis2, self.shape)
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return apply_op(array_ops.Transpose(tuple(axes)), self)

    def broadcast_to(self, shape) -> Dual:
        """Copies along new or size-1 axes, as ``numpy.broadcast_to``."""
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        return self if shape == self.shape else apply_op(array_ops.BroadcastTo(shape), self)

    def __getitem__(self, index) -> Dual:
        return apply_op(array_ops.GetItem(_clean_index(index)), self)

    # ---- comparisons read the values: piecewise constant, so no tangent ---------------

    @staticmethod
    def _numbers(x):
        """The plain numbers of a Dual's value or a Tensor, or ``x`` itself."""
        return Tensor._numbers(x.value if isinstance(x, Dual) else x)

    @staticmethod
    def _join(kind: str, items, axis: int = 0) -> Dual:
        """``np.concatenate``/``np.stack`` of a list holding duals (numpy_protocol)."""
        return concatenate(items, axis) if kind == "concatenate" else stack(items, axis)

    def __lt__(self, other) -> np.ndarray:
        return Tensor._numbers(self.value) < Dual._numbers(other)

    def __le__(self, other) -> np.ndarray:
        return Tensor._numbers(self.value) <= Dual._numbers(other)

    def __gt__(self, other) -> np.ndarray:
        return Tensor._numbers(self.value) > Dual._numbers(other)

    def __ge__(self, other) -> np.ndarray:
        return Tensor._numbers(self.value) >= Dual._numbers(other)

    # ``==`` stays identity, as for Tensor.

    # ---- numpy interoperation -------------------------------------------------------

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "a forward-mode Dual cannot become a plain array: its tangent would be lost. "
            "Something without a forward-mode rule got it: a vecgrad Tensor on the left of "
            "an operator (write x @ W, or use W.data, rather than W @ x with a Tensor W), "
            "vecgrad.functional (use vecgrad.forward.softmax, log_softmax, conv2d, "
            "max_pool2d or avg_pool2d), or a numpy function with no rule; use d.value for the "
            "numbers alone"
        )

    def __repr__(self) -> str:
        return f"Dual(value={_short(self.value)}, tangent={_short(self.tangent)})"


def apply_op(op: ops.Op, *operands) -> Dual:
    """Return ``op`` applied to duals: ``op.forward`` on the values, ``op.jvp`` on the
    tangents (None for a constant operand). The one place where duals are made."""
    values, tangents = [], []
    for x in operands:
        value, tangent = _split(x, op.name)
        values.append(value)
        tangents.append(tangent)
    like = next(x.value.dtype for x in operands if isinstance(x, Dual))
    # A Python number adapts to the dual (numpy's rule, as for a Tensor): 2 ** x stays float32.
    values = [np.asarray(v, np.result_type(like, v)) if _is_number(v) else v for v in values]
    op.needs_input_grad = tuple(t is not None for t in tangents)
    out = op.forward(*values)
    tangent = op.jvp(*tangents)
    if not isinstance(out, Tensor):  # numpy gives a scalar, not a 0-d array, for Σ of all
        out, tangent = np.asarray(out), np.asarray(tangent)
    if tangent.shape != out.shape:  # a dual broadcast against a larger constant
        tangent = np.broadcast_to(tangent, out.shape)
    if float_checks_enabled():  # the policy of scalargrad.float_checks, as Tensor's apply_op
        _check_components(op, values, out, tangent)
    result = Dual.__new__(Dual)  # the op built both components: skip the public checks
    result.value, result.tangent = out, tangent
    return result


# ---- functions that take duals (and fall back to vecgrad's for anything else) --------


def maximum(a, b):
    """The elementwise larger of a and b, for duals, Tensors and arrays alike."""
    return apply_op(ops.Maximum(), a, b) if _any_dual(a, b) else tensor_maximum(a, b)


def minimum(a, b):
    """The elementwise smaller of a and b, for duals, Tensors and arrays alike."""
    return apply_op(ops.Minimum(), a, b) if _any_dual(a, b) else tensor_minimum(a, b)


def matmul(a, b):
    """a @ b as numpy's matmul, for duals, Tensors and arrays alike."""
    return apply_op(array_ops.MatMul(), a, b) if _any_dual(a, b) else tensor_matmul(a, b)


def concatenate(items, axis: int = 0):
    """The items joined along an existing ``axis`` (duals, Tensors, arrays)."""
    items = list(items)
    if _any_dual(*items):
        return apply_op(array_ops.Concatenate(axis), *items)
    return tensor_concatenate(items, axis=axis)


def stack(items, axis: int = 0):
    """The items (one shape) stacked along a new ``axis`` (duals, Tensors, arrays)."""
    items = list(items)
    if _any_dual(*items):
        return apply_op(array_ops.Stack(axis), *items)
    return tensor_stack(items, axis=axis)


def softmax(x, axis: int = -1):
    """Return eˣ / Σ eˣ along ``axis``, for a dual as for a Tensor (vecgrad's op)."""
    if not isinstance(x, Dual):
        return tensor_softmax(x, axis)
    return apply_op(softmax_ops.Softmax(_axis("softmax", axis)), x)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """2-D convolution for duals (x, weight or bias), as `vecgrad.functional.conv2d`:
    the tangent is conv(ẋ, W) + conv(x, Ẇ) + ḃ, from the Conv2d op's own jvp."""
    if not _any_dual(x, weight, bias):
        return conv_functional.conv2d(x, weight, bias, stride, padding, dilation, groups)
    op = conv_functional.conv2d_op(
        np.shape(_split(x, "conv2d")[0]),
        np.shape(_split(weight, "conv2d")[0]),
        stride,
        padding,
        dilation,
        groups,
    )
    return apply_op(op, x, weight) if bias is None else apply_op(op, x, weight, bias)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False):
    """Max-pooling for a dual: the tangent of each window's winner (MaxPool2d's jvp)."""
    if not isinstance(x, Dual):
        return conv_functional.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode)
    shape = np.shape(x.value)
    return apply_op(
        conv_functional.max_pool2d_op(shape, kernel_size, stride, padding, dilation, ceil_mode), x
    )


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Average pooling for a dual: the mean of each window's tangents (AvgPool2d's jvp)."""
    if not isinstance(x, Dual):
        return conv_functional.avg_pool2d(
            x, kernel_size, stride, padding, ceil_mode, count_include_pad
        )
    op = conv_functional.avg_pool2d_op(
        np.shape(x.value), kernel_size, stride, padding, ceil_mode, count_include_pad
    )
    return apply_op(op, x)


def log_softmax(x, axis: int = -1):
    """Return log softmax(x) = (x − m) − log Σ e^(x − m) along ``axis`` (m = max x)."""
    if not isinstance(x, Dual):
        return tensor_log_softmax(x, axis)
    return apply_op(softmax_ops.LogSoftmax(_axis("log_softmax", axis)), x)


# ---- helpers -------------------------------------------------------------------------


def _component(x, where: str, dtype=None):
    """A dual's component: a float array, or a Tensor that requires grad (kept as is)."""
    if isinstance(x, Dual):
        raise TypeError(
            f"Dual: the {where} is itself a Dual; nested forward mode (duals of duals) is not "
            "supported over arrays (for second derivatives use vecgrad.hessian)"
        )
    if isinstance(x, Tensor):
        if x.requires_grad:  # reverse over forward: the tangent will be a graph
            return x
        x = x.data
    array = as_array(x, dtype, f"Dual: {where}", float_ints=True)
    if array.dtype.kind != "f":
        raise TypeError(
            f"Dual: the {where} must be floating-point, got {array.dtype} (pass x.astype(float))"
        )
    return array


def _split(x, where: str) -> tuple:
    """(value, tangent) of an operand: a dual's components, or (x, None) for a constant."""
    if isinstance(x, Dual):
        return x.value, x.tangent
    if isinstance(x, Tensor):
        return (x if x.requires_grad else x.data), None
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{where}: expected a number, array or Dual, got the bool {x!r}")
    if isinstance(x, numbers.Real):
        return x, None  # a Python number adapts to the array's dtype, as numpy's rule
    if isinstance(x, (np.ndarray, np.generic, list, tuple)):
        return as_array(x, None, where), None
    raise TypeError(
        f"{where}: cannot combine a Dual with {type(x).__name__} {preview(x)} "
        "(expected a number, an array, a Tensor or a Dual)"
    )


def _check_components(op: ops.Op, values: list, out, tangent) -> None:
    """Raise for a NaN or overflowed value (as a Tensor's op would) or a NaN tangent."""
    if isinstance(out, np.ndarray):  # (values that are Tensors were checked by their ops)
        check_float_result(op, out, values)
    if isinstance(tangent, np.ndarray) and tangent.dtype.kind == "f" and not all_finite(tangent):
        nan = np.isnan(tangent)
        if nan.any():
            raise derivative_error("jvp", op.name, None, f"{op.name}'s result", at(nan))


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, np.ndarray)


def _any_dual(*items) -> bool:
    return any(isinstance(x, Dual) for x in items)


def _axis(where: str, axis) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{where}: axis must be one int, got {axis!r}")
    return int(axis)


def _clean_index(index):
    """An index with Tensors or duals read as their numbers, lists and ranges as arrays."""
    parts = index if isinstance(index, tuple) else (index,)
    cleaned = []
    for part in parts:
        if isinstance(part, (Tensor, Dual)):
            part = Dual._numbers(part)
        if isinstance(part, (range, list)):
            part = np.asarray(part)
            if part.size == 0:
                part = part.astype(np.intp)
        cleaned.append(part)
    return tuple(cleaned) if isinstance(index, tuple) else cleaned[0]


def _short(x) -> str:
    numbers = np.asarray(Tensor._numbers(x))
    text = np.array2string(numbers, separator=", ", precision=4, threshold=20)
    return text if not isinstance(x, Tensor) else f"Tensor({text})"


__all__ = [
    "Dual",
    "apply_op",
    "maximum",
    "minimum",
    "matmul",
    "concatenate",
    "stack",
    "softmax",
    "log_softmax",
]
