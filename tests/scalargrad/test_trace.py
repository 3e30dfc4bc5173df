"""The forward and backward traces against the lecture's tables and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scalargrad
from scalargrad import Value, backward_steps, backward_trace, forward_trace, log, maximum, sin
from scalargrad.display.labels import Labels, format_number, format_value
from scalargrad.display.tables import Table
from scalargrad.display.trace import backward_rows, forward_rows


def lecture_y():
    """y = ln x1 + x1·x2 − sin x2 at (2, 5), as the lecture writes it."""
    x1, x2 = Value(2.0, name="x1"), Value(5.0, name="x2")
    return log(x1) + x1 * x2 - sin(x2), x1, x2


def test_forward_trace_is_the_lecture_table():
    y, _, _ = lecture_y()
    assert [str(row) for row in forward_rows(y)] == [
        "v1 = x1 = 2",
        "v2 = x2 = 5",
        "v3 = ln(v1) = 0.693",
        "v4 = v1 × v2 = 10",
        "v5 = sin(v2) = −0.959",
        "v6 = v3 + v4 = 10.693",
        "v7 = v6 − v5 = 11.652",
    ]


def test_backward_steps_reproduce_the_lecture_adjoints():
    y, x1, x2 = lecture_y()
    steps = list(backward_steps(y))
    labels = Labels(y)
    assert [labels[s.node] for s in steps] == ["v7", "v6", "v5", "v4", "v3", "v2", "v1"]
    lecture = [1, 1, -1, 1, 1, 1.716, 5.5]  # v̄7 .. v̄1
    assert [s.adjoint for s in steps] == pytest.approx(lecture, abs=5e-4)
    # v̄2 = v̄5·cos(v2) + v̄4·v1 and v̄1 = v̄4·v2 + v̄3·(1/v1): two partials each.
    v2_step, v1_step = steps[5], steps[6]
    assert [labels[p.child] for p in v2_step.partials] == ["v5", "v4"]
    assert [p.value for p in v2_step.partials] == pytest.approx([-math.cos(5.0), 2.0])
    assert [labels[p.child] for p in v1_step.partials] == ["v4", "v3"]
    assert [p.value for p in v1_step.partials] == pytest.approx([5.0, 0.5])
    # The closed form: ∂y/∂x1 = 1/x1 + x2, ∂y/∂x2 = x1 − cos x2; the pass really ran.
    assert x1.grad == pytest.approx(1 / 2 + 5)
    assert x2.grad == pytest.approx(2 - math.cos(5.0))


def test_backward_trace_rows_read_like_the_lecture():
    y, _, _ = lecture_y()
    assert [str(row) for row in backward_rows(y)] == [
        "v̄7 = 1",
        "v̄6 = v̄7 = 1",
        "v̄5 = −v̄7 = −1",
        "v̄4 = v̄6 = 1",
        "v̄3 = v̄6 = 1",
        "v̄2 = v̄5·cos(v2) + v̄4·v1 = −0.284 + 2 = 1.716",
        "v̄1 = v̄4·v2 + v̄3/v1 = 5 + 0.5 = 5.5",
    ]


def test_x_over_x_plus_y_sums_two_partials_into_the_lecture_value():
    x, y = Value(-1.0, name="x"), Value(2.0, name="y")
    f = x / (x + y)
    rows = [str(row) for row in backward_rows(f)]
    assert rows == [
        "v̄4 = 1",
        "v̄3 = −v̄4·v1/v3² = 1",
        "v̄2 = v̄3 = 1",
        "v̄1 = v̄4/v3 + v̄3 = 1 + 1 = 2",
    ]
    assert x.grad == 2.0  # ∂f/∂x = y/(x+y)² = 2


def test_three_xy_plus_max_labels_the_constant_by_its_value():
    x, y, z, w = (Value(v, name=n) for v, n in zip((3.0, -4.0, 2.0, -1.0), "xyzw"))
    f = 3 * (x * y + maximum(z, w))
    assert str(forward_rows(f)[-1]) == "v8 = 3 × v7 = −30"
    assert len(forward_rows(f)) == 8  # the constant 3 is not a row
    rows = [str(row) for row in backward_rows(f)]
    assert rows[1] == "v̄7 = v̄8·3 = 3"
    assert rows[4] == "v̄4 = v̄6·[v4 > v3] = 0"
    assert [x.grad, y.grad, z.grad, w.grad] == [-12.0, 9.0, 3.0, 0.0]


def test_sum_times_lecture_values():
    x, y, z = Value(-2.0, name="x"), Value(5.0, name="y"), Value(-4.0, name="z")
    f = (x + y) * z
    assert str(forward_rows(f)[-1]) == "v5 = v4 × v3 = −12"
    backward_rows(f)
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)


def test_reused_node_gets_one_partial_per_slot():
    a = Value(3.0, name="a")
    rows = [str(row) for row in backward_rows(a * a)]
    assert rows == ["v̄2 = 1", "v̄1 = v̄2·v1 + v̄2·v1 = 3 + 3 = 6"]


def test_constant_exponent_replaces_k_and_compound_locals_get_parentheses():
    x = Value(0.5)
    f = x**3 - x.tanh()
    rows = {str(r).split(" = ")[0]: str(r) for r in backward_rows(f)}
    assert str(forward_rows(f)[1]) == "v2 = v1^3 = 0.125"
    assert rows["v̄3"] == "v̄3 = −v̄4 = −1"
    # reverse topological order: v3 = tanh(v1) sends its partial before v2 = v1^3
    assert rows["v̄1"] == "v̄1 = v̄3·(1 − tanh²(v1)) + v̄2·3·v1^(3−1) = −0.786 + 0.75 = −0.036"
    assert x.grad == pytest.approx(3 * 0.25 - (1 - math.tanh(0.5) ** 2))


def test_backward_trace_is_a_table_in_every_format():
    y, _, _ = lecture_y()
    forward, backward = forward_trace(y), backward_trace(y)
    assert isinstance(forward, Table) and isinstance(backward, Table)
    text = backward.to_text()
    assert "v̄2" in text and "= v̄5·cos(v2) + v̄4·v1" in text and "= −0.284 + 2" in text
    assert r"\bar{v}_{2}" in backward.to_latex() and "$$" not in backward.to_latex()
    assert "| v̄1 | = v̄4·v2 + v̄3/v1 | = 5 + 0.5 | = 5.5 |" in backward.to_markdown()
    assert "<td>= ln(v1)</td>" in forward.to_html()
    assert "v3" in forward.to_text() and "= 0.693" in forward.to_text()


def test_backward_trace_of_steps_already_run_does_not_run_another_pass():
    y, x1, _ = lecture_y()
    steps = list(backward_steps(y))
    assert x1.grad == 5.5
    table = backward_trace(y, steps=steps)
    assert x1.grad == 5.5  # presenting the steps did not accumulate again
    assert len(table.rows) == 7
    backward_trace(y)  # without steps it IS a backward pass: gradients accumulate
    assert x1.grad == 11.0


def test_exported_names():
    for name in ("forward_trace", "backward_trace", "backward_steps"):
        assert hasattr(scalargrad, name)


@pytest.mark.parametrize(
    "x, text",
    [
        (0.6931471805599453, "0.693"),
        (-0.28366218546322625, "−0.284"),
        (5.5, "5.5"),
        (2.0, "2"),
        (0.0, "0"),
        (-0.0, "0"),
        (11.652071, "11.652"),
        (1.25e-5, "1.25e−05"),
        (123456789.0, "1.23e+08"),
        (math.inf, "inf"),
    ],
)
def test_format_number(x, text):
    assert format_number(x) == text


def test_format_value_shows_arrays_by_shape_dtype_and_small_values():
    assert format_value(np.array([1.0, -2.0])) == "(2,) float64 [1, −2]"
    assert format_value(np.arange(6.0).reshape(2, 3)) == "(2, 3) float64 [[0, 1, 2], [3, 4, 5]]"
    assert format_value(np.zeros((64, 784), dtype=np.float32)) == "(64, 784) float32"
    assert format_value(np.float64(0.5)) == "0.5"
    assert format_value(np.array(3.0)) == "3"
    assert format_value(None) == "—"


def test_deep_chain_traces_without_recursion():
    x = Value(0.0, name="x")
    node = x
    for _ in range(100_000):
        node = node + 1.0
    rows = forward_rows(node)
    assert len(rows) == 100_001
    assert str(rows[-1]) == "v100001 = v100000 + 1 = 100000"
    steps = backward_rows(node)
    assert str(steps[-1]) == "v̄1 = v̄2 = 1"


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-3, 3), min_size=3, max_size=3),
    st.lists(
        st.sampled_from(["add", "mul", "sub", "sin", "tanh", "reuse"]), min_size=1, max_size=8
    ),
)
def test_every_adjoint_is_the_sum_of_its_partials(inputs, program):
    a, b, c = (Value(v) for v in inputs)
    node = a
    for op in program:
        node = {
            "add": lambda n: n + b,
            "mul": lambda n: n * c,
            "sub": lambda n: b - n,
            "sin": lambda n: n.sin(),
            "tanh": lambda n: n.tanh(),
            "reuse": lambda n: n * n + a,
        }[op](node)
    labels = Labels(node)
    steps = list(backward_steps(node))
    for step, row in zip(steps, backward_rows(node, steps=steps, labels=labels)):
        assert step.adjoint == pytest.approx(sum(p.value for p in step.partials))
        # the row's symbolic sum has one term per partial adjoint
        assert row.formula.count("̄") == sum(p.child is not None for p in step.partials)


class _Node:
    """A protocol-only node (no Value): what vecgrad's Tensor looks like to the traces."""

    is_constant, requires_grad = False, True

    def __init__(self, data, parents=(), op=None, name=""):
        self.data, self.grad, self.parents, self.op, self.name = data, None, parents, op, name


