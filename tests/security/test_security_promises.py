"""docs/security.md names the test that holds each promise: every one it names must exist, so a
renamed or deleted test cannot leave a promise standing on nothing. A name is written
`path/test_file.py::test_name`, `test_file.py::test_name` (found under tests/), or
`::test_name` for another test of the file named last (in the same table or paragraph). Every row of the
comparison with NetBox, Zammad and Django names a test and cites its sources."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "security.md"
CODE = re.compile(r"`([^`\n]+)`")
REFERENCE = re.compile(r"(?P<file>(?:tests/[\w/]+/)?test_\w+\.py)?(?:::(?P<test>test_\w+))?")


@cache
def _tests_in(path: Path) -> frozenset[str]:
    tree = ast.parse(path.read_text())
    return frozenset(node.name for node in ast.walk(tree)
                     if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"))


def _find(name: str) -> Path | None:
    if "/" in name:
        path = ROOT / name
        return path if path.exists() else None
    found = sorted((ROOT / "tests").rglob(name))
    return found[0] if len(found) == 1 else None


def named_tests(text: str) -> list[tuple[int, str, str | None]]:
    """(line number, file as written, test or None) for every test the page names."""
    named = []
    last_file = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("#"):
            last_file = None
        for span in CODE.findall(line):
            for match in REFERENCE.finditer(span):
                file, test = match["file"], match["test"]
                if not file and not test:
                    continue
                file = file or last_file
                assert file, f"line {number}: `::{test}` follows no test file in its section"
                last_file = file
                named.append((number, file, test))
    return named


def test_the_reader_resolves_files_and_tests_as_the_page_writes_them():
    text = ("| a | `tests/security/test_csrf.py::test_x`, `::test_y` |\n| b | `::test_z` |\n"
            "## Next\n`test_outbound.py::test_w` and `tests/accounts/test_totp_browser.py`\n")
    assert named_tests(text) == [
        (1, "tests/security/test_csrf.py", "test_x"), (1, "tests/security/test_csrf.py", "test_y"),
        (2, "tests/security/test_csrf.py", "test_z"), (4, "test_outbound.py", "test_w"),
        (4, "tests/accounts/test_totp_browser.py", None)]
    assert _find("test_outbound.py") == ROOT / "tests/security/test_outbound.py"
    assert "test_no_such_thing" not in _tests_in(ROOT / "tests/security/test_csrf.py")


def test_every_test_the_security_page_names_exists():
    named = named_tests(PAGE.read_text())
    assert len(named) > 80  # the page's promises, findings and comparison, each with its test
    missing = []
    for number, file, test in named:
        path = _find(file)
        if path is None:
            missing.append(f"line {number}: no file {file} (or more than one) under tests/")
        elif test and test not in _tests_in(path):
            missing.append(f"line {number}: {file} has no {test}")
    assert missing == []


def test_the_comparison_names_a_test_and_a_source_for_every_row():
    section = PAGE.read_text().split("## Beside NetBox, Zammad and Django\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| Promise")]
    rows = [row for row in rows if not set(row) <= {"|", "-", " "}]
    assert len(rows) >= 10
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 5, row
        promise, closeloop, *peers = cells
        assert named_tests(closeloop), f"no test named for: {promise}"
        for peer in peers:  # a claim cites its source; a dash says the cited pages are silent
            assert peer == "—" or re.search(r"\[\d+\]", peer), f"no source cited for {promise}: {peer}"
    sources = re.findall(r"^\[(\d+)\]: (https://\S+)", section, re.M)
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", section)}
    assert cited == {int(n) for n, _ in sources}
