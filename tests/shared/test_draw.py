"""Drawing: DOT text of the lecture graphs, options, SVG/PNG with the real ``dot``."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import scalargrad
from scalargrad import GraphvizNotFound, Value, draw_graph, log, maximum, sin, to_dot, to_svg
from scalargrad.display.draw import render, repr_svg

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz's `dot` is not installed (apt-get install graphviz); CI installs it",
)


def lecture_graphs():
    """The three lecture graphs after a backward pass: (root, {name: (value, grad)})."""
    x1, x2 = Value(2.0, name="x1"), Value(5.0, name="x2")
    y = log(x1) + x1 * x2 - sin(x2)
    x, yy = Value(-1.0, name="x"), Value(2.0, name="y")
    f2 = x / (x + yy)
    a, b, c, d = (Value(v, name=n) for v, n in zip((3.0, -4.0, 2.0, -1.0), "xyzw"))
    f3 = 3 * (a * b + maximum(c, d))
    for root in (y, f2, f3):
        root.backward()
    return [
        (
            y,
            {
                "x1 = v1": ("2", "5.5"),
                "x2 = v2": ("5", "1.716"),
                "v3": ("0.693", "1"),
                "v4": ("10", "1"),
                "v5": ("−0.959", "−1"),
                "v6": ("10.693", "1"),
                "v7": ("11.652", "1"),
            },
        ),
        (
            f2,
            {"x = v1": ("−1", "2"), "y = v2": ("2", "1"), "v3": ("1", "1"), "v4": ("−1", "1")},
        ),
        (
            f3,
            {
                "x = v1": ("3", "−12"),
                "y = v2": ("−4", "9"),
                "z = v3": ("2", "3"),
                "w = v4": ("−1", "0"),
                "v5": ("−12", "3"),
                "v6": ("2", "3"),
                "v7": ("−10", "3"),
                "v8": ("−30", "1"),
            },
        ),
    ]


def value_labels(dot: str) -> dict[str, tuple[str, str]]:
    """{title: (data, grad)} read back from the DOT text's value-node labels."""
    found = {}
    pattern = r"<b>(.*?)</b>.*?data (.*?)</td>.*?grad (.*?)</font>"
    for title, data, grad in re.findall(pattern, dot):
        found[title] = (data, grad)
    return found


@pytest.mark.parametrize("case", range(3), ids=["ln_x1_x1x2_sin_x2", "x_over_x_plus_y", "3xy_max"])
def test_dot_of_lecture_graphs_has_every_node_with_value_and_gradient(case):
    root, expected = lecture_graphs()[case]
    dot = to_dot(root)
    assert value_labels(dot) == expected


def test_lecture_graph_structure_one_op_node_per_op_and_one_edge_per_slot():
    root, _ = lecture_graphs()[0]
    dot = to_dot(root)
    op_nodes = re.findall(r"^\s*(n\d+_op) \[label=\"?([^\" ]+)\"?", dot, re.M)
    assert [symbol for _, symbol in op_nodes] == ["ln", "×", "sin", "+", "−"]
    edges = re.findall(r"^\s*(n\d+(?:_op)?) -> (n\d+(?:_op)?)", dot, re.M)
    assert len(edges) == 8 + 5  # 8 operand slots, and each op feeds its output node
    assert ("n0", "n3_op") in edges and ("n1", "n3_op") in edges  # × takes x1 and x2


def test_constant_is_a_node_labelled_by_its_value():
    root, _ = lecture_graphs()[2]
    dot = to_dot(root)
    assert re.search(r"label=3 .*shape=box", dot)
    assert "v9" not in dot  # the constant is not numbered


def test_a_times_a_draws_two_edges():
    a = Value(3.0, name="a")
    dot = to_dot(a * a)
    assert dot.count("n0 -> n1_op") == 2


