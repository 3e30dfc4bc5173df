"""How a node is named and how its numbers are written: shared by drawings, traces, stepper.

Numbering follows the lecture notes: every node gets ``v1, v2, …`` in `topological_order`
(inputs first, then each op in evaluation order), except constants, which are labelled by
their value (the 3 of ``3 * x``). A node is a constant when it says so
(``node.is_constant``). Everything here reads only the node protocol (``data``, ``grad``,
``parents``, ``op``, ``name``), so vecgrad's ``Tensor`` gets the same labels: its ``data``
may be a numpy array, written with its shape and dtype, and its values when small.
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

import numpy as np

from ..autodiff import topological_order

MINUS = "−"  # U+2212, the minus sign of the lecture notes and of ops.py's templates
BAR = "\u0304"  # combining macron: "v" + BAR + "2" reads v̄2, the adjoint of v2
MAX_SHOWN_ELEMENTS = 6  # arrays with more elements show only their shape and dtype


def is_constant(node: Any) -> bool:
    """Return True for a constant leaf (labelled by its value, never numbered)."""
    return bool(getattr(node, "is_constant", False))


class Labels:
    """The label of every node of one graph: ``v1, v2, …`` or, for constants, the value.

    ``labels[node]`` is the symbol used in formulas (``v3``); ``labels.order`` is the
    topological order the numbering follows.
    """

    def __init__(self, root: Any):
        self.order = topological_order(root)
        self._label: dict[int, str] = {}
        count = 0
        for node in self.order:
            if is_constant(node):
                self._label[id(node)] = _constant_label(node)
            else:
                count += 1
                self._label[id(node)] = f"v{count}"

    def __getitem__(self, node: Any) -> str:
        return self._label[id(node)]

    def __len__(self) -> int:
        return len(self.order)

    def adjoint(self, node: Any) -> str:
        """Return the adjoint's symbol, e.g. ``v̄3`` for ``v3``."""
        label = self[node]
        return label[:1] + BAR + label[1:]

    def title(self, node: Any) -> str:
        """Return what a drawing shows on top of a node: ``x1 = v1``, ``v3`` or ``3``."""
        label = self[node]
        if node.name and node.name != label and not is_constant(node):
            return f"{node.name} = {label}"
        return label

    def formula(self, node: Any) -> str:
        """Return what the node computes in terms of its operands, e.g. ``ln(v1)``.

        An input with a name reads as its name (``x1``); one without, as "".
        """
        if node.op is None:
            return node.name if node.name != self[node] else ""
        operands = [self[parent] for parent in node.parents]
        template = getattr(node.op, "formula", "")
        try:
            text = _with_exponent(template, node.op).format(*operands) if template else ""
        except (IndexError, KeyError, ValueError, AttributeError):
            text = ""
        if not text:  # an op without a usable template: show it as a function call
            text = f"{op_symbol(node.op)}({', '.join(operands)})"
        return text

    def local(self, node: Any, slot: int) -> str:
        """Return ∂node/∂(operand at ``slot``) as text, e.g. ``cos(v2)``; "1" for add.

        A comparison such as max's ``[v1 > v2]`` is ½ where its operands tie: a tie
        splits ḡ in two.
        """
        operands = [self[parent] for parent in node.parents]
        templates = getattr(node.op, "local", ())
        try:
            template = tie_share(templates[slot], [p.data for p in node.parents])
            return _with_exponent(template, node.op).format(*operands)
        except (IndexError, KeyError, ValueError, TypeError, AttributeError):
            return f"∂{self[node]}/∂{operands[slot]}"

    def partial(self, child: Any, slot: int) -> str:
        """Return one partial adjoint as the lecture writes it: ``v̄5·cos(v2)``.

        A local derivative of 1 shows just the adjoint (``v̄7``), of −1 a minus
        (``−v̄7``), of ``1/x`` a division (``v̄3/v1``). A template that writes ``ḡ``
        places the adjoint itself, where order matters (``{0}ᵀ·ḡ`` → ``v1ᵀ·v̄3``).
        """
        adjoint = self.adjoint(child)
        local = self.local(child, slot)
        if "ḡ" in local:  # the template places the adjoint itself: xᵀ·ḡ for a matrix product
            return local.replace("ḡ", adjoint)
        if local == "1":
            return adjoint
        if local == MINUS + "1":
            return MINUS + adjoint
        sign = ""
        if local.startswith(MINUS) and not _has_top_level_space(local[1:]):
            sign, local = MINUS, local[1:]  # −v̄3·sin(v2) rather than v̄3·(−sin(v2))
        if local.startswith("1/") and not _has_top_level_space(local):
            return f"{sign}{adjoint}{local[1:]}"
        if _has_top_level_space(local):
            local = f"({local})"
        return f"{sign}{adjoint}·{local}"


