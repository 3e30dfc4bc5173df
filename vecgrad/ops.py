"""The ops of vecgrad: scalargrad/ops.py over numpy arrays, op for op.

Read it beside scalargrad/ops.py: the same classes with the same formulas; only shapes
changed. ``forward(*inputs)`` returns the output and keeps what its backward needs (never
the output Tensor, so graphs hold no reference cycles); ``backward(g)`` takes
ḡ = ∂root/∂out, shaped like the output, and returns one partial adjoint per input, shaped
like that input (None where the input needs none: ``needs_input_grad``, set when the op
is recorded).

Three conventions keep each op a few lines long:

* Broadcasting is not an op's business. Where the operands of ``x + b`` differ in shape,
  the Tensor wrapper puts a `BroadcastTo` node in front of the smaller one; its backward,
  `unbroadcast`, sums the gradient back to the input's shape. So Add's backward is
  ``g, g`` here too.
* Forward and backward use only numpy functions that Tensors understand as well
  (operators, ufuncs such as ``np.exp``, and ``np.sum``, ``np.reshape``,
  ``np.broadcast_to``...). Given Tensors instead of arrays, an op records its own
  computation; ``backward(create_graph=True)`` relies on that (see tensor.py). Masks
  (where x > 0, which input won a max) are read from the plain numbers with `_values`:
  they are piecewise constant, with zero derivative.
* Domain errors are raised in forward and name the op, the first bad value and its index.
"""

from __future__ import annotations

import math

import numpy as np


class Op:
    """Base of all ops: subclasses set ``symbol``, ``formula``, ``local`` (see scalargrad)."""

    __slots__ = ("needs_input_grad",)  # one bool per input: does its gradient flow?
    symbol = "?"  # the op node's label in a drawing
    formula = ""  # the forward computation, e.g. "ln({0})"
    local: tuple = ()  # ∂out/∂operand for each slot, e.g. ("1/{0}",)
    fresh_grads = False  # backward returns new arrays, one per slot, that nothing else holds

    @property
    def name(self) -> str:
        """The op's name in error messages: ``matmul``, ``add``."""
        return type(self).__name__.lower()

    def __repr__(self) -> str:
        return type(self).__name__ + "()"


# ---- binary (elementwise; operands already broadcast to one shape) -------------------


class Add(Op):
    """out = x + y  x,y:(…);  x̄ = ḡ,  ȳ = ḡ  (add distributes the gradient)"""

    __slots__ = ()
    symbol, formula, local = "+", "{0} + {1}", ("1", "1")

    def forward(self, x, y):
        return x + y

    def backward(self, g):
        return g, g


class Sub(Op):
    """out = x − y  x,y:(…);  x̄ = ḡ,  ȳ = −ḡ"""

    __slots__ = ()
    symbol, formula, local = "−", "{0} − {1}", ("1", "−1")

    def forward(self, x, y):
        return x - y

    def backward(self, g):
        return g, -g


class Mul(Op):
    """out = x·y  x,y:(…) elementwise;  x̄ = ḡ·y,  ȳ = ḡ·x  (multiply swaps and scales)"""

    __slots__ = ("x", "y")
    symbol, formula, local = "×", "{0} × {1}", ("{1}", "{0}")

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, g):
        need_x, need_y = self.needs_input_grad
        return (g * self.y if need_x else None), (g * self.x if need_y else None)


class Div(Op):
    """out = x / y  x,y:(…);  x̄ = ḡ/y,  ȳ = −ḡ·x/y²"""

    __slots__ = ("x", "y")
    symbol, formula, local = "/", "{0} / {1}", ("1/{1}", "−{0}/{1}²")

    def forward(self, x, y):
        yv = _values(y)
        if not yv.all():
            raise ZeroDivisionError(
                f"div: division by zero: the divisor is 0{_at(yv == 0)} (shape {yv.shape})"
            )
        self.x, self.y = x, y
        return x / y

    def backward(self, g):
        need_x, need_y = self.needs_input_grad
        x, y = self.x, self.y
        return (g / y if need_x else None), (-g * x / (y * y) if need_y else None)


