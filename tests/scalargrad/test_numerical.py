"""Finite differences against closed forms, the U-curve of their error, and gradcheck
against correct graphs and against deliberately wrong ops."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import scalargrad
from scalargrad import log, maximum, ops, sin
from scalargrad.numerical import (
    GradcheckError,
    default_step,
    derivative,
    difference_error,
    gradcheck,
    gradient,
    plot_difference_error,
)
from scalargrad.value import apply_op
from tests.shared.op_table import OPS

matplotlib.use("Agg")


def lecture_y(x1, x2):
    return log(x1) + x1 * x2 - sin(x2)


# ---- derivative and gradient -----------------------------------------------------------


@pytest.mark.parametrize(
    "f, df, x",
    [
        (math.exp, math.exp, 1.0),
        (math.sin, math.cos, 0.3),
        (math.log, lambda x: 1 / x, 2.0),
        (lambda x: x**3 - 2 * x, lambda x: 3 * x * x - 2, -1.4),
    ],
)
def test_derivative_against_closed_forms(f, df, x):
    assert derivative(f, x) == pytest.approx(df(x), rel=1e-9, abs=1e-10)
    for method in ("forward", "backward"):
        assert derivative(f, x, method=method) == pytest.approx(df(x), rel=1e-6, abs=1e-7)


def test_truncation_error_is_order_h_for_forward_and_h2_for_central():
    # Taylor: forward error ≈ h·f″/2, central error ≈ h²·f‴/6; for exp at 0 all are 1.
    for h in (1e-2, 1e-3):
        fwd = derivative(math.exp, 0.0, h, "forward") - 1.0
        cen = derivative(math.exp, 0.0, h, "central") - 1.0
        assert fwd == pytest.approx(h / 2, rel=0.01)
        assert cen == pytest.approx(h * h / 6, rel=0.01)


def test_gradient_of_the_lecture_functions():
    plain_y = lambda x1, x2: math.log(x1) + x1 * x2 - math.sin(x2)  # noqa: E731
    assert gradient(plain_y, [2.0, 5.0]) == pytest.approx([5.5, 2 - math.cos(5.0)], rel=1e-9)
    assert [round(g, 3) for g in gradient(plain_y, [2.0, 5.0])] == [5.5, 1.716]
    # The lecture twins compute plain floats on plain numbers, so they work here too.
    assert gradient(lecture_y, [2.0, 5.0]) == pytest.approx([5.5, 1.716], abs=1e-3)
    assert gradient(lambda x, y, z: (x + y) * z, [-2.0, 5.0, -4.0]) == pytest.approx(
        [-4.0, -4.0, 3.0], rel=1e-9
    )
    assert gradient(lambda x, y: x / (x + y), [-1.0, 2.0])[0] == pytest.approx(2.0, rel=1e-8)
    f = lambda x, y, z, w: 3 * (x * y + max(z, w))  # noqa: E731
    assert gradient(f, [3.0, -4.0, 2.0, -1.0]) == pytest.approx([-12, 9, 3, 0], abs=1e-8)


def test_default_steps_scale_with_x():
    assert default_step(1.0, "forward") == pytest.approx(1.49e-8, rel=0.01)
    assert default_step(1.0, "central") == pytest.approx(6.06e-6, rel=0.01)
    assert default_step(-1e4, "central") == pytest.approx(6.06e-2, rel=0.01)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="derivative: method must be one of"):
        derivative(math.sin, 1.0, method="symmetric")
    with pytest.raises(ValueError, match="derivative: step h must be positive, got -0.1"):
        derivative(math.sin, 1.0, h=-0.1)
    with pytest.raises(ValueError, match="derivative: x: got nan"):
        derivative(math.sin, float("nan"))
    with pytest.raises(ValueError, match=r"returned nan, not a finite number"):
        derivative(lambda x: float("nan"), 1.0)
    with pytest.raises(TypeError, match="f must return a number, got str"):
        derivative(lambda x: "one", 1.0)
    with pytest.raises(TypeError, match=r"gradient: xs\[1\]: expected a real number"):
        gradient(lambda a, b: a + b, [1.0, "2"])
    with pytest.raises(ValueError, match="log: input must be positive"):
        derivative(log, 1e-9)  # central steps across 0: the twin's own domain error


# ---- the U-curve -----------------------------------------------------------------------

SMOOTH = [
    ("exp at 1", math.exp, math.exp, 1.0),
    ("sin at 1", math.sin, math.cos, 1.0),
    ("tanh at 0.5", math.tanh, lambda x: 1 - math.tanh(x) ** 2, 0.5),
    ("lecture y in x1", lambda a: math.log(a) + 5 * a - math.sin(5), lambda a: 1 / a + 5, 2.0),
]


@pytest.mark.parametrize("name, f, df, x", SMOOTH, ids=[s[0] for s in SMOOTH])
def test_u_curve_minimum_near_cube_root_and_square_root_of_eps(name, f, df, x):
    errors = difference_error(f, df, x)
    # The order of magnitude, not the exact point: round-off makes the bottom jitter.
    assert abs(math.log10(errors.best_h("central")) - -5) <= 1
    assert abs(math.log10(errors.best_h("forward")) - -8) <= 1
    # Both arms of the U: large h is ruled by truncation, tiny h by round-off.
    assert errors.central.min() < 1e-9 < errors.central[0]
    assert errors.forward.min() < 1e-6 < errors.forward[0]
    assert errors.central[-1] > errors.central.min() * 1e3
    # Central beats forward at its best step, by orders of magnitude.
    assert errors.central.min() < errors.forward.min() / 100


def test_difference_error_shapes_and_exact_value_given_as_number():
    hs = [1e-1, 1e-3, 1e-5]
    errors = difference_error(math.exp, math.e, 1.0, hs)
    assert errors.hs.tolist() == hs and errors.exact == math.e
    assert errors.forward.shape == errors.central.shape == (3,)
    assert errors.forward[0] == pytest.approx(
        abs((math.exp(1.1) - math.e) / 0.1 - math.e), rel=1e-12
    )
    with pytest.raises(ValueError, match="difference_error: step h must be positive"):
        difference_error(math.exp, math.exp, 1.0, [1e-3, 0.0])
    with pytest.raises(ValueError, match="best_h: method must be"):
        errors.best_h("backward")


def test_plot_difference_error_returns_a_log_log_figure():
    from matplotlib.figure import Figure

    fig = plot_difference_error(math.exp, math.exp, 1.0)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    assert "forward differences" in labels and "central differences" in labels
    fig.savefig(__import__("io").BytesIO(), format="png")  # it renders

    other = Figure()
    ax = other.subplots()
    assert plot_difference_error(math.sin, math.cos, 1.0, np.logspace(-12, -1, 12), ax) is other


# ---- gradcheck -------------------------------------------------------------------------


def test_gradcheck_passes_on_the_lecture_function():
    report = gradcheck(lecture_y, [2.0, 5.0])
    assert report and report.ok
    assert [c.name for c in report.inputs] == ["x1", "x2"]  # f's parameter names
    assert report.inputs[0].engine == 5.5
    assert report.inputs[1].numeric == pytest.approx(2 - math.cos(5.0), rel=1e-9)
    assert "matches central differences for x1, x2" in report.message
    assert "∂f/∂x1" in report.table().to_text()


@pytest.mark.parametrize("case", OPS, ids=repr)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_gradcheck_passes_on_every_op(case, data):
    xs = [
        data.draw(st.floats(case.low, case.high, allow_nan=False), label=f"x{i}")
        for i in range(case.arity)
    ]
    assume(case.away_from is None or case.away_from(*xs))
    # Away from the kinks by more than the step, so the differences see one smooth piece.
    assume(case.name not in ("relu", "abs") or abs(xs[0]) > 1e-2)
    assume(case.name not in ("maximum", "minimum") or abs(xs[0] - xs[1]) > 1e-2)
    assert gradcheck(lambda *a: case.apply(scalargrad, *a), xs)


class BadMul(ops.Mul):
    """A deliberately wrong multiply: ∂out/∂y comes back as y instead of x."""

    def backward(self, g):
        return g * self.y, g * self.y


class BadSin(ops.Sin):
    """A deliberately wrong sine: the sign of cos is lost."""

    def backward(self, g):
        return (-g * math.cos(self.x),)


def node(op, *parents):
    """Build a graph node by hand with a given op (how a buggy op would enter a graph)."""
    return apply_op(op, *parents)


def test_gradcheck_names_the_input_and_the_wrong_op():
    def f(x1, x2):
        return sin(log(x1) + node(BadMul(), x1, x2)) * 2

    with pytest.raises(GradcheckError) as caught:
        gradcheck(f, [2.0, 5.0])
    message = str(caught.value)
    assert "∂f/∂x2" in message and "∂f/∂x1" not in message  # x1's slot is right
    assert "first op on the path from x2 where they disagree: BadMul (×)" in message
    assert "= x1 × x2, operands (2, 5)" in message
    assert (  # the README's example, word for word
        "BadMul (×) at v4 = x1 × x2, operands (2, 5): ∂v4/∂x2 (operand slot 1) is 5 from "
        "backward but 2 from central differences of forward"
    ) in message
    assert "is 5 from backward but 2 from central differences of forward" in message
    report = caught.value.report
    assert not report and [c.ok for c in report.inputs] == [True, False]
    culprit = report.culprits["x2"]
    assert isinstance(culprit.op, BadMul) and culprit.slot == 1 and culprit.operand == "x2"
    assert culprit.analytic == 5.0 and culprit.numeric == pytest.approx(2.0, rel=1e-9)


def test_gradcheck_finds_a_wrong_op_deep_in_the_graph_behind_good_ones():
    def f(a, b):
        u = a * b + a.exp()  # correct ops first on the path
        v = node(BadSin(), u)  # the wrong one
        return v.tanh() + b

    report = gradcheck(f, [0.3, -0.7], raise_exception=False)
    assert not report.ok
    for name in ("a", "b"):
        culprit = report.culprits[name]
        assert isinstance(culprit.op, BadSin), name
        assert culprit.formula.startswith("sin(") and culprit.slot == 0
    assert "first op on the path from a where they disagree: BadSin (sin)" in report.message


def test_gradcheck_names_the_first_of_two_wrong_ops():
    def f(x):
        first = node(BadSin(), x)
        return node(BadMul(), first, first * 3)

    report = gradcheck(f, [0.4], raise_exception=False)
    assert isinstance(report.culprits["x"].op, BadSin)


def test_gradcheck_at_a_kink_blames_the_kink():
    report = gradcheck(lambda x: x.relu() * 2, [0.0], raise_exception=False)
    assert not report.ok
    culprit = report.culprits["x"]
    assert isinstance(culprit.op, ops.ReLU) and culprit.analytic == 0.0
    assert culprit.numeric == pytest.approx(0.5)
    # A tie of max is fine: the engine splits the gradient, as central differences do.
    assert gradcheck(lambda z, w: maximum(z, w), [1.0, 1.0])


def test_gradcheck_bad_input_is_named():
    with pytest.raises(TypeError, match=r"gradcheck: inputs\[0\]: expected a real number"):
        gradcheck(lecture_y, ["2", 5.0])
    with pytest.raises(ValueError, match="gradcheck: 2 inputs but 1 names"):
        gradcheck(lecture_y, [2.0, 5.0], names=["a"])
    with pytest.raises(TypeError, match="gradcheck: f must return a Value, got float"):
        gradcheck(lambda x: 3.0, [1.0])
    with pytest.raises(ValueError, match=r"gradcheck: f cannot be evaluated at x1 ± h"):
        gradcheck(lecture_y, [1e-9, 5.0])


# ---- the one gradcheck machinery both packages share -----------------------------------


def test_scalargrad_and_vecgrad_share_one_report_and_one_culprit_search():
    import importlib

    from scalargrad import numerical

    shared = importlib.import_module("scalargrad.gradcheck")
    tensors = importlib.import_module("vecgrad.gradcheck")  # vecgrad.gradcheck is the function

    for name in ("GradcheckError", "GradcheckReport", "InputCheck", "Culprit"):
        assert getattr(numerical, name) is getattr(shared, name) is getattr(tensors, name)
    report = gradcheck(lecture_y, [2.0, 5.0])
    assert report.output_shape == () and report.value == pytest.approx(11.652, abs=1e-3)
    header = report.table().to_text().splitlines()[1]
    assert "shape" not in header and "engine (reverse mode)" in header  # numbers: no shapes


def test_numeric_vjp_falls_back_to_one_side_only_where_asked():
    from scalargrad.gradcheck import Undefined, numeric_vjp

    def log_or_refuse(x):
        if x <= 0:
            raise ValueError("log: input must be positive")
        return math.log(x)

    x, h = 1e-9, default_step(1e-9)  # x − h < 0: only the right side is defined
    one_sided = numeric_vjp(log_or_refuse, [x], 0, 1.0, default_step)
    assert float(one_sided) == (math.log(x + h) - math.log(x)) / h
    with pytest.raises(Undefined) as undefined:
        numeric_vjp(log_or_refuse, [x], 0, 1.0, default_step, one_sided=False)
    assert undefined.value.index == () and undefined.value.h == h
    # Undefined on both sides: NaN, "cannot judge"; per entry of an array.
    assert math.isnan(numeric_vjp(lambda t: 1 / 0, [1.0], 0, 1.0, default_step))
    entries = numeric_vjp(lambda a: a**2, [np.array([1.0, -3.0])], 0, np.ones(2), default_step)
    assert entries == pytest.approx([2.0, -6.0], rel=1e-9)


def test_the_report_names_the_first_culprit_among_inputs():
    def f(a, b):
        first = node(BadSin(), b)  # b's path meets the wrong op early ...
        return node(BadMul(), first, a * 2)  # ... a's path only at the end (slot 1)

    report = gradcheck(f, [0.3, 0.8], raise_exception=False)
    assert isinstance(report.culprits["a"].op, BadMul)
    assert isinstance(report.culprits["b"].op, BadSin)
    assert report.culprit is report.culprits["b"]  # the earlier of the two in topological order
    assert report.culprits["b"].position < report.culprits["a"].position


def test_parameter_names_come_from_the_signature_or_are_numbered():
    from scalargrad.gradcheck import parameter_names

    assert parameter_names(lambda w, b: w, 2) == ["w", "b"]
    assert parameter_names(lambda *xs: xs, 3) == ["x1", "x2", "x3"]
    assert parameter_names(max, 2) == ["x1", "x2"]  # a builtin without a signature


def test_numerical_and_gradcheck_load_the_display_layer_only_for_a_table():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from scalargrad.numerical import gradcheck\n"
        "import vecgrad.gradcheck\n"
        "assert not [m for m in sys.modules if m.startswith('scalargrad.display')], 'display'\n"
        "report = gradcheck(lambda a: a * a, [3.0])\n"
        "assert 'scalargrad.display' not in ' '.join(sys.modules)\n"
        "report.table()\n"
        "assert 'scalargrad.display.tables' in sys.modules\n"
    )
    from tests.conftest import REPO

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.filterwarnings("error")  # no numpy warning may leak (∞ − ∞)
def test_gradcheck_equal_infinities_agree():
    # ∂ln(x)/∂x = 1/x at x = 1e-310 is beyond the largest float: the engine gives +inf, and
    # the central difference (ln(x+h) − ln(x−h))/2h with h = 1e-320 overflows to +inf too.
    assert 1 / 1e-310 == math.inf
    assert (math.log(1e-310 + 1e-320) - math.log(1e-310 - 1e-320)) / 2e-320 == math.inf
    report = gradcheck(log, [1e-310], h=1e-320)
    assert report.ok and report.inputs[0].error == 0.0


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    "engine, numeric, ok",
    [
        (math.inf, math.inf, True),
        (-math.inf, -math.inf, True),
        (math.inf, -math.inf, False),
        (math.inf, 1e300, False),
        (1e300, math.inf, False),
        (math.nan, 1.0, False),
        (2.0, 2.0 + 1e-9, True),
    ],
)
def test_input_check_compares_infinities_without_warnings(engine, numeric, ok):
    from scalargrad.gradcheck import InputCheck

    check = InputCheck("x", engine, numeric, rtol=1e-5, atol=1e-6)
    assert check.ok is ok
    array = InputCheck("x", np.array([1.0, engine]), np.array([1.0, numeric]), 1e-5, 1e-6)
    assert array.ok is ok


def test_gradcheck_table_escapes_names_in_latex():
    latex = gradcheck(lambda a_b, x1: a_b * x1, [2.0, 3.0]).table().to_latex()
    assert r"$\partial f/\partial a\_b$ & 3 & 3" in latex
    assert r"$\partial f/\partial x_{1}$ & 2 & 2" in latex
