"""Text in templates that a person reads but that is not marked for translation.

`unmarked(source)` lists the text runs (between HTML tags and template tags) with at least two
letters outside {% translate %} / {% blocktranslate %}, and the values of the attributes people
read (title, aria-label, placeholder, alt) with letters and no template tag, and words handed to
a filter or an included template as a literal (yesno:"on,off", with caption="..."). Comments, <script>,
<style> and <pre> are skipped; ALLOWED are names that are the same in every language.
Used by tests/test_translations.py over templates/ and jinja2/."""

from __future__ import annotations

import re

TOKEN = re.compile(
    # {# #} is a comment on one line only: Django prints a {# ... #} that spans lines as text
    # (Jinja2's {#- ... -#} may span lines).
    r"(?P<comment>\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}|\{#[^\n]*?#\}|\{#-.*?-#\}|<!--.*?-->)"
    r"|(?P<raw><script\b.*?</script>|<style\b.*?</style>|<pre\b.*?</pre>)"
    r"|(?P<block>\{%.*?%\})"
    r"|(?P<var>\{\{.*?\}\})"
    r"|(?P<tag><[a-zA-Z/!](?:[^>{]|\{(?![{%#])|\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\})*>)",
    re.S,
)
ATTRIBUTE = re.compile(r'\b(?:title|aria-label|placeholder|alt)="([^"]*)"')
# Words handed to a filter or an included template as a literal ({{ on|yesno:"Turn off,Turn on" }},
# {% include "x.html" with caption="Cases per team" %}): printed as they are, never translated.
LITERAL_WORDS = re.compile(r"""(?:\|(?:yesno|default):|\bwith\b[^%]*?\b\w+=)(["'])([^"']*[A-Za-z]{2,}[ ,][A-Za-z]{2,}[^"']*)\1""")
LETTERS = re.compile(r"[A-Za-z]{2,}")
# Product and protocol names, the same in every language.
ALLOWED = {"Closeloop", "[Closeloop]", "— Closeloop", "· Closeloop", "Closeloop:", "CSV", "JSON", "HTTP", "24 h"}


def _readable(text: str) -> str:
    """The words of a text run, without entities and URL paths ("/login/", "/cases/?view=overdue")."""
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    return " ".join(word for word in text.split() if not word.startswith("/"))


def unmarked(source: str) -> list[str]:
    found = []
    depth = 0  # inside {% blocktranslate %} ... {% endblocktranslate %}
    position = 0
    for match in TOKEN.finditer(source):
        if depth == 0:
            _check_text(source[position:match.start()], found)
        position = match.end()
        block = match.group("block") or ""
        for literal in LITERAL_WORDS.findall((match.group("var") or "") + block):
            found.append(f'literal "{literal[1]}"')
        if block:
            name = block[2:-2].split()[0] if block[2:-2].split() else ""
            if name in ("blocktranslate", "blocktrans"):
                depth += 1
            elif name in ("endblocktranslate", "endblocktrans"):
                depth -= 1
        elif match.group("tag") and depth == 0:
            for value in ATTRIBUTE.findall(match.group("tag")):
                if "{%" not in value and LETTERS.search(re.sub(r"\{\{.*?\}\}", " ", value)):
                    found.append(f'attribute "{value}"')
    if depth == 0:
        _check_text(source[position:], found)
    return found


def _check_text(text: str, found: list[str]) -> None:
    words = _readable(text)
    if words and LETTERS.search(words) and words not in ALLOWED:
        found.append(words)
