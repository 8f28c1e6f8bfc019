"""The CI check on translations (docs/languages.md, "The check in CI"): every catalogue complete in
Spanish, French and German, each committed .mo what its .po compiles to, no template text left
unmarked, and no marked string missing from the catalogues."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from core import catalogues
from tests.i18n.scan import unmarked

LANGUAGES = ["es", "fr", "de"]
BASE = Path(settings.BASE_DIR)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", catalogues.DOMAINS)
def test_every_string_is_translated_with_its_placeholders(language, domain):
    po = BASE / "locale" / language / "LC_MESSAGES" / f"{domain}.po"
    assert po.exists(), f"{po} is missing: run `make messages`"
    assert catalogues.problems(po) == []
    assert len(catalogues.translations(po)) > (1000 if domain == "django" else 20)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", catalogues.DOMAINS)
def test_the_committed_mo_is_what_the_po_compiles_to(language, domain, tmp_path):
    """`make run` reads the committed .mo (no GNU gettext needed); it must not lag its .po."""
    po = BASE / "locale" / language / "LC_MESSAGES" / f"{domain}.po"
    fresh = catalogues.compile_catalogue(po, tmp_path / f"{domain}.mo")
    committed = po.with_suffix(".mo")
    assert committed.exists(), f"{committed} is missing: run `make messages`"
    assert catalogues.translations(committed) == catalogues.translations(fresh), (
        f"{committed} is stale: run `make messages` and commit the .mo files")


def test_the_catalogue_check_can_fail(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "Inbox"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Case"\nmsgstr "Caso"\n\n'
        'msgid "%(ref)s is closed."\nmsgstr "%(referencia)s está cerrado."\n\n'
        'msgid "%(count)s day"\nmsgid_plural "%(count)s days"\nmsgstr[0] "%(count)s día"\nmsgstr[1] ""\n',
        encoding="utf-8",
    )
    found = catalogues.problems(po)
    assert len(found) == 4
    assert "'Inbox' is not translated" in found[0]
    assert "'Case' is fuzzy" in found[1]
    assert "placeholders ['%(ref)s'] became ['%(referencia)s']" in found[2]
    assert "'%(count)s day' is not translated" in found[3]


def _templates() -> list[Path]:
    return sorted([*(BASE / "templates").rglob("*.html"), *(BASE / "templates").rglob("*.txt"),
                   *(BASE / "jinja2").rglob("*.html")])


def test_no_template_text_is_left_unmarked():
    found = {str(path.relative_to(BASE)): unmarked(path.read_text(encoding="utf-8")) for path in _templates()}
    assert {path: texts for path, texts in found.items() if texts} == {}


def test_the_template_check_finds_unmarked_text():
    source = ('<h1>{% translate "Inbox" %}</h1><p>Nothing here yet.</p><a title="Open the case">x</a>'
              '{% blocktranslate %}Hello {{ name }}{% endblocktranslate %}<p>{{ case.reference }} · 24 h</p>'
              '{# a comment #}<script>var a = "Not text";</script>')
    assert unmarked(source) == ["Nothing here yet.", 'attribute "Open the case"']


def test_the_template_check_finds_words_django_would_print_as_they_are():
    """A {# #} comment over two lines is printed by Django; literal words given to a filter or an
    included template are never translated."""
    source = ('{# one line is a comment #}{# two lines\n are not #}<p>{{ on|yesno:"Turn off,Turn on" }}</p>'
              '{% include "bars.html" with bars=b caption="Cases per team" %}{{ x|date:"D j M" }}'
              '{% translate "Per team" as caption %}{% include "bars.html" with caption=caption %}')
    assert unmarked(source) == ["{# two lines are not #}", 'literal "Turn off,Turn on"', 'literal "Cases per team"']


@pytest.mark.slow
def test_every_marked_string_is_in_the_catalogues(tmp_path, settings):
    """makemessages into a temporary directory: a string marked in the code but missing from
    locale/ (someone marked it and did not run `make messages`) fails here, by name."""
    if not shutil.which("xgettext"):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but GNU gettext (xgettext) is not installed")
        pytest.skip("GNU gettext (xgettext) is not installed: apt-get install gettext")
    # makemessages writes to the locale/ of the tree it scans: scan a copy, never the checkout's.
    tree = tmp_path / "tree"
    shutil.copytree(BASE, tree, ignore=shutil.ignore_patterns(*COPY_IGNORE), symlinks=True)
    (tree / "locale").mkdir()
    settings.LOCALE_PATHS = [str(tree / "locale")]
    previous = os.getcwd()
    os.chdir(tree)
    try:
        for domain, extensions in (("django", ["html", "txt", "py"]), ("djangojs", ["js"])):
            call_command("makemessages", locale=["es"], domain=domain, extensions=extensions, verbosity=0,
                         ignore_patterns=[*MAKEMESSAGES_IGNORE, *(["static/*"] if domain == "django" else [])],
                         no_location=True, no_obsolete=True)
    finally:
        os.chdir(previous)
    for domain in catalogues.DOMAINS:
        fresh = set(catalogues.translations(tree / "locale" / "es" / "LC_MESSAGES" / f"{domain}.po"))
        committed = set(catalogues.translations(BASE / "locale" / "es" / "LC_MESSAGES" / f"{domain}.po"))
        missing = sorted(msgid for _context, msgid, _plural in fresh - committed)
        assert missing == [], f"marked but not in locale/*/{domain}.po (run `make messages`): {missing}"


# What is not copied for the scan, and what `make messages` leaves out (the Makefile's list).
COPY_IGNORE = [".git", ".venv*", "var", "staticfiles", "node_modules", "locale", "tests", "bench", "docs", "deploy",
               "__pycache__", "*.sqlite3"]
MAKEMESSAGES_IGNORE = [".venv*", "bench/*", "tests/*", "staticfiles/*", "static/vendor/*", "var/*", "deploy/*",
                       "docs/*", "locale/*"]
