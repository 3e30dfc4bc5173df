"""Drawing a computational graph: DOT text, SVG/PNG files, and Jupyter display.

Each value node is a small table (its label, its value, its gradient); each op is its
own small node (``+``, ``×``, ``ln``); there is one edge per operand slot, so ``a*a``
draws two. Only the node protocol is read (``data``, ``grad``, ``parents``, ``op``,
``name``), so vecgrad's tensors draw the same way. Building the DOT text needs only the
``graphviz`` Python package; turning it into SVG or PNG needs Graphviz's ``dot`` program.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import graphviz

from .labels import Labels, format_value, is_constant, op_symbol

INSTALL_DOT = (
    "Graphviz's `dot` program is needed to render a drawing but was not found on PATH "
    "(the Python package `graphviz` alone is not enough). Install it with "
    "`sudo apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) "
    "or `conda install -c conda-forge graphviz` (conda); `to_dot(root)` needs none of them."
)
FORMATS = ("dot", "svg", "png")
REPR_MAX_NODES = 400  # Jupyter shows larger graphs as text: dot would take too long
# dot's layout time grows about as the square of a chain's length (drawn nodes, constants
# included; here: 1,000 0.55 s, 2,000 2 s, 4,000 7 s, 6,000 18 s, 20,000 beyond minutes):
# render refuses beyond this unless asked
RENDER_MAX_NODES = 2000
PENDING = "?"  # a stepper frame's adjoint that the backward pass has not reached yet

_HIGHLIGHT = "#d62728"
_VALUE_FILL, _CONSTANT_FILL, _OP_FILL, _HIGHLIGHT_FILL = "#f7f7f7", "#e8e8e8", "#dbe9f6", "#fde0dc"


class GraphvizNotFound(RuntimeError):
    """Graphviz's ``dot`` program is missing; the message says how to install it."""

    def __init__(self, message: str = INSTALL_DOT):
        super().__init__(message)


class Drawing(graphviz.Digraph):
    """A `graphviz.Digraph` whose rendering explains how to install ``dot`` if it is missing.

    Jupyter displays it inline as SVG, or as its DOT text where ``dot`` is missing.
    """

    def pipe(self, *args, **kwargs):
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFound() from None

    def render(self, *args, **kwargs):
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFound() from None

    nodes = 0  # how many nodes the drawing has (set by build_drawing)

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        if self.nodes > REPR_MAX_NODES:  # inline SVG would keep the notebook waiting on dot
            return {
                "text/plain": f"<a drawing of {self.nodes} nodes, too many to lay out inline "
                f"(more than {REPR_MAX_NODES}): render(root, path, max_nodes={self.nodes}) "
                "writes it to a file; .source is its DOT text>"
            }
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except GraphvizNotFound:
            return {"text/plain": self.source}


def draw_graph(
    root: Any,
    *,
    rankdir: str = "LR",
    show_grad: bool = True,
    show_local: bool = False,
    highlight: Any = None,
) -> Drawing:
    """Return the graph that computes ``root`` as a `graphviz.Digraph` (Jupyter shows it).

    ``rankdir`` is "LR" (left to right) or "TB" (top down); ``show_grad`` adds each
    node's gradient; ``show_local`` writes the local derivative ∂out/∂operand on each
    operand's edge; ``highlight`` outlines one node. Layout and numbering are
    deterministic: the same graph always gives the same DOT text.
    """
    return build_drawing(
        root, rankdir=rankdir, show_grad=show_grad, show_local=show_local, highlight=highlight
    )


def to_dot(root: Any, **options: Any) -> str:
    """Return the DOT text of `draw_graph` (needs no Graphviz install)."""
    return draw_graph(root, **options).source


