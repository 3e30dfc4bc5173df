"""A step-through of the backward pass for notebooks and slides.

Frame 0 is the graph after the forward pass; frame k is the graph after the k-th step of
the engine's backward pass (`scalargrad.autodiff.backward_steps`), with that step's node
highlighted, the adjoints known so far filled in (the others read ``?``) and the step
written as the lecture does: ``v̄2 = v̄5·cos(v2) + v̄4·v1 = −0.284 + 2 = 1.716``.

``Stepper(root).save_html("steps.html")`` writes one self-contained HTML file (one
inline SVG and a small inline script: no network, nothing external) with previous/next
buttons, a slider and keys, which any browser opens and a presentation clicker drives.
The graph is laid out once (`Stepper.layout_svg`) and the script restyles it per frame,
so no node moves from frame to frame and the page grows with the graph, not with
graph × frames. In Jupyter a `Stepper` displays itself as the same widget.
"""

from __future__ import annotations

import hashlib
import html
import math
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from ..autodiff import BackwardStep, backward_steps
from .draw import Drawing, GraphvizNotFound, build_drawing, dot_ids, write_drawing
from .labels import Labels, format_value, is_constant
from .trace import TraceRow, backward_row, forward_rows

MAX_FRAMES = 300  # beyond this many steps a stepper is too long to follow
# Up to this many steps the layout makes room for every flow label; beyond, dot would take
# minutes (each label is a node to rank), so it places them in what room there is instead.
ROOMY_LAYOUT_STEPS = 100


class Frame(NamedTuple):
    """One picture of the step-through: a title, the step's equation, and the drawing."""

    title: str  # "Step 2 of 7: v̄6"
    equation: str  # "v̄6 = v̄7 = 1" ("" for the forward frame)
    drawing: Drawing  # the graph, current node highlighted, adjoints so far


