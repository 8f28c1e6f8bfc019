"""The docs a newcomer reads (issue #18): every relative link and image in README.md and
docs/**/*.md points to a file that exists (anchors ignored), the README stays short, and no doc
names a file that is not in the repository (DESIGN.md)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

# [text](target) and ![alt](target), with an optional "title"; code spans and fenced blocks are
# removed first, so shell examples like `$(date)` are not read as links.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")


def _links(text: str) -> list[str]:
    text = CODE.sub("", FENCE.sub("", text))
    return LINK.findall(text)


def _relative(target: str) -> str | None:
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith(("#", "//")):
        return None  # http:, https:, mailto:, an anchor on the same page
    path = unquote(target.split("#", 1)[0].split("?", 1)[0])
    return path or None


def test_the_checker_finds_links_and_images():
    text = "see [a](docs/x.md#top), ![b](screenshots/y.png \"t\"), [c](https://e.org), `[d](no.md)`\n```\n[e](no.md)\n```\n"
    assert [_relative(t) for t in _links(text)] == ["docs/x.md", "screenshots/y.png", None]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_image_points_to_an_existing_file(doc):
    missing = []
    for target in _links(doc.read_text()):
        path = _relative(target)
        if path is None:
            continue
        resolved = (ROOT / path.lstrip("/")) if path.startswith("/") else (doc.parent / path)
        if not resolved.exists():
            missing.append(target)
    assert not missing, f"{doc.relative_to(ROOT)} links to files that do not exist: {missing}"


def test_the_readme_is_short():
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines <= 220, f"README.md has {lines} lines: move detail into docs/ (at most 220)"


def test_the_readme_links_every_docs_page():
    readme = (ROOT / "README.md").read_text()
    linked = {(ROOT / p).resolve() for t in _links(readme) if (p := _relative(t))}
    pages = {p.resolve() for p in (ROOT / "docs").glob("*.md")} | {(ROOT / "docs/connect/README.md").resolve()}
    assert not sorted(str(p.relative_to(ROOT)) for p in pages - linked)


def test_no_doc_names_design_md():
    for doc in DOCS:
        assert "DESIGN.md" not in doc.read_text(), f"{doc.relative_to(ROOT)} names DESIGN.md, which is not in the repository"
