"""The ops of scalargrad: one small class each, all of its calculus side by side.

Every op has, adjacent, and in math in its docstring:

* ``forward(*inputs)``: the output, from plain floats for a `Value` (from a dual's
  components for forward mode); it keeps what backward and jvp need, never the output node
  (so graphs have no reference cycles);
* ``backward(g)``: reverse mode (the VJP): given ḡ = ∂root/∂out, one partial adjoint per
  input;
* ``jvp(*tangents)``: forward mode: given one tangent per input (None for an input that
  carries none, a constant), the tangent of the output. Called after forward.

The rules compute with the functions at the end of this file (`log`, `sin`, ...): on a
number they are the ``math`` module's, with the domain checks; on a node they call its
method. That is the part numpy's dispatch plays in vecgrad: one rule serves floats,
`Value`s and duals, so nested duals give higher derivatives and duals over Values give
Hessian-vector products. Branches (relu, max, the base 0 of a power) read the numbers
through comparisons, which every node answers from its numbers.

For the drawings and traces each op also says, as text, what it computes
(``formula``: ``{0}``, ``{1}`` stand for the operands) and its local derivative with
respect to each operand (``local``), e.g. Mul: out = {0} × {1}; ∂out/∂{0} = {1}.
vecgrad/ops.py is the same file over numpy arrays.
"""

from __future__ import annotations

import math
import numbers
import sys

from .float_checks import float_checks_enabled, number_text, result_error


class Op:
    """Base of all ops: subclasses set ``symbol``, ``formula``, ``local``."""

    __slots__ = ()
    symbol = "?"  # the op node's label in a drawing
    formula = ""  # the forward computation, e.g. "ln({0})"
    local: tuple = ()  # ∂out/∂operand for each slot, e.g. ("1/{0}",)

    @property
    def name(self) -> str:
        """The op's name in error messages: ``mul``, ``pow``."""
        return type(self).__name__.lower()

    def __repr__(self) -> str:
        return type(self).__name__ + "()"


# ---- binary ----------------------------------------------------------------


class Add(Op):
    """out = x + y;  x̄ = ḡ,  ȳ = ḡ  (add distributes the gradient);  ȯut = ẋ + ẏ"""

    __slots__ = ()
    symbol, formula, local = "+", "{0} + {1}", ("1", "1")

    def forward(self, x, y):
        return x + y

    def backward(self, g):
        return g, g

    def jvp(self, dx, dy):
        return _sum(dx, dy)


class Sub(Op):
    """out = x − y;  x̄ = ḡ,  ȳ = −ḡ;  ȯut = ẋ − ẏ"""

    __slots__ = ()
    symbol, formula, local = "−", "{0} − {1}", ("1", "−1")

    def forward(self, x, y):
        return x - y

    def backward(self, g):
        return g, -g

    def jvp(self, dx, dy):
        return _sum(dx, _times(dy, -1.0))


class Mul(Op):
    """out = x·y;  x̄ = ḡ·y,  ȳ = ḡ·x  (multiply swaps and scales);  ȯut = ẋ·y + x·ẏ"""

    __slots__ = ("x", "y")
    symbol, formula, local = "×", "{0} × {1}", ("{1}", "{0}")

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, g):
        return g * self.y, g * self.x

    def jvp(self, dx, dy):
        return _sum(_times(dx, self.y), _times(dy, self.x))


class Div(Op):
    """out = x / y;  x̄ = ḡ/y,  ȳ = −ḡ·out/y;  ȯut = (ẋ − out·ẏ)/y

    Not as written: y² underflows (1e-170²) where every factor of the answer is a float.
    As (ḡ/y)·out, unless a factor leaves the normal floats: ḡ/y overflows (1e300/1e-10)
    where ḡ·x/y² is 1e290, out underflows (1e-300/1e30); `_over_square` takes those.
    """

    __slots__ = ("x", "y", "out")
    symbol, formula, local = "/", "{0} / {1}", ("1/{1}", "−{0}/{1}²")

    def forward(self, x, y):
        if _is_zero(y):
            raise ZeroDivisionError(f"div: division by zero in {x!r} / {y!r}")
        self.x, self.y = x, y
        self.out = x / y
        return self.out

    def backward(self, g):
        return g / self.y, -_over_square(g, self.x, self.y, self.out)

    def jvp(self, dx, dy):
        return _sum(dx, _times(dy, -self.out)) / self.y


