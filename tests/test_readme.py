"""Every Python example in the README runs as written (those that download data aside)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

BLOCKS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
DOWNLOADS = ("load_mnist()", "load_fashion_mnist()")  # need the network: not run here


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 5


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
