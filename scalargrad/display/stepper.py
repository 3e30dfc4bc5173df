"""A step-through of the backward pass for notebooks and slides.

Frame 0 is the graph after the forward pass; frame k is the graph after the k-th step of
the engine's backward pass (`scalargrad.autodiff.backward_steps`), with that step's node
highlighted, the adjoints known so far filled in (the others read ``?``) and the step
written as the lecture does: ``v̄2 = v̄5·cos(v2) + v̄4·v1 = −0.284 + 2 = 1.716``.

``Stepper(root).save_html("steps.html")`` writes one self-contained HTML file (inline
SVG frames and a small inline script: no network, nothing external) with previous/next
buttons, a slider and arrow keys, which any browser opens. In Jupyter a `Stepper`
displays itself as the same widget.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from ..autodiff import BackwardStep, backward_steps
from .draw import Drawing, GraphvizNotFound, build_drawing, write_drawing
from .labels import Labels, format_value, is_constant
from .trace import TraceRow, backward_row, forward_rows

MAX_FRAMES = 300  # one dot run per frame: beyond this a stepper is slow and unreadable


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
                f"max_frames={max_frames} frames can show readably; draw it with draw_graph, "
                "or pass a larger max_frames"
            )
        self.steps = list(backward_steps(root, seed) if steps is None else steps)
        self.rows: list[TraceRow] = [backward_row(step, self.labels) for step in self.steps]
        self.forward_rows: list[TraceRow] = forward_rows(root, self.labels)
        self.rankdir, self.show_local = rankdir, show_local
        self._svg: dict[int, str] = {}

    def __len__(self) -> int:
        """The number of frames: one per backward step, plus the forward frame."""
        return len(self.steps) + 1

    def __getitem__(self, index: int) -> Frame:
        """Return frame ``index`` (0: the forward pass; k: after backward step k)."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"Stepper: frame {index} out of range 0..{len(self) - 1}")
        index %= len(self)
        done = self.steps[:index]
        adjoints = {id(step.node): step.adjoint for step in done}
        highlight = done[-1].node if done else None
        # The edges the current node's partial adjoints flowed back along, with their terms.
        flows = {
            (id(p.child), p.slot): f"{self.labels.partial(p.child, p.slot)} = "
            f"{format_value(p.value)}"
            for p in (done[-1].partials if done else ())
            if p.child is not None
        }
        drawing = build_drawing(
            self.root,
            self.labels,
            rankdir=self.rankdir,
            show_local=self.show_local,
            highlight=highlight,
            adjoints=adjoints,
            flows=flows,
        )
        if index == 0:
            title = "Forward pass: every value computed, no adjoint yet"
            return Frame(title, "", drawing)
        row = self.rows[index - 1]
        return Frame(f"Step {index} of {len(self.steps)}: {row.symbol}", str(row), drawing)

    def frame_svg(self, index: int) -> str:
        """Return frame ``index`` as SVG text (rendered by Graphviz's ``dot``, cached)."""
        index %= len(self)
        if index not in self._svg:
            self._svg[index] = write_drawing(self[index].drawing, None, "svg")
        return self._svg[index]

    def to_html(self, full_page: bool = True) -> str:
        """Return the stepper as HTML: a whole page, or (``full_page=False``) a fragment.

        Everything is inline (SVG frames, style, script); raises `GraphvizNotFound` with
        install instructions where ``dot`` is missing.
        """
        frames = [self[i] for i in range(len(self))]
        svgs = [_inline_svg(self.frame_svg(i)) for i in range(len(self))]
        uid = "sg-" + hashlib.sha1("".join(svgs).encode()).hexdigest()[:10]
        last = len(frames) - 1
        parts = [f"<style>{_CSS.replace('#UID', '#' + uid)}</style>"]
        parts.append(f'<div class="sg-stepper" id="{uid}" tabindex="0" data-frame="0">')
        parts.append(
            '<div class="sg-controls">'
            '<button type="button" class="sg-prev" aria-label="previous step">◀ Previous</button>'
            f'<input type="range" class="sg-slider" min="0" max="{last}" value="0" step="1" '
            'aria-label="backward step">'
            '<button type="button" class="sg-next" aria-label="next step">Next ▶</button>'
            f'<span class="sg-counter">0 / {last}</span></div>'
        )
        for i, (frame, svg) in enumerate(zip(frames, svgs)):
            hidden = "" if i == 0 else " hidden"
            equation = f'<p class="sg-equation">{_h(frame.equation)}</p>' if frame.equation else ""
            parts.append(
                f'<div class="sg-frame" data-index="{i}"{hidden}>'
                f'<h3 class="sg-title">{_h(frame.title)}</h3>{equation}'
                f'<div class="sg-graph">{svg}</div></div>'
            )
        parts.append(_trace_tables(self.forward_rows, self.rows))
        parts.append("</div>")
        parts.append(f"<script>{_SCRIPT.replace('UID', uid)}</script>")
        fragment = "\n".join(parts)
        if not full_page:
            return fragment
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{_h(_page_title(self))}</title></head>\n<body>\n{fragment}\n</body></html>\n"
        )

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