def render(
    root: Any,
    path: str | os.PathLike | None = None,
    format: str = "svg",
    max_nodes: int = RENDER_MAX_NODES,
    **options,
):
    """Return the drawing as ``format`` ("dot", "svg" text or "png" bytes); write it to ``path``.

    Raises `GraphvizNotFound`, with install instructions, where "svg"/"png" need ``dot``,
    and a ValueError for a graph of more than ``max_nodes`` nodes, whose layout would take
    ``dot`` minutes (raise ``max_nodes`` to wait for it; "dot" text is always quick).
    """
    if format not in FORMATS:
        raise ValueError(f"render: format must be one of {', '.join(FORMATS)}, got {format!r}")
    if format != "dot" and _more_nodes_than(root, max_nodes):
        drawing = draw_graph(root, **options)
        raise ValueError(
            f"render: the graph has {drawing.nodes} nodes, more than max_nodes={max_nodes}: "
            "dot's layout grows with the square of a chain's length (2,000 nodes took 2 s "
            f"here, 4,000 7 s, 20,000 minutes); pass max_nodes={drawing.nodes} to wait for it, "
            "or take the DOT text (to_dot) or a smaller graph"
        )
    return write_drawing(draw_graph(root, **options), path, format)


def to_svg(
    root: Any,
    path: str | os.PathLike | None = None,
    max_nodes: int = RENDER_MAX_NODES,
    **options: Any,
) -> str:
    """Return the drawing as SVG text (rendered by ``dot``); also write it to ``path`` if given.

    A graph of more than ``max_nodes`` nodes is refused (see `render`)."""
    return render(root, path, "svg", max_nodes, **options)


def repr_svg(root: Any) -> str | None:
    """Return SVG for Jupyter's ``_repr_svg_``, or None (so the text repr) without ``dot``.

    Graphs of more than ``REPR_MAX_NODES`` nodes also fall back to text.
    """
    if _more_nodes_than(root, REPR_MAX_NODES):
        return None
    try:
        return to_svg(root)
    except GraphvizNotFound:
        return None


def write_drawing(drawing: graphviz.Digraph, path, format: str):
    """Return ``drawing`` as ``format`` (str for dot/svg, bytes for png); write it to ``path``."""
    if format == "dot":
        data: str | bytes = drawing.source
    else:
        try:
            data = drawing.pipe(format=format)
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFound() from None
        if format == "svg":
            data = data.decode("utf-8")
    if path is not None:
        if isinstance(data, str):
            Path(path).write_text(data, encoding="utf-8")
        else:
            Path(path).write_bytes(data)
    return data


# ---- building the DOT graph ------------------------------------------------