def test_unnamed_nodes_are_numbered_like_the_lecture():
    x1, x2 = Value(2.0), Value(5.0)
    y = log(x1) + x1 * x2 - sin(x2)
    titles = list(value_labels(to_dot(y)))
    assert titles == [f"v{i}" for i in range(1, 8)]


def test_drawing_is_deterministic():
    first = to_dot(lecture_graphs()[0][0], show_local=True)
    second = to_dot(lecture_graphs()[0][0], show_local=True)
    assert first == second


def test_options_rankdir_grad_local_highlight():
    root, _ = lecture_graphs()[0]
    assert "rankdir=LR" in to_dot(root)
    assert "rankdir=TB" in to_dot(root, rankdir="TB")
    assert "grad" not in to_dot(root, show_grad=False)
    local = to_dot(root, show_local=True)
    assert 'label="∂v5/∂v2 = cos(v2)"' in local
    assert 'label="∂v3/∂v1 = 1/v1"' in local
    x2 = root.parents[0].parents[1].parents[1]  # (v6 − v5) → v6 = v3 + v4 → v4 = x1·x2
    assert x2.name == "x2"
    marked = to_dot(root, highlight=x2)
    assert marked.count('border="3"') == 1
    assert re.search(r'border="3"[^>]*><tr><td><b>x2 = v2</b>', marked)
    with pytest.raises(ValueError, match="rankdir must be 'LR' or 'TB', got 'XY'"):
        to_dot(root, rankdir="XY")


def test_draw_graph_is_a_graphviz_digraph():
    import graphviz

    root, _ = lecture_graphs()[1]  # f = x / (x + y)
    graph = draw_graph(root)
    assert isinstance(graph, graphviz.Digraph)
    assert graph.graph_attr["rankdir"] == "LR"
    # Read the graph back from the Digraph's own statements: one value node per Value, one
    # op node per op, and an edge per operand slot (x feeds both + and /).
    ops = dict(re.findall(r"^\t(n\d+)_op \[label=\"(.)\"", graph.source, re.M))
    assert ops == {"n2": "+", "n3": "/"}
    titles = dict(re.findall(r"^\t(n\d+) \[label=<<table.*?<b>(.*?)</b>", graph.source, re.M))
    assert titles == {"n0": "x = v1", "n1": "y = v2", "n2": "v3", "n3": "v4"}
    edges = re.findall(r"^\t(\w+) -> (\w+)$", graph.source, re.M)
    assert edges == [
        ("n0", "n2_op"),
        ("n1", "n2_op"),
        ("n2_op", "n2"),
        ("n0", "n3_op"),
        ("n2", "n3_op"),
        ("n3_op", "n3"),
    ]


def test_labels_are_escaped_for_graphviz():
    x = Value(1.0, name='<b>&"x"')
    dot = to_dot(x * 2)
    assert "<b>&lt;b&gt;&amp;&quot;x&quot; = v1</b>" in dot


class ArrayNode:
    """A node that follows the protocol with numpy arrays, as vecgrad's Tensor will."""

    is_constant = False
    requires_grad = True

    def __init__(self, data, parents=(), op=None, name=""):
        self.data, self.grad, self.parents, self.op, self.name = data, None, parents, op, name


class MatMulOp:
    symbol, formula, local = "@", "{0} @ {1}", ("ḡ·{1}ᵀ", "{0}ᵀ·ḡ")


def test_protocol_nodes_with_arrays_draw_with_shape_dtype_and_no_grad():
    x = ArrayNode(np.ones((2, 3)), name="x")
    w = ArrayNode(np.zeros((3, 500), dtype=np.float32), name="W")
    y = ArrayNode(np.ones((2, 500)), (x, w), MatMulOp())
    dot = to_dot(y)
    assert "data (2, 3) float64 [[1, 1, 1], [1, 1, 1]]" in dot
    assert "data (3, 500) float32</td>" in dot
    assert "grad —" in dot  # a tensor's grad is None before any backward pass
    assert 'n2_op [label="@"' in dot or "n2_op [label=@" in dot
    assert scalargrad.forward_trace(y).rows[-1][1] == "= v1 @ v2"


