"""The elementwise ops of vecgrad: scalargrad/ops.py over numpy arrays, op for op.

Read it beside scalargrad/ops.py: the same classes in the same order with the same
formulas; only the numbers changed from floats to arrays. Every op has, adjacent:
``forward(*inputs)`` the output (keeping what backward and jvp need, never the output
Tensor, so graphs hold no reference cycles); ``backward(g)`` one partial adjoint per input
from ḡ = ∂root/∂out, shaped like that input (None where the input needs none:
``needs_input_grad``, set when the op is recorded); ``jvp(*tangents)`` the output's tangent
from one tangent per input (None for a constant).

The ops of whole arrays (matmul, reductions, shapes, indexing) are in array_ops.py, the
softmax family in softmax_ops.py, the checks and their messages in checks.py.

Three conventions keep each op a few lines long:

* Broadcasting is not an op's business. Where the operands of ``x + b`` differ in shape,
  the Tensor wrapper puts a `BroadcastTo` node in front of the smaller one; its backward
  sums the gradient back to the input's shape. So Add's backward is ``g, g`` here too.
* The rules use only numpy functions that Tensors understand as well (operators, ufuncs
  such as ``np.exp``, ``np.sum``, ``np.reshape``...). Given Tensors instead of arrays, an op
  records its own computation; ``backward(create_graph=True)`` and reverse-over-forward
  duals rely on that. Masks (where x > 0, which input won a max) come from comparisons,
  which a Tensor answers with plain bool arrays: they are piecewise constant, with zero
  derivative.
* Domain errors are raised in forward and name the op, the first bad value and its index.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

from scalargrad.ops import _sum, number_text

from .checks import all_finite, at, first
from .numpy_protocol import NumpyDispatch
from .shared_arrays import zeros

# numpy warns of an ∞ or NaN it made in an op's rule; the float policy then names it in its
# own error (or, under no_float_checks(), lets it pass as asked): the warning only repeats it
warnings.filterwarnings(
    "ignore", "(overflow|invalid value) encountered", RuntimeWarning, re.escape(__name__) + "$"
)


class Op:
    """Base of all ops: subclasses set ``symbol``, ``formula``, ``local`` (see scalargrad)."""

    __slots__ = ("needs_input_grad",)  # one bool per input: does its gradient flow?
    symbol = "?"  # the op node's label in a drawing
    formula = ""  # the forward computation, e.g. "ln({0})"
    local: tuple = ()  # ∂out/∂operand for each slot, e.g. ("1/{0}",)
    fresh_grads = False  # backward returns new arrays, one per slot, that nothing else holds
    keeps_finite = False  # True: finite in, finite out, and ∞ never gives NaN (no result check)

    @property
    def name(self) -> str:
        """The op's name in error messages: ``matmul``, ``add``."""
        return type(self).__name__.lower()

    def __repr__(self) -> str:
        return type(self).__name__ + "()"


# ---- binary (elementwise; operands already broadcast to one shape) -------------------


class Add(Op):
    """out = x + y  x,y:(…);  x̄ = ḡ,  ȳ = ḡ  (add distributes the gradient);  ȯut = ẋ + ẏ"""

    __slots__ = ()
    symbol, formula, local = "+", "{0} + {1}", ("1", "1")

    def forward(self, x, y):
        return x + y

    def backward(self, g):
        return g, g

    def jvp(self, dx, dy):
        return _sum(dx, dy)


class Sub(Op):
    """out = x − y  x,y:(…);  x̄ = ḡ,  ȳ = −ḡ;  ȯut = ẋ − ẏ"""

    __slots__ = ()
    symbol, formula, local = "−", "{0} − {1}", ("1", "−1")

    def forward(self, x, y):
        return x - y

    def backward(self, g):
        return g, -g

    def jvp(self, dx, dy):
        return _sum(dx, _times(dy, -1.0))


class Mul(Op):
    """out = x·y  x,y:(…) elementwise;  x̄ = ḡ·y,  ȳ = ḡ·x  (multiply swaps and scales);
    ȯut = ẋ·y + x·ẏ"""

    __slots__ = ("x", "y")
    symbol, formula, local = "×", "{0} × {1}", ("{1}", "{0}")

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, g):
        need_x, need_y = self.needs_input_grad
        return (g * self.y if need_x else None), (g * self.x if need_y else None)

    def jvp(self, dx, dy):
        return _sum(_times(dx, self.y), _times(dy, self.x))