def build_drawing(
    root: Any,
    labels: Labels | None = None,
    *,
    rankdir: str = "LR",
    show_grad: bool = True,
    show_local: bool = False,
    highlight: Any = None,
    adjoints: Mapping[int, Any] | None = None,
    flows: Mapping[tuple[int, int], str] | None = None,
    restyled: bool = False,
    xlabels: bool = False,
) -> Drawing:
    """Return `draw_graph`'s drawing, reusing ``labels``; for the stepper's frames.

    ``adjoints`` (``id(node)`` → adjoint) replaces ``node.grad``: a node missing from it
    shows ``?``, an adjoint the backward pass has not reached yet. ``flows``
    (``(id(child), slot)`` → label) marks the edges a partial adjoint just flowed back
    along, into the highlighted node, and labels them with it.

    ``restyled=True`` is the stepper page's one layout, which its script restyles frame
    by frame (so nodes never move): every node and edge gets an ``id`` (`dot_ids`, and
    ``"n4:1"`` for the edge into slot 1 of n4's op), and each edge in ``flows`` gets an
    arrowhead at both ends and room for its label (under the local derivative, if shown),
    uncoloured. ``xlabels=True`` makes no room: the labels become ``xlabel``s that
    ``dot`` places after the layout, since in a large graph each label is one more node
    to rank and that took ``dot`` minutes.
    """
    labels = labels or Labels(root)
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"draw_graph: rankdir must be 'LR' or 'TB', got {rankdir!r}")
    graph = Drawing(
        "computational_graph",
        # xlabels take no room in the layout: space the ranks out so that they fit between.
        graph_attr={"rankdir": rankdir, "nodesep": "0.25", "ranksep": "0.8" if xlabels else "0.35"},
        node_attr={"fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "arrowsize": "0.6"},
    )
    ids = dot_ids(labels)
    for node in labels.order:
        node_id = ids[id(node)]
        element = {"id": node_id} if restyled else {}
        marked = highlight is not None and node is highlight
        if is_constant(node):
            graph.node(
                node_id,
                _escape(labels[node]),
                shape="box",
                style="filled,rounded" + (",bold" if marked else ""),
                fillcolor=_HIGHLIGHT_FILL if marked else _CONSTANT_FILL,
                color=_HIGHLIGHT if marked else "#999999",
                fontsize="10",
                **element,
            )
            continue
        graph.node(
            node_id,
            _value_label(node, labels, show_grad, adjoints, marked),
            shape="plain",
            **element,
        )
        if node.op is None:
            continue
        # The op gets its own small node; its in-edges are ordered like its operand slots.
        op_id = node_id + "_op"
        graph.node(
            op_id,
            _escape(op_symbol(node.op)),
            shape="circle" if len(op_symbol(node.op)) <= 2 else "ellipse",
            style="filled",
            fillcolor=_OP_FILL,
            margin="0.02",
            width="0.3",
            height="0.3",
            ordering="in",
            **({"id": op_id} if restyled else {}),
        )
        for slot, parent in enumerate(node.parents):
            edge = {"id": f"{node_id}:{slot}"} if restyled else {}
            if show_local and not is_constant(parent):
                local = labels.local(node, slot)
                edge["label"] = _escape(f"∂{labels[node]}/∂{labels[parent]} = {local}")
            if flows and (id(node), slot) in flows and restyled:
                flow = _escape(flows[(id(node), slot)])
                if xlabels:  # placed after the layout, where it fits: no cost to dot's ranks
                    edge.update(dir="both", xlabel=flow)
                else:  # room under the local derivative, if shown; DOT's \n is a line break
                    lines = [edge["label"], flow] if "label" in edge else [flow]
                    edge.update(dir="both", label="\\n".join(lines))
            elif flows and (id(node), slot) in flows:  # a partial adjoint came back this way
                edge.update(color=_HIGHLIGHT, fontcolor=_HIGHLIGHT, penwidth="2.2", dir="back")
                edge["label"] = _escape(flows[(id(node), slot)])
            graph.edge(ids[id(parent)], op_id, **edge)
        graph.edge(op_id, node_id, **({"id": f"{op_id}:out"} if restyled else {}))
    graph.nodes = len(labels.order)
    return graph


def dot_ids(labels: Labels) -> dict[int, str]:
    """Each node's DOT name, ``id(node)`` → ``"n4"``, numbered in ``labels.order``."""
    return {id(node): f"n{i}" for i, node in enumerate(labels.order)}


def _value_label(node: Any, labels: Labels, show_grad: bool, adjoints, marked: bool) -> str:
    """An HTML-like label: the node's title, its value and (optionally) its gradient."""
    rows = [f"<b>{_html(labels.title(node))}</b>", f"data {_html(format_value(node.data))}"]
    if show_grad:
        if adjoints is None:
            grad = format_value(node.grad)
        else:
            grad = format_value(adjoints[id(node)]) if id(node) in adjoints else PENDING
        rows.append(f'<font color="#1f4e9c">grad {_html(grad)}</font>')
    cells = "".join(f"<tr><td>{row}</td></tr>" for row in rows)
    frame = (
        f'border="3" color="{_HIGHLIGHT}" bgcolor="{_HIGHLIGHT_FILL}"'
        if marked
        else f'border="1" bgcolor="{_VALUE_FILL}"'
    )
    return f'<<table {frame} cellborder="0" cellspacing="0" cellpadding="2">{cells}</table>>'


def _html(text: str) -> str:
    """Text safe inside a Graphviz HTML-like label."""
    return html.escape(text, quote=True)


def _escape(text: str) -> str:
    """Text safe inside a quoted DOT string (the graphviz package quotes, we escape ``\\``)."""
    return text.replace("\\", "\\\\")


def _more_nodes_than(root: Any, limit: int) -> bool:
    """True when more than ``limit`` nodes are reachable (stops early: cheap on huge graphs)."""
    seen = {id(root)}
    stack = [root]  # explicit stack: graphs can be deep chains
    while stack:
        for parent in stack.pop().parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                if len(seen) > limit:
                    return True
                stack.append(parent)
    return False
