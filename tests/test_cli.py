"""The ``scalargrad`` command end to end: files, traces, and clean refusals."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scalargrad.apps.cli import main

REPO = Path(__file__).resolve().parents[1]
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
    (["draw", "x ** 0.5", "--at", "x=0"], "backward pass: the gradient of x is inf"),
    (["draw", "x ** y", "--at", "x=0", "y=0.5"], "backward pass: the gradient of x is inf"),
    (["draw", "x", "--at", "x=abc"], "'abc' is not a number"),
    (["draw", "x", "--at", "x"], "write each value as name=number"),
    (["draw", "x", "--at", "x=1", "x=2"], "x is given twice"),
    (["draw", "x", "--at", "x=inf"], "finite"),
    (["draw", "x", "--at", "sin=1"], "sin is a function"),
    (["draw", "x", "--at", "x=1", "-o", "graph.pdf"], "cannot tell the format from '.pdf'"),
    (["draw", "x", "--at", "x=1", "-o", "missing/graph.svg"], "its folder does not exist"),
]


@pytest.mark.parametrize("args, part", REFUSED, ids=[" ".join(a[1:2])[:30] for a, _ in REFUSED])
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
    for argv in ([], ["draw"], ["draw", "-x*x", "--at", "x=1"], ["draw", "x", "--rankdir", "XY"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error:" in err, err
    assert main(["draw", "--at", "x=3", "--", "-x*x"]) == 0  # a leading minus after --
    assert "= −9" in capsys.readouterr().out


def test_help():
    result = run("draw", "--help")
    text = " ".join(result.stdout.split())  # argparse wraps lines to the terminal width
    assert result.returncode == 0 and "log, ln, exp, sin" in text