class Stepper:
    """The backward pass of ``root`` frame by frame (frame 0: after the forward pass).

    Building a Stepper runs the engine's backward pass once (the same steps as
    ``root.backward()``), so the adjoints are added into each node's ``grad``; pass
    ``steps`` (a list from `backward_steps`) to show a pass that has already run.
    ``rankdir`` and ``show_local`` are `draw_graph`'s options.
    """

    def __init__(
        self,
        root: Any,
        *,
        seed: Any = 1.0,
        steps: Iterable[BackwardStep] | None = None,
        rankdir: str = "LR",
        show_local: bool = False,
        max_frames: int = MAX_FRAMES,
    ):
        self.root = root
        self.labels = Labels(root)
        nodes = sum(not is_constant(node) for node in self.labels.order)  # one step each
        if nodes + 1 > max_frames:
            raise ValueError(
                f"Stepper: the graph has {nodes} nodes to step through, more than "
                f"max_frames={max_frames} frames can show readably; take its DOT text (to_dot) or "
                "its traces, or pass a larger max_frames"
            )
        self.steps = list(backward_steps(root, seed) if steps is None else steps)
        self.rows: list[TraceRow] = [backward_row(step, self.labels) for step in self.steps]
        self.forward_rows: list[TraceRow] = forward_rows(root, self.labels)
        self.rankdir, self.show_local = rankdir, show_local
        self._svg: dict[int, str] = {}
        self._layout: str | None = None

    def __len__(self) -> int:
        """The number of frames: one per backward step, plus the forward frame."""
        return len(self.steps) + 1

    def __getitem__(self, index: int) -> Frame:
        """Return frame ``index`` (0: the forward pass; k: after backward step k)."""
        index = self._index(index)
        done = self.steps[:index]
        drawing = build_drawing(
            self.root,
            self.labels,
            rankdir=self.rankdir,
            show_local=self.show_local,
            highlight=done[-1].node if done else None,
            adjoints={id(step.node): step.adjoint for step in done},
            # The edges the current node's partial adjoints flowed back along, with their terms.
            flows=_flows(done[-1:], self.labels),
        )
        return Frame(*self._caption(index), drawing)

    def frame_svg(self, index: int) -> str:
        """Return frame ``index`` on its own as SVG text (one ``dot`` run per frame, cached).

        Each frame is laid out anew; the HTML page lays the graph out once instead.
        """
        index = self._index(index)
        if index not in self._svg:
            self._svg[index] = write_drawing(self[index].drawing, None, "svg")
        return self._svg[index]

    def layout_svg(self) -> str:
        """Return the page's one drawing: the graph laid out once, marked up for restyling.

        It holds the last frame's numbers and room for every edge's flow label; each node
        and edge carries the frame it changes in (``data-step``, ``data-flow``), so the
        page's script restyles it frame by frame and nothing ever moves. One ``dot`` run,
        cached.
        """
        if self._layout is None:
            drawing = build_drawing(
                self.root,
                self.labels,
                rankdir=self.rankdir,
                show_local=self.show_local,
                adjoints={id(step.node): step.adjoint for step in self.steps},
                flows=_flows(self.steps, self.labels),
                restyled=True,
                xlabels=len(self.steps) > ROOMY_LAYOUT_STEPS,
            )
            self._layout = _restylable(write_drawing(drawing, None, "svg"), self)
        return self._layout

    def to_html(self, full_page: bool = True) -> str:
        """Return the stepper as HTML: a whole page, or (``full_page=False``) a fragment.

        Everything is inline (one SVG, style, script); raises `GraphvizNotFound` with
        install instructions where ``dot`` is missing. A whole page takes the keys from
        the moment it loads (arrows, PageUp/PageDown as a presentation clicker sends them,
        space and shift+space, Home/End); a fragment in a notebook takes them once
        clicked, and keeps them from the notebook's own shortcuts.
        """
        svg = self.layout_svg()
        uid = "sg-" + hashlib.sha1(svg.encode()).hexdigest()[:10]
        last = len(self) - 1
        parts = [f"<style>{_CSS.replace('#UID', '#' + uid)}</style>"]
        parts.append(f'<div class="sg-stepper" id="{uid}" tabindex="0" data-frame="0">')
        parts.append(
            '<div class="sg-head"><div class="sg-controls">'
            '<button type="button" class="sg-prev" aria-label="previous step">'
            "&#9664;&#xFE0E; Previous</button>"
            '<button type="button" class="sg-next" aria-label="next step">'
            "Next &#9654;&#xFE0E;</button>"
            f'<input type="range" class="sg-slider" min="0" max="{last}" value="0" step="1" '
            'aria-label="backward step">'
            f'<span class="sg-counter">0 / {last}</span></div>'
        )
        parts.append('<div class="sg-captions" aria-live="polite">')
        for i in range(len(self)):
            title, equation = self._caption(i)
            hidden = "" if i == 0 else " hidden"
            parts.append(
                f'<div class="sg-frame" data-index="{i}"{hidden}>'
                f'<h3 class="sg-title">{_h(title)}</h3>'
                f'<p class="sg-equation">{_h(equation) or "&nbsp;"}</p></div>'
            )
        parts.append("</div></div>")
        fit = " sg-fit" if _svg_width(svg) <= _FIT_WIDTH else ""
        parts.append(f'<div class="sg-graph{fit}">{svg}</div>')
        parts.append(_trace_tables(self.forward_rows, self.rows))
        parts.append("</div>")
        script = _SCRIPT.replace("UID", uid).replace("WHOLE_PAGE", "true" if full_page else "false")
        parts.append(f"<script>{script}</script>")
        fragment = "\n".join(parts)
        if not full_page:
            return fragment
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_h(_page_title(self))}</title><style>{_PAGE_CSS}</style></head>\n"
            f"<body>\n{fragment}\n</body></html>\n"
        )

    def _index(self, index: int) -> int:
        if not -len(self) <= index < len(self):
            raise IndexError(f"Stepper: frame {index} out of range 0..{len(self) - 1}")
        return index % len(self)

    def _caption(self, index: int) -> tuple[str, str]:
        """Frame ``index``'s title and equation ("" for the forward frame)."""
        if index == 0:
            return "Forward pass: every value computed, no adjoint yet", ""
        row = self.rows[index - 1]
        return f"Step {index} of {len(self.steps)}: {row.symbol}", str(row)

    def save_html(self, path: str | os.PathLike) -> Path:
        """Write the stepper as one self-contained HTML file; return its path.

        The page is built completely before anything is written, so a failure (e.g.
        `GraphvizNotFound`) leaves no partial file.
        """
        text = self.to_html(full_page=True)
        path = Path(path)
        path.write_text(text, encoding="utf-8")
        return path

    def _repr_html_(self) -> str | None:
        """Jupyter shows the stepper widget; None (so the text repr) without ``dot``."""
        try:
            return self.to_html(full_page=False)
        except GraphvizNotFound:
            return None

    def __repr__(self) -> str:
        lines = [f"Stepper: {len(self.steps)} backward steps"]
        lines += [f"  {row}" for row in self.rows]
        return "\n".join(lines)