class _MatMul:
    symbol, formula, local = "@", "{0} @ {1}", ("ḡ·{1}ᵀ", "{0}ᵀ·ḡ")


def test_a_template_with_g_bar_places_the_adjoint_where_order_matters():
    x, w = _Node(np.ones((1, 2)), name="x"), _Node(np.ones((2, 3)), name="W")
    y = _Node(np.ones((1, 3)), (x, w), _MatMul())
    labels = Labels(y)
    assert labels.partial(y, 0) == "v̄3·v2ᵀ"
    assert labels.partial(y, 1) == "v1ᵀ·v̄3"
    assert str(forward_rows(y)[2]) == "v3 = v1 @ v2 = (1, 3) float64 [[1, 1, 1]]"


# ---- LaTeX: a user's name is escaped, the lecture's own symbols are not ------------------

LECTURE_FORWARD_LATEX = r"""\begin{tabular}{lll}
\hline
node & formula & value \\ \hline
$v_{1}$ & $= x_{1}$ & $= 2$ \\
$v_{2}$ & $= x_{2}$ & $= 5$ \\
$v_{3}$ & $= \ln (v_{1})$ & $= 0.693$ \\
$v_{4}$ & $= v_{1} \times  v_{2}$ & $= 10$ \\
$v_{5}$ & $= \sin (v_{2})$ & $= -0.959$ \\
$v_{6}$ & $= v_{3} + v_{4}$ & $= 10.693$ \\
$v_{7}$ & $= v_{6} - v_{5}$ & $= 11.652$ \\
\hline
\end{tabular}"""