class Power(Op):
    """out = x^y  x,y:(…) both Tensors;  x̄ = ḡ·y·x^(y−1),  ȳ = ḡ·x^y·ln x"""

    __slots__ = ("x", "y", "out", "zero")
    symbol, formula, local = "^", "{0}^{1}", ("{1}·{0}^({1}−1)", "{0}^{1}·ln({0})")

    def forward(self, x, y):
        xv, yv = _values(x), _values(y)
        if (xv < 0).any():
            bad = xv < 0
            raise ValueError(
                f"pow: base {_first(xv, bad)}{_at(bad)} is negative; x ** y with y a Tensor "
                "needs x ≥ 0 (ln x appears in ∂/∂y)"
            )
        zero = (xv == 0) & (yv < 0)
        if zero.any():
            raise ZeroDivisionError(f"pow: 0 ** {_first(yv, zero)} divides by zero{_at(zero)}")
        self.x, self.y = x, y
        with np.errstate(over="ignore"):
            self.out = x**y
        _check_overflow("pow", _values(self.out), xv)
        # Where x = 0, x^y·ln x → 0 as x → 0⁺ (y > 0): the same convention as PyTorch.
        self.zero = (xv == 0).astype(np.result_type(xv, yv)) if (xv == 0).any() else None
        return self.out

    def backward(self, g):
        need_x, need_y = self.needs_input_grad
        x, y, zero = self.x, self.y, self.zero
        gx = gy = None
        if need_x:
            with np.errstate(divide="ignore"):
                gx = g * y * x ** (y - 1)
            if zero is not None:  # at x = 0 the slope y·0^(y−1) is 0 for y > 1, ∞ for y < 1
                _check_finite_slope("pow", _values(gx), zero)
        if need_y:
            # ln x would be −∞ where x = 0; take ln 1 = 0 there instead (see forward).
            log_x = np.log(x) if zero is None else np.log(x + zero)
            gy = g * self.out * log_x
        return gx, gy


class Maximum(Op):
    """out = max(x, y)  x,y:(…) elementwise;  the larger input gets ḡ, the other 0; a tie
    splits ḡ/2 each (the "router" gate, as PyTorch's ``maximum``)"""

    __slots__ = ("share",)  # ∂out/∂x: 1 where x won, ½ on a tie, 0 where y won
    symbol, formula = "max", "max({0}, {1})"
    local = ("[{0} > {1}]", "[{1} > {0}]")

    def forward(self, x, y):
        self.share = _share(_values(x), _values(y))
        return np.maximum(x, y)

    def backward(self, g):
        return g * self.share, g * (1 - self.share)


class Minimum(Op):
    """out = min(x, y)  x,y:(…) elementwise;  the smaller input gets ḡ, the other 0; a tie
    splits ḡ/2 each"""

    __slots__ = ("share",)  # ∂out/∂x: 1 where x won, ½ on a tie, 0 where y won
    symbol, formula = "min", "min({0}, {1})"
    local = ("[{0} < {1}]", "[{1} < {0}]")

    def forward(self, x, y):
        self.share = _share(_values(y), _values(x))
        return np.minimum(x, y)

    def backward(self, g):
        return g * self.share, g * (1 - self.share)


# ---- unary (elementwise) ---------------------------------------------------------


class Neg(Op):
    """out = −x;  x̄ = −ḡ"""

    __slots__ = ()
    symbol, formula, local = "−", "−{0}", ("−1",)

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


class Pow(Op):
    """out = x^k for a constant k;  x̄ = ḡ·k·x^(k−1)"""

    __slots__ = ("exponent", "x")
    local = ("k·{0}^(k−1)",)

    def __init__(self, exponent: float):
        self.exponent = exponent

    @property
    def symbol(self) -> str:
        return f"^{_number(self.exponent)}"

    @property
    def formula(self) -> str:
        return "{0}^" + _number(self.exponent)

    def forward(self, x):
        xv, k = _values(x), self.exponent
        if k < 0 and (xv == 0).any():
            raise ZeroDivisionError(f"pow: 0 ** {k!r} divides by zero{_at(xv == 0)}")
        if not float(k).is_integer() and (xv < 0).any():
            bad = xv < 0
            raise ValueError(
                f"pow: {_first(xv, bad)} ** {k!r}{_at(bad)} is not a real number (negative base)"
            )
        self.x = x
        with np.errstate(over="ignore"):
            out = x**k
        _check_overflow("pow", _values(out), xv)
        return out

    def backward(self, g):
        k = self.exponent
        if k == 0:
            return (g * (self.x * 0),)  # zeros shaped like x (g may be the seed 1.0)
        if k < 1 and (_values(self.x) == 0).any():  # e.g. √x at 0: the slope is infinite
            raise ZeroDivisionError(
                f"pow: the derivative of x ** {k!r} is infinite at x = 0{_at(_values(self.x) == 0)}"
            )
        return (g * k * self.x ** (k - 1),)

    def __repr__(self) -> str:
        return f"Pow({self.exponent!r})"


