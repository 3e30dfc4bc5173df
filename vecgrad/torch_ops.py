"""The ops a PyTorch user reaches for that vecgrad/ops.py does not have, and PyTorch's names.

Each op is one class, as in ops.py: ``forward`` computes the numbers (and keeps what the
derivatives need), ``backward(g)`` returns one partial adjoint per input (the VJP), and
``jvp(*tangents)`` takes one tangent per input (None for an input without one) and returns
the output's tangent. All three are in the docstring. As in ops.py, forward and backward
use only what numpy arrays and Tensors share, so ``backward(create_graph=True)`` can replay
them on Tensors.

`accepts_dim` lets a method or function written with numpy's ``axis=``/``keepdims=`` take
PyTorch's ``dim=``/``keepdim=`` too (vecgrad's convention: see the README, "Coming from
PyTorch").
"""

from __future__ import annotations

import functools
from collections import namedtuple

import numpy as np

from .array_ops import unbroadcast
from .checks import normalize_axes
from .checks import values as _values
from .ops import Op, _routed

# ---- PyTorch's argument names ----------------------------------------------------------

_UNSET = object()

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = """What ``t.max(dim=…)``/``t.min(dim=…)`` return, as PyTorch's
``torch.return_types.max``: the reduced values (a graph node) and where they are (int64)."""


def accepts_dim(function=None, *, indices: str | None = None):
    """Let ``function(…, axis=, keepdims=)`` also take PyTorch's ``dim=`` and ``keepdim=``.

    Both spellings mean the same; giving both is a TypeError. With ``indices`` (the name
    of the arg-method, ``"argmax"``), a call spelled with ``dim=`` means what it means in
    PyTorch: ``t.max(dim=1)`` returns ``(values, indices)``; ``t.max(axis=1)`` stays numpy's
    values alone.
    """

    def decorate(function):
        where = function.__name__

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            if not kwargs:  # the common call, x.sum() or x.sum(1): straight through
                return function(*args)
            dim, keepdim = kwargs.pop("dim", _UNSET), kwargs.pop("keepdim", _UNSET)
            if keepdim is not _UNSET:
                if "keepdims" in kwargs:
                    raise TypeError(f"{where}: got both keepdim= and keepdims= (they are one)")
                kwargs["keepdims"] = keepdim
            if dim is _UNSET:
                return function(*args, **kwargs)
            if "axis" in kwargs or len(args) > 1:
                raise TypeError(f"{where}: got both dim= and axis= (they are one; give one)")
            kwargs["axis"] = dim
            values = function(*args, **kwargs)
            if indices is None:
                return values
            arg = getattr(args[0], indices)(dim, keepdim=kwargs.get("keepdims", False))
            return ValuesIndices(values, arg)

        return wrapper

    return decorate if function is None else decorate(function)


# ---- elementwise ------------------------------------------------------------------------


class Clamp(Op):
    """out = min(max(x, lo), hi);  x̄ = ḡ where lo ≤ x ≤ hi, else 0 (PyTorch's rule: the
    bounds themselves pass ḡ);  ẋ ↦ ẋ where lo ≤ x ≤ hi, else 0"""

    __slots__ = ("low", "high", "inside")
    keeps_finite = True
    symbol, formula, local = "clamp", "clamp({0})", ("[lo ≤ {0} ≤ hi]",)

    def __init__(self, low: float | None, high: float | None):
        self.low, self.high = low, high

    def forward(self, x):
        inside = np.ones(np.shape(x), dtype=bool)  # from comparisons: plain bools, also for
        if self.low is not None:  # a Tensor (a create_graph replay, a dual over Tensors)
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        self.inside = inside.astype(x.dtype)
        return _clipped(x, self.low, self.high)

    def backward(self, g):
        return (_routed(g, self.inside),)

    def jvp(self, dx):
        return _routed(dx, self.inside)

    def __repr__(self) -> str:
        return f"Clamp({self.low!r}, {self.high!r})"


def _clipped(x, low, high):
    """np.clip with either bound optional; the result keeps x's dtype (a Tensor's np.clip
    is its clamp, so a replay records one)."""
    out = np.clip(x, low, high)
    return out if out.dtype == x.dtype else out.astype(x.dtype)


class Cast(Op):
    """out = x as ``dtype`` (float to float);  x̄ = ḡ cast back to x's dtype;  ẋ ↦ ẋ as dtype"""

    __slots__ = ("dtype", "in_dtype")
    symbol, formula, local = "cast", "cast({0})", ("1",)

    def __init__(self, dtype: np.dtype):
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return (g.astype(self.in_dtype),)

    def jvp(self, dx):
        return dx.astype(self.dtype)

    def __repr__(self) -> str:
        return f"Cast({self.dtype})"


class Clone(Op):
    """out = a copy of x (its own array);  x̄ = ḡ;  ẋ ↦ ẋ"""

    __slots__ = ()
    keeps_finite = True
    symbol, formula, local = "clone", "clone({0})", ("1",)

    def forward(self, x):
        return np.copy(x)  # a Tensor's np.copy is its clone

    def backward(self, g):
        return (g,)

    def jvp(self, dx):
        return dx