def _page_title(stepper: Stepper) -> str:
    root = stepper.root
    name = root.name or stepper.labels[root]
    return f"Backward pass of {name}, step by step"


def _trace_tables(forward: list[TraceRow], backward: list[TraceRow]) -> str:
    """The two traces; backward rows are revealed as the frames reach them."""
    forward_html = "".join(f"<li>{_h(str(row))}</li>" for row in forward)
    backward_html = "".join(
        f'<li class="sg-row" data-step="{k + 1}">{_h(str(row))}</li>'
        for k, row in enumerate(backward)
    )
    return (
        '<div class="sg-traces">'
        f'<div><h4>Forward trace</h4><ol class="sg-forward">{forward_html}</ol></div>'
        f'<div><h4>Backward trace</h4><ol class="sg-backward">{backward_html}</ol></div>'
        "</div>"
    )


def _flows(steps: Iterable[BackwardStep], labels: Labels) -> dict[tuple[int, int], str]:
    """``(id(child), slot)`` → "v̄4·v1 = 2" for each partial adjoint the steps sent back."""
    return {
        (id(p.child), p.slot): f"{labels.partial(p.child, p.slot)} = {format_value(p.value)}"
        for step in steps
        for p in step.partials
        if p.child is not None
    }


_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)  # <?xml …?>, <!DOCTYPE … dtd">, comments
_SVG_NS = "{http://www.w3.org/2000/svg}"
_SCALE = 1.4  # the drawing's size on the page, relative to dot's points: readable on a slide
_FIT_WIDTH = 2400  # points: a drawing up to this wide shrinks to the page; a wider one scrolls


def _restylable(svg: str, stepper: Stepper) -> str:
    """The layout SVG marked up for the page's script, fit to sit inline in HTML.

    Each value node that has a backward step gets ``data-step`` (the frame that computes
    its adjoint), its adjoint's text in ``data-grad``, and classes for its background,
    border and grad line; each edge a partial adjoint flows back along gets ``data-flow``
    (its frame) and classes for its flow label and its two arrowheads. Ids, titles
    (tooltips), comments and namespaces go: HTML needs none, and ids could clash.
    """
    tree = ET.fromstring(_PROLOG.sub("", svg, count=1))
    for element in tree.iter():
        element.tag = element.tag.removeprefix(_SVG_NS)
    for parent in [e for e in tree.iter() if e.find("title") is not None]:  # not while iterating
        for title in parent.findall("title"):
            parent.remove(title)
    ids = dot_ids(stepper.labels)
    step_of = {ids[id(step.node)]: (k, step) for k, step in enumerate(stepper.steps, start=1)}
    flow_of = {  # edge id -> (its frame, the partial adjoint that flows along it)
        f"{ids[id(p.child)]}:{p.slot}": (
            k,
            f"{stepper.labels.partial(p.child, p.slot)} = {format_value(p.value)}",
        )
        for k, step in enumerate(stepper.steps, start=1)
        for p in step.partials
        if p.child is not None
    }
    for group in tree.iter("g"):
        name = group.attrib.pop("id", "")
        if group.get("class") == "node" and name in step_of:
            _mark_node(group, *step_of[name])
        elif group.get("class") == "edge" and name in flow_of:
            _mark_edge(group, *flow_of[name])
    width, height = _points(tree.get("width")), _points(tree.get("height"))
    tree.set("width", f"{width * _SCALE:.0f}pt")
    tree.set("height", f"{height * _SCALE:.0f}pt")
    tree.set("role", "img")
    return ET.tostring(tree, encoding="unicode")