class Power(Op):
    """out = x^y with both operands nodes;  x̄ = ḡ·y·x^(y−1),  ȳ = ḡ·out·ln x;
    ȯut = y·x^(y−1)·ẋ + out·ln x·ẏ

    At x = 0, as PyTorch: y·x^(y−1) is +∞ for 0 < y < 1 (√x at 0), 0 for y = 0 or y > 1;
    out·ln x is 0 (its limit as x → 0⁺).
    """

    __slots__ = ("x", "y", "out")
    symbol, formula, local = "^", "{0}^{1}", ("{1}·{0}^({1}−1)", "{0}^{1}·ln({0})")

    def forward(self, x, y):
        if x < 0:
            raise ValueError(
                f"pow: base {x!r} is negative; x ** y with y a node needs x ≥ 0 "
                "(ln x appears in ∂/∂y)"
            )
        self.x, self.y, self.out = x, y, _power(x, y)
        return self.out

    def backward(self, g):
        d_base, d_exponent = self._partials()
        return g * d_base, g * d_exponent

    def jvp(self, dx, dy):
        d_base, d_exponent = self._partials()
        return _sum(_along(dx, d_base), _times(dy, d_exponent))

    def _partials(self) -> tuple:
        """(∂out/∂x, ∂out/∂y)."""
        x = self.x
        return _power_slope(x, self.y), (self.out * log(x) if x > 0 else 0.0)


class Maximum(Op):
    """out = max(x, y);  the larger input gets ḡ, the other 0; a tie splits ḡ/2 each
    (the "router" gate, as PyTorch's ``maximum``);  ȯut = the winner's tangent (the mean
    of both on a tie)"""

    __slots__ = ("share",)  # ∂out/∂x: 1 where x won, ½ on a tie, 0 where y won
    symbol, formula = "max", "max({0}, {1})"
    local = ("[{0} > {1}]", "[{1} > {0}]")

    def forward(self, x, y):
        self.share = _share(x, y)
        return x if self.share else y

    def backward(self, g):
        return _routed(g, self.share), _routed(g, 1.0 - self.share)

    def jvp(self, dx, dy):
        return _sum(_routed(dx, self.share), _routed(dy, 1.0 - self.share))


class Minimum(Op):
    """out = min(x, y);  the smaller input gets ḡ, the other 0; a tie splits ḡ/2 each;
    ȯut = the winner's tangent (the mean of both on a tie)"""

    __slots__ = ("share",)  # ∂out/∂x: 1 where x won, ½ on a tie, 0 where y won
    symbol, formula = "min", "min({0}, {1})"
    local = ("[{0} < {1}]", "[{1} < {0}]")

    def forward(self, x, y):
        self.share = _share(y, x)
        return x if self.share else y

    def backward(self, g):
        return _routed(g, self.share), _routed(g, 1.0 - self.share)

    def jvp(self, dx, dy):
        return _sum(_routed(dx, self.share), _routed(dy, 1.0 - self.share))


# ---- unary -----------------------------------------------------------------


class Neg(Op):
    """out = −x;  x̄ = −ḡ;  ȯut = −ẋ"""

    __slots__ = ()
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
        self.x = x
        return _power(x, self.exponent)

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
        self.x = x
        return log(x)

    def backward(self, g):
        return (g / self.x,)

    def jvp(self, dx):
        return dx / self.x


class Exp(Op):
    """out = eˣ;  x̄ = ḡ·eˣ = ḡ·out;  ȯut = out·ẋ"""

    __slots__ = ("out",)
    symbol, formula, local = "exp", "exp({0})", ("exp({0})",)

    def forward(self, x):
        self.out = exp(x)
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
        return sin(x)

    def backward(self, g):
        return (g * cos(self.x),)

    def jvp(self, dx):
        return dx * cos(self.x)


class Cos(Op):
    """out = cos x;  x̄ = −ḡ·sin x;  ȯut = −sin x·ẋ"""

    __slots__ = ("x",)
    symbol, formula, local = "cos", "cos({0})", ("−sin({0})",)

    def forward(self, x):
        self.x = x
        return cos(x)

    def backward(self, g):
        return (-g * sin(self.x),)

    def jvp(self, dx):
        return -dx * sin(self.x)


class Tanh(Op):
    """out = tanh x;  x̄ = ḡ·(1 − out²);  ȯut = (1 − out²)·ẋ"""

    __slots__ = ("out",)
    symbol, formula, local = "tanh", "tanh({0})", ("1 − tanh²({0})",)

    def forward(self, x):
        self.out = tanh(x)
        return self.out

    def backward(self, g):
        return (g * (1.0 - self.out * self.out),)

    def jvp(self, dx):
        return dx * (1.0 - self.out * self.out)


