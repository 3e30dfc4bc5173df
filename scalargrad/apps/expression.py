"""Reading a formula typed by a person, ``ln(x1) + x1*x2 - sin(x2)``, into a graph of Values.

The text is parsed by Python's ``ast`` and then checked against a whitelist; it is
never ``eval``-ed. Allowed: numbers, names that are given a value, ``+ - * / **``,
unary ``-``/``+``, and calls of the engine's functions (``log``/``ln``, ``exp``, ``sin``,
``cos``, ``tanh``, ``sigmoid``, ``relu``, ``abs``, ``max``, ``min``). Everything else
(attribute access, other calls, subscripts, strings, comprehensions, lambdas, …) is
refused with an `ExpressionError` that names the offending part and its column.
Length and nesting are bounded before anything walks the tree, so hostile input can
neither exhaust the stack nor take long.
"""

from __future__ import annotations

import ast
import keyword
import math
import numbers
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import functions, ops
from ..value import Value

MAX_LENGTH = 2000  # characters of expression text
MAX_DEPTH = 100  # levels of nesting (parentheses, calls, operators)

# The engine's functions by the names an expression may call them: name -> (arity, fn).
FUNCTIONS: dict[str, tuple[int, Callable]] = {
    "log": (1, functions.log),
    "ln": (1, functions.log),
    "exp": (1, functions.exp),
    "sin": (1, functions.sin),
    "cos": (1, functions.cos),
    "tanh": (1, functions.tanh),
    "sigmoid": (1, functions.sigmoid),
    "relu": (1, functions.relu),
    "abs": (1, lambda x: x.abs() if isinstance(x, Value) else ops.Abs().forward(x)),
    "max": (2, functions.maximum),
    "min": (2, functions.minimum),
}
_BINARY: dict[type, tuple[str, Callable]] = {
    ast.Add: ("+", lambda a, b: a + b),
    ast.Sub: ("-", lambda a, b: a - b),
    ast.Mult: ("*", lambda a, b: a * b),
    ast.Div: ("/", lambda a, b: _divide(a, b)),
    ast.Pow: ("**", lambda a, b: _power(a, b)),
}
_UNARY: dict[type, Callable] = {ast.USub: lambda a: -a, ast.UAdd: lambda a: a}
_OPERATOR_NAMES = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^ (write x**y for a power)",
    ast.Invert: "~",
    ast.Not: "not",
}
_WHAT = {  # how the refusal names a construct a learner may not know by its ast name
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Compare: "comparisons",
    ast.BoolOp: "and/or",
    ast.IfExp: "if/else",
    ast.Lambda: "lambda",
    ast.NamedExpr: "assignment (:=)",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.JoinedStr: "strings",
    ast.Starred: "starred arguments",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
}


class ExpressionError(ValueError):
    """An expression that cannot be read or evaluated; says what and where, in one line.

    ``column`` is 1-based (None when the problem is not at one place); ``part`` is the
    offending text.
    """

    def __init__(self, message: str, part: str = "", column: int | None = None):
        self.message, self.part, self.column = message, part, column
        where = f" at column {column}" if column is not None else ""
        shown = f": {_shorten(part)}" if part else ""
        super().__init__(f"{message}{where}{shown}")


@dataclass(frozen=True)
class Expression:
    """A checked expression: its text, its parsed tree and the names it uses (in order).

    Python's parser reads names in NFKC form (``ℌ`` is ``H``, ``x₁`` is ``x1``): ``names``
    are those forms, ``spellings`` maps each to the way the text writes it, which is how
    the drawing labels its input.
    """

    text: str
    tree: ast.Expression
    names: tuple[str, ...]
    spellings: Mapping[str, str] = field(default_factory=dict)

    def evaluate(self, values: Mapping[str, float]) -> Value:
        """Return the root Value of the graph the expression builds at ``values``.

        One input Value per name (named after it, so drawings show ``x1``); a name used
        twice is one node with two edges. Raises `ExpressionError` for a name without a
        value, a domain error (``log(-1)``, ``1/0``), or an overflow, naming the part.
        The names in ``values`` are read as Python reads the text's (NFKC).
        """
        values = normalized_names(values)
        missing = [self.spellings.get(n, n) for n in self.names if n not in values]
        if missing:
            raise ExpressionError(
                f"no value for {', '.join(missing)} (give one with --at "
                + " ".join(f"{name}=…" for name in missing)
                + ")"
            )
        inputs = {
            name: Value(_checked_value(name, values[name]), name=self.spellings.get(name, name))
            for name in self.names
        }
        result = _evaluate(self.tree.body, inputs, self.text)
        if not isinstance(result, Value):
            raise ExpressionError(
                "the expression has no variables, so there is nothing to differentiate",
                self.text,
            )
        return result