class Log(Op):
    """out = ln x;  x̄ = ḡ/x"""

    __slots__ = ("x",)
    symbol, formula, local = "ln", "ln({0})", ("1/{0}",)

    def forward(self, x):
        xv = _values(x)
        if not (xv > 0).all():
            bad = ~(xv > 0)
            raise ValueError(f"log: input must be positive, got {_first(xv, bad)}{_at(bad)}")
        self.x = x
        return np.log(x)

    def backward(self, g):
        return (g / self.x,)


class Exp(Op):
    """out = eˣ;  x̄ = ḡ·eˣ = ḡ·out"""

    __slots__ = ("out",)
    symbol, formula, local = "exp", "exp({0})", ("exp({0})",)

    def forward(self, x):
        with np.errstate(over="ignore"):
            self.out = np.exp(x)
        _check_overflow("exp", _values(self.out), _values(x))
        return self.out

    def backward(self, g):
        return (g * self.out,)


class Sin(Op):
    """out = sin x;  x̄ = ḡ·cos x"""

    __slots__ = ("x",)
    symbol, formula, local = "sin", "sin({0})", ("cos({0})",)

    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, g):
        return (g * np.cos(self.x),)


class Cos(Op):
    """out = cos x;  x̄ = −ḡ·sin x"""

    __slots__ = ("x",)
    symbol, formula, local = "cos", "cos({0})", ("−sin({0})",)

    def forward(self, x):
        self.x = x
        return np.cos(x)

    def backward(self, g):
        return (-g * np.sin(self.x),)


class Tanh(Op):
    """out = tanh x;  x̄ = ḡ·(1 − out²)"""

    __slots__ = ("out",)
    symbol, formula, local = "tanh", "tanh({0})", ("1 − tanh²({0})",)

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, g):
        return (g * (1 - self.out * self.out),)


class Sigmoid(Op):
    """out = σ(x) = 1/(1 + e⁻ˣ);  x̄ = ḡ·out·(1 − out)"""

    __slots__ = ("out",)
    symbol, formula, local = "σ", "σ({0})", ("σ({0})·(1 − σ({0}))",)

    def forward(self, x):
        self.out = _sigmoid(x)
        return self.out

    def backward(self, g):
        return (g * self.out * (1 - self.out),)


class ReLU(Op):
    """out = max(x, 0);  x̄ = ḡ where x > 0, else 0 (0 at x = 0, as PyTorch)"""

    # The output, not a mask: out > 0 exactly where x > 0, and the next op keeps the
    # output anyway, so the forward pass makes one array instead of two.
    __slots__ = ("out",)
    symbol, formula, local = "relu", "relu({0})", ("[{0} > 0]",)

    def forward(self, x):
        # numpy's maximum against a number is not vectorised; against an array it is (~2×)
        data = _values(x)
        self.out = np.maximum(x, np.zeros(data.shape, data.dtype))
        return self.out

    def backward(self, g):
        out = _values(self.out)
        return (g * (out > 0).astype(out.dtype),)  # float × float: faster than float × bool


class Abs(Op):
    """out = |x|;  x̄ = ḡ·sign(x) (0 at x = 0, as PyTorch)"""

    __slots__ = ("sign",)
    symbol, formula, local = "abs", "|{0}|", ("sign({0})",)

    def forward(self, x):
        self.sign = np.sign(_values(x))
        return np.abs(x)

    def backward(self, g):
        return (g * self.sign,)


# ---- matrix product ---------------------------------------------------------------


class MatMul(Op):
    """out = x @ W  x:(…,n,d) W:(…,d,k) → (…,n,k);  x̄ = ḡ·Wᵀ,  W̄ = xᵀ·ḡ

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


class Linear(Op):
    """out = x @ W + b  x:(…,d) W:(d,k) b:(k,) → (…,k);  x̄ = ḡ·Wᵀ,  W̄ = xᵀ·ḡ,  b̄ = Σ ḡ over rows

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
        gb = g.sum(axis=0) if need_b else None
        return gx, gW, gb


