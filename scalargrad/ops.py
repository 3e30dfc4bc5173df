"""The ops of scalargrad: one small class each, forward and backward side by side.

``forward(*inputs)`` takes plain floats, returns the output and keeps the numbers its
backward needs (never the output node, so graphs have no reference cycles).
``backward(g)`` takes ḡ = ∂root/∂out and returns one partial adjoint per input.

For the drawings and traces each op also says, as text, what it computes
(``formula``: ``{0}``, ``{1}`` stand for the operands) and its local derivative with
respect to each operand (``local``), e.g. Mul: out = {0} × {1}; ∂out/∂{0} = {1}.
vecgrad/ops.py is the same file over numpy arrays.
"""

from __future__ import annotations

import math


class Op:
    """Base of all ops: subclasses set ``symbol``, ``formula``, ``local``."""

    __slots__ = ()
    symbol = "?"  # the op node's label in a drawing
    formula = ""  # the forward computation, e.g. "ln({0})"
    local: tuple = ()  # ∂out/∂operand for each slot, e.g. ("1/{0}",)

    def __repr__(self) -> str:
        return type(self).__name__ + "()"


# ---- binary ----------------------------------------------------------------


class Add(Op):
    """out = x + y;  x̄ = ḡ,  ȳ = ḡ  (add distributes the gradient)"""

    __slots__ = ()
    symbol, formula, local = "+", "{0} + {1}", ("1", "1")

    def forward(self, x, y):
        return x + y

    def backward(self, g):
        return g, g


class Sub(Op):
    """out = x − y;  x̄ = ḡ,  ȳ = −ḡ"""

    __slots__ = ()
    symbol, formula, local = "−", "{0} − {1}", ("1", "−1")

    def forward(self, x, y):
        return x - y

    def backward(self, g):
        return g, -g


class Mul(Op):
    """out = x·y;  x̄ = ḡ·y,  ȳ = ḡ·x  (multiply swaps and scales)"""

    __slots__ = ("x", "y")
    symbol, formula, local = "×", "{0} × {1}", ("{1}", "{0}")

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, g):
        return g * self.y, g * self.x


class Div(Op):
    """out = x / y;  x̄ = ḡ/y,  ȳ = −ḡ·x/y²"""

    __slots__ = ("x", "y")
    symbol, formula, local = "/", "{0} / {1}", ("1/{1}", "−{0}/{1}²")

    def forward(self, x, y):
        if y == 0:
            raise ZeroDivisionError(f"div: division by zero in {x!r} / {y!r}")
        self.x, self.y = x, y
        return x / y

    def backward(self, g):
        return g / self.y, -g * self.x / (self.y * self.y)


class Power(Op):
    """out = x^y with both operands nodes;  x̄ = ḡ·y·x^(y−1),  ȳ = ḡ·x^y·ln x"""

    __slots__ = ("x", "y", "out")
    symbol, formula, local = "^", "{0}^{1}", ("{1}·{0}^({1}−1)", "{0}^{1}·ln({0})")

    def forward(self, x, y):
        if x < 0:
            raise ValueError(
                f"pow: base {x!r} is negative; x ** y with y a Value needs x ≥ 0 "
                "(ln x appears in ∂/∂y)"
            )
        self.x, self.y, self.out = x, y, _pow("pow", x, y)
        return self.out

    def backward(self, g):
        x, y = self.x, self.y
        # At x = 0, x^y·ln x → 0 as x → 0⁺ for y > 0: the same convention as PyTorch.
        d_exponent = g * self.out * math.log(x) if x > 0 else 0.0
        d_base = g * y * _pow("pow", x, y - 1) if (x != 0 or y >= 1) else 0.0
        return d_base, d_exponent


class Maximum(Op):
    """out = max(x, y);  the larger input gets ḡ, the other 0; a tie splits ḡ/2 each
    (the "router" gate, as PyTorch's ``maximum``)"""

    __slots__ = ("x", "y")
    symbol, formula = "max", "max({0}, {1})"
    local = ("[{0} > {1}]", "[{1} > {0}]")

    def forward(self, x, y):
        self.x, self.y = x, y
        return x if x >= y else y

    def backward(self, g):
        if self.x == self.y:
            return g * 0.5, g * 0.5
        return (g, 0.0) if self.x > self.y else (0.0, g)


class Minimum(Op):
    """out = min(x, y);  the smaller input gets ḡ, the other 0; a tie splits ḡ/2 each"""

    __slots__ = ("x", "y")
    symbol, formula = "min", "min({0}, {1})"
    local = ("[{0} < {1}]", "[{1} < {0}]")

    def forward(self, x, y):
        self.x, self.y = x, y
        return x if x <= y else y

    def backward(self, g):
        if self.x == self.y:
            return g * 0.5, g * 0.5
        return (g, 0.0) if self.x < self.y else (0.0, g)


# ---- n-ary -----------------------------------------------------------------


