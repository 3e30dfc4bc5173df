"""Forward mode over arrays: `Dual` carries a value and its tangent through one forward pass.

scalargrad/forward.py for arrays. A dual array x + ẋε holds the value x and the tangent ẋ
(same shape): the derivative of x along one chosen direction of the inputs. Every op maps
it by its first-order Taylor rule, f(x + ẋε) = f(x) + f′(x)[ẋ]ε, where f′(x)[ẋ] is the
Jacobian-vector product, computed as a linear map of ẋ (never as the Jacobian itself).
So one pass seeded with ẋ = v gives J·v: column j of the Jacobian for v = e_j, where
reverse mode's one VJP gives one row.

`Dual` has `Tensor`'s method names, so an f written with methods and operators
(``(W @ x).tanh().sum()``), numpy functions (``np.tanh(W @ x)``) or vecgrad's lecture
twins (``vecgrad.log(x)``) runs on duals unchanged. ``softmax``, ``log_softmax``,
``concatenate`` and ``stack`` below take duals too. Each rule is one small class, in the
order of vecgrad/ops.py: ``forward`` computes the value through vecgrad's own op (so the
same domain checks and messages), and ``jvp`` returns one linear map per operand,
ȧ ↦ ∂out/∂a·ȧ. A constant operand (a number, an array, a Tensor that needs no gradient)
has tangent zero: its map is never called, so ``W @ x`` with a constant W costs one
product for the tangent, W @ ẋ.

A component may be a Tensor that records a graph (reverse over forward): the tangent
∇f·v is then a Tensor, and its ``backward()`` gives the Hessian-vector product H·v. The
maps therefore use only what numpy arrays and Tensors share: operators, ufuncs
(``np.cos``), ``sum``/``mean``/``reshape``, ``np.transpose``, ``np.broadcast_to``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import ops
from .numpy_protocol import NumpyDispatch, function_table, ufunc_table
from .tensor import Tensor, as_array
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
        return _numbers(self.value).size

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d Dual")
        return self.shape[0]

    def __iter__(self):
        """The sub-duals along the first axis (``x[0], x[1], …``)."""
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        return bool(_numbers(self.value))

    # ---- arithmetic: every dunder names its rule, as Tensor names its op ---------------

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
        # As in Tensor: a plain number is the constant Pow; anything else the two-operand
        # Power, whose base must be ≥ 0 (ln appears in ∂/∂y).
        if isinstance(exponent, numbers.Real) and not isinstance(exponent, (bool, np.bool_)):
            return _apply(Pow(float(exponent)), self)
        return _apply(Power(), self, exponent)

    def __rpow__(self, base):
        return _apply(Power(), base, self)

    def __neg__(self):
        return _apply(Neg(), self)

    def __matmul__(self, other):
        return _apply(MatMul(), self, other)

    def __rmatmul__(self, other):
        return _apply(MatMul(), other, self)

    # ---- elementwise functions -------------------------------------------------------

    def log(self) -> Dual:
        """ln of every entry; raises ValueError for an entry ≤ 0."""
        return _apply(Log(), self)

    def exp(self) -> Dual:
        """e to every entry."""
        return _apply(Exp(), self)

    def sin(self) -> Dual:
        """sin of every entry."""
        return _apply(Sin(), self)

    def cos(self) -> Dual:
        """cos of every entry."""
        return _apply(Cos(), self)

    def tanh(self) -> Dual:
        """tanh of every entry."""
        return _apply(Tanh(), self)

    def sigmoid(self) -> Dual:
        """σ(x) = 1/(1 + e⁻ˣ) of every entry."""
        return _apply(Sigmoid(), self)

    def relu(self) -> Dual:
        """max(x, 0) of every entry (tangent 0 at x = 0, as the gradient)."""
        return _apply(ReLU(), self)

    def abs(self) -> Dual:
        """|x| of every entry (tangent 0 at x = 0, as the gradient)."""
        return _apply(Abs(), self)

    __abs__ = abs

    def maximum(self, other) -> Dual:
        """The elementwise larger of self and other; a tie takes the mean of both tangents."""
        return _apply(Maximum(), self, other)

    def minimum(self, other) -> Dual:
        """The elementwise smaller of self and other; a tie takes the mean of both tangents."""
        return _apply(Minimum(), self, other)

    # ---- reductions and shapes ------------------------------------------------------

    def sum(self, axis=None, keepdims: bool = False) -> Dual:
        """Σ over ``axis`` (all axes when None), as ``numpy.sum``."""
        return _apply(Sum(axis, keepdims), self)

    def mean(self, axis=None, keepdims: bool = False) -> Dual:
        """The mean over ``axis`` (all axes when None), as ``numpy.mean``."""
        return _apply(Mean(axis, keepdims), self)

    def max(self, axis=None, keepdims: bool = False) -> Dual:
        """The largest entry over ``axis`` (a reduction); ties share the tangent equally."""
        return _apply(Max(axis, keepdims), self)

    def reshape(self, *shape) -> Dual:
        """The same entries in a new shape (one entry may be −1)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _apply(Reshape(tuple(int(n) for n in shape)), self)

    def transpose(self, *axes) -> Dual:
        """The axes permuted (reversed when none are given)."""
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return _apply(Transpose(tuple(axes) if axes else None), self)

    @property
    def T(self) -> Dual:
        """The axes reversed: the transpose of a matrix."""
        return self.transpose()

    def swapaxes(self, axis1: int, axis2: int) -> Dual:
        """Axes ``axis1`` and ``axis2`` exchanged."""
        axes = list(range(self.ndim))
        (axis1,) = ops.normalize_axes("swapaxes", axis1, self.shape)
        (axis2,) = ops.normalize_axes("swapaxes", axis2, self.shape)
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return _apply(Transpose(tuple(axes)), self)

    def broadcast_to(self, shape) -> Dual:
        """Copies along new or size-1 axes, as ``numpy.broadcast_to``."""
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        return self if shape == self.shape else _apply(BroadcastTo(shape), self)

    def __getitem__(self, index) -> Dual:
        return _apply(GetItem(_clean_index(index)), self)

    # ---- comparisons read the values: piecewise constant, so no tangent ---------------

    def __lt__(self, other) -> np.ndarray:
        return _numbers(self.value) < _plain(other)

    def __le__(self, other) -> np.ndarray:
        return _numbers(self.value) <= _plain(other)

    def __gt__(self, other) -> np.ndarray:
        return _numbers(self.value) > _plain(other)

    def __ge__(self, other) -> np.ndarray:
        return _numbers(self.value) >= _plain(other)

    # ``==`` stays identity, as for Tensor.

    # ---- numpy interoperation -------------------------------------------------------

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "a forward-mode Dual cannot become a plain array: its tangent would be lost. "
            "Something without a forward-mode rule got it: a vecgrad Tensor on the left of "
            "an operator (write x @ W, or use W.data, rather than W @ x with a Tensor W), "
            "vecgrad.functional (use vecgrad.forward.softmax/log_softmax), or a numpy "
            "function with no rule; use d.value for the numbers alone"
        )

    def __repr__(self) -> str:
        return f"Dual(value={_short(self.value)}, tangent={_short(self.tangent)})"


