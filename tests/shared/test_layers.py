"""The layout is the architecture: the engines need only numpy, and nothing below uses apps."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import REPO

BLOCK_OPTIONAL = """
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"graphviz", "matplotlib", "tqdm", "torch", "scipy"}:
            raise ImportError(f"{name} is blocked: the engine must not need it")
sys.meta_path.insert(0, Refuse())
"""


def test_engines_and_a_backward_pass_need_only_numpy():
    code = BLOCK_OPTIONAL + (
        "import numpy as np, scalargrad, vecgrad\n"
        "x = scalargrad.Value(2.0); y = scalargrad.log(x) * x; y.backward()\n"
        "assert abs(x.grad - (np.log(2) + 1)) < 1e-12\n"
        "W = vecgrad.Tensor(np.eye(2), requires_grad=True)\n"
        "(W @ vecgrad.Tensor([1.0, 2.0])).tanh().sum().backward()\n"
        "assert W.grad.shape == (2, 2)\n"
        "import vecgrad.nn, vecgrad.optim, scalargrad.nn, scalargrad.optim\n"
        "import scalargrad.forward, vecgrad.forward\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_the_display_layer_is_imported_on_first_use():
    code = (
        "import sys, scalargrad\n"
        "assert 'graphviz' not in sys.modules and 'scalargrad.display.draw' not in sys.modules\n"
        "from scalargrad import draw_graph, Stepper\n"
        "assert 'scalargrad.display.draw' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def _imported_modules(path) -> set[str]:
    """Absolute names of the project modules that a file imports (relative ones resolved)."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.split(".")[0] in ("scalargrad", "vecgrad")}


def test_the_library_never_imports_its_applications():
    offenders = []
    for package in ("scalargrad", "vecgrad"):
        for path in sorted((REPO / package).rglob("*.py")):
            if "apps" in path.relative_to(REPO).parts or path.name == "__main__.py":
                continue
            uses = sorted(n for n in _imported_modules(path) if ".apps" in n)
            if uses:
                offenders.append(f"{path.relative_to(REPO)} imports {uses}")
    assert not offenders, offenders


def test_the_engine_never_imports_the_display_layer_at_import_time():
    offenders = []
    for path in sorted((REPO / "scalargrad").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only: Jupyter's repr hooks import on use
            if isinstance(node, ast.ImportFrom) and node.module and "display" in node.module:
                offenders.append(f"{path.relative_to(REPO)}: from {node.module}")
    assert not offenders, offenders


def test_every_package_folder_is_a_package():
    """setuptools' package discovery ships only folders with an __init__.py."""
    missing = [
        str(folder.relative_to(REPO))
        for package in ("scalargrad", "vecgrad")
        for folder in [REPO / package, *(REPO / package).rglob("*")]
        if folder.is_dir()
        and folder.name != "__pycache__"
        and any(folder.glob("*.py"))
        and not (folder / "__init__.py").exists()
    ]
    assert not missing, missing


def _import_edges(path) -> set[str]:
    """The project modules a file imports, anywhere in it: ``from .ops import Op`` is an edge
    to ops, ``from . import ops`` an edge to ops (not to the package that holds it)."""
    package = path.relative_to(REPO).with_suffix("").parts[:-1]
    if path.name == "__init__.py":
        package = path.relative_to(REPO).parts[:-1]
    modules = _project_modules()
    edges = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            edges.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                name = f"{module}.{alias.name}"
                edges.add(name if name in modules else module)
    return {name for name in edges if name in modules}


def _project_modules() -> dict:
    """Module name → path, for every module of scalargrad and vecgrad."""
    modules = {}
    for package in ("scalargrad", "vecgrad"):
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def test_no_import_cycles_among_the_library_modules():
    """No library module imports itself through others, not even from inside a function (a
    cycle dodged by an import at call time is still a cycle). The one exception: Value's
    and Tensor's ``_repr_svg_`` import the display layer when Jupyter asks, which sits
    above the engine and may import it. (The applications are not checked here.)"""
    graph = {}
    for name, path in _project_modules().items():
        if ".apps" in name:
            continue
        edges = _import_edges(path)
        if name in ("scalargrad.value", "vecgrad.tensor"):
            edges = {e for e in edges if not e.startswith("scalargrad.display")}
        graph[name] = edges - {name}
    cycles = []
    state = {}  # name -> "open" while on the path, "done" once every edge is explored
    for start in graph:
        if start in state:
            continue
        stack = [(start, iter(sorted(graph[start])))]  # iterative: a deep chain is fine
        path = [start]
        state[start] = "open"
        while stack:
            name, edges = stack[-1]
            for nxt in edges:
                if state.get(nxt) == "open":
                    cycles.append(" -> ".join(path[path.index(nxt) :] + [nxt]))
                elif nxt not in state:
                    state[nxt] = "open"
                    path.append(nxt)
                    stack.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
            else:
                state[name] = "done"
                stack.pop()
                path.pop()
    assert not cycles, cycles