class Sigmoid(Op):
    """out = σ(x) = 1/(1 + e⁻ˣ);  x̄ = ḡ·out·(1 − out);  ȯut = out·(1 − out)·ẋ"""

    __slots__ = ("out",)
    symbol, formula, local = "σ", "σ({0})", ("σ({0})·(1 − σ({0}))",)

    def forward(self, x):
        self.out = sigmoid(x)
        return self.out

    def backward(self, g):
        return (g * self.out * (1.0 - self.out),)

    def jvp(self, dx):
        return dx * (self.out * (1.0 - self.out))


class ReLU(Op):
    """out = max(x, 0);  x̄ = ḡ where x > 0, else 0 (0 at x = 0, as PyTorch);
    ȯut = ẋ where x > 0, else 0"""

    __slots__ = ("positive",)
    symbol, formula, local = "relu", "relu({0})", ("[{0} > 0]",)

    def forward(self, x):
        self.positive = x > 0
        return x if self.positive else 0.0

    def backward(self, g):
        return (g if self.positive else 0.0,)

    def jvp(self, dx):
        return dx if self.positive else 0.0


class Abs(Op):
    """out = |x|;  x̄ = ḡ·sign(x) (0 at x = 0, as PyTorch);  ȯut = sign(x)·ẋ"""

    __slots__ = ("sign",)
    symbol, formula, local = "abs", "|{0}|", ("sign({0})",)

    def forward(self, x):
        self.sign = 1.0 if x > 0 else -1.0 if x < 0 else 0.0
        return abs(x)

    def backward(self, g):
        return (g * self.sign,)

    def jvp(self, dx):
        return dx * self.sign


# ---- n-ary (scalargrad only: vecgrad adds whole arrays, with its Sum reduction) -----


class Summation(Op):
    """out = x₁ + x₂ + … + xₙ;  x̄ᵢ = ḡ for every i;  ȯut = ẋ₁ + … + ẋₙ

    One node where a chain of + would make n − 1 (a neuron's Σ wᵢxᵢ + b). It adds left to
    right, so it rounds exactly like the chain it replaces.
    """

    __slots__ = ("n",)
    symbol = "Σ"

    def forward(self, *xs):
        self.n = len(xs)
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        return total

    def backward(self, g):
        return (g,) * self.n

    def jvp(self, *dxs):
        return _sum(*dxs)

    @property
    def formula(self) -> str:
        return " + ".join(f"{{{i}}}" for i in range(self.n))

    @property
    def local(self) -> tuple:
        return ("1",) * self.n


class Dot(Op):
    """out = w₁·x₁ + … + wₙ·xₙ (operands w₁…wₙ, x₁…xₙ);  w̄ᵢ = ḡ·xᵢ,  x̄ᵢ = ḡ·wᵢ;
    ȯut = Σ ẇᵢ·xᵢ + wᵢ·ẋᵢ

    A neuron's weighted sum as one node instead of n products and n − 1 sums: the same
    chain rule, a quarter of the nodes (nn.Neuron uses it).
    """

    __slots__ = ("ws", "xs")
    symbol = "·"

    def forward(self, *operands):
        n = len(operands) // 2
        self.ws, self.xs = operands[:n], operands[n:]
        total = 0.0
        for w, x in zip(self.ws, self.xs):
            total = total + w * x
        return total

    def backward(self, g):
        return tuple(g * x for x in self.xs) + tuple(g * w for w in self.ws)

    def jvp(self, *tangents):
        n = len(self.ws)
        dws, dxs = tangents[:n], tangents[n:]
        return _sum(
            *(_times(dw, x) for dw, x in zip(dws, self.xs)),
            *(_times(dx, w) for dx, w in zip(dxs, self.ws)),
        )

    @property
    def formula(self) -> str:
        n = len(self.ws)
        return " + ".join(f"{{{i}}}·{{{n + i}}}" for i in range(n))

    @property
    def local(self) -> tuple:
        n = len(self.ws)
        return tuple(f"{{{n + i}}}" for i in range(n)) + tuple(f"{{{i}}}" for i in range(n))


# ---- the rules' helpers ----------------------------------------------------------