# ---- reductions -------------------------------------------------------------------


class Sum(Op):
    """out = Σ x over axis  x:(…) → out:(…) without axis;  x̄ = ḡ copied back over axis"""

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

    def __repr__(self) -> str:
        return f"Sum(axis={self.axis!r}, keepdims={self.keepdims!r})"


class Mean(Op):
    """out = (1/n)·Σ x over axis (n elements each);  x̄ = ḡ/n copied back over axis"""

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

    def __repr__(self) -> str:
        return f"Mean(axis={self.axis!r}, keepdims={self.keepdims!r})"


class Max(Op):
    """out = max x over axis;  x̄ = ḡ to the largest entry, split equally between ties"""

    __slots__ = ("axis", "keepdims", "shape", "share")
    symbol, formula, local = "max", "max({0})", ("[{0} = max]",)

    def __init__(self, axis=None, keepdims: bool = False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        xv = _values(x)
        self.shape = xv.shape
        self.axis = normalize_axes("max", self.axis, xv.shape)
        if xv.size == 0:
            raise ValueError(f"max: the max of no elements (shape {xv.shape}) is undefined")
        top = np.max(xv, axis=self.axis, keepdims=True)
        hit = xv == top
        self.share = (hit / np.sum(hit, axis=self.axis, keepdims=True)).astype(xv.dtype)
        return np.max(x, axis=self.axis, keepdims=self.keepdims)

    def backward(self, g):
        return (_spread(g, self.shape, self.axis, self.keepdims) * self.share,)

    def __repr__(self) -> str:
        return f"Max(axis={self.axis!r}, keepdims={self.keepdims!r})"


# ---- shapes -----------------------------------------------------------------------


class BroadcastTo(Op):
    """out = x copied along new or size-1 axes to ``shape``;  x̄ = ḡ summed back over them

    The Tensor wrapper inserts this node wherever an elementwise op broadcasts an input
    that needs a gradient (the bias of ``x @ W + b``): the one place where broadcast
    gradients are summed.
    """

    __slots__ = ("shape", "in_shape")
    symbol, formula, local = "broadcast", "broadcast({0})", ("1",)

    def __init__(self, shape: tuple):
        self.shape = tuple(shape)

    def forward(self, x):
        self.in_shape = x.shape
        return np.broadcast_to(x, self.shape)

    def backward(self, g):
        return (unbroadcast(g, self.in_shape),)

    def __repr__(self) -> str:
        return f"BroadcastTo({self.shape!r})"


class Reshape(Op):
    """out = x with shape ``shape`` (same elements, same order);  x̄ = ḡ reshaped back"""

    __slots__ = ("shape", "in_shape")
    symbol, formula, local = "reshape", "reshape({0})", ("1",)

    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        new_shape = _resolve_shape(x.shape, self.shape)
        self.shape = new_shape  # with any -1 resolved, for drawings and repr
        return np.reshape(x, new_shape)

    def backward(self, g):
        return (np.reshape(g, self.in_shape),)

    def __repr__(self) -> str:
        return f"Reshape({self.shape!r})"


class Transpose(Op):
    """out = x with its axes permuted (``axes``; reversed when None);  x̄ = ḡ permuted back"""

    __slots__ = ("axes",)
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

    def __repr__(self) -> str:
        return f"Transpose({self.axes!r})"


class GetItem(Op):
    """out = x[index] (ints, slices, integer arrays: numpy's indexing);
    x̄ = zeros like x with ḡ added at index (twice where an index repeats)"""

    __slots__ = ("index", "shape")
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
        return (_scatter_add(g, self.index, self.shape),)

    def __repr__(self) -> str:
        return f"GetItem({self.index!r})"


class ScatterAdd(Op):
    """out = zeros(shape) with g added at index;  ḡ → ḡ[index]

    GetItem's backward as an op of its own, so that a ``create_graph`` pass can
    differentiate it again. Ordinary backward passes never record it.
    """

    __slots__ = ("index", "shape")
    symbol, formula, local = "scatter", "scatter({0})", ("1",)

    def __init__(self, index, shape: tuple):
        self.index, self.shape = index, shape

    def forward(self, g):
        g = np.asarray(_values(g))
        out = np.zeros(self.shape, dtype=g.dtype)
        if _has_array_index(self.index):
            np.add.at(out, self.index, g)  # an index may repeat: add, do not overwrite
        else:
            out[self.index] = g
        return out

    def backward(self, g):
        return (g[self.index],)


class Concatenate(Op):
    """out = [x₁, x₂, …] joined along axis;  x̄ᵢ = ḡ's slice where xᵢ sits"""

    __slots__ = ("axis", "bounds")
    symbol, formula = "concat", "concat(…)"

    def __init__(self, axis: int = 0):
        self.axis = axis

    @property
    def local(self) -> tuple:
        return ("1",) * len(getattr(self, "bounds", ()))

    def forward(self, *xs):
        shapes = [x.shape for x in xs]
        self.axis = _concat_axis("concatenate", self.axis, shapes)
        ends = np.cumsum([s[self.axis] for s in shapes]).tolist()
        self.bounds = list(zip([0] + ends[:-1], ends))
        return np.concatenate(xs, axis=self.axis)

    def backward(self, g):
        before = (slice(None),) * self.axis
        return tuple(
            g[before + (slice(start, end),)] if need else None
            for (start, end), need in zip(self.bounds, self.needs_input_grad)
        )

    def __repr__(self) -> str:
        return f"Concatenate(axis={self.axis!r})"


class Stack(Op):
    """out = [x₁, x₂, …] stacked along a new axis;  x̄ᵢ = ḡ[…, i, …]"""

    __slots__ = ("axis", "n")
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
        return np.stack(xs, axis=self.axis)

    def backward(self, g):
        before = (slice(None),) * self.axis
        return tuple(
            g[before + (i,)] if need else None for i, need in enumerate(self.needs_input_grad)
        )

    def __repr__(self) -> str:
        return f"Stack(axis={self.axis!r})"


# ---- fused losses -----------------------------------------------------------------


class Softmax(Op):
    """out = eˣ / Σ eˣ over axis (computed after shifting by max x, so eˣ never overflows);
    x̄ = out·(ḡ − Σ ḡ·out)"""

    __slots__ = ("axis", "out")
    symbol, formula, local = "softmax", "softmax({0})", ("softmax({0})·(1 − softmax({0}))",)

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, x):
        (self.axis,) = normalize_axes("softmax", self.axis, x.shape)
        _, exp_shifted, total = _shifted_exp(x, self.axis)
        self.out = exp_shifted / total
        return self.out

    def backward(self, g):
        out = self.out
        return (out * (g - np.sum(g * out, axis=self.axis, keepdims=True)),)

    def __repr__(self) -> str:
        return f"Softmax(axis={self.axis!r})"