_COMPARISON = re.compile(r"\[\{(\d)\} [<>] \{(\d)\}\]")  # max's [{0} > {1}], min's [{0} < {1}]


def tie_share(template: str, values: list) -> str:
    """Return ``template`` with each comparison honest at a tie: ``[{0} > {1}]`` reads ½
    where the two values are equal (max and min split ḡ there) and, for arrays that tie
    only in places, ``([{0} > {1}] + ½·[{0} = {1}])``."""

    def honest(found: re.Match) -> str:
        i, j = found.groups()
        ties = np.equal(values[int(i)], values[int(j)])
        if ties.all():
            return "½"
        if ties.any():
            return f"({found.group()} + ½·[{{{i}}} = {{{j}}}])"
        return found.group()

    return _COMPARISON.sub(honest, template)


def _constant_label(node: Any) -> str:
    """A constant reads as its value (``3``, ``−2.5``); a large array as its name, if any."""
    data = node.data
    if isinstance(data, numbers.Real) or getattr(data, "size", 2) == 1:
        return format_value(data)
    return node.name or format_value(data)


def op_symbol(op: Any) -> str:
    """Return the op's short label for a drawing (``+``, ``×``, ``ln``), or its class name."""
    symbol = getattr(op, "symbol", None)
    return symbol if isinstance(symbol, str) and symbol != "?" else type(op).__name__


def format_number(x: float) -> str:
    """Return a number as the lecture writes it: ``0.693``, ``5.5``, ``2``, ``−0.284``.

    Three decimals, trailing zeros dropped; very small or large numbers in 3
    significant digits (``1.23e−05``); the minus sign is U+2212.
    """
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        text = repr(x)
    elif x == 0 or 1e-3 <= abs(x) < 1e7:
        text = f"{x:.3f}".rstrip("0").rstrip(".")
        if text in ("-0", ""):
            text = "0"
    else:
        text = f"{x:.3g}"
    return text.replace("-", MINUS)


def format_value(data: Any) -> str:
    """Return a node's number or array as short text.

    Numbers as `format_number`; an array as its shape and dtype, followed by its
    values when it has at most ``MAX_SHOWN_ELEMENTS`` elements: ``(2,) float64 [1, −2]``.
    ``None`` (a tensor's gradient before any backward pass) reads ``—``.
    """
    if data is None:
        return "—"
    if isinstance(data, numbers.Real) and not isinstance(data, bool):
        return format_number(data)
    shape = getattr(data, "shape", None)
    if shape is None:
        return str(data)
    if len(shape) == 0:  # a 0-d array or numpy scalar is just a number
        return format_value(data.item())
    described = f"{tuple(shape)} {getattr(data, 'dtype', '')}".rstrip()
    size = getattr(data, "size", None)
    if size is not None and size <= MAX_SHOWN_ELEMENTS:
        return f"{described} {_nested(data.tolist())}"
    return described


def _nested(values: Any) -> str:
    """Return nested lists of numbers as ``[[1, 2], [3, 4]]`` with `format_number`."""
    if isinstance(values, list):
        return "[" + ", ".join(_nested(v) for v in values) + "]"
    if isinstance(values, numbers.Real):
        return format_number(values)
    return str(values)


_EXPONENT_K = re.compile(r"(?<![A-Za-z0-9_])k(?![A-Za-z0-9_])")


def _with_exponent(text: str, op: Any) -> str:
    """Put an op's constant exponent in place of the ``k`` of its template (Pow(3)).

    Applied to the template before the operands go in, so no operand label is touched.
    """
    exponent = getattr(op, "exponent", None)
    if isinstance(exponent, numbers.Real) and "k" in text:
        return _EXPONENT_K.sub(format_number(exponent), text)
    return text


def _has_top_level_space(text: str) -> bool:
    """True when ``text`` is a sum or difference outside any parentheses: ``1 − tanh²(v3)``."""
    depth = 0
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == " " and depth == 0:
            return True
    return False
