"""Every Python example in the README runs as written (those that download data aside)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

BLOCKS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
DOWNLOADS = ("load_mnist()", "load_fashion_mnist()")  # need the network: not run here


def test_the_readme_has_examples():
    """Each section that names a module (`scalargrad.nn`) shows it in a Python example
    that imports that package and compiles; the slow test below runs them."""
    readme = (REPO / "README.md").read_text()
    missing = []
    for section in re.split(r"^## ", readme, flags=re.M)[1:]:
        heading = section.splitlines()[0]
        packages = {name for name in re.findall(r"`(scalargrad|vecgrad)\.\w", heading)}
        if not packages:
            continue
        examples = re.findall(r"```python\n(.*?)```", section, re.S)
        for package in sorted(packages):
            imports = rf"^(import .*\b{package}\b|from {package}\b)"
            if not any(re.search(imports, code, re.M) for code in examples):
                missing.append(f"{heading!r}: no Python example imports {package}")
    assert not missing, missing
    for index, code in enumerate(BLOCKS):
        compile(code, f"README.md Python block {index}", "exec")  # a SyntaxError fails here


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, tmp_path):
    code = BLOCKS[index]
    if any(call in code for call in DOWNLOADS):
        pytest.skip("this example downloads MNIST, and this machine may have no network")
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,  # files the examples write land in a temporary directory
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(REPO)),
    )
    assert result.returncode == 0, f"README example {index} failed:\n{code}\n{result.stderr}"


def test_bare_pytest_collects_from_the_repository_root():
    """The README's `pytest` (not `python -m pytest`) imports `tests.op_table` too."""
    pytest_command = Path(sys.executable).with_name("pytest")
    if not pytest_command.exists():
        pytest.skip("no pytest script beside this interpreter")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [
            str(pytest_command),
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/shared/test_parity.py",
            "tests/vecgrad/test_ops.py",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower()


def test_ci_runs_the_readme_blocks_verbatim():
    """`.ci/run` takes the README's first two bash blocks: the main job, then the tests."""
    blocks = re.findall(r"^```bash\n(.*?)^```", (REPO / "README.md").read_text(), re.S | re.M)
    assert "vecgrad-mnist" in blocks[0]
    assert blocks[1].strip().endswith("&& pytest")
    ci = (REPO / ".ci" / "run").read_text()
    assert "readme_block.py 1" in ci and "readme_block.py 2" in ci
    assert "python3 -m venv" in ci