class LogSoftmax(Op):
    """out = x − log Σ eˣ over axis (computed after shifting by max x, so eˣ never
    overflows);  x̄ = ḡ − softmax(x)·Σ ḡ"""

    __slots__ = ("axis", "probs")
    symbol, formula, local = "log_softmax", "log_softmax({0})", ("1 − softmax({0})",)

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, x):
        (self.axis,) = normalize_axes("log_softmax", self.axis, x.shape)
        shifted, exp_shifted, total = _shifted_exp(x, self.axis)
        self.probs = exp_shifted / total
        return shifted - np.log(total)

    def backward(self, g):
        return (g - self.probs * np.sum(g, axis=self.axis, keepdims=True),)

    def __repr__(self) -> str:
        return f"LogSoftmax(axis={self.axis!r})"


class CrossEntropy(Op):
    """loss = −Σ p·log softmax(z) / n  z:(n,k) logits, p:(n,k) target rows (one-hot for
    labels), n rows for reduction="mean", 1 for "sum";  z̄ = ḡ·(softmax(z) − p)/n

    Fused: softmax is computed once, in forward, and its backward is one subtraction.
    """

    __slots__ = ("labels", "target", "scale", "probs", "index")
    symbol, formula, local = "cross_entropy", "cross_entropy({0})", ("(softmax({0}) − p)/n",)

    def __init__(self, labels: np.ndarray | None, target: np.ndarray | None, reduction: str):
        # Either integer labels (n,) (p is their one-hot rows: picking beats multiplying)
        # or probability rows (n, k); both checked by functional.cross_entropy.
        self.labels, self.target = labels, target
        rows = labels.size if labels is not None else math.prod(target.shape[:-1])
        self.scale = 1 / rows if reduction == "mean" else 1

    def forward(self, z):
        shifted, exp_shifted, total = _shifted_exp(z, -1)
        self.probs = exp_shifted / total
        if self.labels is not None:  # −log softmax(z)[y] = log Σ e^(z−m) − (z−m)[y], both ≥ 0
            self.index = _label_index(self.labels)
            return (np.log(total).sum() - shifted[self.index].sum()) * self.scale
        return -(self.target * (shifted - np.log(total))).sum() * self.scale

    def backward(self, g):
        target = self.target
        if target is None:  # one-hot rows of the labels, made only when a gradient is needed
            target = np.zeros(_values(self.probs).shape, dtype=_values(self.probs).dtype)
            target[self.index] = 1
        return ((self.probs - target) * (g * self.scale),)


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