def _mark_node(group: ET.Element, frame: int, step: BackwardStep) -> None:
    group.set("class", "node sg-node")
    group.set("data-step", str(frame))
    polygons = group.findall("polygon")
    background = next((p for p in polygons if p.get("fill") not in (None, "none")), None)
    for polygon in polygons:
        polygon.set("class", "sg-bg" if polygon is background else "sg-border")
    for text in group.findall("text"):
        if (text.text or "").startswith("grad ") and background is not None:
            # "grad ?" is shorter than the adjoint dot measured: centre it in the box.
            xs = [float(point.split(",")[0]) for point in background.get("points").split()]
            text.set("x", f"{(min(xs) + max(xs)) / 2:.2f}")
            text.set("text-anchor", "middle")
            text.set("class", "sg-grad")
            text.set("data-grad", text.text)


def _mark_edge(group: ET.Element, frame: int, flow: str) -> None:
    group.set("class", "edge sg-edge")
    group.set("data-flow", str(frame))
    path = group.find("path")
    if path is None:
        return
    numbers = _numbers(path.get("d"))
    points = list(zip(numbers[0::2], numbers[1::2]))  # M p0 C p1 p2 p3 [p4 p5 p6 …]
    start, end = points[0], points[-1]
    for polygon in group.findall("polygon"):  # dir=both: one arrowhead at each end
        xy = _numbers(polygon.get("points"))
        corners = list(zip(xy[0::2], xy[1::2]))
        centre = (
            sum(x for x, _ in corners) / len(corners),
            sum(y for _, y in corners) / len(corners),
        )
        side = "tail" if math.dist(centre, start) < math.dist(centre, end) else "head"
        polygon.set("class", f"sg-{side}")
        # dot stops the line short of the node to make room for the arrowhead; while the
        # arrowhead is hidden, a stub from the line's end to its tip closes the gap.
        near = start if side == "tail" else end
        tip = max(corners, key=lambda corner: math.dist(corner, near))
        stub = ET.Element("path", {"class": f"sg-{side}-stub", "fill": "none", "stroke": "black"})
        stub.set("d", f"M{near[0]:.2f},{near[1]:.2f}L{tip[0]:.2f},{tip[1]:.2f}")
        group.insert(list(group).index(path) + 1, stub)
    placed = [text for text in group.findall("text") if text.text == flow]  # dot put it here
    if placed:
        placed[-1].set("class", "sg-flow-label")
        return
    # dot leaves out an xlabel it finds no room for: put it over the middle of the edge.
    x, y = _midpoint(points)
    label = ET.SubElement(group, "text", {"class": "sg-flow-label", "text-anchor": "middle"})
    label.set("x", f"{x:.2f}")
    label.set("y", f"{y - 4:.2f}")  # just above the line
    label.set("font-family", "Helvetica,sans-Serif")
    label.set("font-size", "9.00")
    label.text = flow