class Div(Op):
    """out = x / y  x,y:(…);  x̄ = ḡ/y,  ȳ = −ḡ·out/y;  ȯut = (ẋ − out·ẏ)/y

    Not as written: y² underflows (1e-20² in float32) where every factor of the answer is
    a float. As (ḡ/y)·out, except where a factor leaves the normal floats: ḡ/y overflows
    (1e30/1e-10 in float32) where ḡ·x/y² is 1e30, out underflows; `_over_square` takes those.
    """

    __slots__ = ("x", "y", "out")
    symbol, formula, local = "/", "{0} / {1}", ("1/{1}", "−{0}/{1}²")

    def forward(self, x, y):
        zero = np.equal(y, 0)
        if zero.any():
            raise ZeroDivisionError(
                f"div: division by zero: the divisor is 0{at(zero)} (shape {zero.shape})"
            )
        self.x, self.y = x, y
        self.out = x / y
        return self.out

    def backward(self, g):
        need_x, need_y = self.needs_input_grad
        with np.errstate(over="ignore"):  # ḡ/y beyond the largest float: ∞, a derivative's right
            g_over_y = g / self.y if need_x else None
        return g_over_y, (-_over_square(g, self.x, self.y, self.out) if need_y else None)

    def jvp(self, dx, dy):
        return _sum(dx, _times(dy, -self.out)) / self.y


class Power(Op):
    """out = x^y  x,y:(…) both Tensors;  x̄ = ḡ·y·x^(y−1),  ȳ = ḡ·out·ln x;
    ȯut = y·x^(y−1)·ẋ + out·ln x·ẏ

    At x = 0, as PyTorch: y·x^(y−1) is +∞ for 0 < y < 1 (√x at 0), 0 for y = 0 or y > 1;
    out·ln x is 0 (its limit as x → 0⁺).
    """

    __slots__ = ("x", "y", "out", "zero")
    symbol, formula, local = "^", "{0}^{1}", ("{1}·{0}^({1}−1)", "{0}^{1}·ln({0})")

    def forward(self, x, y):
        negative = x < 0
        if self.needs_input_grad[1] and np.any(negative):  # a constant y needs no ln x
            raise ValueError(
                f"pow: base {first(x, negative)}{at(negative)} is negative; x ** y with y a "
                "Tensor that requires grad needs x ≥ 0 (ln x appears in ∂/∂y)"
            )
        zero = np.equal(x, 0)
        pole = zero & (y < 0)
        if np.any(pole):
            raise ZeroDivisionError(f"pow: 0 ** {first(y, pole)} divides by zero{at(pole)}")
        self.x, self.y = x, y
        with np.errstate(over="ignore", invalid="ignore"):  # apply_op reports ∞ and NaN by name
            self.out = x**y
        # Where x = 0: ln x is taken as ln 1 = 0 (out·ln x → 0), see _partials.
        self.zero = zero.astype(self.out.dtype) if np.any(zero) else None
        return self.out

    def backward(self, g):
        need_x, need_y = self.needs_input_grad
        d_base, d_exponent = self._partials(need_x, need_y)
        return (g * d_base if need_x else None), (g * d_exponent if need_y else None)

    def jvp(self, dx, dy):
        d_base, d_exponent = self._partials(dx is not None, dy is not None)
        return _sum(_along(dx, d_base), _times(dy, d_exponent))

    def _partials(self, need_x: bool = True, need_y: bool = True) -> tuple:
        """(∂out/∂x, ∂out/∂y), each None where not needed."""
        x, y, zero = self.x, self.y, self.zero
        d_base = d_exponent = None
        if need_x:
            d_base = _power_slope(x, y)
        if need_y:
            d_exponent = self.out * (np.log(x) if zero is None else np.log(x + zero))
        return d_base, d_exponent