class Where(Op):
    """out = x where cond, else y  (cond, x, y: one shape);  x̄ = ḡ·cond,  ȳ = ḡ·(1 − cond);
    ẋ, ẏ ↦ ẋ·cond + ẏ·(1 − cond)"""

    __slots__ = ("cond", "take_x")
    keeps_finite = True
    symbol, formula, local = "where", "where(c, {0}, {1})", ("[c]", "[not c]")

    def __init__(self, cond: np.ndarray):
        self.cond = cond

    def forward(self, x, y):
        # (create_graph does not replay this forward: Where is linear in x and y, and its
        # backward needs only the condition, so tensor._replay calls the backward directly.)
        self.take_x = self.cond.astype(np.result_type(x, y))
        return np.where(self.cond, x, y)

    def backward(self, g):
        need_x, need_y = self.needs_input_grad
        return (g * self.take_x if need_x else None), (g * (1 - self.take_x) if need_y else None)

    def jvp(self, dx, dy):
        out = None if dx is None else dx * self.take_x
        if dy is not None:
            term = dy * (1 - self.take_x)
            out = term if out is None else out + term
        return out


class SetItem(Op):
    """out = x with out[index] = v (``t[index] = v`` on a tensor that records);
    x̄ = ḡ with zeros at index,  v̄ = ḡ[index] summed back to v's shape;
    ẋ, v̇ ↦ ẋ with v̇ written at index

    Where an advanced index repeats a position, the last write wins in forward, as in
    numpy, and every copy of v there gets ḡ.
    """

    __slots__ = ("index", "keep", "v_shape", "target_shape")
    keeps_finite = True
    symbol, formula, local = "[]=", "{0}[…] = {1}", ("[not at index]", "1")

    def __init__(self, index):
        self.index = index

    def forward(self, x, v):
        xv = _values(x)
        try:
            target = xv[self.index]
        except IndexError as error:
            raise IndexError(f"setitem: {error} (indexing a tensor of shape {xv.shape})") from None
        self.target_shape, self.v_shape = target.shape, _values(v).shape
        try:
            fits = np.broadcast_shapes(self.v_shape, target.shape) == target.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"setitem: a value of shape {self.v_shape} cannot be written into "
                f"x[index] of shape {target.shape}"
            )
        keep = np.ones(xv.shape, dtype=xv.dtype)
        keep[self.index] = 0
        self.keep = keep
        # (create_graph does not replay this forward: SetItem is linear in x and v, so
        # tensor._replay calls its backward directly, as for indexing.)
        out = np.array(xv, copy=True)
        out[self.index] = v
        return out

    def backward(self, g):
        need_x, need_v = self.needs_input_grad
        gx = g * self.keep if need_x else None
        gv = None
        if need_v:
            gv = g[self.index]
            if getattr(gv, "shape", ()) != self.v_shape:
                gv = unbroadcast(gv, self.v_shape)
        return gx, gv

    def jvp(self, dx, dv):
        out = None if dx is None else _routed(dx, self.keep)  # ẋ, with 0 where v is written
        if dv is not None:
            placed = _placed(dv, self.index, self.keep.shape, self.keep.dtype)
            out = placed if out is None else out + placed
        return np.zeros(self.keep.shape, self.keep.dtype) if out is None else out

    def __repr__(self) -> str:
        return f"SetItem({self.index!r})"


def _placed(v, index, shape: tuple, dtype):
    """zeros(shape) with v (broadcast) written at index (v an array or a number)."""
    if hasattr(v, "parents"):
        raise NotImplementedError(
            "setitem: forward mode over Tensors through t[index] = v is not supported; "
            "build the tensor with vecgrad.where or concatenate instead"
        )
    out = np.zeros(shape, dtype=dtype or np.result_type(v))
    out[index] = v
    return out


# ---- reductions -----------------------------------------------------------------------


class Norm(Op):
    """out = ‖x‖₂ = √(Σ x²) over axis;  x̄ = ḡ·x/‖x‖ (0 where ‖x‖ = 0, as PyTorch);
    ẋ ↦ Σ x·ẋ / ‖x‖ over axis"""

    __slots__ = ("axis", "keepdims", "x", "scale")
    symbol, formula, local = "‖‖", "‖{0}‖", ("{0}/‖{0}‖",)

    def __init__(self, axis=None, keepdims: bool = False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axis = normalize_axes("norm", self.axis, np.shape(x))
        self.x = x
        out = np.sqrt(np.sum(x * x, axis=self.axis, keepdims=True))
        # 1/‖x‖ where the norm is positive, 0 where it is 0 (the subgradient PyTorch picks),
        # as p/(‖x‖ + ¬p): no division by 0, and one line for arrays and for Tensors (in a
        # create_graph replay the scale is a node, so its own derivative is recorded)
        positive = out > 0  # a comparison: plain bools, also for a Tensor
        self.scale = positive / (out + ~positive)
        return out if self.keepdims else np.reshape(out, _squeezed(np.shape(out), self.axis))

    def backward(self, g):
        if not self.keepdims:
            g = np.reshape(g, self.scale.shape)
        return (g * self.x * self.scale,)

    def jvp(self, dx):
        return np.sum(self.x * dx * self.scale, axis=self.axis, keepdims=self.keepdims)

    def __repr__(self) -> str:
        return f"Norm(axis={self.axis!r}, keepdims={self.keepdims!r})"


def _squeezed(shape: tuple, axes: tuple) -> tuple:
    """``shape`` without the (size-1) ``axes``."""
    return tuple(n for i, n in enumerate(shape) if i not in axes)


__all__ = ["accepts_dim", "ValuesIndices", "Clamp", "Cast", "Clone", "Where", "SetItem", "Norm"]
