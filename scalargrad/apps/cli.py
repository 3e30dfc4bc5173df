"""The ``scalargrad`` command: draw a formula's graph and print its traces.

    scalargrad draw "ln(x1) + x1*x2 - sin(x2)" --at x1=2 x2=5 -o graph.svg --html steps.html

evaluates the formula at the given point, runs the backward pass once, prints the
forward and backward traces, writes the annotated graph (``--format dot|svg|png``,
otherwise from the file's suffix) and, with ``--html``, the step-through page. On any
error it prints one line to stderr, exits with status 2 and writes no file.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from ..autodiff import backward_steps
from ..display.draw import FORMATS, GraphvizNotFound, draw_graph, write_drawing
from ..display.stepper import MAX_FRAMES, Stepper
from ..display.trace import backward_trace, forward_trace
from .expression import FUNCTIONS, ExpressionError, parse_expression

EXIT_ERROR = 2  # as argparse uses for bad usage
_SUFFIX_FORMATS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png"}


class CommandError(Exception):
    """A problem with the command's input; the message is printed as one line."""


def main(argv: Sequence[str] | None = None) -> int:
    """Return the exit status of ``scalargrad`` run with ``argv`` (default: sys.argv[1:])."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CommandError as error:
        print(f"scalargrad: error: {error}", file=sys.stderr)
        return EXIT_ERROR


def draw_command(args: argparse.Namespace) -> int:
    """Return 0 after printing the traces and writing the requested files."""
    values = _parse_at(args.at or [])
    try:
        expression = parse_expression(args.expression)
        unused = [name for name in values if name not in expression.names]
        root = expression.evaluate(values)
    except ExpressionError as error:
        raise CommandError(f"{error}") from None
    if unused:
        print(f"scalargrad: note: {', '.join(unused)} not used by the formula", file=sys.stderr)

    fmt = _output_format(args)
    for path in (args.output, args.html):
        if path is not None and not Path(path).resolve().parent.is_dir():
            raise CommandError(f"cannot write {path}: its folder does not exist")

    # One backward pass: the traces, the drawing and the stepper all present its steps.
    try:
        steps = list(backward_steps(root))
    except (ValueError, ZeroDivisionError, OverflowError) as error:
        raise CommandError(f"backward pass: {error}") from None
    bad = [s for s in steps if not math.isfinite(s.adjoint)]
    if bad:
        name = bad[0].node.name or "a node"
        raise CommandError(f"backward pass: the gradient of {name} is {bad[0].adjoint}")

    # Build every file in memory first, so an error (e.g. no `dot`) leaves nothing behind.
    outputs: list[tuple[str, str | bytes]] = []
    try:
        if args.output is not None:
            drawing = draw_graph(root, rankdir=args.rankdir, show_grad=True, show_local=args.local)
            outputs.append((args.output, write_drawing(drawing, None, fmt)))
        if args.html is not None:
            if len(steps) + 1 > MAX_FRAMES:
                raise CommandError(
                    f"--html: {len(steps)} steps are too many for a stepper (at most "
                    f"{MAX_FRAMES - 1})"
                )
            stepper = Stepper(root, steps=steps, rankdir=args.rankdir, show_local=args.local)
            outputs.append((args.html, stepper.to_html()))
    except GraphvizNotFound as error:
        raise CommandError(str(error)) from None

    tables = [forward_trace(root), backward_trace(root, steps=steps)]
    render = {"text": "to_text", "markdown": "to_markdown", "latex": "to_latex"}[args.trace]
    print("\n\n".join(getattr(table, render)() for table in tables))

    for path, data in outputs:
        try:
            if isinstance(data, bytes):
                Path(path).write_bytes(data)
            else:
                Path(path).write_text(data, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot write {path}: {error.strerror or error}") from None
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _parse_at(pairs: Sequence[str]) -> dict[str, float]:
    """``["x1=2", "x2=5"]`` as ``{"x1": 2.0, "x2": 5.0}``, or a CommandError naming the pair."""
    values: dict[str, float] = {}
    for pair in pairs:
        name, sep, number = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise CommandError(f"--at {pair}: write each value as name=number, e.g. x1=2")
        if not name.isidentifier() or name.startswith("_"):
            raise CommandError(f"--at {pair}: {name!r} is not a variable name")
        if name in FUNCTIONS:
            raise CommandError(f"--at {pair}: {name} is a function, not a variable")
        if name in values:
            raise CommandError(f"--at {pair}: {name} is given twice")
        try:
            value = float(number)
        except ValueError:
            raise CommandError(f"--at {pair}: {number.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise CommandError(f"--at {pair}: the value must be a finite number")
        values[name] = value
    return values


def _output_format(args: argparse.Namespace) -> str:
    """The graph file's format: ``--format``, else the suffix of ``-o``, else svg."""
    if args.format is not None:
        return args.format
    if args.output is None:
        return "svg"
    suffix = Path(args.output).suffix.lower()
    if suffix and suffix not in _SUFFIX_FORMATS:
        raise CommandError(
            f"-o {args.output}: cannot tell the format from {suffix!r}; "
            f"pass --format {'|'.join(FORMATS)}"
        )
    return _SUFFIX_FORMATS.get(suffix, "svg")


class _Parser(argparse.ArgumentParser):
    """argparse with the command's one-line error messages (exit status 2)."""

    def error(self, message: str):
        hint = ""
        if "FORMULA" in message or "unrecognized arguments" in message:
            hint = ' (a formula that starts with "-" goes after "--": --at x=1 -- "-x*x")'
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}{hint}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="scalargrad",
        description="See reverse-mode automatic differentiation, one scalar at a time.",
    )
    commands = parser.add_subparsers(
        title="commands", required=True, metavar="COMMAND", parser_class=_Parser
    )
    draw = commands.add_parser(
        "draw",
        help="draw a formula's graph after the backward pass and print its traces",
        description=(
            "Evaluate FORMULA at the given point, run the backward pass, print the forward "
            "and backward traces, and write the annotated graph and the step-through page. "
            "Formulas use numbers, variables, + - * / **, and the functions "
            + ", ".join(FUNCTIONS)
            + "."
        ),
        epilog='example: scalargrad draw "ln(x1) + x1*x2 - sin(x2)" --at x1=2 x2=5 -o graph.svg',
    )
    draw.add_argument("expression", metavar="FORMULA", help='e.g. "ln(x1) + x1*x2 - sin(x2)"')
    draw.add_argument(
        "--at",
        nargs="+",
        action="extend",
        metavar="NAME=NUMBER",
        help="the value of each variable, e.g. --at x1=2 x2=5",
    )
    draw.add_argument("-o", "--output", metavar="FILE", help="write the graph to FILE")
    draw.add_argument(
        "--format", choices=FORMATS, help="the graph file's format (default: from FILE's suffix)"
    )
    draw.add_argument("--html", metavar="FILE", help="write the step-through page to FILE")
    draw.add_argument(
        "--rankdir", choices=("LR", "TB"), default="LR", help="left to right or top down"
    )
    draw.add_argument(
        "--local", action="store_true", help="write each edge's local derivative on it"
    )
    draw.add_argument(
        "--trace",
        choices=("text", "markdown", "latex"),
        default="text",
        help="how to print the traces (default: text)",
    )
    draw.set_defaults(run=draw_command)
    return parser
