"""Forward mode (dual numbers) against closed forms, the lecture, PyTorch and central
differences; higher derivatives by nested duals; the tangent trace."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import scalargrad
from scalargrad import Value, log, maximum, sin
from scalargrad.display.trace import TangentTrace, tangent_trace
from scalargrad.forward import (
    Dual,
    derivative,
    derivatives,
    gradient,
    hvp,
    jacobian,
    jvp,
)
from tests.shared.op_table import OPS


def lecture_y(x1, x2):
    return log(x1) + x1 * x2 - sin(x2)


def central(f, xs, i, h=1e-6):
    """An independent oracle: the central difference of f in its i-th argument."""
    up, down = list(xs), list(xs)
    up[i] += h
    down[i] -= h
    return (f(*up) - f(*down)) / (2 * h)


# ---- the lecture values ---------------------------------------------------------------


def test_lecture_y_one_pass_gives_value_and_partial():
    y = lecture_y(Dual(2.0, 1.0), Dual(5.0, 0.0))
    assert round(y.value, 3) == 11.652
    assert y.tangent == pytest.approx(5.5, abs=1e-12)
    y = lecture_y(Dual(2.0, 0.0), Dual(5.0, 1.0))
    assert round(y.tangent, 3) == 1.716
    assert y.tangent == pytest.approx(2.0 - math.cos(5.0), abs=1e-12)  # closed form x1 − cos x2


def test_lecture_examples_by_forward_mode():
    def f1(x, y, z):
        return (x + y) * z

    assert jvp(f1, [-2.0, 5.0, -4.0], [0.0, 0.0, 0.0])[0] == -12.0
    assert gradient(f1, [-2.0, 5.0, -4.0]) == [-4.0, -4.0, 3.0]
    assert gradient(lambda x, y: x / (x + y), [-1.0, 2.0])[0] == pytest.approx(2.0, abs=1e-12)

    def f3(x, y, z, w):
        return 3 * (x * y + maximum(z, w))

    assert jvp(f3, [3.0, -4.0, 2.0, -1.0], [1.0, 0.0, 0.0, 0.0])[0] == -30.0
    assert gradient(f3, [3.0, -4.0, 2.0, -1.0]) == [-12.0, 9.0, 3.0, 0.0]


def test_jvp_is_the_directional_derivative():
    # J·v = ∇y·v for the lecture function: 5.5·0.3 + (2 − cos 5)·(−2).
    _, t = jvp(lecture_y, [2.0, 5.0], [0.3, -2.0])
    assert t == pytest.approx(5.5 * 0.3 + (2.0 - math.cos(5.0)) * -2.0, abs=1e-12)


def test_jacobian_column_by_column_against_closed_form():
    def f(x, y):
        return x * y, sin(x), x + 2 * y, scalargrad.exp(y / x)

    x, y = 1.5, -0.5
    expected = [
        [y, x],
        [math.cos(x), 0.0],
        [1.0, 2.0],
        [-y / x**2 * math.exp(y / x), math.exp(y / x) / x],
    ]
    got = jacobian(f, [x, y])
    for row, want in zip(got, expected):
        assert row == pytest.approx(want, abs=1e-12)


def test_the_same_expression_runs_on_floats_values_and_duals():
    plain = lecture_y(2.0, 5.0)
    x1, x2 = Value(2.0), Value(5.0)
    node = lecture_y(x1, x2)
    node.backward()
    dual = lecture_y(Dual(2.0, 1.0), Dual(5.0, 0.0))
    assert plain == node.data == dual.value
    assert x1.grad == pytest.approx(dual.tangent, abs=1e-14)


# ---- every op of the table ---------------------------------------------------------------


def _case_inputs(case, data):
    xs = [
        data.draw(st.floats(case.low, case.high, allow_nan=False), label=f"x{i}")
        for i in range(case.arity)
    ]
    assume(case.away_from is None or case.away_from(*xs))
    return xs


@pytest.mark.parametrize("case", OPS, ids=repr)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_op_tangents_match_central_differences(case, data):
    xs = _case_inputs(case, data)

    def f(*args):
        return case.apply(scalargrad, *args)

    value, grads = f(*xs), gradient(f, xs)
    assert jvp(f, xs, [0.0] * len(xs))[0] == pytest.approx(value, rel=1e-15, abs=0)
    for i, g in enumerate(grads):
        assert g == pytest.approx(central(f, xs, i), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("case", OPS, ids=repr)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_op_tangents_match_pytorch(case, data):
    torch = pytest.importorskip("torch")
    xs = _case_inputs(case, data)
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = case.apply(torch, *leaves)
    want = torch.autograd.grad(out, leaves, allow_unused=True)
    got = gradient(lambda *a: case.apply(scalargrad, *a), xs)
    for g, w in zip(got, want):
        assert g == pytest.approx(0.0 if w is None else w.item(), rel=1e-12, abs=1e-12)


def test_max_min_ties_split_the_tangent_like_values_gradient():
    assert Dual(1.0, 1.0).maximum(Dual(1.0, 3.0)).tangent == 2.0
    assert Dual(1.0, 1.0).minimum(Dual(1.0, 3.0)).tangent == 2.0
    a, b = Value(1.0), Value(1.0)
    a.maximum(b).backward()
    assert a.grad * 1.0 + b.grad * 3.0 == 2.0  # J·v from reverse mode's row
    assert maximum(Dual(2.0, 1.0), 1.0).tangent == 1.0
    assert maximum(1.0, Dual(-2.0, 1.0)).tangent == 0.0


def test_kinks_follow_value_and_pytorch():
    assert Dual(0.0, 1.0).relu().tangent == 0.0
    assert abs(Dual(0.0, 1.0)).tangent == 0.0
    assert abs(Dual(-3.0, 1.0)).tangent == -1.0
    assert (Dual(0.0, 1.0) ** 0).tangent == 0.0
    assert (Dual(0.0, 1.0) ** Dual(2.0, 1.0)).tangent == 0.0  # 2·0·1 + 0·ln 0·1 := 0


# ---- errors ---------------------------------------------------------------------------


def test_domain_errors_name_the_op_and_value():
    with pytest.raises(ValueError, match=r"log: input must be positive, got 0\.0"):
        log(Dual(0.0, 1.0))
    with pytest.raises(ZeroDivisionError, match="div: division by zero"):
        Dual(1.0, 1.0) / Dual(0.0, 1.0)
    with pytest.raises(ZeroDivisionError, match="div: division by zero"):
        3.0 / Dual(0.0, 1.0)
    with pytest.raises(ValueError, match=r"pow: -2\.0 \*\* 0\.5 is not a real number"):
        Dual(-2.0, 1.0) ** 0.5
    with pytest.raises(ValueError, match="pow: base -2.0 is negative"):
        Dual(-2.0, 1.0) ** Dual(2.0, 0.0)
    with pytest.raises(OverflowError, match="exp: exp"):
        scalargrad.exp(Dual(1000.0, 1.0))
    # The same checks reach nested duals and Value components.
    with pytest.raises(ValueError, match="log: input must be positive"):
        log(Dual(Dual(-1.0, 1.0), 1.0))
    with pytest.raises(ValueError, match="log: input must be positive"):
        log(Dual(Value(-1.0), 1.0))


def test_bad_components_and_operands_are_named():
    with pytest.raises(TypeError, match="Dual: value must be a real number.*str 'a'"):
        Dual("a", 1.0)
    with pytest.raises(TypeError, match="Dual: tangent.*bool"):
        Dual(1.0, True)
    with pytest.raises(ValueError, match="Dual: value: got NaN"):
        Dual(float("nan"), 1.0)
    with pytest.raises(TypeError, match="mul: cannot combine a Dual with str"):
        Dual(1.0, 1.0) * "x"
    with pytest.raises(TypeError, match="pow: expected a real number, got str"):
        Dual(1.0, 1.0) ** "x"
    with pytest.raises(ValueError, match="jvp: 2 primals but 1 tangents"):
        jvp(lecture_y, [2.0, 5.0], [1.0])
    with pytest.raises(ValueError, match="order must be a non-negative integer"):
        derivative(math.sin, 1.0, order=-1)
    with pytest.raises(ValueError, match="order must be a non-negative integer"):
        derivative(math.sin, 1.0, order=1.5)


# ---- higher order ---------------------------------------------------------------------


def tanh_derivatives(x):
    """tanh and its first four derivatives in closed form, t = tanh x:
    t′ = 1 − t², t″ = −2t(1 − t²), t‴ = (1 − t²)(6t² − 2), t⁗ = 8t(1 − t²)(2 − 3t²)."""
    t = math.tanh(x)
    s = 1 - t * t
    return [t, s, -2 * t * s, s * (6 * t * t - 2), 8 * t * s * (2 - 3 * t * t)]


@pytest.mark.parametrize("x", [-2.0, -0.3, 0.0, 0.7, 1.9])
def test_tanh_first_to_fourth_derivative_match_closed_forms(x):
    got = derivatives(scalargrad.tanh, x, 4)
    assert got == pytest.approx(tanh_derivatives(x), rel=1e-12, abs=1e-14)
    for n in range(1, 5):
        assert derivative(scalargrad.tanh, x, order=n) == got[n]


@pytest.mark.parametrize("x", [-1.2, 0.4, 2.5])
def test_tanh_derivatives_match_pytorch_create_graph(x):
    torch = pytest.importorskip("torch")
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    d = torch.tanh(t)
    want = []
    for _ in range(4):
        (d,) = torch.autograd.grad(d, t, create_graph=True)
        want.append(d.item())
    assert derivatives(scalargrad.tanh, x, 4)[1:] == pytest.approx(want, rel=1e-12, abs=1e-14)


def test_higher_derivatives_of_sin_exp_and_polynomials():
    x = 0.8
    for n in range(7):
        assert derivative(scalargrad.sin, x, n) == pytest.approx(math.sin(x + n * math.pi / 2))
        assert derivative(scalargrad.exp, x, n) == pytest.approx(math.exp(x), rel=1e-14)
    # x⁵: 5x⁴, 20x³, 60x², 120x, 120, 0
    assert derivatives(lambda t: t**5, 2.0, 6) == [32.0, 80.0, 160.0, 240.0, 240.0, 120.0, 0.0]
    assert derivative(lambda t: 7.0, 1.0, 3) == 0.0  # a constant f returns no dual at all
    # 1/x: the n-th derivative is (−1)ⁿ n! / x^(n+1)
    for n in range(5):
        want = (-1) ** n * math.factorial(n) / 1.5 ** (n + 1)
        assert derivative(lambda t: 1 / t, 1.5, n) == pytest.approx(want, rel=1e-13)


def test_mixed_partial_by_nested_duals():
    # ∂²y/∂x1∂x2 of the lecture y = ln x1 + x1·x2 − sin x2 is 1; ∂²y/∂x2² = sin x2.
    x1 = Dual(Dual(2.0, 1.0), 0.0)  # inner ε perturbs x1
    x2 = Dual(Dual(5.0, 0.0), 1.0)  # outer ε perturbs x2
    assert lecture_y(x1, x2).tangent.tangent == 1.0
    x2x2 = Dual(Dual(5.0, 1.0), 1.0)
    assert lecture_y(Dual(Dual(2.0, 0.0), 0.0), x2x2).tangent.tangent == pytest.approx(
        math.sin(5.0), abs=1e-14
    )


def test_reverse_over_forward_second_derivative():
    x = Value(0.7)
    first = derivative(scalargrad.tanh, x)  # a Value: the graph of (1 − t²)·1
    assert isinstance(first, Value)
    assert first.data == pytest.approx(tanh_derivatives(0.7)[1], rel=1e-14)
    first.backward()
    assert x.grad == pytest.approx(tanh_derivatives(0.7)[2], rel=1e-12)


def test_hessian_vector_product_matches_pytorch():
    torch = pytest.importorskip("torch")

    def f(ns, x, y, z):
        return ns.sigmoid(x * y) * ns.exp(z / 3) + ns.tanh(x - z) ** 2 + ns.log(y) * x

    xs, v = [0.4, 1.7, -0.9], [1.0, -2.0, 0.5]
    hessian = torch.autograd.functional.hessian(
        lambda t: f(torch, t[0], t[1], t[2]), torch.tensor(xs, dtype=torch.float64)
    )
    want = (hessian @ torch.tensor(v, dtype=torch.float64)).tolist()
    assert hvp(lambda *a: f(scalargrad, *a), xs, v) == pytest.approx(want, rel=1e-12)


def test_hvp_of_lecture_y_against_closed_form():
    # H = [[−1/x1², 1], [1, sin x2]] at (2, 5)
    assert hvp(lecture_y, [2.0, 5.0], [1.0, 0.0]) == pytest.approx([-0.25, 1.0])
    assert hvp(lecture_y, [2.0, 5.0], [0.0, 1.0]) == pytest.approx([1.0, math.sin(5.0)])


def test_long_chain_needs_no_graph_walk():
    x = Dual(0.5, 1.0)
    for _ in range(100_000):
        x = x * 0.99999 + 0.000001
    assert x.tangent == pytest.approx(0.99999**100_000, rel=1e-9)


# ---- the tangent trace ----------------------------------------------------------------


def test_tangent_trace_of_the_lecture_function():
    trace = tangent_trace(lecture_y, [2.0, 5.0], [1.0, 0.0])
    rows = trace.table().rows
    assert rows == [
        ["v1 = x1 = 2", "v̇1 = ẋ1 = 1"],
        ["v2 = x2 = 5", "v̇2 = ẋ2 = 0"],
        ["v3 = ln(v1) = 0.693", "v̇3 = v̇1 / v1 = 0.5"],
        ["v4 = v1 × v2 = 10", "v̇4 = v̇1·v2 + v1·v̇2 = 5"],
        ["v5 = sin(v2) = −0.959", "v̇5 = cos(v2)·v̇2 = 0"],
        ["v6 = v3 + v4 = 10.693", "v̇6 = v̇3 + v̇4 = 5.5"],
        ["v7 = v6 − v5 = 11.652", "v̇7 = v̇6 − v̇5 = 5.5"],
        ["y = v7 = 11.652", "ẏ = v̇7 = 5.5"],
    ]
    other = tangent_trace(lecture_y, [2.0, 5.0], [0.0, 1.0]).table().rows
    assert other[-1] == ["y = v7 = 11.652", "ẏ = v̇7 = 1.716"]


def test_tangent_trace_renders_through_table():
    trace = tangent_trace(lecture_y, [2.0, 5.0], [1.0, 0.0])
    assert "v̇3 = v̇1 / v1 = 0.5" in trace.to_text()
    assert "| v3 = ln(v1) = 0.693 | v̇3 = v̇1 / v1 = 0.5 |" in trace.to_markdown()
    assert "<td>v̇3 = v̇1 / v1 = 0.5</td>" in trace.to_html()
    latex = trace.to_latex()
    assert r"$v_{3} = \ln (v_{1}) = 0.693$ & $\dot{v}_{3} = \dot{v}_{1} / v_{1} = 0.5$" in latex
    assert r"$\dot{y} = \dot{v}_{7} = 5.5$" in latex
    assert trace._repr_html_() == trace.to_html()
    assert str(trace) == trace.to_text()


def test_tangent_trace_constants_drop_their_terms():
    def f(x, y, z, w):
        return 3 * (x * y + maximum(z, w))

    rows = tangent_trace(f, [3.0, -4.0, 2.0, -1.0], [0.0, 0.0, 1.0, 0.0]).table().rows
    assert ["v8 = 3 × v7 = −30", "v̇8 = 3·v̇7 = 3"] in rows
    assert ["v6 = max(v3, v4) = 2", "v̇6 = [v3 > v4]·v̇3 + [v4 > v3]·v̇4 = 1"] in rows
    rows = tangent_trace(lambda x: 2**x - x**3 / x, [2.0], [1.0]).table().rows
    assert ["v2 = 2^v1 = 4", "v̇2 = 2^v1·ln(2)·v̇1 = 2.773"] in rows
    assert ["v3 = v1^3 = 8", "v̇3 = 3·v1^2·v̇1 = 12"] in rows
    assert ["v4 = v3 / v1 = 4", "v̇4 = v̇3 / v1 − v3·v̇1 / v1² = 4"] in rows


def test_tangent_trace_by_hand_with_several_outputs_and_unused_ops():
    trace = TangentTrace()
    a, b = trace.input(1.0, 1.0, "a"), trace.input(2.0, 0.0)
    unused = a * 100  # noqa: F841  (not an output: left out of the trace)
    trace.output(a * b, "p")
    trace.output(b - a, "q")
    rows = trace.table().rows
    assert rows[:2] == [["v1 = a = 1", "v̇1 = ȧ = 1"], ["v2 = x2 = 2", "v̇2 = ẋ2 = 0"]]
    assert ["v3 = v1 × v2 = 2", "v̇3 = v̇1·v2 + v1·v̇2 = 2"] in rows
    assert ["p = v3 = 2", "ṗ = v̇3 = 2"] in rows and ["q = v4 = 1", "q̇ = v̇4 = −1"] in rows
    assert not any("100" in cell for row in rows for cell in row)


def test_a_value_on_the_left_of_a_dual_defers_to_the_dual():
    from scalargrad import Value

    w = Value(3.0)
    out = w * Dual(2.0, 1.0) + Value(1.0)
    assert isinstance(out, Dual)
    assert (out.value.data, out.tangent.data) == (7.0, 3.0)
    with pytest.raises(TypeError, match="mul: expected a real number"):
        w * "2"


def test_summation_and_dot_accept_duals():
    from scalargrad import dot, summation

    x = Dual(2.0, 1.0)
    total = summation([x, 3.0, x * x]) + dot([x, 1.0], [x, x])
    # d/dx [x + 3 + x² + x² + x] at 2 = 1 + 2x + 2x + 1 = 10
    assert total.value == 2 + 3 + 4 + 4 + 2 and total.tangent == 10.0
