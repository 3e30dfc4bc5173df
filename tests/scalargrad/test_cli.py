"""The ``scalargrad`` command end to end: files, traces, and clean refusals."""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scalargrad.apps.cli import main

REPO = Path(__file__).resolve().parents[2]
LECTURE = ["draw", "ln(x1) + x1*x2 - sin(x2)", "--at", "x1=2", "x2=5"]
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz's `dot` is not installed (apt-get install graphviz); CI installs it",
)


def run(*args: str, env: dict | None = None, cwd: Path | None = None):
    """``python -m scalargrad ARGS`` in a subprocess, as a user would run it."""
    return subprocess.run(
        [sys.executable, "-m", "scalargrad", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        cwd=cwd,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})},
    )


@needs_dot
def test_draw_end_to_end_writes_graph_and_stepper_and_prints_traces(tmp_path):
    result = run(*LECTURE, "-o", "graph.svg", "--html", "steps.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for row in ("v3", "= ln(v1)", "= 0.693", "v7", "= 11.652"):
        assert row in out
    assert "= v̄5·cos(v2) + v̄4·v1" in out and "= −0.284 + 2" in out and "= 1.716" in out
    assert "= v̄4·v2 + v̄3/v1" in out and "= 5 + 0.5" in out and "= 5.5" in out
    svg = (tmp_path / "graph.svg").read_text(encoding="utf-8")
    texts = [t.text for t in ET.fromstring(svg.encode()).iter() if t.tag.endswith("text")]
    assert "grad 5.5" in texts and "grad 1.716" in texts and "data 11.652" in texts
    page = (tmp_path / "steps.html").read_text(encoding="utf-8")
    assert page.count('class="sg-frame"') == 8 and "http" not in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.svg", "steps.html"]


@needs_dot
def test_console_script_is_installed(tmp_path):
    script = shutil.which("scalargrad")
    if script is None:
        pytest.skip("the `scalargrad` console script is not on PATH (pip install -e .)")
    result = subprocess.run(
        [script, "draw", "x*y", "--at", "x=3", "y=-4", "-o", str(tmp_path / "g.svg")],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "g.svg").exists()


@needs_dot
@pytest.mark.parametrize(
    "args, name, check",
    [
        (["-o", "g.dot"], "g.dot", lambda b: b.startswith(b"digraph")),
        (["-o", "g.png"], "g.png", lambda b: b.startswith(b"\x89PNG")),
        (["-o", "graph", "--format", "png"], "graph", lambda b: b.startswith(b"\x89PNG")),
        (["-o", "g.svg", "--format", "dot"], "g.svg", lambda b: b.startswith(b"digraph")),
        (["-o", "g.svg", "--rankdir", "TB", "--local"], "g.svg", lambda b: b"cos(v2)" in b),
    ],
)
def test_formats(tmp_path, capsys, monkeypatch, args, name, check):
    monkeypatch.chdir(tmp_path)
    assert main([*LECTURE, *args]) == 0
    assert check((tmp_path / name).read_bytes())


def test_trace_formats_and_no_file_without_output(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*LECTURE, "--trace", "latex"]) == 0
    out = capsys.readouterr().out
    assert r"$\bar{v}_{2}$ & $= \bar{v}_{5}\cdot \cos (v_{2}) + \bar{v}_{4}\cdot v_{1}$" in out
    assert main([*LECTURE, "--trace", "markdown"]) == 0
    assert "| v̄1 | = v̄4·v2 + v̄3/v1 | = 5 + 0.5 | = 5.5 |" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


