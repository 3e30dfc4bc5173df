"""Every scalargrad op, from the shared op table, against PyTorch and central differences."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import scalargrad
from scalargrad import Value
from tests.shared.op_table import OPS


def _inputs(case):
    number = st.floats(case.low, case.high, allow_nan=False, allow_infinity=False)
    return st.tuples(*[number] * case.arity)


def _run(case, xs):
    """Value and gradients of the case at xs through scalargrad."""
    nodes = [Value(x) for x in xs]
    out = case.apply(scalargrad, *nodes)
    out.backward()
    return out.data, [n.grad for n in nodes]


def _central_differences(case, xs, h=1e-6):
    grads = []
    for i in range(len(xs)):
        up, down = list(xs), list(xs)
        up[i] += h
        down[i] -= h
        grads.append((case.apply(scalargrad, *up) - case.apply(scalargrad, *down)) / (2 * h))
    return grads


@pytest.mark.parametrize("case", OPS, ids=repr)
def test_op_against_pytorch(case):
    torch = pytest.importorskip("torch")

    @given(_inputs(case))
    def check(xs):
        assume(case.away_from is None or case.away_from(*xs))
        value, grads = _run(case, xs)
        leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
        expected = case.apply(torch, *leaves)
        expected.backward()
        assert value == pytest.approx(expected.item(), rel=1e-12, abs=1e-12)
        assert grads == pytest.approx([t.grad.item() for t in leaves], rel=1e-9, abs=1e-12)

    check()


@pytest.mark.parametrize("case", OPS, ids=repr)
def test_op_against_central_differences(case):
    @given(_inputs(case))
    def check(xs):
        assume(case.away_from is None or case.away_from(*xs))
        value, grads = _run(case, xs)
        assert value == pytest.approx(case.apply(scalargrad, *xs), rel=1e-12, abs=1e-12)
        assert grads == pytest.approx(_central_differences(case, xs), rel=1e-5, abs=1e-6)

    check()


@pytest.mark.parametrize("case", OPS, ids=repr)
def test_plain_numbers_give_plain_floats(case):
    """The lecture notation runs on floats too, with the same result as on Values."""
    xs = [0.5 + 0.3 * i for i in range(case.arity)]
    assert isinstance(case.apply(scalargrad, *xs), float)
    assert case.apply(scalargrad, *xs) == pytest.approx(_run(case, xs)[0])


def test_ties_split_the_gradient_like_pytorch():
    torch = pytest.importorskip("torch")
    for fn, name in ((scalargrad.maximum, "maximum"), (scalargrad.minimum, "minimum")):
        a, b = Value(2.0), Value(2.0)
        fn(a, b).backward()
        ta, tb = (torch.tensor(2.0, dtype=torch.float64, requires_grad=True) for _ in "ab")
        getattr(torch, name)(ta, tb).backward()
        assert (a.grad, b.grad) == (ta.grad.item(), tb.grad.item()) == (0.5, 0.5)


@pytest.mark.parametrize("op", ["relu", "abs"])
def test_kinks_at_zero_follow_pytorch(op):
    torch = pytest.importorskip("torch")
    x = Value(0.0)
    getattr(x, op)().backward()
    t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    getattr(t, op)().backward()
    assert x.grad == t.grad.item() == 0.0


def test_pow_special_cases_match_pytorch():
    torch = pytest.importorskip("torch")
    for base, exponent in ((0.0, 2.0), (2.0, 0.0), (0.0, 1.0), (3.0, -1.5)):
        x, k = Value(base), Value(exponent)
        (x**k).backward()
        tx, tk = (
            torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (base, exponent)
        )
        (tx**tk).backward()
        assert (x.grad, k.grad) == pytest.approx((tx.grad.item(), tk.grad.item()))
    for base, exponent in ((-2.0, 3.0), (0.0, 0.0), (-2.0, 2.0)):  # a constant exponent
        x = Value(base)
        (x**exponent).backward()
        tx = torch.tensor(base, dtype=torch.float64, requires_grad=True)
        (tx**exponent).backward()
        assert x.grad == pytest.approx(tx.grad.item())


def test_sigmoid_is_stable_far_from_zero():
    for x in (-800.0, 800.0):
        v = Value(x)
        s = v.sigmoid()
        s.backward()
        assert math.isfinite(s.data) and math.isfinite(v.grad)


@given(st.lists(st.floats(-3, 3), min_size=2, max_size=8))
def test_nary_sum_and_dot_against_pytorch(numbers):
    torch = pytest.importorskip("torch")
    n = len(numbers) // 2
    ws, xs = [Value(v) for v in numbers[:n]], [Value(v) for v in numbers[n : 2 * n]]
    total = scalargrad.summation(ws + [1.5]) + scalargrad.dot(ws, xs)
    total.backward()
    tw = torch.tensor(numbers[:n], dtype=torch.float64, requires_grad=True)
    tx = torch.tensor(numbers[n : 2 * n], dtype=torch.float64, requires_grad=True)
    expected = tw.sum() + 1.5 + (tw * tx).sum()
    expected.backward()
    assert total.data == pytest.approx(expected.item(), abs=1e-12)
    assert [w.grad for w in ws] == pytest.approx(tw.grad.tolist())
    assert [x.grad for x in xs] == pytest.approx(tx.grad.tolist())


def test_dot_and_summation_round_like_the_chains_they_replace():
    ws, xs = [0.1, 0.2, 0.3], [0.7, 0.11, 0.13]
    chain = 0.0
    for w, x in zip(ws, xs):
        chain = chain + w * x
    assert scalargrad.dot([Value(w) for w in ws], xs).data == chain
    assert scalargrad.summation([Value(w) for w in ws]).data == (0.1 + 0.2) + 0.3
    with pytest.raises(ValueError, match="dot: needs two equally long"):
        scalargrad.dot([Value(1.0)], [])
    with pytest.raises(ValueError, match="summation: got no values"):
        scalargrad.summation([])


# ---- regressions: derivatives that came out wrong (issue #13) -------------------------


@pytest.mark.parametrize("exponent", [0.5, 0.25, 1.0, 2.0, 0.0])
def test_pow_at_base_zero_is_one_convention_in_both_modes_as_pytorch(exponent):
    """x^y and x^k at x = 0: the slope y·0^(y−1) is +∞ for 0 < y < 1 (PyTorch: inf),
    never a silent 0 nor an error about an expression the user never wrote."""
    torch = pytest.importorskip("torch")
    from scalargrad.forward import Dual

    tx, ty = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.0, exponent))
    (tx**ty).backward()
    want = (tx.grad.item(), ty.grad.item())
    x, y = Value(0.0), Value(exponent)
    (x**y).backward()
    assert (x.grad, y.grad) == want
    x = Value(0.0)
    (x**exponent).backward()
    assert x.grad == want[0]
    assert (Dual(0.0, 1.0) ** Dual(exponent, 0.0)).tangent == want[0]
    assert (Dual(0.0, 1.0) ** exponent).tangent == want[0]
    assert (Dual(0.0, 0.0) ** Dual(exponent, 1.0)).tangent == want[1]


@pytest.mark.parametrize("scale", [1e-170, 1e-160, 1e-200, 1e150])
def test_division_adjoints_never_square_the_divisor(scale):
    """ȳ = −(ḡ/y)·(x/y): y² would underflow (1e-170² = 0) where the answer is 1/scale."""
    x, y = Value(scale), Value(scale)
    (x / y).backward()
    assert x.grad == 1 / scale and y.grad == -1 / scale
    from scalargrad.forward import Dual

    assert (Dual(scale, 0.0) / Dual(scale, 1.0)).tangent == -1 / scale
    assert (Dual(scale, 1.0) / Dual(scale, 0.0)).tangent == 1 / scale
