"""The ``scalargrad`` command: draw a formula's graph and print its traces.

    scalargrad draw "ln(x1) + x1*x2 - sin(x2)" --at x1=2 x2=5 -o graph.svg --html steps.html

evaluates the formula at the given point, runs the backward pass once, prints the
forward and backward traces, writes the annotated graph (``--format dot|svg|png``,
otherwise from the file's suffix) and, with ``--html``, the step-through page. On any
error it prints one line to stderr, exits with status 2 and writes no file.
"""

from __future__ import annotations

import argparse
import difflib
import math
import re
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from ..autodiff import backward_steps
from ..display.draw import FORMATS, GraphvizNotFound, draw_graph, write_drawing
from ..display.stepper import MAX_FRAMES, Stepper
from ..display.trace import backward_trace, forward_trace
from .expression import FUNCTIONS, ExpressionError, parse_expression, underflows
from .outputs import OutputError, check_outputs, silence_stdout, write_outputs

EXIT_ERROR = 2  # as argparse uses for bad usage
_SUFFIX_FORMATS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png"}


class CommandError(Exception):
    """A problem with the command's input; the message is printed as one line."""


def main(argv: Sequence[str] | None = None) -> int:
    """Return the exit status of ``scalargrad`` run with ``argv`` (default: sys.argv[1:])."""
    parser, draw = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["draw"]:
            argv = ["draw", *_formula_after_dashes(_check_options(argv[1:], draw))]
        args = parser.parse_args(argv)
        if args.run is draw_command:
            _take_formula_from_at(args)
        status = args.run(args)
        sys.stdout.flush()  # here, not at exit: a reader that is gone must end us quietly
        return status
    except CommandError as error:
        print(f"scalargrad: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # `scalargrad draw … | head -1`: the reader has all it wanted
        return silence_stdout()


def draw_command(args: argparse.Namespace) -> int:
    """Return 0 after writing the requested files and printing the traces."""
    values = _parse_at(args.at or [])
    try:
        expression = parse_expression(args.expression)
        unused = [n for n in values if unicodedata.normalize("NFKC", n) not in expression.names]
        root = expression.evaluate(values)
    except ExpressionError as error:
        raise CommandError(f"{error}") from None

    fmt = _output_format(args)
    paths = [path for path in (args.output, args.html) if path is not None]
    try:
        check_outputs(paths)  # before the work: a bad name must not cost a render
    except OutputError as error:
        raise CommandError(str(error)) from None

    # One backward pass: the traces, the drawing and the stepper all present its steps.
    # A gradient may be ±inf (√x at 0: the drawing shows it); a NaN one is refused by the
    # engine, naming the op (scalargrad/float_checks.py).
    try:
        steps = list(backward_steps(root))
    except (ValueError, ArithmeticError) as error:
        raise CommandError(f"{error}") from None

    # Build every file in memory first, then write them all or none.
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
        write_outputs(outputs)
    except GraphvizNotFound as error:
        raise CommandError(str(error)) from None
    except OutputError as error:
        raise CommandError(str(error)) from None

    if unused:
        print(f"scalargrad: note: {', '.join(unused)} not used by the formula", file=sys.stderr)
    tables = [forward_trace(root), backward_trace(root, steps=steps)]
    render = {"text": "to_text", "markdown": "to_markdown", "latex": "to_latex"}[args.trace]
    status = 0
    try:
        print("\n\n".join(getattr(table, render)() for table in tables), flush=True)
    except BrokenPipeError:  # the files are written: only the reader of the traces is gone
        status = silence_stdout()
    for path, _ in outputs:
        print(f"wrote {path}", file=sys.stderr)
    return status


def _parse_at(pairs: Sequence[str]) -> dict[str, float]:
    """``["x1=2", "x2=5"]`` as ``{"x1": 2.0, "x2": 5.0}``, or a CommandError naming the pair.

    Names are read as Python reads them in the formula (NFKC: ``ℌ`` is ``H``).
    """
    values: dict[str, float] = {}
    given: dict[str, str] = {}  # NFKC name -> as typed
    for pair in pairs:
        name, sep, number = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise CommandError(f"--at {pair}: write each value as name=number, e.g. x1=2")
        if not name.isidentifier() or name.startswith("_"):
            raise CommandError(f"--at {pair}: {name!r} is not a variable name")
        key = unicodedata.normalize("NFKC", name)
        if key in FUNCTIONS:
            raise CommandError(f"--at {pair}: {name} is a function, not a variable")
        if key in values:
            same = "is given twice" if given[key] == name else f"and {given[key]} are one variable"
            raise CommandError(f"--at {pair}: {name} {same}")
        values[key], given[key] = _number(pair, name, number.strip()), name
    return {given[key]: value for key, value in values.items()}


def _number(pair: str, name: str, text: str) -> float:
    """The float ``text`` reads as, refusing what a float would silently change."""
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"--at {pair}: {text!r} is not a number") from None
    if math.isnan(value) or (math.isinf(value) and "inf" in text.lower()):
        raise CommandError(f"--at {pair}: {name} must be a finite number, got {text}")
    if math.isinf(value):
        raise CommandError(
            f"--at {pair}: {text} is too large for a float (at most ±{sys.float_info.max!r})"
        )
    if value == 0 and underflows(text):
        raise CommandError(
            f"--at {pair}: {text} is too small for a float and would become 0 (the smallest "
            "is about 5e-324); write 0 if you mean 0"
        )
    return value


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