def check_matmul(x_shape: tuple, w_shape: tuple) -> None:
    """Raise a ValueError naming both shapes unless ``x @ W`` is defined."""
    if not x_shape or not w_shape:
        raise ValueError(
            f"matmul: {x_shape} @ {w_shape}: both operands need at least one dimension "
            "(use * for scalars)"
        )
    inner_x = x_shape[-1]
    inner_w = w_shape[-2] if len(w_shape) >= 2 else w_shape[0]
    if inner_x != inner_w:
        raise ValueError(
            f"matmul: {x_shape} @ {w_shape}: inner dimensions {inner_x} and {inner_w} differ"
        )
    try:
        if len(x_shape) > 2 or len(w_shape) > 2:
            np.broadcast_shapes(x_shape[:-2], w_shape[:-2])
    except ValueError:
        raise ValueError(
            f"matmul: {x_shape} @ {w_shape}: batch dimensions {x_shape[:-2]} and "
            f"{w_shape[:-2]} do not broadcast"
        ) from None


def normalize_axes(op_name: str, axis, shape: tuple) -> tuple:
    """Return ``axis`` (None, an int or ints) as a tuple of non-negative axes of ``shape``."""
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{op_name}: axis must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{op_name}: axis {a} is out of range for shape {shape}")
    normalized = tuple(int(a) % ndim for a in axes)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{op_name}: axis {axis!r} repeats an axis")
    return normalized


def _resolve_shape(shape: tuple, new_shape: tuple) -> tuple:
    """``new_shape`` with its one −1 worked out, or a ValueError naming both shapes."""
    size = math.prod(shape)
    wildcards = [i for i, n in enumerate(new_shape) if n == -1]
    known = math.prod(n for n in new_shape if n != -1)
    resolved = list(new_shape)
    if len(wildcards) == 1 and known and size % known == 0:
        resolved[wildcards[0]] = size // known
    if len(wildcards) > 1 or min(resolved, default=0) < 0 or math.prod(resolved) != size:
        raise ValueError(
            f"reshape: cannot reshape {shape} ({size} elements) into {tuple(new_shape)}"
        )
    return tuple(resolved)


def _values(a):
    """The plain numbers of ``a``: a Tensor's ``data`` (a node has ``parents``), else ``a``."""
    return a.data if hasattr(a, "parents") else a


def _reshaped(a, shape: tuple):
    """``a`` reshaped, or ``a`` itself when it already has that shape (no extra node)."""
    return a if getattr(a, "shape", ()) == shape else np.reshape(a, shape)


