"""Every notebook in notebooks/ runs top to bottom, and is committed without outputs.

The execution test picks up every ``notebooks/*.ipynb`` by itself, so a new notebook is
tested as soon as it is added. Each one runs in a fresh kernel of this interpreter, in a
temporary working directory (files a notebook writes land there, not in the repository),
with two environment variables set:

    SCALARGRAD_REPO   the repository root: notebooks find the shared data as
                      ``Path(os.environ["SCALARGRAD_REPO"]).parent / "shared" / "data"``
                      (opened by hand, they fall back to walking up from the cwd)
    PYTHONPATH        the repository root first, so the kernel imports the code under test
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
ANSI_COLOURS = re.compile(r"\x1b\[[0-9;]*m")  # IPython colours its tracebacks
CELL_TIMEOUT = 600  # seconds per cell: training cells of later notebooks take minutes at most


def _ids(paths: list[Path]) -> list[str]:
    return [path.name for path in paths]


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks found in {REPO / 'notebooks'}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_committed_clean(path: Path):
    """No outputs, no execution counts: diffs stay readable and nothing stale is shipped."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    dirty = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        if cell.get("outputs"):
            dirty.append(f"cell {index} has {len(cell['outputs'])} output(s)")
        if cell.get("execution_count") is not None:
            dirty.append(f"cell {index} has execution_count {cell['execution_count']}")
    assert not dirty, (
        f"{path.name} is committed with outputs: {'; '.join(dirty)}. Clear them "
        f"(`jupyter nbconvert --clear-output --inplace {path.relative_to(REPO)}`)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_valid(path: Path):
    """The file is a valid nbformat 4 notebook with a Python kernel."""
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.get("kernelspec", {}).get("language") == "python"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The notebook executes top to bottom in a fresh kernel; a failing cell fails the test."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from nbclient.exceptions import CellExecutionError

    # The kernel inherits this process's environment.
    monkeypatch.setenv("SCALARGRAD_REPO", str(REPO))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working directory
    )
    failure = None
    try:
        client.execute()
    except CellExecutionError as error:
        # The message holds the failing cell's source and its traceback (minus the colours).
        failure = ANSI_COLOURS.sub("", str(error))
    if failure is not None:  # outside the except: no "during handling" chain in the report
        pytest.fail(f"{path.name} failed while running a cell:\n{failure}", pytrace=False)