# ---- the command line -----------------------------------------------------------

_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")  # argparse reads these as positionals
_FORMULA_CHARS = re.compile(r"[*/+()^ .,]")  # in a formula, never in an option's name


def _check_options(args: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """Return ``args`` (draw's) unchanged, or raise CommandError for an unknown option.

    argparse alone would call ``--att x=1`` an "unrecognized argument" after misreading
    what follows; this names the option and suggests the closest one.
    """
    known = [s for action in parser._actions for s in action.option_strings]
    for arg in args:
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-" or _NEGATIVE_NUMBER.match(arg):
            continue
        name = arg.split("=", 1)[0]
        if _is_option(name, arg, known) or _FORMULA_CHARS.search(arg):
            continue  # an option, or a formula that starts with "-" (moved after "--")
        close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.6)
        hint = (
            f" (did you mean {close[0]}?)"
            if close
            else ' (a formula that starts with "-" goes after "--": --at x=1 -- "-x")'
        )
        raise CommandError(f"draw: unknown option {name}{hint}")
    return args


def _is_option(name: str, arg: str, known: list[str]) -> bool:
    """``--html``, an abbreviation argparse accepts (``--htm``), or ``-oFILE``."""
    if name in known:
        return True
    if name.startswith("--"):
        return sum(option.startswith(name) for option in known) == 1
    return arg[:2] in known  # a short option with its value attached


def _formula_after_dashes(args: list[str]) -> list[str]:
    """Move a formula that starts with "-" (``-x*x``, ``-sin(x)``) after "--" for argparse."""
    if "--" in args:
        return args
    formulas = [
        a for a in args if a.startswith("-") and not a.startswith("--") and _FORMULA_CHARS.search(a)
    ]
    formulas = [a for a in formulas if not _NEGATIVE_NUMBER.match(a) and "=" not in a]
    if len(formulas) != 1:
        return args
    rest = list(args)
    rest.remove(formulas[0])
    return [*rest, "--", formulas[0]]


def _take_formula_from_at(args: argparse.Namespace) -> None:
    """Find the formula where ``--at`` swallowed it: ``draw --at x=1 y=2 "x*y"``.

    ``--at`` takes every word up to the next option, so a formula after it lands in its
    list; a word that is not ``name=…`` there is the formula.
    """
    if args.expression is not None:
        return
    pairs = args.at or []
    formulas = [a for a in pairs if not a.partition("=")[0].strip().isidentifier()]
    if not formulas:
        raise CommandError('draw: no formula given, e.g. scalargrad draw "x*y" --at x=3 y=-4')
    if len(formulas) > 1:
        raise CommandError(
            f"draw: {len(formulas)} formulas given ({', '.join(formulas)}): give one, in "
            "quotes if it has spaces"
        )
    args.expression = formulas[0]
    args.at = [a for a in pairs if a is not formulas[0]]


class _Parser(argparse.ArgumentParser):
    """argparse with the command's one-line error messages (exit status 2)."""

    def error(self, message: str):
        hint = ""
        if "unrecognized arguments" in message:
            hint = " (give one formula, in quotes if it has spaces)"
        choice = re.search(r"invalid choice: '([^']*)'", message)
        if choice and self._subparsers is not None:
            commands = [c for a in self._subparsers._group_actions for c in (a.choices or ())]
            close = difflib.get_close_matches(choice.group(1), commands, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}{hint}\n")


def _parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The ``scalargrad`` parser and its ``draw`` sub-parser."""
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
    draw.add_argument(
        "expression",
        metavar="FORMULA",
        nargs="?",  # may come after --at, which then swallows it (see _take_formula_from_at)
        help='e.g. "ln(x1) + x1*x2 - sin(x2)", before or after the options',
    )
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
    return parser, draw