def _midpoint(points: list[tuple[float, float]]) -> tuple[float, float]:
    """The middle of a dot spline (a start point, then cubic Bézier segments of three)."""
    segments = [points[i : i + 4] for i in range(0, len(points) - 3, 3)]
    if not segments:
        return points[len(points) // 2]
    if len(segments) % 2 == 0:
        return segments[len(segments) // 2][0]  # the joint between the two middle segments
    p0, p1, p2, p3 = segments[len(segments) // 2]
    return (  # B(½) = (p0 + 3·p1 + 3·p2 + p3) / 8
        (p0[0] + 3 * p1[0] + 3 * p2[0] + p3[0]) / 8,
        (p0[1] + 3 * p1[1] + 3 * p2[1] + p3[1]) / 8,
    )


def _numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text or "")]


def _points(length: str | None) -> float:
    """``"785pt"`` as 785.0 (dot writes its sizes in points)."""
    return float(re.sub(r"[a-z]+$", "", length or "0") or 0)


def _svg_width(svg: str) -> float:
    found = re.search(r'<svg\b[^>]*\swidth="([0-9.]+)pt"', svg)
    return float(found.group(1)) if found else 0.0


def _h(text: str) -> str:
    return html.escape(text, quote=True)


_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
_MATH_FONT = '"STIX Two Math", "Cambria Math", "Latin Modern Math", "DejaVu Serif", Georgia, serif'

_PAGE_CSS = f"""
html {{ background: #f6f7fb; }}
body {{ margin: 0; padding: 1.2rem 2.2rem 2rem; font: 18px/1.45 {_FONT}; color: #1d2433; }}
"""

_CSS = f"""
#UID {{ font-family: {_FONT}; color: #1d2433; max-width: 100%; outline: none; }}
#UID .sg-head {{ position: sticky; top: 0; z-index: 1; padding: .4em 0 .6em;
  background: #f6f7fb; }}
#UID .sg-controls {{ display: flex; flex-wrap: wrap; gap: .6em; align-items: center;
  margin-bottom: .6em; }}
#UID .sg-controls button {{ font: 600 1rem/1.2 {_FONT}; padding: .5em 1.15em;
  border-radius: .55em; border: 1px solid #1f4e9c; background: #1f4e9c; color: #fff;
  cursor: pointer; box-shadow: 0 1px 3px rgba(20, 30, 60, .18); }}
#UID .sg-controls .sg-prev {{ background: #fff; color: #1f4e9c; }}
#UID .sg-controls button:hover:not(:disabled) {{ filter: brightness(1.12); }}
#UID .sg-controls .sg-prev:hover:not(:disabled) {{ background: #eaf0fa; filter: none; }}
#UID .sg-controls button:disabled {{ background: #e7e9ef; border-color: #d5d9e2;
  color: #98a0b2; box-shadow: none; cursor: default; }}
#UID .sg-controls button:focus-visible, #UID .sg-slider:focus-visible {{
  outline: 3px solid #f0a830; outline-offset: 2px; }}
#UID .sg-slider {{ flex: 1; min-width: 8em; max-width: 32em; accent-color: #1f4e9c; }}
#UID .sg-counter {{ font-variant-numeric: tabular-nums; font-size: 1.05rem; color: #4a5468;
  min-width: 4.5em; }}
#UID .sg-frame[hidden] {{ display: none; }}
#UID .sg-title {{ margin: 0; font-size: 1.45rem; font-weight: 650; }}
#UID .sg-equation {{ margin: .2em 0 0; min-height: 1.3em; font: 1.75rem/1.3 {_MATH_FONT};
  color: #8c1c13; }}
#UID .sg-graph {{ overflow: auto; max-height: 74vh; padding: .6em; background: #fff;
  border: 1px solid #e0e4ec; border-radius: .7em; box-shadow: 0 1px 4px rgba(20, 30, 60, .08); }}
#UID .sg-graph svg {{ display: block; margin: 0 auto; }}
#UID .sg-fit svg {{ max-width: 100%; height: auto; max-height: 70vh; }}
#UID .sg-node.sg-current .sg-bg {{ fill: #fde0dc; }}
#UID .sg-node.sg-current .sg-border {{ stroke: #d62728; stroke-width: 3; }}
#UID .sg-node.sg-pending .sg-grad {{ fill: #a0a8b8; }}
#UID .sg-edge .sg-flow-label, #UID .sg-edge .sg-tail, #UID .sg-edge .sg-head-stub {{
  visibility: hidden; }}
#UID .sg-edge.sg-flowing path {{ stroke: #d62728; stroke-width: 2.4; }}
#UID .sg-edge.sg-flowing .sg-tail {{ visibility: visible; fill: #d62728; stroke: #d62728; }}
#UID .sg-edge.sg-flowing .sg-head-stub {{ visibility: visible; }}
#UID .sg-edge.sg-flowing .sg-head, #UID .sg-edge.sg-flowing .sg-tail-stub {{
  visibility: hidden; }}
#UID .sg-edge.sg-flowing .sg-flow-label {{ visibility: visible; fill: #d62728;
  font-weight: bold; paint-order: stroke; stroke: #fff; stroke-width: 3px;
  stroke-linejoin: round; }}
#UID .sg-traces {{ display: flex; flex-wrap: wrap; gap: .5em 3em; margin-top: 1em;
  font: 1.05rem/1.5 {_MATH_FONT}; }}
#UID .sg-traces h4 {{ margin: .2em 0; font: 600 .85rem {_FONT}; letter-spacing: .06em;
  text-transform: uppercase; color: #4a5468; }}
#UID .sg-traces ol {{ list-style: none; padding-left: 0; margin: .2em 0; }}
#UID .sg-row.sg-future {{ visibility: hidden; }}
#UID .sg-row.sg-current {{ color: #d62728; font-weight: bold; }}
"""

# Plain DOM calls only: runs in any current browser and in Jupyter's output cells.
_SCRIPT = """
(function () {
  var root = document.getElementById("UID");
  if (!root) { return; }
  var wholePage = WHOLE_PAGE;  // a page of its own takes the keys; a notebook cell, once clicked
  var frames = root.querySelectorAll(".sg-frame");
  var rows = root.querySelectorAll(".sg-row");
  var nodes = root.querySelectorAll(".sg-node");
  var edges = root.querySelectorAll(".sg-edge");
  var graph = root.querySelector(".sg-graph");
  var slider = root.querySelector(".sg-slider");
  var counter = root.querySelector(".sg-counter");
  var prev = root.querySelector(".sg-prev");
  var next = root.querySelector(".sg-next");
  var last = frames.length - 1;
  var current = 0;
  function frameOf(element, name) { return parseInt(element.getAttribute(name), 10); }
  function show(index) {
    current = Math.max(0, Math.min(last, index));
    var i, here = null;
    for (i = 0; i < frames.length; i++) { frames[i].hidden = (i !== current); }
    for (i = 0; i < rows.length; i++) {
      rows[i].classList.toggle("sg-future", i + 1 > current);
      rows[i].classList.toggle("sg-current", i + 1 === current);
    }
    for (i = 0; i < nodes.length; i++) {  // restyle, never re-lay-out: nothing moves
      var step = frameOf(nodes[i], "data-step");
      var grad = nodes[i].querySelector(".sg-grad");
      if (grad) { grad.textContent = step <= current ? grad.getAttribute("data-grad") : "grad ?"; }
      nodes[i].classList.toggle("sg-pending", step > current);
      nodes[i].classList.toggle("sg-current", step === current);
      if (step === current) { here = nodes[i]; }
    }
    for (i = 0; i < edges.length; i++) {
      edges[i].classList.toggle("sg-flowing", frameOf(edges[i], "data-flow") === current);
    }
    slider.value = String(current);
    counter.textContent = current + " / " + last;
    prev.disabled = (current === 0);
    next.disabled = (current === last);
    // A button that becomes disabled drops the focus; keep it in the stepper (keys work on).
    if (document.activeElement && document.activeElement.disabled) { root.focus(); }
    root.setAttribute("data-frame", String(current));
    if (here) { reveal(here); }
  }
  function reveal(element) {  // scroll a large drawing so that the current node shows
    var box = element.getBoundingClientRect(), view = graph.getBoundingClientRect();
    if (box.left < view.left || box.right > view.right) {
      graph.scrollLeft += (box.left + box.right - view.left - view.right) / 2;
    }
    if (box.top < view.top || box.bottom > view.bottom) {
      graph.scrollTop += (box.top + box.bottom - view.top - view.bottom) / 2;
    }
  }
  var FORWARD = {ArrowRight: 1, ArrowDown: 1, PageDown: 1, Right: 1, Down: 1};
  var BACK = {ArrowLeft: 1, ArrowUp: 1, PageUp: 1, Left: 1, Up: 1};
  function onKey(event) {  // arrows, a presentation clicker's PageUp/PageDown, space
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var key = event.key, to = null;
    if (key === " " || key === "Spacebar") { to = event.shiftKey ? current - 1 : current + 1; }
    else if (FORWARD[key]) { to = current + 1; }
    else if (BACK[key]) { to = current - 1; }
    else if (key === "Home") { to = 0; }
    else if (key === "End") { to = last; }
    if (to === null) { return; }
    event.preventDefault();  // one step per key: no scrolling, no button press, no slider move
    if (!wholePage) { event.stopPropagation(); }  // not the notebook's own shortcuts
    show(to);
  }
  (wholePage ? document : root).addEventListener("keydown", onKey);
  prev.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
  show(0);
  if (wholePage) { root.focus({preventScroll: true}); }
})();
"""
