"""The translation catalogues under locale/: compiling them and checking them (docs/languages.md).

`make messages` runs Django's makemessages (GNU gettext's xgettext) and then `compile_all`, which
writes each locale/<lang>/LC_MESSAGES/<domain>.mo from its .po with polib, a pure-Python library:
the compiled .mo files are committed, so `make run` serves translated pages on a machine without
GNU gettext. tests/test_translations.py checks that every catalogue is complete (no untranslated
or fuzzy entry, the same placeholders as the English) and that each committed .mo is what its .po
compiles to.

    python -m core.catalogues            # compile every catalogue (what `make messages` ends with)

polib is a development dependency (the `test` extra): nothing here runs in the product.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAINS = ("django", "djangojs")
# Python's %-placeholders (%(name)s, %s, %d) and a literal %%; JavaScript's interpolate() uses %s too.
PLACEHOLDER = re.compile(r"%(?:\([a-z_0-9]+\))?[sd]|%%")


def catalogue_paths(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Every .po file: locale/<lang>/LC_MESSAGES/<domain>.po."""
    return sorted(locale_dir.glob("*/LC_MESSAGES/*.po"))


def compile_catalogue(po_path: Path, mo_path: Path | None = None) -> Path:
    import polib

    mo_path = mo_path or po_path.with_suffix(".mo")
    polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
    return mo_path


def compile_all(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    return [compile_catalogue(path) for path in catalogue_paths(locale_dir)]


def translations(path: Path) -> dict[tuple[str, str, str], tuple[str, ...]]:
    """{(context, msgid, msgid_plural): (msgstr, ...)} of a .po or .mo file, header left out."""
    import polib

    catalogue = polib.mofile(str(path)) if path.suffix == ".mo" else polib.pofile(str(path))
    result = {}
    for entry in catalogue:
        if not entry.msgid or entry.obsolete:
            continue
        if entry.msgid_plural:
            strings = tuple(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural, key=int))
        else:
            strings = (entry.msgstr,)
        result[(entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")] = strings
    return result


def problems(po_path: Path) -> list[str]:
    """What makes a catalogue incomplete: untranslated or fuzzy entries, and translations whose
    placeholders differ from the English (a crash or a lost value at render time)."""
    import polib

    catalogue = polib.pofile(str(po_path))
    found = []
    for entry in catalogue:
        if entry.obsolete or not entry.msgid:
            continue
        label = f"{po_path.parent.parent.name}/{po_path.stem}: {entry.msgid[:70]!r}"
        if "fuzzy" in entry.flags:
            found.append(f"{label} is fuzzy")
            continue
        if entry.msgid_plural:
            strings = [entry.msgstr_plural.get(i, "") for i in range(int(_nplurals(catalogue)))]
            english = [entry.msgid_plural] * len(strings)
            english[0] = entry.msgid
        else:
            strings, english = [entry.msgstr], [entry.msgid]
        if not all(strings):
            found.append(f"{label} is not translated")
            continue
        for source, text in zip(english, strings):
            wanted, got = sorted(PLACEHOLDER.findall(source)), sorted(PLACEHOLDER.findall(text))
            named = sorted(p for p in wanted if "(" in p)
            if named != sorted(p for p in got if "(" in p) or (not named and wanted != got and entry.msgid_plural is None):
                found.append(f"{label}: placeholders {wanted} became {got}")
                break
    return found


def _nplurals(catalogue) -> int:
    match = re.search(r"nplurals\s*=\s*(\d+)", catalogue.metadata.get("Plural-Forms", ""))
    return int(match.group(1)) if match else 2


if __name__ == "__main__":
    for path in compile_all():
        print(path.relative_to(LOCALE_DIR.parent))
    sys.exit(0)