def _spread(g, shape: tuple, axes: tuple, keepdims: bool):
    """A reduction's ḡ copied back over the reduced ``axes`` to the input's ``shape``."""
    if not keepdims:
        g = _reshaped(g, tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return np.broadcast_to(g, shape)


def _share(winner, loser) -> np.ndarray:
    """1 where ``winner`` is strictly ahead, ½ on a tie, 0 elsewhere: who gets ḡ."""
    dtype = np.result_type(winner, loser)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.float64
    return ((winner > loser) + (winner == loser) * dtype.type(0.5)).astype(dtype, copy=False)


def _sigmoid(x):
    """σ(x) of an array, without overflow; of a Tensor (a create_graph replay), its node."""
    if hasattr(x, "parents"):
        return x.sigmoid()
    # e^−|x| never overflows; the two branches keep full relative precision on each side.
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def _shifted_exp(x, axis: int):
    """(x − m, e^(x − m), Σ e^(x − m)) with m = max x along axis (a constant), so that no
    eˣ overflows; the shift cancels in softmax, hence in every gradient."""
    top = _max_keepdims(_values(x), axis)
    shifted = x - top
    exp_shifted = np.exp(shifted)
    return shifted, exp_shifted, exp_shifted.sum(axis=axis, keepdims=True)


def _max_keepdims(a: np.ndarray, axis: int) -> np.ndarray:
    """The max of ``a`` along ``axis``, kept as an axis of size 1 (``keepdims=True``).

    Many short rows (a batch of logits, 100 × 10) are the slow case of numpy's reduction
    along the last axis, one short loop per row; reducing a transposed copy along its first
    axis takes maxima of whole columns at once instead: the same numbers, 2–3× faster.
    """
    if a.ndim == 2 and axis in (1, -1) and a.shape[1] <= 32 <= a.shape[0]:
        return a.T.copy().max(axis=0)[:, None]
    return a.max(axis=axis, keepdims=True)


def _scatter_add(g, index, shape: tuple):
    """zeros(shape) with ``g`` added at ``index``; for a Tensor ``g``, a ScatterAdd node."""
    if hasattr(g, "parents"):
        from .tensor import apply_op  # tensor.py imports this module: import on use

        return apply_op(ScatterAdd(index, shape), g)
    return ScatterAdd(index, shape).forward(g)


def _label_index(labels: np.ndarray) -> tuple:
    """The index that picks entry ``labels[i]`` of each row i: ``(range(n), labels)``."""
    if labels.ndim == 1:
        return (np.arange(labels.shape[0]), labels)
    return tuple(np.indices(labels.shape, sparse=True)) + (labels,)


def _has_array_index(index) -> bool:
    """True when ``index`` holds an integer or boolean array (advanced indexing)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(part, np.ndarray) for part in parts)


def _concat_axis(op_name: str, axis: int, shapes: list) -> int:
    """``axis`` made non-negative, after checking that the shapes agree off that axis."""
    if not shapes:
        raise ValueError(f"{op_name}: needs at least one tensor")
    ndim = len(shapes[0])
    if ndim == 0:
        raise ValueError(f"{op_name}: cannot join 0-d tensors (use stack)")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op_name}: axis {axis} is out of range for shape {shapes[0]}")
    axis %= ndim
    for shape in shapes[1:]:
        if len(shape) != ndim or shape[:axis] + shape[axis + 1 :] != (
            shapes[0][:axis] + shapes[0][axis + 1 :]
        ):
            raise ValueError(
                f"{op_name}: shapes {shapes[0]} and {shape} differ outside axis {axis}"
            )
    return axis


def _check_overflow(op_name: str, out: np.ndarray, x: np.ndarray) -> None:
    """Raise OverflowError where ``out`` is infinite although its input was finite."""
    if np.isinf(out).any():
        bad = np.isinf(out) & np.isfinite(np.broadcast_to(x, out.shape))
        if bad.any():
            xs = np.broadcast_to(x, out.shape)
            raise OverflowError(
                f"{op_name}: result too large for {out.dtype} at input {_first(xs, bad)}{_at(bad)}"
            )


def _check_finite_slope(op_name: str, slope: np.ndarray, zero: np.ndarray) -> None:
    """Raise ZeroDivisionError where a derivative at x = 0 came out infinite or NaN."""
    bad = ~np.isfinite(slope) & (zero != 0)
    if bad.any():
        raise ZeroDivisionError(f"{op_name}: the derivative is infinite at base 0{_at(bad)}")


def _first(values: np.ndarray, mask: np.ndarray):
    """The first entry of ``values`` where ``mask`` holds, as a Python number."""
    values = np.broadcast_to(values, mask.shape)
    return values[np.unravel_index(np.argmax(mask), mask.shape)].item()


def _at(mask: np.ndarray) -> str:
    """Return ``" at index (i, j)"`` for the first place where ``mask`` holds ("" if 0-d)."""
    mask = np.asarray(mask)
    if mask.ndim == 0:
        return ""
    return f" at index {tuple(int(i) for i in np.unravel_index(np.argmax(mask), mask.shape))}"


def _number(k: float) -> str:
    """A constant as the lecture writes it: 2 rather than 2.0."""
    return str(int(k)) if float(k).is_integer() else repr(k)