# ---- the rules: value and tangent of each op, side by side --------------------------


class Rule:
    """Base of the dual rules: ``forward(*operands)`` the value, from Tensor operands (so
    vecgrad's op checks them), and ``jvp(*operands, out)`` one linear map per operand slot,
    ȧ ↦ ∂out/∂a·ȧ; the tangent of the output is the sum of the maps of its dual operands."""

    __slots__ = ()

    @property
    def name(self) -> str:
        """The rule's name in error messages: ``matmul``, ``add``."""
        return type(self).__name__.lower()

    def tangent(self, operands: list, tangents: list, out):
        """Σ over operands with a tangent of map(tangent): the output's tangent."""
        total = None
        for tangent_map, d in zip(self.jvp(*operands, out), tangents):
            if d is not None:
                term = tangent_map(d)
                total = term if total is None else total + term
        return total

    def __repr__(self) -> str:
        return type(self).__name__ + "()"


class Add(Rule):
    """(a + ȧε) + (b + ḃε) = (a + b) + (ȧ + ḃ)ε"""

    def forward(self, a, b):
        return a + b

    def jvp(self, a, b, out):
        return (lambda da: da), (lambda db: db)


class Sub(Rule):
    """(a + ȧε) − (b + ḃε) = (a − b) + (ȧ − ḃ)ε"""

    def forward(self, a, b):
        return a - b

    def jvp(self, a, b, out):
        return (lambda da: da), (lambda db: -db)