REFUSED = [
    (["draw", "__import__('os').system('touch PWNED')", "--at", "x=1"], "__import__"),
    (["draw", "().__class__", "--at", "x=1"], "().__class__"),
    (["draw", "x.__dict__", "--at", "x=1"], "x.__dict__"),
    (["draw", "open('PWNED', 'w')", "--at", "x=1"], "open"),
    (["draw", "x" * 3000, "--at", "x=1"], "3000 characters long"),
    (["draw", "(" * 500 + "x" + ")" * 500, "--at", "x=1"], "brackets deep"),
    (["draw", "--at", "x=1", "--", "-" * 1500 + "x"], "levels deep"),
    (["draw", "[x for x in y]", "--at", "x=1"], "comprehensions"),
    (["draw", "x * y", "--at", "x=1"], "no value for y"),
    (["draw", "log(x)", "--at", "x=-1"], "log: input must be positive"),
    (["draw", "1/(x-1)", "--at", "x=1"], "division by zero"),
    # √x·√x at 0: the chain rule meets ∞·0, undefined (the float policy, issue #13)
    (
        ["draw", "x ** 0.5 * x ** 0.5", "--at", "x=0"],
        "backward: the derivative of 'x' is NaN, from pow's backward (operand 0)",
    ),
    (["draw", "x * 1e308 * y", "--at", "x=10", "y=1"], "mul: 10 × 1e+308 overflows"),
    (["draw", "x", "--at", "x=abc"], "'abc' is not a number"),
    (["draw", "x", "--at", "x"], "write each value as name=number"),
    (["draw", "x", "--at", "x=1", "x=2"], "x is given twice"),
    (["draw", "x", "--at", "x=inf"], "--at x=inf: x must be a finite number, got inf"),
    (["draw", "x", "--at", "x=-Infinity"], "x must be a finite number, got -Infinity"),
    (["draw", "x", "--at", "x=nan"], "--at x=nan: x must be a finite number, got nan"),
    (["draw", "x", "--at", "x=1e999"], "1e999 is too large for a float"),
    # The limit is printed precisely enough to differ from the number refused.
    (["draw", "x", "--at", "x=1.8e308"], "1.8e308 is too large for a float (at most ±1.79769"),
    (["draw", "x", "--at", "x=1e-400"], "1e-400 is too small for a float and would become 0"),
    (["draw", "x*1e-400", "--at", "x=1"], "too small for a float: it would silently become 0"),
    (["draw", "ℌ*H", "--at", "H=1"], "ℌ and H are one variable to Python"),
    (["draw", "ℌ", "--at", "ℌ=1", "H=2"], "--at H=2: H and ℌ are one variable"),
    (["draw", "x", "--at", "sin=1"], "sin is a function"),
    (["draw", "x", "--at", "x=1", "-o", "graph.pdf"], "cannot tell the format from '.pdf'"),
    (["draw", "x", "--at", "x=1", "-o", "missing/graph.svg"], "its folder does not exist"),
    (["draw", "x", "--at", "x=1", "-o", ""], 'cannot write "": the file name is empty'),
    (["draw", "x", "--at", "x=1", "-o", "g.dot", "--html", ""], "the file name is empty"),
    # Every output is checked before any is written (issue #13).
    (["draw", "x", "--at", "x=1", "-o", "ok.svg", "--html", "/dev/full"], "not a regular file"),
    (["draw", "x", "--at", "x=1", "-o", "ok.svg", "--html", "."], "cannot write .: it is a folder"),
    (["draw", "x", "--at", "x=1", "-o", "/proc/g.svg"], "its folder takes no new file"),
    (
        ["draw", "x", "--at", "x=1", "-o", "same.html", "--format", "dot", "--html", "same.html"],
        "same.html is named for two outputs",
    ),
    (
        ["draw", "x", "--at", "x=1", "-o", "./same.html", "--format", "dot", "--html", "same.html"],
        "./same.html and same.html are one file",
    ),
    # Misspelled options are named, with the closest real one (issue #16).
    (["draw", "x*y", "--att", "x=1", "y=2"], "unknown option --att (did you mean --at?)"),
    (["draw", "--att", "x=1", "y=2", "x*y"], "unknown option --att (did you mean --at?)"),
    (["draw", "x", "--at", "x=1", "--ouput", "g.svg"], "--ouput (did you mean --output?)"),
    (["draw", "x", "--at", "x=1", "--HTML", "s.html"], "--HTML (did you mean --html?)"),
    (["draw", "--at", "x=1", "y=2"], "no formula given"),
    (["draw", "--at", "x=1", "x*y", "x+y"], "2 formulas given (x*y, x+y)"),
]