def test_the_lecture_latex_keeps_its_subscripts():
    y, _, _ = lecture_y()
    assert forward_trace(y).to_latex() == LECTURE_FORWARD_LATEX


@pytest.mark.parametrize(
    "name, latex",
    [
        ("a_b_c", r"a\_b\_c"),  # not a double subscript
        ("rate_%", r"rate\_\%"),  # % would comment out the rest of the row
        ("{x}", r"\{x\}"),
        ("p$#&", r"p\$\#\&"),
        ("w^2", r"w\text{\textasciicircum}2"),
        ("a~b\\c", r"a\text{\textasciitilde}b\backslash{}c"),
    ],
)
def test_latex_escapes_special_characters_in_names(name, latex):
    x = Value(2.0, name=name)
    table = forward_trace(x * x).to_latex()
    assert f"$v_{{1}}$ & $= {latex}$ & $= 2$ \\\\" in table.splitlines()
    assert forward_trace(x * x).to_text().splitlines()[2].split()[2] == name  # text as typed


def test_latex_escapes_names_in_the_tangent_trace():
    from scalargrad.display.trace import tangent_trace

    trace = tangent_trace(lambda a: a * a, [2.0], [1.0], names=["a_b"], output_name="y_%")
    latex = trace.to_latex()
    assert r"$v_{1} = a\_b = 2$ & $\dot{v}_{1} = \dot{a}\_b = 1$ \\" in latex
    assert r"$y\_\% = v_{2} = 4$ & $\dot{y}\_\% = \dot{v}_{2} = 4$ \\" in latex
    assert trace.table().rows[0] == ["v1 = a_b = 2", "v\u03071 = a\u0307_b = 1"]  # v̇1, ȧ_b


