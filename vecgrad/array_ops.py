"""The ops of whole arrays: matrix products, reductions, shapes and indexing.

The same protocol as ops.py (forward, backward, jvp, adjacent; math in the docstring),
with shapes in the docstrings: ``x:(n,d) W:(d,k)``. Non-tensor arguments are constructor
arguments (``Sum(axis=0)``, ``Reshape((2, 3))``). `BroadcastTo` and its backward
`unbroadcast` are the one place where broadcast gradients are summed.
"""

from __future__ import annotations

import math

import numpy as np

from scalargrad.ops import _sum

from .checks import check_matmul, concat_axis, normalize_axes, resolve_shape
from .ops import Op, _routed
from .shared_arrays import sum_over_rows

# ---- matrix products ---------------------------------------------------------------


class MatMul(Op):
    """out = x @ W  x:(…,n,d) W:(…,d,k) → (…,n,k);  x̄ = ḡ·Wᵀ,  W̄ = xᵀ·ḡ;  ȯut = ẋ @ W + x @ Ẇ

    As in numpy, a 1-D x is a row (1,d) and a 1-D W a column (d,1), dropped from the
    output; batch dimensions (…) broadcast, and their gradients are summed back.
    """

    __slots__ = ("x", "W")
    symbol, formula, local = "@", "{0} @ {1}", ("ḡ·{1}ᵀ", "{0}ᵀ·ḡ")  # ḡ: order matters
    fresh_grads = True  # every partial is a new matrix product (or a view of one)

    def forward(self, x, W):
        check_matmul(x.shape, W.shape)
        self.x, self.W = x, W
        return x @ W

    def backward(self, g):
        need_x, need_W = self.needs_input_grad
        x, W = self.x, self.W
        if x.ndim == 2 and W.ndim == 2:  # the common case, without the general reshaping
            gx = g @ W.T if need_x else None
            gW = x.T @ g if need_W else None
            return gx, gW
        # Promote 1-D operands as numpy does, so that one rule serves every other case.
        x2 = _reshaped(x, (1,) + x.shape) if x.ndim == 1 else x
        W2 = _reshaped(W, W.shape + (1,)) if W.ndim == 1 else W
        batch = np.broadcast_shapes(x2.shape[:-2], W2.shape[:-2])
        g2 = _reshaped(g, batch + (x2.shape[-2], W2.shape[-1]))
        gx = gW = None
        if need_x:
            gx = unbroadcast(g2 @ np.swapaxes(W2, -1, -2), x2.shape)
            gx = _reshaped(gx, x.shape)
        if need_W:
            gW = unbroadcast(np.swapaxes(x2, -1, -2) @ g2, W2.shape)
            gW = _reshaped(gW, W.shape)
        return gx, gW

    def jvp(self, dx, dW):
        return _sum(None if dx is None else dx @ self.W, None if dW is None else self.x @ dW)


class Linear(Op):
    """out = x @ W + b  x:(…,d) W:(d,k) b:(k,) → (…,k);  x̄ = ḡ·Wᵀ,  W̄ = xᵀ·ḡ,  b̄ = Σ ḡ over rows;
    ȯut = ẋ @ W + x @ Ẇ + ḃ

    A layer's affine map as one op (PyTorch's addmm): the bias is added in place, with no
    BroadcastTo node, and its gradient is ḡ summed over the rows (every leading axis).
    """

    __slots__ = ("x", "W")
    symbol, formula = "linear", "{0} @ {1} + {2}"
    local = ("ḡ·{1}ᵀ", "{0}ᵀ·ḡ", "Σ ḡ")  # ḡ: order matters
    fresh_grads = True  # every partial is a new product or sum (or a view of one)

    def forward(self, x, W, b):
        self.x, self.W = x, W
        out = x @ W
        out += b  # out is fresh, so adding in place is safe (a Tensor records an Add)
        return out

    def backward(self, g):
        need_x, need_W, need_b = self.needs_input_grad
        x, W = self.x, self.W
        if x.ndim != 2:  # fold every leading axis into the rows: (…, d) → (rows, d)
            x, g = np.reshape(x, (-1, W.shape[0])), np.reshape(g, (-1, W.shape[1]))
        gx = _reshaped(g @ W.T, self.x.shape) if need_x else None
        gW = x.T @ g if need_W else None
        gb = sum_over_rows(g) if need_b else None  # g.sum(axis=0), through BLAS (shared_arrays)
        return gx, gW, gb

    def jvp(self, dx, dW, db):
        return _sum(None if dx is None else dx @ self.W, None if dW is None else self.x @ dW, db)


