"""A small table that every trace renders through: plain text, Markdown, HTML, LaTeX.

The forward (evaluation) trace, the backward steps and forward mode's tangent trace
are all tables of formulas; they share this one renderer so they look alike.
Cells hold Unicode math (``v̄2 = v̄5·cos(v2)``); `latex_math` translates it for slides.
A user's name in a cell is marked as a `Name` (inside a `Math` cell of parts), so that
LaTeX escapes it instead of reading ``a_b`` or ``rate_%`` as math.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field

_LATEX_SYMBOLS = {
    "×": r"\times ",
    "·": r"\cdot ",
    "−": "-",
    "σ": r"\sigma",
    "∂": r"\partial ",
    "≥": r"\geq ",
    "≤": r"\leq ",
    "²": "^{2}",
    "³": "^{3}",
    "½": r"\tfrac{1}{2}",
    "ḡ": r"\bar{g}",
    "Σ": r"\sum ",
    "…": r"\ldots ",
}
_DECORATED = re.compile(r"([A-Za-z])([\u0304\u0307])")  # a letter + combining bar / dot
_SPECIAL = re.compile(r"[\\{}_^%$#&~]")  # LaTeX's special characters
_NAME_ESCAPES = {  # a special character in math mode, where a name is set
    "\\": r"\backslash{}",
    "^": r"\text{\textasciicircum}",
    "~": r"\text{\textasciitilde}",
    **{char: "\\" + char for char in "{}_%$#&"},
}
_TEXT_ESCAPES = {  # ... and in text mode: titles, headers, plain columns
    "\\": r"\textbackslash{}",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    **{char: "\\" + char for char in "{}_%$#&"},
}
_INDEXED = re.compile(r"(\\bar\{[A-Za-z]\}|\\dot\{[A-Za-z]\}|\b[A-Za-z])(\d+)")
_WORDS = re.compile(r"\b(ln|exp|sin|cos|tanh|max|min|relu|sign|abs)\b")


class Name(str):
    """A user's name in a cell (``x1``, ``rate_%``): `latex_math` escapes its special
    characters instead of reading them as math."""


class Math(str):
    """A cell joined from parts, some of them `Name`: ``Math("= ", Name("a_b"))``."""

    parts: tuple[str, ...]

    def __new__(cls, *parts: str) -> Math:
        cell = super().__new__(cls, "".join(parts))
        cell.parts = parts
        return cell


def latex_math(text: str) -> str:
    """Unicode math as LaTeX, e.g. ``v̄2 = v̄5·cos(v2)`` → ``\\bar{v}_{2} = …``.

    Combining bars and dots become ``\\bar``/``\\dot``; digits after a name, subscripts.
    A `Name` with a special character reads literally: ``a_b`` → ``a\\_b``.
    """
    if isinstance(text, Math):
        return "".join(latex_math(part) for part in text.parts)
    if isinstance(text, Name) and _SPECIAL.search(text):
        return _decorated(_SPECIAL.sub(lambda m: _NAME_ESCAPES[m.group()], text))
    out = _decorated(text)
    out = _WORDS.sub(
        lambda m: (
            "\\" + m.group(1) + " "
            if m.group(1) in ("ln", "exp", "sin", "cos", "tanh", "max", "min")
            else r"\operatorname{" + m.group(1) + "}"
        ),
        out,
    )
    for symbol, latex in _LATEX_SYMBOLS.items():
        out = out.replace(symbol, latex)
    return _INDEXED.sub(lambda m: f"{m.group(1)}_{{{m.group(2)}}}", out)


def _decorated(text: str) -> str:
    """Letters with a combining bar or dot as ``\\bar{v}``/``\\dot{v}``."""
    return _DECORATED.sub(
        lambda m: (r"\bar{" if m.group(2) == "\u0304" else r"\dot{") + m.group(1) + "}", text
    )


class Renders:
    """Mixin: ``print`` shows ``to_text()``; Jupyter picks ``to_html``/``_markdown``/``_latex``."""

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_latex_(self) -> str:
        return self.to_latex()


@dataclass
class Table(Renders):
    """Rows of cells under a header; ``math_columns`` are rendered as math in LaTeX."""

    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    math_columns: tuple[int, ...] = ()

    def to_text(self) -> str:
        """Aligned plain text, one row a line."""
        widths = [max(_width(cell) for cell in column) for column in zip(self.header, *self.rows)]
        lines = [self.title] if self.title else []
        for cells in [self.header, *self.rows]:
            line = "  ".join(str(c) + " " * (w - _width(c)) for c, w in zip(cells, widths))
            lines.append(line.rstrip())
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """A Markdown table (pipes in cells escaped)."""

        def line(cells):
            return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

        lines = [f"**{self.title}**", ""] if self.title else []
        lines += [line(self.header), line(["---"] * len(self.header))]
        lines += [line(cells) for cells in self.rows]
        return "\n".join(lines)

    def to_html(self) -> str:
        """An HTML table (escaped), as Jupyter shows it."""
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in self.header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"
            for cells in self.rows
        )
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def to_latex(self) -> str:
        """A LaTeX ``tabular`` for slides; math columns go between ``$…$``."""
        columns = "l" * len(self.header)

        def cell(i, c):
            if i in self.math_columns and str(c):  # an empty "$$" would open display math
                return f"${latex_math(c)}$"
            return _latex_text(str(c))

        lines = [rf"\begin{{tabular}}{{{columns}}}", r"\hline"]
        lines.append(" & ".join(_latex_text(h) for h in self.header) + r" \\ \hline")
        for cells in self.rows:
            lines.append(" & ".join(cell(i, c) for i, c in enumerate(cells)) + r" \\")
        lines += [r"\hline", r"\end{tabular}"]
        return "\n".join(lines)


def _width(cell) -> int:
    """Columns a cell takes on screen: a combining bar (the one of v̄2) takes none."""
    return sum(not unicodedata.combining(char) for char in str(cell))


def _latex_text(text: str) -> str:
    """Plain text safe inside LaTeX (special characters escaped)."""
    return _SPECIAL.sub(lambda m: _TEXT_ESCAPES[m.group()], text)