def test_missing_dot_says_how_to_install_it(monkeypatch, tmp_path):
    root, _ = lecture_graphs()[0]
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no `dot` on it
    for call in (
        lambda: to_svg(root),
        lambda: render(root, tmp_path / "g.png", "png"),
        lambda: draw_graph(root).render(tmp_path / "g", format="svg"),
        lambda: draw_graph(root).pipe(format="svg"),
    ):
        with pytest.raises(GraphvizNotFound) as error:
            call()
        message = str(error.value)
        assert "apt-get install graphviz" in message
        assert "brew install graphviz" in message
        assert "conda install -c conda-forge graphviz" in message
    assert not (tmp_path / "g.png").exists()
    dot = to_dot(root)  # DOT text needs no Graphviz install
    assert dot.startswith("digraph computational_graph {") and "n0 -> n2_op" in dot
    assert repr_svg(root) is None  # Jupyter then falls back to the text repr
    assert root._repr_svg_() is None
    assert draw_graph(root)._repr_mimebundle_() == {"text/plain": to_dot(root)}


@needs_dot
def test_svg_with_real_dot(tmp_path):
    root, expected = lecture_graphs()[0]
    path = tmp_path / "graph.svg"
    svg = to_svg(root, path)
    assert path.read_text(encoding="utf-8") == svg
    tree = ET.fromstring(svg.encode("utf-8"))
    assert tree.tag.endswith("svg")
    texts = [t.text for t in tree.iter() if t.tag.endswith("text") and t.text]
    for title, (data, grad) in expected.items():
        assert title in texts and f"data {data}" in texts and f"grad {grad}" in texts
    assert root._repr_svg_().startswith("<?xml")


@needs_dot
def test_png_and_dot_formats(tmp_path):
    root, _ = lecture_graphs()[1]
    png = render(root, tmp_path / "g.png", "png")
    assert png.startswith(b"\x89PNG") and (tmp_path / "g.png").read_bytes() == png
    dot = render(root, tmp_path / "g.dot", "dot")
    assert dot == to_dot(root) == (tmp_path / "g.dot").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="format must be one of dot, svg, png, got 'pdf'"):
        render(root, tmp_path / "g.pdf", "pdf")


def test_large_graph_shows_as_text_in_jupyter_and_deep_chain_draws_to_dot():
    node = Value(0.0, name="x")
    for _ in range(20_000):
        node = node * 1.0
    assert repr_svg(node) is None  # too large to lay out interactively
    dot = to_dot(node)  # iterative walk: no RecursionError on a deep chain
    assert "v20001" in dot


def test_a_graph_too_large_to_lay_out_is_refused_not_left_to_dot_for_minutes():
    """A 10,000-op chain is 20,001 drawn nodes: dot's layout took minutes. render and
    to_svg refuse beyond max_nodes, saying how to insist; DOT text and Jupyter's text stay."""
    from scalargrad.display.draw import RENDER_MAX_NODES

    x = Value(1.0, name="x")
    y = x
    for i in range(RENDER_MAX_NODES):
        y = y * 1.0001 if i % 2 else y + 0.5
    nodes = draw_graph(y).nodes
    assert nodes == 2 * RENDER_MAX_NODES + 1  # each op and its constant
    for call in (lambda: to_svg(y), lambda: render(y, format="png")):
        refusal = f"has {nodes} nodes, more than max_nodes={RENDER_MAX_NODES}"
        with pytest.raises(ValueError, match=refusal):
            call()
    assert render(y, format="dot").startswith("digraph")  # text is quick
    shown = draw_graph(y)._repr_mimebundle_()
    assert list(shown) == ["text/plain"] and f"max_nodes={nodes}" in shown["text/plain"]