class Mul(Rule):
    """(a + ȧε)·(b + ḃε) = ab + (ȧ·b + a·ḃ)ε   elementwise (the product rule; ε² = 0)"""

    def forward(self, a, b):
        return a * b

    def jvp(self, a, b, out):
        return (lambda da: da * b), (lambda db: a * db)


class Div(Rule):
    """(a + ȧε) / (b + ḃε) = a/b + (ȧ/b − (a/b)·ḃ/b)ε"""

    def forward(self, a, b):
        return a / b  # raises, naming div, on a zero divisor

    def jvp(self, a, b, out):
        return (lambda da: da / b), (lambda db: -(out * db) / b)


class Power(Rule):
    """(a + ȧε)^(b + ḃε) = aᵇ + (b·a^(b−1)·ȧ + aᵇ·ln a·ḃ)ε   (a ≥ 0, as Tensor's Power)"""

    def forward(self, a, b):
        return a**b

    def jvp(self, a, b, out):
        # The same conventions at a = 0 as ops.Power (and PyTorch): the ln a term is 0 there,
        # and an infinite slope b·0^(b−1) (b < 1) is an error, not an inf in the tangent.
        zero = np.asarray(_numbers(a) == 0)

        def base(da):
            with np.errstate(divide="ignore", invalid="ignore"):
                slope = b * a ** (b - 1)
            bad = zero & ~np.isfinite(_numbers(slope))
            if bad.any():
                raise ZeroDivisionError(f"pow: the derivative is infinite at base 0{ops._at(bad)}")
            return da * slope

        def exponent(db):
            if isinstance(a, numbers.Real):  # a Python number (2 ** x) keeps x's dtype
                return db * out * (math.log(a) if a > 0 else 0.0)
            return db * out * (np.log(a + zero) if zero.any() else np.log(a))

        return base, exponent


class Maximum(Rule):
    """max(a + ȧε, b + ḃε) = max(a, b) + (ȧ where a > b, ḃ where b > a, (ȧ + ḃ)/2 on a tie)ε"""

    def forward(self, a, b):
        return tensor_maximum(a, b)

    def jvp(self, a, b, out):
        share = _share(_numbers(a), _numbers(b))  # 1 where a won, ½ on a tie, 0 where b won
        return (lambda da: da * share), (lambda db: db * (1 - share))


class Minimum(Rule):
    """min(a + ȧε, b + ḃε) = min(a, b) + (ȧ where a < b, ḃ where b < a, (ȧ + ḃ)/2 on a tie)ε"""

    def forward(self, a, b):
        return tensor_minimum(a, b)

    def jvp(self, a, b, out):
        share = _share(_numbers(b), _numbers(a))  # 1 where a won (was smaller), ½ on a tie
        return (lambda da: da * share), (lambda db: db * (1 - share))


class Neg(Rule):
    """−(a + ȧε) = −a + (−ȧ)ε"""

    def forward(self, a):
        return -a

    def jvp(self, a, out):
        return ((lambda da: -da),)


class Pow(Rule):
    """(a + ȧε)^k = aᵏ + (k·a^(k−1)·ȧ)ε   for a constant k"""

    __slots__ = ("exponent",)

    def __init__(self, exponent: float):
        self.exponent = exponent

    def forward(self, a):
        return a**self.exponent  # raises, naming pow, for 0 ** −1 or (−1) ** 0.5

    def jvp(self, a, out):
        k = self.exponent

        def power(da):
            if k == 0:  # a⁰ = 1 is constant (also at a = 0, where a^(k−1) would divide by 0)
                return da * 0
            if k < 1 and (_numbers(a) == 0).any():  # e.g. √x at 0: the slope is infinite
                at = ops._at(_numbers(a) == 0)
                raise ZeroDivisionError(
                    f"pow: the derivative of x ** {k!r} is infinite at x = 0{at}"
                )
            return da * (k * a ** (k - 1))

        return (power,)

    def __repr__(self) -> str:
        return f"Pow({self.exponent!r})"