_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)  # <?xml …?>, <!DOCTYPE … dtd">, comments
_SVG_ID = re.compile(r'\sid="[^"]*"')
_XMLNS = re.compile(r'\sxmlns(:xlink)?="[^"]*"')  # HTML needs no namespaces: no URL at all


def _inline_svg(svg: str) -> str:
    """A dot SVG made fit to sit inline in HTML (no prolog, no DOCTYPE, no clashing ids)."""
    svg = _PROLOG.sub("", svg, count=1)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    return _XMLNS.sub("", _SVG_ID.sub("", svg))


def _h(text: str) -> str:
    return html.escape(text, quote=True)


_CSS = """
#UID { font-family: Helvetica, Arial, sans-serif; max-width: 100%; outline: none; }
#UID .sg-controls { display: flex; gap: 0.6em; align-items: center; margin: 0.4em 0; }
#UID .sg-slider { flex: 1; max-width: 28em; }
#UID .sg-counter { font-variant-numeric: tabular-nums; min-width: 4em; }
#UID .sg-frame[hidden] { display: none; }
#UID .sg-title { margin: 0.3em 0; font-size: 1.05em; }
#UID .sg-equation { font-size: 1.1em; margin: 0.2em 0 0.4em; color: #7a1f1f; }
#UID .sg-graph svg { max-width: 100%; height: auto; }
#UID .sg-traces { display: flex; gap: 3em; font-size: 0.95em; }
#UID .sg-traces ol { list-style: none; padding-left: 0; margin: 0.2em 0; }
#UID .sg-row.sg-future { visibility: hidden; }
#UID .sg-row.sg-current { color: #d62728; font-weight: bold; }
"""

# Plain ES5-era DOM calls only: runs in any browser and in Jupyter's output cells.
_SCRIPT = """
(function () {
  var root = document.getElementById("UID");
  if (!root) { return; }
  var frames = root.querySelectorAll(".sg-frame");
  var rows = root.querySelectorAll(".sg-row");
  var slider = root.querySelector(".sg-slider");
  var counter = root.querySelector(".sg-counter");
  var prev = root.querySelector(".sg-prev");
  var next = root.querySelector(".sg-next");
  var last = frames.length - 1;
  var current = 0;
  function show(index) {
    current = Math.max(0, Math.min(last, index));
    for (var i = 0; i < frames.length; i++) { frames[i].hidden = (i !== current); }
    for (var k = 0; k < rows.length; k++) {
      var step = k + 1;
      rows[k].className = "sg-row" + (step > current ? " sg-future" : "") +
        (step === current ? " sg-current" : "");
    }
    slider.value = String(current);
    counter.textContent = current + " / " + last;
    prev.disabled = (current === 0);
    next.disabled = (current === last);
    root.setAttribute("data-frame", String(current));
  }
  prev.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
  root.addEventListener("keydown", function (event) {
    if (event.target === slider) { return; }  // the slider moves itself and fires "input"
    if (event.key === "ArrowLeft") { show(current - 1); event.preventDefault(); }
    if (event.key === "ArrowRight") { show(current + 1); event.preventDefault(); }
  });
  show(0);
})();
"""