class Maximum(Op):
    """out = max(x, y)  x,y:(…) elementwise;  the larger input gets ḡ, the other 0; a tie
    splits ḡ/2 each (the "router" gate, as PyTorch's ``maximum``);  ȯut = the winner's
    tangent (the mean of both on a tie)"""

    __slots__ = ("share",)  # ∂out/∂x: 1 where x won, ½ on a tie, 0 where y won
    keeps_finite = True
    symbol, formula = "max", "max({0}, {1})"
    local = ("[{0} > {1}]", "[{1} > {0}]")

    def forward(self, x, y):
        out = np.maximum(x, y)
        self.share = _share(x, y, out.dtype)
        return out

    def backward(self, g):
        return _routed(g, self.share), _routed(g, 1 - self.share)

    def jvp(self, dx, dy):
        return _sum(_routed(dx, self.share), _routed(dy, 1 - self.share))


class Minimum(Op):
    """out = min(x, y)  x,y:(…) elementwise;  the smaller input gets ḡ, the other 0; a tie
    splits ḡ/2 each;  ȯut = the winner's tangent (the mean of both on a tie)"""

    __slots__ = ("share",)  # ∂out/∂x: 1 where x won, ½ on a tie, 0 where y won
    keeps_finite = True
    symbol, formula = "min", "min({0}, {1})"
    local = ("[{0} < {1}]", "[{1} < {0}]")

    def forward(self, x, y):
        out = np.minimum(x, y)
        self.share = _share(y, x, out.dtype)
        return out

    def backward(self, g):
        return _routed(g, self.share), _routed(g, 1 - self.share)

    def jvp(self, dx, dy):
        return _sum(_routed(dx, self.share), _routed(dy, 1 - self.share))


# ---- unary (elementwise) ---------------------------------------------------------


class Neg(Op):
    """out = −x;  x̄ = −ḡ;  ȯut = −ẋ"""

    __slots__ = ()
    keeps_finite = True
    symbol, formula, local = "−", "−{0}", ("−1",)

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)

    def jvp(self, dx):
        return -dx


class Pow(Op):
    """out = x^k for a constant k;  x̄ = ḡ·k·x^(k−1);  ȯut = k·x^(k−1)·ẋ

    At x = 0, as PyTorch: k·x^(k−1) is +∞ for 0 < k < 1 (√x at 0), 0 for k = 0 or k > 1.
    """

    __slots__ = ("exponent", "x")
    local = ("k·{0}^(k−1)",)

    def __init__(self, exponent: float):
        self.exponent = exponent

    @property
    def symbol(self) -> str:
        return f"^{number_text(self.exponent)}"

    @property
    def formula(self) -> str:
        return "{0}^" + number_text(self.exponent)

    def forward(self, x):
        k = self.exponent
        if k < 0:
            zero = np.equal(x, 0)
            if zero.any():
                raise ZeroDivisionError(f"pow: 0 ** {k!r} divides by zero{at(zero)}")
        if not float(k).is_integer():
            negative = x < 0
            if np.any(negative):
                raise ValueError(
                    f"pow: {first(x, negative)} ** {k!r}{at(negative)} is not a real number "
                    "(negative base)"
                )
        self.x = x
        with np.errstate(over="ignore"):  # an overflow is apply_op's to report
            return x**k

    def backward(self, g):
        return (g * _power_slope(self.x, self.exponent),)

    def jvp(self, dx):
        return _along(dx, _power_slope(self.x, self.exponent))

    def __repr__(self) -> str:
        return f"Pow({self.exponent!r})"


class Log(Op):
    """out = ln x;  x̄ = ḡ/x;  ȯut = ẋ/x"""

    __slots__ = ("x",)
    symbol, formula, local = "ln", "ln({0})", ("1/{0}",)

    def forward(self, x):
        positive = x > 0
        if not np.all(positive):
            bad = ~positive
            raise ValueError(f"log: input must be positive, got {first(x, bad)}{at(bad)}")
        self.x = x
        return np.log(x)

    def backward(self, g):
        return (g / self.x,)

    def jvp(self, dx):
        return dx / self.x


class Exp(Op):
    """out = eˣ;  x̄ = ḡ·eˣ = ḡ·out;  ȯut = out·ẋ"""

    __slots__ = ("out",)
    symbol, formula, local = "exp", "exp({0})", ("exp({0})",)

    def forward(self, x):
        with np.errstate(over="ignore"):  # an overflow is apply_op's to report
            self.out = np.exp(x)
        return self.out

    def backward(self, g):
        return (g * self.out,)

    def jvp(self, dx):
        return dx * self.out