def parse_expression(text: str) -> Expression:
    """Return the checked `Expression` for ``text``, or raise `ExpressionError`.

    Nothing is evaluated here: the tree is only checked against the whitelist.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is {len(text)} characters long (at most {MAX_LENGTH})", text[:40]
        )
    text = text.strip()
    if not text:
        raise ExpressionError("the expression is empty")
    for column, char in enumerate(text, start=1):
        if not char.isprintable():
            raise ExpressionError(
                f"the expression must be one line of printable text, found {char!r}",
                text[max(0, column - 20) : column],
                column,
            )
    _check_brackets(text)  # before ast.parse: the parser itself recurses on nesting
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        column = error.offset if error.lineno == 1 and error.offset else None
        near = text[column - 1 :] if column else text
        raise ExpressionError(f"not a formula ({error.msg})", near, column) from None
    except (RecursionError, MemoryError, ValueError) as error:  # the parser's own limits
        raise ExpressionError(f"cannot parse the expression ({error})") from None
    _check_depth(tree, text)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names: dict[str, int] = {}  # name -> column of its first use
    spellings: dict[str, str] = {}  # name -> as the text writes it (Python reads it NFKC)
    for node in ast.walk(tree):  # iterative, and the depth is bounded by now
        _check_node(node, text)
        if isinstance(node, ast.Name) and id(node) not in called:
            if node.id in FUNCTIONS:
                raise ExpressionError(
                    f"{node.id} is a function: call it, as in {node.id}(x)",
                    node.id,
                    _column(text, node),
                )
            column = _column(text, node) or 0
            names[node.id] = min(column, names.get(node.id, column))
            spelled = _segment(text, node) or node.id
            if spellings.setdefault(node.id, spelled) != spelled:
                first, other = sorted((spellings[node.id], spelled), key=text.find)
                raise ExpressionError(
                    f"{first} and {other} are one variable to Python (it reads both as "
                    f"{node.id}): write it one way",
                    other,
                    _column(text, node),
                )
    # ast.walk is breadth-first: list the names in the order they are written instead.
    order = tuple(sorted(names, key=names.__getitem__))
    return Expression(text, tree, order, {name: spellings[name] for name in order})


def normalized_names(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` keyed by each name's NFKC form, as Python's parser reads names in a formula.

    Raises `ExpressionError` when two names are one (``ℌ`` and ``H``).
    """
    result: dict[str, Any] = {}
    given: dict[str, str] = {}
    for name, value in values.items():
        key = unicodedata.normalize("NFKC", name) if isinstance(name, str) else name
        if key in result:
            raise ExpressionError(
                f"{given[key]} and {name} are one variable to Python (it reads both as {key})"
            )
        result[key], given[key] = value, name
    return result


def build_expression(text: str, values: Mapping[str, float]) -> Value:
    """Return the root Value of ``text`` evaluated at ``values`` (parse, check, evaluate)."""
    return parse_expression(text).evaluate(values)


# ---- checking ----------------------------------------------------------------