@pytest.mark.parametrize("args, part", REFUSED, ids=[" ".join(a[1:])[:40] for a, _ in REFUSED])
def test_refusals_print_one_line_exit_2_and_write_nothing(
    args, part, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    full = args if "-o" in args else [args[0], "-o", "g.svg", "--html", "s.html", *args[1:]]
    assert main(full) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("scalargrad: error: ") and part in lines[0]
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []  # no graph, no page, and nothing PWNED


def test_the_largest_float_is_accepted_and_the_limit_quoted_is_it(capsys):
    assert main(["draw", "x", "--at", f"x={sys.float_info.max!r}"]) == 0
    capsys.readouterr()
    assert main(["draw", "x", "--at", "x=1.8e308"]) == 2
    quoted = re.search(r"at most ±(\S+)\)", capsys.readouterr().err).group(1)
    assert float(quoted) == sys.float_info.max and float(quoted) != 1.8e308


def too_long_name(folder: Path, suffix: str) -> str:
    """A file name one byte longer than the folder's file system allows."""
    return "a" * (os.pathconf(folder, "PC_NAME_MAX") + 1 - len(suffix)) + suffix


@pytest.mark.parametrize("option, suffix", [("-o", ".svg"), ("--html", ".html")])
def test_a_file_name_too_long_is_one_line_naming_it_and_the_reason(
    option, suffix, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    name = too_long_name(tmp_path, suffix)
    assert main(["draw", "x*y", "--at", "x=1", "y=2", option, name]) == 2
    captured = capsys.readouterr()
    reason = os.strerror(errno.ENAMETOOLONG)  # the OS's own words
    assert captured.err == f"scalargrad: error: cannot write {name}: {reason}\n"
    assert captured.out == "" and list(tmp_path.iterdir()) == []


def test_a_file_name_at_the_limit_is_written(tmp_path, capsys, monkeypatch):
    """Its temporary file beside it must not overflow the limit either."""
    monkeypatch.chdir(tmp_path)
    name = too_long_name(tmp_path, ".dot")[1:]  # exactly the longest name allowed
    assert main(["draw", "x*y", "--at", "x=1", "y=2", "-o", name]) == 0
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert (tmp_path / name).read_text().startswith("digraph")


def test_moons_out_too_long_is_one_line_and_leaves_no_folder(tmp_path, capsys, monkeypatch):
    from scalargrad.apps.train_moons import main as moons

    monkeypatch.chdir(tmp_path)
    out = Path("new", too_long_name(tmp_path, ""))
    assert moons(["--steps", "1", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    reason = os.strerror(errno.ENAMETOOLONG)
    assert captured.err == f"scalargrad-moons: error: --out {out}: cannot create it ({reason})\n"
    assert captured.out == "" and list(tmp_path.iterdir()) == []  # not even new/


@pytest.mark.parametrize("args", [["x ** 0.5", "--at", "x=0"], ["x ** y", "--at", "x=0", "y=0.5"]])
def test_an_infinite_derivative_is_drawn_and_traced(args, tmp_path, capsys, monkeypatch):
    """√x at 0 has slope +∞ (as PyTorch): the traces and the drawing show it; issue #13 found
    x ** y printing 0 there."""
    monkeypatch.chdir(tmp_path)
    assert main(["draw", *args, "--format", "dot", "-o", "g.dot"]) == 0
    backward = capsys.readouterr().out.split("\n\n")[-1]
    assert re.search(r"v̄1 .*= inf", backward), backward  # v1 is x
    assert "inf" in (tmp_path / "g.dot").read_text()


def test_hostile_expression_in_a_subprocess_is_refused(tmp_path):
    result = run("draw", "__import__('os').system('touch PWNED')", "--at", "x=1", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "only the engine's functions" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_missing_dot_is_an_install_hint_and_no_file(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    result = run(*LECTURE, "-o", "graph.svg", cwd=tmp_path, env={"PATH": str(empty)})
    assert result.returncode == 2
    assert "apt-get install graphviz" in result.stderr and "brew install graphviz" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]
    # DOT output needs no Graphviz at all.
    result = run(*LECTURE, "-o", "graph.dot", cwd=tmp_path, env={"PATH": str(empty)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "graph.dot").read_text(encoding="utf-8").startswith("digraph")


def test_usage_errors_are_one_line_too(capsys):
    for argv in ([], ["draw"], ["draw", "-x", "--at", "x=1"], ["draw", "x", "--rankdir", "XY"]):
        try:
            status = main(argv)
        except SystemExit as exit_:  # argparse's own errors
            status = exit_.code
        assert status == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error:" in err, err
    assert main(["draw", "--at", "x=3", "--", "-x*x"]) == 0  # a leading minus after --
    assert "= −9" in capsys.readouterr().out


def test_help():
    result = run("draw", "--help")
    text = " ".join(result.stdout.split())  # argparse wraps lines to the terminal width
    assert result.returncode == 0 and "log, ln, exp, sin" in text


# ---- issue #13 and #16: options anywhere, outputs all or none, pipes ------------------

LECTURE_F = ["--at", "x=-2", "y=5", "z=-4"]  # f = (x+y)z at (−2, 5, −4) is −12


@pytest.mark.parametrize(
    "argv",
    [
        ["draw", "(x+y)*z", *LECTURE_F],
        ["draw", *LECTURE_F, "(x+y)*z"],  # --at swallows the formula: it is found there
        ["draw", "--trace", "text", *LECTURE_F, "(x+y)*z"],
        ["draw", "--rankdir", "TB", "(x+y)*z", *LECTURE_F],
        ["draw", "--at", "x=-2", "(x+y)*z", "--at", "y=5", "z=-4"],
        ["draw", "--at=x=-2", "--at", "y=5", "z=-4", "--", "(x+y)*z"],
    ],
    ids=lambda argv: " ".join(argv[1:]),
)
def test_options_before_or_after_the_formula(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "= −12" in out and "= −4" in out and "= 3" in out


def test_a_formula_starting_with_minus_needs_no_dashes(capsys):
    assert main(["draw", "-x*x", "--at", "x=3"]) == 0
    assert "= −9" in capsys.readouterr().out
    assert main(["draw", "--at", "x=3", "-sin(x)"]) == 0
    assert "= −0.141" in capsys.readouterr().out


def test_a_misspelled_command_is_suggested(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["drwa", "x", "--at", "x=1"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean draw?" in err


def test_nfkc_look_alike_names_are_one_variable_spelled_as_typed(capsys):
    # Python reads ℌ as H; --at reads it the same way, and the drawing keeps ℌ.
    assert main(["draw", "ℌ*2", "--at", "ℌ=3"]) == 0
    out = capsys.readouterr().out
    assert "= ℌ" in out and "= 6" in out
    assert main(["draw", "ℌ*2", "--at", "H=3"]) == 0
    assert "= 6" in capsys.readouterr().out


def test_subnormal_values_are_kept():
    assert main(["draw", "x*2", "--at", "x=1e-310"]) == 0


@needs_dot
def test_a_failed_write_leaves_no_file_at_all(tmp_path, capsys, monkeypatch):
    import scalargrad.apps.outputs as outputs

    monkeypatch.chdir(tmp_path)
    (tmp_path / "old.svg").write_text("the old drawing")
    real_replace, calls = os.replace, []

    def replace_then_fail(source, target):  # the second rename fails (a full disk, say)
        calls.append(target)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(outputs.os, "replace", replace_then_fail)
    assert main([*LECTURE, "-o", "new.svg", "--html", "new.html"]) == 2
    err = capsys.readouterr().err
    assert err == "scalargrad: error: cannot write new.html: No space left on device\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.svg"]  # no temporary left


@needs_dot
def test_outputs_are_written_whole_with_the_usual_permissions(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.umask(old := os.umask(0o022))
    assert main([*LECTURE, "-o", "g.svg", "--html", "s.html"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.svg", "s.html"]
    assert (tmp_path / "g.svg").stat().st_mode & 0o777 == 0o666 & ~old
    assert capsys.readouterr().err.splitlines() == ["wrote g.svg", "wrote s.html"]


def run_with_closed_stdout(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``python ARGS`` with stdout a pipe whose reader is already gone (``| head -0``)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            timeout=120,
            cwd=cwd,
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        )
    finally:
        os.close(write)


@needs_dot
def test_draw_into_a_closed_pipe_writes_its_files_and_ends_quietly(tmp_path):
    result = run_with_closed_stdout("-m", "scalargrad", *LECTURE, "-o", "g.svg", cwd=tmp_path)
    assert "Traceback" not in result.stderr and "Error" not in result.stderr, result.stderr
    assert result.returncode == 141  # what a shell reports for a tool stopped by SIGPIPE
    assert result.stderr == "wrote g.svg\n"
    assert (tmp_path / "g.svg").read_text(encoding="utf-8").rstrip().endswith("</svg>")


def test_draw_into_head_in_a_real_shell_prints_no_traceback(tmp_path):
    if shutil.which("sh") is None or shutil.which("head") is None:
        pytest.skip("needs a POSIX shell and head")
    formula = "+".join(f"sin(x*{i})" for i in range(1, 80))  # traces longer than a pipe holds
    result = subprocess.run(
        ["sh", "-c", f'"$0" -m scalargrad draw "{formula}" --at x=1 | head -1', sys.executable],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        cwd=tmp_path,
    )
    assert result.stdout == "Forward (evaluation) trace\n"
    assert result.stderr == "" and result.returncode == 0