class Sin(Op):
    """out = sin x;  x̄ = ḡ·cos x;  ȯut = cos x·ẋ"""

    __slots__ = ("x",)
    symbol, formula, local = "sin", "sin({0})", ("cos({0})",)

    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, g):
        return (g * np.cos(self.x),)

    def jvp(self, dx):
        return dx * np.cos(self.x)


class Cos(Op):
    """out = cos x;  x̄ = −ḡ·sin x;  ȯut = −sin x·ẋ"""

    __slots__ = ("x",)
    symbol, formula, local = "cos", "cos({0})", ("−sin({0})",)

    def forward(self, x):
        self.x = x
        return np.cos(x)

    def backward(self, g):
        return (-g * np.sin(self.x),)

    def jvp(self, dx):
        return -dx * np.sin(self.x)


class Tanh(Op):
    """out = tanh x;  x̄ = ḡ·(1 − out²);  ȯut = (1 − out²)·ẋ"""

    __slots__ = ("out",)
    keeps_finite = True
    symbol, formula, local = "tanh", "tanh({0})", ("1 − tanh²({0})",)

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, g):
        return (g * (1 - self.out * self.out),)

    def jvp(self, dx):
        return dx * (1 - self.out * self.out)


class Sigmoid(Op):
    """out = σ(x) = 1/(1 + e⁻ˣ);  x̄ = ḡ·out·(1 − out);  ȯut = out·(1 − out)·ẋ"""

    __slots__ = ("out",)
    keeps_finite = True
    symbol, formula, local = "σ", "σ({0})", ("σ({0})·(1 − σ({0}))",)

    def forward(self, x):
        # e^−|x| never overflows; 1/(1 + z) for x ≥ 0 and z/(1 + z) for x < 0 keep full
        # relative precision on each side (a 0/1 mask picks the numerator exactly).
        z = np.exp(-np.abs(x))
        positive = (x >= 0).astype(z.dtype)
        self.out = (positive + (1 - positive) * z) / (1 + z)
        return self.out

    def backward(self, g):
        return (g * self.out * (1 - self.out),)

    def jvp(self, dx):
        return dx * (self.out * (1 - self.out))


class ReLU(Op):
    """out = max(x, 0);  x̄ = ḡ where x > 0, else 0 (0 at x = 0, as PyTorch);
    ȯut = ẋ where x > 0, else 0"""

    # The output, not a mask: out > 0 exactly where x > 0, and the next op keeps the
    # output anyway, so the forward pass makes one array instead of two.
    __slots__ = ("out",)
    keeps_finite = True
    symbol, formula, local = "relu", "relu({0})", ("[{0} > 0]",)

    def forward(self, x):
        # against an array of zeros, not the number 0: numpy vectorises only that (shared_arrays)
        self.out = np.maximum(x, zeros(x.shape, x.dtype))
        return self.out

    def backward(self, g):
        return (_routed(g, self._positive()),)

    def jvp(self, dx):
        return _routed(dx, self._positive())

    def _positive(self) -> np.ndarray:
        return self.out > 0


class Abs(Op):
    """out = |x|;  x̄ = ḡ·sign(x) (0 at x = 0, as PyTorch);  ȯut = sign(x)·ẋ"""

    __slots__ = ("sign",)
    keeps_finite = True
    symbol, formula, local = "abs", "|{0}|", ("sign({0})",)

    def forward(self, x):
        out = np.abs(x)
        self.sign = (x > 0).astype(out.dtype) - (x < 0)  # from comparisons: plain arrays
        return out

    def backward(self, g):
        return (g * self.sign,)

    def jvp(self, dx):
        return dx * self.sign


# ---- the rules' helpers ----------------------------------------------------------


def _routed(g, share):
    """ḡ·share for a gate that routes ḡ (max, min, relu): where share is 0 the output does
    not depend on that input nearby, so it gets 0 even from an infinite ḡ (PyTorch selects
    too), not ∞·0 = NaN. The product is the fast path; only an infinite ḡ needs the select.
    None (no tangent) stays None."""
    if g is None:
        return None
    routed = g * share
    if type(routed) is np.ndarray and routed.dtype.kind == "f" and not all_finite(routed):
        routed = np.where(np.equal(share, 0), 0, routed)
    return routed