def _times(tangent, factor):
    """One operand's term of a tangent, tangent·factor; None when it carries none, and 0 when
    the tangent is 0, even against an infinite factor: an input that does not move moves
    nothing (∂(x·y)/∂y at y = ∞ is x, not 0·∞ + x = NaN)."""
    if tangent is None:
        return None
    product = tangent * factor
    if product != product and is_number(tangent) and tangent == 0:  # NaN from 0·∞
        return 0.0
    return product


def _sum(*terms):
    """The sum of the terms that are not None (an output tangent; jvp gets at least one)."""
    total = None
    for term in terms:
        if term is not None:
            total = term if total is None else total + term
    return total


def _routed(g, share):
    """ḡ·share for a gate that routes ḡ (max, min, relu): where share is 0 the output does
    not depend on that input nearby, so it gets 0 even from an infinite ḡ (PyTorch selects
    too), not ∞·0 = NaN. None (no tangent) stays None."""
    if g is None or share == 0:
        return None if g is None else 0.0
    return g * share


def _along(tangent, slope):
    """tangent·slope where the slope may be +∞ (a power at base 0): a tangent of 0 moves
    nothing, so it contributes 0 there, not ∞·0 = NaN."""
    if tangent is None or (slope == math.inf and _is_zero(tangent)):
        return None if tangent is None else 0.0
    return tangent * slope


def _is_zero(x) -> bool:
    """x = 0, read through comparisons (a node's ``==`` is identity, as a dict key)."""
    return not (x < 0 or x > 0)


def _share(winner, loser) -> float:
    """1 where ``winner`` is strictly ahead, ½ on a tie, 0 elsewhere: who gets ḡ."""
    return 1.0 if winner > loser else 0.0 if winner < loser else 0.5


def _power_slope(x, k):
    """k·x^(k−1) = ∂(x^k)/∂x, never raising: 0 for k = 0 (x⁰ is constant), +∞ at x = 0 for
    0 < k < 1 (√x at 0), as IEEE arithmetic and PyTorch say, and ±∞ where the slope is
    beyond the largest float (a derivative may be: scalargrad.float_checks). A node x gives
    a node, so forward mode can differentiate the slope again (x² at 0: slope 0, its slope 2).
    """
    if _is_zero(k) and (is_number(k) or _is_zero(x)):
        return 0.0
    if _is_zero(x) and 0 < k < 1:
        return math.inf
    if not (is_number(x) and is_number(k)):
        return k * x ** (k - 1)
    try:
        return k * float(x) ** (k - 1)
    except OverflowError:  # |x^(k−1)| beyond the largest float; x < 0 only with k an integer
        negative = (x < 0 and (k - 1) % 2 == 1) != (k < 0)
        return -math.inf if negative else math.inf


def _over_square(g, x, y, x_over_y):
    """g·x/y² (Div's ȳ, negated) as (g/y)·(x/y) where both factors and the answer are
    normal floats, the common case; else with the mantissas multiplied and the exponents
    added (frexp), which cannot over- or underflow, so the answer comes out wherever it is
    a float, rounded a few times at most. Nodes (forward mode) take (g/y)·(x/y)."""
    if not (is_number(g) and is_number(x) and is_number(y)):
        return g / y * x_over_y
    g_over_y = g / y
    fast = g_over_y * x_over_y
    if all(_NORMAL <= abs(v) < math.inf for v in (g_over_y, x_over_y, fast)):
        return fast
    if g == 0 or x == 0 or not (math.isfinite(g) and math.isfinite(x)):
        return g * x / y / y  # an exact ±0 (not ∞·0), or ∞ and NaN as IEEE gives them
    (mg, eg), (mx, ex), (my, ey) = math.frexp(g), math.frexp(x), math.frexp(y)
    mantissa = mg * mx / (my * my)
    try:
        return math.ldexp(mantissa, eg + ex - 2 * ey)  # a subnormal or 0 if it must
    except OverflowError:  # beyond the largest float: an infinite derivative
        return math.copysign(math.inf, mantissa)


_NORMAL = sys.float_info.min  # the smallest normal float; below it precision is lost


# ---- the math the rules compute with: floats, or a node's own method ---------------


def real(x, where: str) -> float:
    """``x`` as a float, or a TypeError/ValueError naming ``where`` and the value."""
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        try:
            value = float(x)
        except OverflowError:  # an int beyond 1.8e308
            digits = int(abs(x).bit_length() * math.log10(2)) + 1  # str() may refuse huge ints
            raise OverflowError(
                f"{where}: an integer of {digits} digits is too large for a float "
                "(the largest is about 1.8e+308)"
            ) from None
        if value != value and float_checks_enabled():
            raise ValueError(f"{where}: got NaN, which has no derivative to follow")
        return value
    if isinstance(x, bool):
        raise TypeError(f"{where}: expected a real number, got the bool {x!r}")
    raise TypeError(f"{where}: expected a real number, got {type(x).__name__} {x!r}")


