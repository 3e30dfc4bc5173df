"""Derivatives at the ends of the float range, checked against exact rational arithmetic.

A derivative whose true value is a float must come out as that float (within a few
roundings), even where an intermediate of the textbook formula over- or underflows; one
beyond the largest float is ±∞ (the float policy allows infinite derivatives), never an
error or a NaN. The oracle is `fractions.Fraction`: the exact value, rounded once.
"""

from __future__ import annotations

import itertools
import math
import sys
import warnings
from fractions import Fraction

import numpy as np
import pytest

from scalargrad import Value
from scalargrad.autodiff import backward
from scalargrad.forward import derivative, hvp
from vecgrad import Tensor

# all_finite's x·x overflows for a finite ∞-derivative's neighbours; vecgrad silences that
# warning at import, pytest shows it again
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in dot:RuntimeWarning")


def _rounded(exact: Fraction, dtype=np.float64) -> float:
    """The exact value as the nearest float of ``dtype`` (±∞ beyond its largest)."""
    try:
        value = float(exact)
    except OverflowError:
        return math.inf if exact > 0 else -math.inf
    if abs(value) > np.finfo(dtype).max:
        return math.copysign(math.inf, value)
    return float(dtype(value))


def _close(got: float, expected: float, dtype=np.float64) -> bool:
    """Equal, or within 4 roundings (relative), or within 2 steps of the subnormal grid."""
    if math.isinf(expected) or expected == 0:
        return got == expected
    info = np.finfo(dtype)
    tolerance = max(4 * float(info.eps) * abs(expected), 2 * float(info.smallest_subnormal))
    return abs(got - expected) <= tolerance


MAGNITUDES = [1e-300, 3e-160, 1e-30, 0.7, 1e30, 2e160, 1e300]
SEEDS = [1e-300, 1.0, 1e300]


@pytest.mark.parametrize("g", SEEDS)
def test_scalar_division_adjoints_are_the_exact_ones(g):
    """ȳ = −ḡ·x/y²: 1e300·(1e-30/1e-10) has ȳ = −1e290, although ḡ/y alone is ∞."""
    wrong = []
    for x, y, sign in itertools.product([0.0, *MAGNITUDES], MAGNITUDES, (1, -1)):
        xv, yv = Value(x), Value(sign * y)
        if not math.isfinite(x / (sign * y)):
            continue  # the value itself overflows: the float policy's error, not this test's
        backward(xv / yv, seed=g)  # ḡ seeded: g·x/y itself may be beyond the largest float
        exact_x = Fraction(g) / Fraction(sign * y)
        exact_y = -Fraction(g) * Fraction(x) / Fraction(sign * y) ** 2
        for name, got, exact in (("x", xv.grad, exact_x), ("y", yv.grad, exact_y)):
            if not _close(got, _rounded(exact)):
                wrong.append(f"ḡ={g} x={x} y={sign * y}: {name}̄ {got} != {_rounded(exact)}")
    assert not wrong, "\n".join(wrong[:10])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tensor_division_adjoints_are_the_exact_ones(dtype):
    info = np.finfo(dtype)
    scale = np.log10(info.max)  # 38 or 308: the same grid, shrunk to the dtype's range
    magnitudes = [10 ** (e * scale / 308) for e in (-300, -160, -30, 0, 30, 160, 300)]
    cases = [(x, y, g) for x in [0.0, *magnitudes] for y in magnitudes for g in magnitudes]
    with np.errstate(over="ignore"):
        cases = [c for c in cases if np.isfinite(dtype(c[0]) / dtype(c[1]))]
    x = Tensor(np.array([c[0] for c in cases], dtype), requires_grad=True)
    y = Tensor(np.array([c[1] for c in cases], dtype), requires_grad=True)
    seed = np.array([c[2] for c in cases], dtype)
    with warnings.catch_warnings():  # an ∞ derivative is an answer, not a numpy warning
        warnings.filterwarnings("error", category=RuntimeWarning, module=r"vecgrad\.ops")
        (x / y).backward(seed)
    wrong = []
    for i, (xi, yi, gi) in enumerate(cases):
        xi, yi, gi = (Fraction(float(dtype(v))) for v in (xi, yi, gi))
        for name, got, exact in (("x", x.grad[i], gi / yi), ("y", y.grad[i], -gi * xi / yi**2)):
            if not _close(float(got), _rounded(exact, dtype), dtype):
                wrong.append(f"ḡ={gi} x={xi} y={yi}: {name}̄ {got} != {_rounded(exact, dtype)}")
    assert not wrong, f"{len(wrong)} of {2 * len(cases)}:\n" + "\n".join(wrong[:10])