class Log(Rule):
    """ln(a + ȧε) = ln a + (ȧ / a)ε"""

    def forward(self, a):
        return a.log()  # raises, naming log, for an entry ≤ 0

    def jvp(self, a, out):
        return ((lambda da: da / a),)


class Exp(Rule):
    """exp(a + ȧε) = eᵃ + (eᵃ·ȧ)ε"""

    def forward(self, a):
        return a.exp()

    def jvp(self, a, out):
        return ((lambda da: da * out),)


class Sin(Rule):
    """sin(a + ȧε) = sin a + (cos a·ȧ)ε"""

    def forward(self, a):
        return a.sin()

    def jvp(self, a, out):
        return ((lambda da: da * np.cos(a)),)


class Cos(Rule):
    """cos(a + ȧε) = cos a + (−sin a·ȧ)ε"""

    def forward(self, a):
        return a.cos()

    def jvp(self, a, out):
        return ((lambda da: da * -np.sin(a)),)


class Tanh(Rule):
    """tanh(a + ȧε) = t + ((1 − t²)·ȧ)ε   with t = tanh a"""

    def forward(self, a):
        return a.tanh()

    def jvp(self, a, out):
        return ((lambda da: da * (1 - out * out)),)


class Sigmoid(Rule):
    """σ(a + ȧε) = s + (s·(1 − s)·ȧ)ε   with s = σ(a)"""

    def forward(self, a):
        return a.sigmoid()

    def jvp(self, a, out):
        return ((lambda da: da * (out * (1 - out))),)


class ReLU(Rule):
    """relu(a + ȧε) = relu(a) + ([a > 0]·ȧ)ε   (0 at a = 0, as the gradient and PyTorch)"""

    def forward(self, a):
        return a.relu()

    def jvp(self, a, out):
        return ((lambda da: da * (_numbers(a) > 0)),)


class Abs(Rule):
    """|a + ȧε| = |a| + (sign(a)·ȧ)ε   (0 at a = 0, as the gradient and PyTorch)"""

    def forward(self, a):
        return a.abs()

    def jvp(self, a, out):
        return ((lambda da: da * np.sign(_numbers(a))),)


class MatMul(Rule):
    """(a + ȧε) @ (b + ḃε) = a @ b + (ȧ @ b + a @ ḃ)ε   a:(…,n,d) b:(…,d,k)  (ε² = 0)"""

    def forward(self, a, b):
        return tensor_matmul(a, b)  # checks the shapes, naming both

    def jvp(self, a, b, out):
        return (lambda da: da @ b), (lambda db: a @ db)


class Sum(Rule):
    """Σ(a + ȧε) = Σa + (Σȧ)ε over ``axis``"""

    __slots__ = ("axis", "keepdims")

    def __init__(self, axis=None, keepdims: bool = False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.axis = ops.normalize_axes("sum", self.axis, a.shape)
        return a.sum(axis=self.axis, keepdims=self.keepdims)

    def jvp(self, a, out):
        return ((lambda da: da.sum(axis=self.axis, keepdims=self.keepdims)),)


class Mean(Rule):
    """mean(a + ȧε) = mean a + (mean ȧ)ε over ``axis``"""

    __slots__ = ("axis", "keepdims")

    def __init__(self, axis=None, keepdims: bool = False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.axis = ops.normalize_axes("mean", self.axis, a.shape)
        return a.mean(axis=self.axis, keepdims=self.keepdims)

    def jvp(self, a, out):
        return ((lambda da: da.mean(axis=self.axis, keepdims=self.keepdims)),)


class Max(Rule):
    """max(a + ȧε) = max a + (ȧ at the largest entry; the mean of ȧ over ties)ε over ``axis``"""

    __slots__ = ("axis", "keepdims")

    def __init__(self, axis=None, keepdims: bool = False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.axis = ops.normalize_axes("max", self.axis, a.shape)
        return a.max(axis=self.axis, keepdims=self.keepdims)

    def jvp(self, a, out):
        av = _numbers(a)
        hit = av == np.max(av, axis=self.axis, keepdims=True)
        share = (hit / np.sum(hit, axis=self.axis, keepdims=True)).astype(av.dtype)
        return ((lambda da: (da * share).sum(axis=self.axis, keepdims=self.keepdims)),)


class BroadcastTo(Rule):
    """broadcast(a + ȧε) = broadcast(a) + broadcast(ȧ)ε   (copies along new or size-1 axes)"""

    __slots__ = ("shape",)

    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, a):
        return a.broadcast_to(self.shape)

    def jvp(self, a, out):
        return ((lambda da: np.broadcast_to(da, self.shape)),)


class Reshape(Rule):
    """reshape(a + ȧε) = reshape(a) + reshape(ȧ)ε"""

    __slots__ = ("shape",)

    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, a):
        return a.reshape(self.shape)

    def jvp(self, a, out):
        return ((lambda da: da.reshape(out.shape)),)


class Transpose(Rule):
    """(a + ȧε)ᵀ = aᵀ + ȧᵀε   (any permutation of the axes)"""

    __slots__ = ("axes",)

    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, a):
        out = a.transpose(self.axes)
        if self.axes is None:
            self.axes = tuple(reversed(range(a.ndim)))
        return out

    def jvp(self, a, out):
        return ((lambda da: np.transpose(da, self.axes)),)