# ---- reductions -------------------------------------------------------------------


class Sum(Op):
    """out = Σ x over axis  x:(…) → out:(…) without axis;  x̄ = ḡ copied back over axis;
    ȯut = Σ ẋ over axis"""

    __slots__ = ("axis", "keepdims", "shape")
    symbol, formula, local = "Σ", "Σ {0}", ("1",)

    def __init__(self, axis=None, keepdims: bool = False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape = x.shape
        self.axis = normalize_axes("sum", self.axis, x.shape)
        return np.sum(x, axis=self.axis, keepdims=self.keepdims)

    def backward(self, g):
        return (_spread(g, self.shape, self.axis, self.keepdims),)

    def jvp(self, dx):
        return np.sum(dx, axis=self.axis, keepdims=self.keepdims)

    def __repr__(self) -> str:
        return f"Sum(axis={self.axis!r}, keepdims={self.keepdims!r})"


class Mean(Op):
    """out = (1/n)·Σ x over axis (n elements each);  x̄ = ḡ/n copied back over axis;
    ȯut = (1/n)·Σ ẋ over axis"""

    __slots__ = ("axis", "keepdims", "shape", "n")
    symbol, formula, local = "mean", "mean({0})", ("1/n",)

    def __init__(self, axis=None, keepdims: bool = False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape = x.shape
        self.axis = normalize_axes("mean", self.axis, x.shape)
        self.n = math.prod(x.shape[a] for a in self.axis)
        if self.n == 0:
            raise ValueError(f"mean: the mean of no elements (shape {x.shape}) is undefined")
        return np.sum(x, axis=self.axis, keepdims=self.keepdims) / self.n

    def backward(self, g):
        return (_spread(g / self.n, self.shape, self.axis, self.keepdims),)

    def jvp(self, dx):
        return np.sum(dx, axis=self.axis, keepdims=self.keepdims) / self.n

    def __repr__(self) -> str:
        return f"Mean(axis={self.axis!r}, keepdims={self.keepdims!r})"


class Max(Op):
    """out = max x over axis;  x̄ = ḡ to the largest entry, split equally between ties;
    ȯut = ẋ at the largest entry (the mean over ties)"""

    __slots__ = ("axis", "keepdims", "shape", "share")
    keeps_finite = True
    symbol, formula, local = "max", "max({0})", ("[{0} = max]",)

    def __init__(self, axis=None, keepdims: bool = False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape = x.shape
        self.axis = normalize_axes(self.name, self.axis, x.shape)
        _check_not_empty(self.name, x.shape, self.axis)
        top = self.extreme(x, self.axis)
        hit = np.equal(x, top)  # a comparison: plain bools, also for a Tensor
        self.share = (hit / np.sum(hit, axis=self.axis, keepdims=True)).astype(x.dtype)
        return top if self.keepdims else np.reshape(top, _reduced(x.shape, self.axis))

    @staticmethod
    def extreme(x, axis: tuple):
        """The largest entries over ``axis``, kept as size-1 axes (x: an array, or a Tensor
        when create_graph replays the op)."""
        return x.max(axis=axis, keepdims=True)

    def backward(self, g):
        return (_routed(_spread(g, self.shape, self.axis, self.keepdims), self.share),)

    def jvp(self, dx):
        return np.sum(_routed(dx, self.share), axis=self.axis, keepdims=self.keepdims)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(axis={self.axis!r}, keepdims={self.keepdims!r})"


class Min(Max):
    """out = min x over axis;  x̄ = ḡ to the smallest entry, split equally between ties;
    ȯut = ẋ at the smallest entry (the mean over ties)

    Max's rules with the smallest entry in place of the largest: exact for every dtype,
    where −max(−x) wraps for unsigned ints and for the most negative int, and has no
    meaning for bools.
    """

    __slots__ = ()
    symbol, formula, local = "min", "min({0})", ("[{0} = min]",)

    @staticmethod
    def extreme(x, axis: tuple):
        """The smallest entries over ``axis``, kept as size-1 axes."""
        return x.min(axis=axis, keepdims=True)


def _check_not_empty(op_name: str, shape: tuple, axes: tuple) -> None:
    """Raise a ValueError when a reduced axis has no entries (the max of nothing is
    undefined); other axes may be empty: (0, 3) → (0,) over axis 1, as PyTorch."""
    empty = [a for a in axes if shape[a] == 0]
    if empty:
        raise ValueError(
            f"{op_name}: the {op_name} of no elements is undefined (axis {empty[0]} of shape "
            f"{shape} is empty)"
        )


# ---- shapes -----------------------------------------------------------------------


class BroadcastTo(Op):
    """out = x copied along new or size-1 axes to ``shape``;  x̄ = ḡ summed back over them;
    ȯut = ẋ copied the same way

    The Tensor wrapper inserts this node wherever an elementwise op broadcasts an input
    that needs a gradient (the bias of ``x @ W + b``): the one place where broadcast
    gradients are summed.
    """

    __slots__ = ("shape", "in_shape")
    keeps_finite = True
    symbol, formula, local = "broadcast", "broadcast({0})", ("1",)

    def __init__(self, shape: tuple):
        self.shape = tuple(shape)

    def forward(self, x):
        self.in_shape = x.shape
        return np.broadcast_to(x, self.shape)

    def backward(self, g):
        return (unbroadcast(g, self.in_shape),)

    def jvp(self, dx):
        return np.broadcast_to(dx, self.shape)

    def __repr__(self) -> str:
        return f"BroadcastTo({self.shape!r})"


class Reshape(Op):
    """out = x with shape ``shape`` (same elements, same order);  x̄ = ḡ reshaped back;
    ȯut = ẋ reshaped"""

    __slots__ = ("shape", "in_shape")
    keeps_finite = True
    symbol, formula, local = "reshape", "reshape({0})", ("1",)

    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        new_shape = resolve_shape(x.shape, self.shape)
        self.shape = new_shape  # with any -1 resolved, for drawings and repr
        return np.reshape(x, new_shape)

    def backward(self, g):
        return (np.reshape(g, self.in_shape),)

    def jvp(self, dx):
        return np.reshape(dx, self.shape)

    def __repr__(self) -> str:
        return f"Reshape({self.shape!r})"


class Transpose(Op):
    """out = x with its axes permuted (``axes``; reversed when None);  x̄ = ḡ permuted back;
    ȯut = ẋ permuted"""

    __slots__ = ("axes",)
    keeps_finite = True
    symbol, formula, local = "ᵀ", "{0}ᵀ", ("1",)

    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, x):
        ndim = len(x.shape)
        axes = tuple(reversed(range(ndim))) if self.axes is None else self.axes
        self.axes = normalize_axes("transpose", axes, x.shape)
        if len(self.axes) != ndim:
            raise ValueError(
                f"transpose: axes {axes} are not a permutation of the {ndim} axes of {x.shape}"
            )
        return np.transpose(x, self.axes)

    def backward(self, g):
        return (np.transpose(g, tuple(np.argsort(self.axes))),)

    def jvp(self, dx):
        return np.transpose(dx, self.axes)

    def __repr__(self) -> str:
        return f"Transpose({self.axes!r})"


class GetItem(Op):
    """out = x[index] (ints, slices, integer arrays: numpy's indexing);
    x̄ = zeros like x with ḡ added at index (twice where an index repeats);  ȯut = ẋ[index]

    Its backward is an op of its own, `ScatterAdd`, which a ``create_graph`` pass records.
    """

    __slots__ = ("index", "shape")
    keeps_finite = True
    symbol, formula, local = "[]", "{0}[…]", ("1",)

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.shape = x.shape
        try:
            return x[self.index]
        except IndexError as error:
            raise IndexError(f"getitem: {error} (indexing a tensor of shape {x.shape})") from None

    def backward(self, g):
        return (ScatterAdd(self.index, self.shape).forward(g),)

    def jvp(self, dx):
        return dx[self.index]

    def __repr__(self) -> str:
        return f"GetItem({self.index!r})"


class ScatterAdd(Op):
    """out = zeros(shape) with g added at index;  ḡ → ḡ[index];  ȯut = ġ scattered the same way

    GetItem's backward as an op of its own, so that a ``create_graph`` pass can
    differentiate it again. Ordinary backward passes never record it.
    """

    __slots__ = ("index", "shape")
    symbol, formula, local = "scatter", "scatter({0})", ("1",)

    def __init__(self, index, shape: tuple):
        self.index, self.shape = index, shape

    def forward(self, g):
        g = np.asarray(g)  # an array or the seed 1.0 (a create_graph pass records it, in tensor.py)
        out = np.zeros(self.shape, dtype=g.dtype)
        if _has_array_index(self.index):
            np.add.at(out, self.index, g)  # an index may repeat: add, do not overwrite
        else:
            out[self.index] = g
        return out

    def backward(self, g):
        return (g[self.index],)

    def jvp(self, dg):
        return ScatterAdd(self.index, self.shape).forward(dg)


class Concatenate(Op):
    """out = [x₁, x₂, …] joined along axis;  x̄ᵢ = ḡ's slice where xᵢ sits;
    ȯut = [ẋ₁, ẋ₂, …] joined (zeros for a constant)"""

    __slots__ = ("axis", "bounds", "inputs")
    keeps_finite = True
    symbol, formula = "concat", "concat(…)"

    def __init__(self, axis: int = 0):
        self.axis = axis

    @property
    def local(self) -> tuple:
        return ("1",) * len(getattr(self, "bounds", ()))

    def forward(self, *xs):
        shapes = [x.shape for x in xs]
        self.axis = concat_axis("concatenate", self.axis, shapes)
        self.inputs = [(x.shape, x.dtype) for x in xs]
        ends = np.cumsum([s[self.axis] for s in shapes]).tolist()
        self.bounds = list(zip([0] + ends[:-1], ends))
        return np.concatenate(xs, axis=self.axis)

    def backward(self, g):
        before = (slice(None),) * self.axis
        return tuple(
            g[before + (slice(start, end),)] if need else None
            for (start, end), need in zip(self.bounds, self.needs_input_grad)
        )

    def jvp(self, *dxs):
        return np.concatenate(_zeros_for_none(dxs, self.inputs), axis=self.axis)

    def __repr__(self) -> str:
        return f"Concatenate(axis={self.axis!r})"


class Stack(Op):
    """out = [x₁, x₂, …] stacked along a new axis;  x̄ᵢ = ḡ[…, i, …];
    ȯut = [ẋ₁, ẋ₂, …] stacked (zeros for a constant)"""

    __slots__ = ("axis", "n", "inputs")
    keeps_finite = True
    symbol, formula = "stack", "stack(…)"

    def __init__(self, axis: int = 0):
        self.axis = axis

    @property
    def local(self) -> tuple:
        return ("1",) * getattr(self, "n", 0)

    def forward(self, *xs):
        shapes = [x.shape for x in xs]
        if len(set(shapes)) > 1:
            raise ValueError(f"stack: all inputs need one shape, got {', '.join(map(str, shapes))}")
        ndim = len(shapes[0]) + 1
        if not -ndim <= self.axis < ndim:
            raise ValueError(f"stack: axis {self.axis} is out of range for {ndim}-D output")
        self.axis, self.n = self.axis % ndim, len(xs)
        self.inputs = [(x.shape, x.dtype) for x in xs]
        return np.stack(xs, axis=self.axis)

    def backward(self, g):
        before = (slice(None),) * self.axis
        return tuple(
            g[before + (i,)] if need else None for i, need in enumerate(self.needs_input_grad)
        )

    def jvp(self, *dxs):
        return np.stack(_zeros_for_none(dxs, self.inputs), axis=self.axis)

    def __repr__(self) -> str:
        return f"Stack(axis={self.axis!r})"


# ---- helpers ----------------------------------------------------------------------


def unbroadcast(grad, shape: tuple):
    """Return ``grad`` summed back to ``shape``: the adjoint of numpy broadcasting.

    Broadcasting copies x along new leading axes and along its size-1 axes; every copy
    passed its gradient on, so x̄ is the sum over those axes.
    """
    grad_shape = getattr(grad, "shape", ())
    if grad_shape == shape:
        return grad
    lead = len(grad_shape) - len(shape)
    if lead:
        grad = grad.sum(axis=tuple(range(lead)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def _reshaped(a, shape: tuple):
    """``a`` reshaped, or ``a`` itself when it already has that shape (no extra node)."""
    return a if getattr(a, "shape", ()) == shape else np.reshape(a, shape)


def _reduced(shape: tuple, axes: tuple) -> tuple:
    """``shape`` without the reduced ``axes``."""
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _spread(g, shape: tuple, axes: tuple, keepdims: bool):
    """A reduction's ḡ copied back over the reduced ``axes`` to the input's ``shape``."""
    if not keepdims:
        g = _reshaped(g, tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return np.broadcast_to(g, shape)


def _has_array_index(index) -> bool:
    """True when ``index`` holds an integer or boolean array (advanced indexing)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(part, np.ndarray) for part in parts)


def _zeros_for_none(tangents, inputs: list) -> list:
    """The tangents, with zeros of the input's shape for an input that has none."""
    return [
        np.zeros(shape, dtype=np.result_type(dtype, np.float32)) if d is None else d
        for d, (shape, dtype) in zip(tangents, inputs)
    ]