def _check_brackets(text: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH brackets, before the parser sees it."""
    depth = 0
    for column, char in enumerate(text, start=1):
        if char in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ExpressionError(
                    f"the expression is nested more than {MAX_DEPTH} brackets deep",
                    text[max(0, column - 20) : column],
                    column,
                )
        elif char in ")]}":
            depth = max(0, depth - 1)  # unbalanced brackets are the parser's to report


def _check_depth(tree: ast.AST, text: str) -> None:
    """Refuse a tree deeper than MAX_DEPTH (iteratively: the check must not recurse).

    Only expressions count as levels (not operator or context nodes); note that
    ``a + b + c + …`` nests one level per term.
    """
    stack = [(tree.body, 1)] if isinstance(tree, ast.Expression) else [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(
                f"the expression is nested more than {MAX_DEPTH} levels deep "
                "(a + b + … counts one level per term)",
                _segment(text, node),
                _column(text, node),
            )
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                stack.append((child, depth + 1))


def _check_node(node: ast.AST, text: str) -> None:
    """Refuse any node outside the whitelist, naming it and where it is."""
    part, column = _segment(text, node), _column(text, node)
    if isinstance(node, ast.Expression | ast.Load):
        return
    if isinstance(node, ast.operator | ast.unaryop):
        return  # checked with their BinOp/UnaryOp, which know the position
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise ExpressionError(
                f"the operator {_OPERATOR_NAMES.get(type(node.op), type(node.op).__name__)} "
                "is not allowed (use + - * / **)",
                part,
                column,
            )
        return
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            name = _OPERATOR_NAMES.get(type(node.op), type(node.op).__name__)
            raise ExpressionError(f"the operator {name} is not allowed", part, column)
        return
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, str | bytes):
            raise ExpressionError("strings are not allowed", part, column)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ExpressionError(f"{value!r} is not a real number", part, column)
        if not math.isfinite(_literal(value, part, column)):
            raise ExpressionError("the number is too large for a float", part, column)
        if value == 0 and underflows(part):
            raise ExpressionError(
                "the number is too small for a float: it would silently become 0 (the "
                "smallest is about 5e-324)",
                part,
                column,
            )
        return
    if isinstance(node, ast.Name):
        if node.id.startswith("_") or keyword.iskeyword(node.id):
            raise ExpressionError(f"the name {node.id!r} is not allowed", part, column)
        return
    if isinstance(node, ast.Call):
        func = node.func
        if not isinstance(func, ast.Name) or func.id not in FUNCTIONS:
            raise ExpressionError(
                "only the engine's functions may be called (" + ", ".join(FUNCTIONS) + ")",
                _segment(text, func),
                _column(text, func),
            )
        if node.keywords:
            raise ExpressionError(f"{func.id}() takes no keyword arguments", part, column)
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise ExpressionError("starred arguments are not allowed", part, column)
        arity = FUNCTIONS[func.id][0]
        if len(node.args) != arity:
            raise ExpressionError(
                f"{func.id}() takes {arity} argument{'s' if arity > 1 else ''}, "
                f"got {len(node.args)}",
                part,
                column,
            )
        return
    what = _WHAT.get(type(node), type(node).__name__)
    raise ExpressionError(f"{what} not allowed in a formula", part, column)


# ---- evaluating --------------------------------------------------------------


def _evaluate(tree: ast.AST, inputs: Mapping[str, Value], text: str):
    """The value of a checked tree: a Value, or a float where no name is involved.

    Post-order over an explicit stack (the depth is bounded, but a walk that cannot
    overflow is simpler to trust). Plain-number parts are folded into one constant, as
    Python does for ``2 * 3 * x``; each op's own checks catch domain errors.
    """
    results: dict[int, Any] = {}
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, ready = stack.pop()
        children = _operands(node)
        if not ready and children:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))
            continue
        args = [results.pop(id(child)) for child in children]
        results[id(node)] = _apply(node, args, inputs, text)
    return results[id(tree)]


def _operands(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


def _apply(node: ast.AST, args: list, inputs: Mapping[str, Value], text: str):
    """One node of the tree applied to its evaluated operands."""
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return inputs[node.id]
    try:
        if isinstance(node, ast.BinOp):
            result = _BINARY[type(node.op)][1](*args)
        elif isinstance(node, ast.UnaryOp):
            result = _UNARY[type(node.op)](*args)
        else:  # ast.Call, checked against FUNCTIONS
            result = FUNCTIONS[node.func.id][1](*args)
    except (ValueError, ArithmeticError) as error:  # a domain error, NaN, an overflow
        raise ExpressionError(str(error), _segment(text, node), _column(text, node)) from None
    number = result.data if isinstance(result, Value) else result
    if not math.isfinite(number):  # e.g. 1e308 * 10: Python floats overflow to inf silently
        raise ExpressionError(
            f"overflow: the result is {number} (too large for a float)",
            _segment(text, node),
            _column(text, node),
        )
    return result


def _divide(a, b):
    if not isinstance(a, Value) and not isinstance(b, Value):
        return ops.Div().forward(a, b)  # the engine's own check and message for 1/0
    return a / b


def _power(a, b):
    if not isinstance(a, Value) and not isinstance(b, Value):
        return ops._pow("pow", a, b)  # the engine's checks for 0**-1 and (-8)**0.5
    return a**b


# ---- helpers -------------------------------------------------------------------


def _checked_value(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ExpressionError(f"the value of {name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ExpressionError(f"the value of {name} must be finite, got {value}")
    return value


def underflows(number: str) -> bool:
    """True when the text of a number that reads as 0.0 does not say 0 (``1e-400``)."""
    mantissa = number.lower().replace("_", "").split("e")[0]
    return any(digit in mantissa for digit in "123456789")


def _literal(value: numbers.Real, part: str, column: int | None) -> float:
    try:
        return float(value)
    except OverflowError:  # an int literal with hundreds of digits
        raise ExpressionError("the number is too large for a float", part, column) from None


def _segment(text: str, node: ast.AST) -> str:
    """The source text of ``node`` (its first line), or "" where ast does not know it."""
    try:
        return ast.get_source_segment(text, node) or ""
    except (TypeError, ValueError, IndexError):
        return ""


def _column(text: str, node: ast.AST) -> int | None:
    """The 1-based column where ``node`` starts (ast counts UTF-8 bytes; we count characters)."""
    offset = getattr(node, "col_offset", None)
    if offset is None:
        return None
    return len(text.encode("utf-8")[:offset].decode("utf-8", errors="ignore")) + 1


def _shorten(part: str, limit: int = 60) -> str:
    part = " ".join(part.split())
    return part if len(part) <= limit else part[: limit - 1] + "…"