class Sum(Op):
    """out = x₁ + x₂ + … + xₙ;  x̄ᵢ = ḡ for every i

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

    @property
    def formula(self) -> str:
        return " + ".join(f"{{{i}}}" for i in range(self.n))

    @property
    def local(self) -> tuple:
        return ("1",) * self.n


class Dot(Op):
    """out = w₁·x₁ + … + wₙ·xₙ (operands w₁…wₙ, x₁…xₙ);  w̄ᵢ = ḡ·xᵢ,  x̄ᵢ = ḡ·wᵢ

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

    @property
    def formula(self) -> str:
        n = len(self.ws)
        return " + ".join(f"{{{i}}}·{{{n + i}}}" for i in range(n))

    @property
    def local(self) -> tuple:
        n = len(self.ws)
        return tuple(f"{{{n + i}}}" for i in range(n)) + tuple(f"{{{i}}}" for i in range(n))


# ---- unary -----------------------------------------------------------------


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
        self.x = x
        return _pow("pow", x, self.exponent)

    def backward(self, g):
        k = self.exponent
        if k == 0:
            return (0.0,)
        return (g * k * _pow("pow", self.x, k - 1),)

    def __repr__(self) -> str:
        return f"Pow({self.exponent!r})"


class Log(Op):
    """out = ln x;  x̄ = ḡ/x"""

    __slots__ = ("x",)
    symbol, formula, local = "ln", "ln({0})", ("1/{0}",)

    def forward(self, x):
        if x <= 0:
            raise ValueError(f"log: input must be positive, got {x!r}")
        self.x = x
        return math.log(x)

    def backward(self, g):
        return (g / self.x,)


class Exp(Op):
    """out = eˣ;  x̄ = ḡ·eˣ = ḡ·out"""

    __slots__ = ("out",)
    symbol, formula, local = "exp", "exp({0})", ("exp({0})",)

    def forward(self, x):
        try:
            self.out = math.exp(x)
        except OverflowError:
            raise OverflowError(f"exp: exp({x!r}) is too large for a float") from None
        return self.out

    def backward(self, g):
        return (g * self.out,)


class Sin(Op):
    """out = sin x;  x̄ = ḡ·cos x"""

    __slots__ = ("x",)
    symbol, formula, local = "sin", "sin({0})", ("cos({0})",)

    def forward(self, x):
        self.x = x
        return math.sin(x)

    def backward(self, g):
        return (g * math.cos(self.x),)


class Cos(Op):
    """out = cos x;  x̄ = −ḡ·sin x"""

    __slots__ = ("x",)
    symbol, formula, local = "cos", "cos({0})", ("−sin({0})",)

    def forward(self, x):
        self.x = x
        return math.cos(x)

    def backward(self, g):
        return (-g * math.sin(self.x),)


class Tanh(Op):
    """out = tanh x;  x̄ = ḡ·(1 − out²)"""

    __slots__ = ("out",)
    symbol, formula, local = "tanh", "tanh({0})", ("1 − tanh²({0})",)

    def forward(self, x):
        self.out = math.tanh(x)
        return self.out

    def backward(self, g):
        return (g * (1.0 - self.out * self.out),)


class Sigmoid(Op):
    """out = σ(x) = 1/(1 + e⁻ˣ);  x̄ = ḡ·out·(1 − out)"""

    __slots__ = ("out",)
    symbol, formula, local = "σ", "σ({0})", ("σ({0})·(1 − σ({0}))",)

    def forward(self, x):
        # Two branches so that exp never overflows, whatever the sign of x.
        if x >= 0:
            self.out = 1.0 / (1.0 + math.exp(-x))
        else:
            z = math.exp(x)
            self.out = z / (1.0 + z)
        return self.out

    def backward(self, g):
        return (g * self.out * (1.0 - self.out),)


class ReLU(Op):
    """out = max(x, 0);  x̄ = ḡ where x > 0, else 0 (0 at x = 0, as PyTorch)"""

    __slots__ = ("x",)
    symbol, formula, local = "relu", "relu({0})", ("[{0} > 0]",)

    def forward(self, x):
        self.x = x
        return x if x > 0 else 0.0

    def backward(self, g):
        return (g if self.x > 0 else 0.0,)


class Abs(Op):
    """out = |x|;  x̄ = ḡ·sign(x) (0 at x = 0, as PyTorch)"""

    __slots__ = ("x",)
    symbol, formula, local = "abs", "|{0}|", ("sign({0})",)

    def forward(self, x):
        self.x = x
        return abs(x)

    def backward(self, g):
        return (g if self.x > 0 else -g if self.x < 0 else 0.0,)


# ---- helpers ---------------------------------------------------------------


def _pow(op_name: str, x: float, k: float) -> float:
    """x ** k as a real number, or a clear error naming the op and the values."""
    if x == 0 and k < 0:
        raise ZeroDivisionError(f"{op_name}: 0 ** {k!r} divides by zero")
    if x < 0 and not float(k).is_integer():
        raise ValueError(f"{op_name}: {x!r} ** {k!r} is not a real number (negative base)")
    try:
        return float(x) ** k
    except OverflowError:
        raise OverflowError(f"{op_name}: {x!r} ** {k!r} is too large for a float") from None


def _number(k: float) -> str:
    """A constant as the lecture writes it: 2 rather than 2.0."""
    return str(int(k)) if float(k).is_integer() else repr(k)
