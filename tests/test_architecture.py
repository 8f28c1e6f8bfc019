"""The shape docs/architecture.md promises, checked on the source: the functions the walk names
exist, layers point one way, no two modules import each other, no module outgrows one subject."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"

# Left to right: each may import core/ and the ones before it, never one after it.
LAYERS = ["accounts", "audit", "imports", "surveys", "segments", "alerts", "cases", "contactpolicy", "followup", "customers",
          "journeys", "outcomes", "churn", "privacy", "reporting", "improvement", "organisation",
          "demo"]
APPS = ["core", *LAYERS]
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    found = {}
    for package in APPS + ["config"]:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _run_at_import(tree: ast.AST):
    """The nodes a module runs when imported: all but the bodies of its functions."""
    for node in ast.iter_child_nodes(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield node
            yield from _run_at_import(node)


def _imports(path: Path, at_import: bool = False) -> set[str]:
    """Every project module `path` imports, at the top or inside a function (only those run when
    it is imported, with `at_import`)."""
    names = set()
    tree = ast.parse(path.read_text())
    for node in (_run_at_import(tree) if at_import else ast.walk(tree)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            candidates = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        for candidate in candidates:
            if candidate in MODULES:
                names.add(candidate)
                break
    return names


def _with_packages(name: str, path: Path) -> set[str]:
    """What `name` imports, and the packages those imports run: importing `a.b.c` at import time
    first runs the packages `a` and `a.b` (their __init__ and what it imports). A module inside a
    package is run by that package, so its own packages are left out (importing a sibling from a
    package being initialised is fine), and so are imports inside functions (they run once every
    package is initialised). The inbox importing a template library that imports cases.views
    (whose __init__ imports the inbox) was such a cycle: a process that loaded the template
    libraries first (manage.py's checks) failed to start."""
    edges = _imports(path)
    for target in _imports(path, at_import=True):
        parts = target.split(".")
        for cut in range(1, len(parts)):
            package = ".".join(parts[:cut])
            if package in MODULES and not name.startswith(package + ".") and name != package:
                edges.add(package)
    return edges


GRAPH = {name: _with_packages(name, path) - {name} for name, path in MODULES.items()}


def _walk_references() -> list[tuple[str, str]]:
    return re.findall(r"`([\w/]+\.py): (\w+)`", DOC.read_text())


def test_the_walk_names_about_ten_functions():
    assert 10 <= len(_walk_references()) <= 16


@pytest.mark.parametrize("path, name", _walk_references())
def test_every_function_the_walk_names_exists(path, name):
    tree = ast.parse((ROOT / path).read_text())
    defined = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    assert name in defined, f"docs/architecture.md names {path}: {name}, which is not defined there"


def test_core_imports_no_app_and_no_app_imports_config():
    upward = sorted((m, i) for m, imported in GRAPH.items() for i in imported
                    if (m.startswith("core") and not i.startswith("core"))
                    or (m.split(".")[0] in LAYERS and i.split(".")[0] == "config"))
    assert upward == []


def test_apps_import_only_core_and_the_apps_below_them():
    upward = []
    for module, imported in GRAPH.items():
        app = module.split(".")[0]
        if app not in LAYERS:
            continue
        for target in imported:
            other = target.split(".")[0]
            if other in LAYERS and LAYERS.index(other) > LAYERS.index(app):
                upward.append((module, target))
    assert sorted(upward) == []


def test_no_import_cycles():
    """Tarjan's strongly connected components over the module graph: every group is one module."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []
    counter = iter(range(10**6))

    def visit(node):
        index[node] = low[node] = next(counter)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert groups == []


def test_no_module_outgrows_one_subject():
    long = sorted((str(path.relative_to(ROOT)), n) for path in MODULES.values()
                  if (n := len(path.read_text().splitlines())) > MAX_LINES)
    assert long == []