class GetItem(Rule):
    """(a + ȧε)[index] = a[index] + ȧ[index]ε"""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def forward(self, a):
        return a[self.index]  # raises, naming getitem and the shape, on a bad index

    def jvp(self, a, out):
        return ((lambda da: da[self.index]),)


class Concatenate(Rule):
    """[a₁ + ȧ₁ε, a₂ + ȧ₂ε, …] joined = [a₁, a₂, …] + [ȧ₁, ȧ₂, …]ε along ``axis``"""

    __slots__ = ("axis",)

    def __init__(self, axis: int = 0):
        self.axis = axis

    def forward(self, *xs):
        return tensor_concatenate(xs, axis=self.axis)

    def tangent(self, operands, tangents, out):
        # Not a sum of one map per slot: the tangents are joined, a constant's as zeros.
        return np.concatenate(_zeros_for_constants(operands, tangents), axis=self.axis)


class Stack(Rule):
    """[a₁ + ȧ₁ε, a₂ + ȧ₂ε, …] stacked = [a₁, a₂, …] + [ȧ₁, ȧ₂, …]ε along a new ``axis``"""

    __slots__ = ("axis",)

    def __init__(self, axis: int = 0):
        self.axis = axis

    def forward(self, *xs):
        return tensor_stack(xs, axis=self.axis)

    def tangent(self, operands, tangents, out):
        return np.stack(_zeros_for_constants(operands, tangents), axis=self.axis)


def _apply(rule: Rule, *operands) -> Dual:
    """Run ``rule`` on the operands: the value through vecgrad's op, then the tangent."""
    values, tangents = [], []
    for x in operands:
        value, tangent = _split(x, rule.name)
        values.append(value)
        tangents.append(tangent)
    lifted = any(isinstance(v, Tensor) for v in values)  # reverse over forward: keep Tensors
    out = rule.forward(*(Tensor(v) if isinstance(v, np.ndarray) else v for v in values))
    if not lifted:
        out = out.data
    tangent = rule.tangent(values, tangents, out)
    if not lifted:
        tangent = np.asarray(tangent)  # numpy gives a scalar, not a 0-d array, for Σ of all
    if tangent.shape != out.shape:  # a dual broadcast against a larger constant
        tangent = np.broadcast_to(tangent, out.shape)
    result = Dual.__new__(Dual)  # the rule built both components: skip the public checks
    result.value, result.tangent = out, tangent
    return result


# ---- functions that take duals (and fall back to vecgrad's for anything else) --------


def maximum(a, b):
    """The elementwise larger of a and b, for duals, Tensors and arrays alike."""
    return _apply(Maximum(), a, b) if _any_dual(a, b) else tensor_maximum(a, b)


def minimum(a, b):
    """The elementwise smaller of a and b, for duals, Tensors and arrays alike."""
    return _apply(Minimum(), a, b) if _any_dual(a, b) else tensor_minimum(a, b)


def matmul(a, b):
    """a @ b as numpy's matmul, for duals, Tensors and arrays alike."""
    return _apply(MatMul(), a, b) if _any_dual(a, b) else tensor_matmul(a, b)