def test_division_by_a_tiny_number_of_zero_has_a_zero_exponent_adjoint():
    """0/1e-310: ȳ = −ḡ·0/y² = −0 (not (ḡ/y)·0 = ∞·0, which is NaN)."""
    x, y = Value(0.0), Value(1e-310)
    (x / y).backward()
    assert y.grad == 0 and x.grad == math.inf  # 1/1e-310 is beyond the largest float
    xt, yt = Tensor([0.0], requires_grad=True), Tensor(np.float32([1e-40]), requires_grad=True)
    (xt / yt).sum().backward()
    assert yt.grad[0] == 0 and xt.grad[0] == np.inf


@pytest.mark.parametrize("k", [2, 3, 4, 2.5])
def test_forward_mode_differentiates_a_power_again_at_zero(k):
    """x^k at 0: the n-th derivative is k(k−1)…(k−n+1)·0^(k−n), so k! at n = k for an
    integer k and 0 below; the slope at 0 must stay a function of x, not the constant 0."""
    for order in range(1, int(k) + 1):
        falling = math.prod(k - i for i in range(order))
        expected = falling if order == k else 0.0
        assert derivative(lambda x: x**k, 0.0, order=order) == pytest.approx(expected)
    assert hvp(lambda x, y: x**2 + y**3, [0.0, 0.0], [1.0, 1.0]) == pytest.approx([2.0, 0.0])
    x = Value(0.0)
    slope = derivative(lambda t: t**3, x)  # 3x², a Value: reverse mode takes it from here
    slope.backward() if isinstance(slope, Value) else pytest.fail(f"got {slope!r}, not a Value")
    assert x.grad == 0.0  # d(3x²)/dx = 6x = 0 at 0


def test_a_power_whose_slope_is_beyond_the_largest_float_has_an_infinite_derivative():
    """(1e-160)^−1: the slope −x^−2 = −1e320 is −∞, not an overflow error about a value."""
    v = Value(1e-160)
    (v**-1).backward()
    assert v.grad == -math.inf
    v = Value(-1e-154)
    (v**-2).backward()  # the value 1e308 is a float; the slope −2·x^−3 = 2e462 is not
    assert v.grad == math.inf
    v = Value(1e-310)
    (v**0).backward()
    assert v.grad == 0.0  # x⁰ is constant: no 0·x^−1 overflow
    x, y = Value(1e-170), Value(-1.0)
    (x**y).backward()
    assert x.grad == -math.inf
    assert y.grad == pytest.approx(1e170 * math.log(1e-170), rel=1e-12)  # out·ln x, finite
    t = Tensor(np.float32([1e-20, 2.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", category=RuntimeWarning, module=r"vecgrad\.ops")
        (t**-1).sum().backward()
    assert t.grad[0] == -np.inf and t.grad[1] == pytest.approx(-0.25)


def test_the_exact_oracle_is_itself_right():
    """The helpers above: a representable value rounds to itself, beyond the range to ∞."""
    assert _rounded(Fraction(10) ** 400) == math.inf
    assert _rounded(-Fraction(1, 3)) == -1 / 3
    assert _rounded(Fraction(10) ** 39, np.float32) == math.inf
    assert _close(sys.float_info.min / 4, _rounded(Fraction(sys.float_info.min) / 4))
    assert not _close(1.0, 1.0 + 1e-12)