def test_latex_plain_text_cells_escape_every_special_character():
    table = Table("", ["a^b {c}", "~"], [["50% & $5 #1 x_y \\"]], math_columns=())
    lines = table.to_latex().splitlines()
    assert lines[2] == r"a\textasciicircum{}b \{c\} & \textasciitilde{} \\ \hline"
    assert lines[3] == r"50\% \& \$5 \#1 x\_y \textbackslash{} \\"


# ---- max and min at a tie: the local derivative shown is the share the engine used ------


def test_a_tie_shows_the_half_that_max_and_min_send_each_operand():
    x, y = Value(1.0, name="x"), Value(1.0, name="y")
    rows = [str(row) for row in backward_rows(maximum(x, y))]
    assert rows == ["v̄3 = 1", "v̄2 = v̄3·½ = 0.5", "v̄1 = v̄3·½ = 0.5"]
    assert x.grad == y.grad == 0.5  # PyTorch's maximum splits a tie ḡ/2 each
    a, b = Value(3.0), Value(3.0)
    assert str(backward_rows(a.minimum(b) * 2)[-1]) == "v̄1 = v̄3·½ = 1"
    assert r"\bar{v}_{3}\cdot \tfrac{1}{2}" in backward_trace(maximum(x, y)).to_latex()


def test_without_a_tie_the_comparison_stays():
    x, y = Value(2.0), Value(1.0)
    rows = [str(row) for row in backward_rows(maximum(x, y))]
    assert rows == ["v̄3 = 1", "v̄2 = v̄3·[v2 > v1] = 0", "v̄1 = v̄3·[v1 > v2] = 1"]


def test_a_tie_in_the_tangent_trace_shows_the_mean_of_the_tangents():
    from scalargrad.display.trace import tangent_trace

    rows = tangent_trace(lambda x, y: maximum(x, y), [1.0, 1.0], [1.0, 0.0]).table().rows
    assert rows[2] == ["v3 = max(v1, v2) = 1", "v̇3 = ½·v̇1 + ½·v̇2 = 0.5"]


def test_arrays_that_tie_in_places_show_both_parts():
    import vecgrad

    x = vecgrad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = vecgrad.Tensor(np.array([1.0, 3.0]), requires_grad=True)
    rows = [str(row) for row in backward_rows(x.maximum(y).sum())]
    assert rows[-1] == "v̄1 = v̄3·([v1 > v2] + ½·[v1 = v2]) = (2,) float64 [0.5, 0]"
    np.testing.assert_array_equal(x.grad, [0.5, 0.0])
