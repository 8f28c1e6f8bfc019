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


def _imports(path: Path) -> set[str]:
    """Every project module `path` imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
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


GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


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