def concatenate(items, axis: int = 0):
    """The items joined along an existing ``axis`` (duals, Tensors, arrays)."""
    items = list(items)
    if _any_dual(*items):
        return _apply(Concatenate(axis), *items)
    return tensor_concatenate(items, axis=axis)


def stack(items, axis: int = 0):
    """The items (one shape) stacked along a new ``axis`` (duals, Tensors, arrays)."""
    items = list(items)
    return _apply(Stack(axis), *items) if _any_dual(*items) else tensor_stack(items, axis=axis)


def softmax(x, axis: int = -1):
    """Return eˣ / Σ eˣ along ``axis``, for a dual by its definition (else vecgrad's op).

    The shift m = max x is a constant (it cancels in softmax), so eˣ never overflows.
    """
    if not isinstance(x, Dual):
        from .functional import softmax as tensor_softmax

        return tensor_softmax(x, axis)
    shifted = x - np.max(_numbers(x.value), axis=axis, keepdims=True)
    e = shifted.exp()
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis: int = -1):
    """Return log softmax(x) = (x − m) − log Σ e^(x − m) along ``axis`` (m = max x)."""
    if not isinstance(x, Dual):
        from .functional import log_softmax as tensor_log_softmax

        return tensor_log_softmax(x, axis)
    shifted = x - np.max(_numbers(x.value), axis=axis, keepdims=True)
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()


# ---- helpers -------------------------------------------------------------------------


def _numbers(x):
    """The plain numbers of a component: a Tensor's ``data``, else ``x`` itself."""
    return x.data if isinstance(x, Tensor) else x


def _plain(x):
    """The numbers of a Dual's value or a Tensor, or ``x`` itself (for comparisons)."""
    if isinstance(x, Dual):
        return _numbers(x.value)
    return x.data if isinstance(x, Tensor) else x


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
        f"{where}: cannot combine a Dual with {type(x).__name__} {_preview(x)} "
        "(expected a number, an array, a Tensor or a Dual)"
    )


def _any_dual(*items) -> bool:
    return any(isinstance(x, Dual) for x in items)


def _share(winner, loser) -> np.ndarray:
    """1 where ``winner`` is strictly ahead, ½ on a tie, 0 elsewhere: whose tangent counts."""
    dtype = np.result_type(winner, loser)
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    return ((winner > loser) + (winner == loser) * dtype.type(0.5)).astype(dtype, copy=False)


def _zeros_for_constants(operands: list, tangents: list) -> list:
    """The tangents, with zeros (the operand's shape) for constant operands."""
    return [
        np.zeros(np.shape(_numbers(v)), dtype=np.result_type(_numbers(v), np.float32))
        if d is None
        else d
        for v, d in zip(operands, tangents)
    ]


def _clean_index(index):
    """An index with Tensors or duals read as their numbers, lists and ranges as arrays."""
    parts = index if isinstance(index, tuple) else (index,)
    cleaned = []
    for part in parts:
        if isinstance(part, (Tensor, Dual)):
            part = _plain(part)
        if isinstance(part, (range, list)):
            part = np.asarray(part)
            if part.size == 0:
                part = part.astype(np.intp)
        cleaned.append(part)
    return tuple(cleaned) if isinstance(index, tuple) else cleaned[0]


def _short(x) -> str:
    text = np.array2string(np.asarray(_numbers(x)), separator=", ", precision=4, threshold=20)
    return text if not isinstance(x, Tensor) else f"Tensor({text})"


def _preview(x) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


# ---- the numpy functions duals understand --------------------------------------------


def _pow(base, exponent):
    return base.__pow__(exponent) if isinstance(base, Dual) else _apply(Power(), base, exponent)


# numpy hands np.exp(d), ndarray @ d, np.sum(d) ... to the dual's rules (numpy_protocol.py).
Dual._numpy_refusal = "a forward-mode Dual (no tangent rule): use d.value for the numbers alone"
Dual._ufuncs = ufunc_table(
    _apply,
    {"add": Add, "sub": Sub, "mul": Mul, "div": Div},
    _pow,
    maximum,
    minimum,
    matmul,
    plain=_plain,
)
Dual._functions = function_table(lambda a: a, concatenate, stack, matmul, kind="Dual")

__all__ = [
    "Dual",
    "maximum",
    "minimum",
    "matmul",
    "concatenate",
    "stack",
    "softmax",
    "log_softmax",
]