def is_number(x) -> bool:
    """True for a plain real number (a float, an int, a numpy scalar), not a node."""
    return type(x) is float or isinstance(x, numbers.Real)


# Each starts with a Value's own case, a float, which is the hot path of every graph.


def log(x):
    """ln x: ``x.log()`` for a node; for a number, a float (an error for x ≤ 0)."""
    if type(x) is not float:
        if not is_number(x):
            return x.log()
        x = real(x, "log")
    if x <= 0:
        raise ValueError(f"log: input must be positive, got {x!r}")
    return math.log(x)


def exp(x):
    """eˣ: ``x.exp()`` for a node; for a number, a float (an error where it overflows)."""
    if type(x) is not float:
        if not is_number(x):
            return x.exp()
        x = real(x, "exp")
    try:
        return math.exp(x)
    except OverflowError:
        if not float_checks_enabled():
            return math.inf
        raise result_error("exp", f"exp({number_text(x)})", math.inf) from None


def sin(x):
    """sin x: ``x.sin()`` for a node, a float for a number (sin ±∞ is undefined: NaN)."""
    if type(x) is not float:
        if not is_number(x):
            return x.sin()
        x = real(x, "sin")
    return math.sin(x) if math.isfinite(x) else _undefined("sin", x)


def cos(x):
    """cos x: ``x.cos()`` for a node, a float for a number (cos ±∞ is undefined: NaN)."""
    if type(x) is not float:
        if not is_number(x):
            return x.cos()
        x = real(x, "cos")
    return math.cos(x) if math.isfinite(x) else _undefined("cos", x)


def _undefined(op_name: str, x: float) -> float:
    """NaN, the IEEE value of sin ±∞ (math.sin says only "math domain error"), or the
    policy's error (see float_checks)."""
    if not float_checks_enabled():
        return math.nan
    raise result_error(op_name, f"{op_name}({number_text(x)})", math.nan)


def tanh(x):
    """tanh x: ``x.tanh()`` for a node, a float for a number."""
    if type(x) is float:
        return math.tanh(x)
    return math.tanh(real(x, "tanh")) if is_number(x) else x.tanh()


def sigmoid(x):
    """σ(x) = 1/(1 + e⁻ˣ): ``x.sigmoid()`` for a node, a float (never overflowing) for a
    number."""
    if type(x) is not float:
        if not is_number(x):
            return x.sigmoid()
        x = real(x, "sigmoid")
    # Two branches so that exp never overflows, whatever the sign of x.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def relu(x):
    """max(x, 0): ``x.relu()`` for a node, a float for a number."""
    if type(x) is not float:
        if not is_number(x):
            return x.relu()
        x = real(x, "relu")
    return x if x > 0 else 0.0


def maximum(a, b):
    """max(a, b): a node's ``maximum`` when either is one (a tie splits ḡ), else a float."""
    if not is_number(a):
        return a.maximum(b)
    if not is_number(b):
        return b.maximum(a)  # symmetric: the node's method may take the number
    a, b = real(a, "maximum"), real(b, "maximum")
    return a if a >= b else b


def minimum(a, b):
    """min(a, b): a node's ``minimum`` when either is one (a tie splits ḡ), else a float."""
    if not is_number(a):
        return a.minimum(b)
    if not is_number(b):
        return b.minimum(a)
    a, b = real(a, "minimum"), real(b, "minimum")
    return a if a <= b else b


def _power(x, k):
    """x ** k for numbers (checked by `_pow`) or nodes."""
    return _pow("pow", x, k) if is_number(x) and is_number(k) else x**k


def _pow(op_name: str, x: float, k: float) -> float:
    """x ** k of two numbers as a real float, or a clear error naming the op and values."""
    if x == 0 and k < 0:
        raise ZeroDivisionError(f"{op_name}: 0 ** {k!r} divides by zero")
    if x < 0 and not float(k).is_integer():
        raise ValueError(f"{op_name}: {x!r} ** {k!r} is not a real number (negative base)")
    try:
        return float(x) ** k
    except OverflowError:
        if not float_checks_enabled():
            return math.copysign(math.inf, x) if float(k).is_integer() and k % 2 else math.inf
        raise result_error(op_name, f"{number_text(x)} ** {number_text(k)}", math.inf) from None