def _times(tangent, factor):
    """One operand's term of a tangent, tangent·factor elementwise (None when it carries
    none), 0 where the tangent is 0 even against an infinite factor, as scalargrad's."""
    if tangent is None:
        return None
    with np.errstate(invalid="ignore"):  # 0·∞, answered below
        product = tangent * factor
    if type(product) is np.ndarray and product.dtype.kind == "f" and not all_finite(product):
        still = np.equal(tangent, 0) & np.isnan(product)
        if still.any():
            product = np.where(still, 0, product)
    return product


def _along(tangent, slope):
    """tangent·slope where the slope may be +∞ (a power at base 0): a tangent of 0 moves
    nothing, so it contributes 0 there, not ∞·0 = NaN."""
    if tangent is None:
        return None
    still = np.isinf(slope) & np.equal(tangent, 0)
    return tangent * (np.where(still, 0, slope) if still.any() else slope)


def _share(winner, loser, dtype) -> np.ndarray:
    """1 where ``winner`` is strictly ahead, ½ on a tie, 0 elsewhere: who gets ḡ."""
    if np.dtype(dtype).kind != "f":
        dtype = np.float64
    ahead, tie = winner > loser, np.equal(winner, loser)
    return (ahead + tie * np.dtype(dtype).type(0.5)).astype(dtype, copy=False)


def _power_slope(x, k):
    """k·x^(k−1) = ∂(x^k)/∂x elementwise. At x = 0 numpy's IEEE arithmetic gives PyTorch's
    answers (+∞ for 0 < k < 1, 0 for k > 1, 1 for k = 1) except for k = 0, where 0·0^(−1)
    is NaN: the slope of the constant x⁰ is 0."""
    if np.ndim(k) == 0 and k == 0:
        return x * 0  # zeros shaped like x (a Tensor in a create_graph replay)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # ±∞ is a slope too
        slope = k * x ** (k - 1)
    undefined = np.equal(k, 0) & np.isnan(slope)
    return np.where(undefined, 0, slope) if undefined.any() else slope


def _over_square(g, x, y, x_over_y):
    """g·x/y² elementwise, as scalargrad's `_over_square`: (g/y)·(x/y), and where a factor
    or the answer left the normal floats (∞, 0, a subnormal or NaN), the mantissas multiplied
    and the exponents added (frexp/ldexp), which cannot over- or underflow; where g or x is 0
    or ∞, IEEE's g·x/y/y (an exact ±0, or ∞ and NaN). Tensors (a create_graph replay) take
    (g/y)·(x/y)."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        g_over_y = g / y
        result = g_over_y * x_over_y
    if type(result) is not np.ndarray:
        if isinstance(result, NumpyDispatch):
            return result
        result = np.array(result)  # all 0-d: a numpy scalar
    if result.dtype.kind != "f":
        return result
    tiny = np.finfo(result.dtype).tiny
    redo = ~(np.abs(result) >= tiny) | np.isinf(result)
    redo |= ~(np.abs(g_over_y) >= tiny) | np.isinf(g_over_y) | ~(np.abs(x_over_y) >= tiny)
    if redo.any():
        g, x, y = (np.broadcast_to(v, result.shape)[redo] for v in (g, x, y))
        (mg, eg), (mx, ex), (my, ey) = np.frexp(g), np.frexp(x), np.frexp(y)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            scaled = np.ldexp(mg * mx / (my * my), eg + ex - 2 * ey)
            plain = g * x / y / y
        regular = np.isfinite(g) & np.isfinite(x) & (g != 0) & (x != 0)
        result[redo] = np.where(regular, scaled, plain)
    return result


# The ops above act entry by entry: a bad result's operands sit at its index (the errors of
# `checks.check_result` show them in the op's formula).
ELEMENTWISE = (Add, Sub, Mul, Div, Power, Maximum, Minimum, Neg, Pow, Log, Exp, Sin, Cos)
ELEMENTWISE += (Tanh, Sigmoid, ReLU, Abs)
