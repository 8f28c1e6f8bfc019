"""Reading a file someone uploaded: its encoding, its delimiter, its header and its rows.

- Encoding: UTF-8 with or without a byte-order mark, UTF-16 with one (Excel's "Unicode text"),
  else Windows-1252, else Latin-1 (every byte is a Latin-1 character, so a file in neither UTF
  still reads; the job records which was used). NUL bytes or a zip signature (an .xlsx or .ods
  workbook) are refused with what to do instead.
- Delimiter: the one of , ; tab | that the header line holds most of (outside quotes): a header
  rarely contains a delimiter, so it is a steadier witness than csv.Sniffer on data rows.
- Header: each header matches a column by its name or an alias, ignoring case, spaces, dashes and
  underscores. A column named twice, a required column missing or a key with no column at all is
  refused before any row is read (FileRefused, a 400 on every door).
- Limits: IMPORT_MAX_BYTES and IMPORT_MAX_ROWS (settings), refused at upload, never cut short."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from imports.registry import Importer

DELIMITERS = [",", ";", "\t", "|"]
# A column of the failed-rows download: read back as nothing, so a fixed file imports as it is.
ERRORS_HEADER = "import_errors"
csv.field_size_limit(1024 * 1024)


class FileRefused(ValueError):
    """A file (or an API array) that cannot be imported at all; the message says what to do."""


def max_bytes() -> int:
    return getattr(settings, "IMPORT_MAX_BYTES", 20 * 1024 * 1024)


def max_rows() -> int:
    return getattr(settings, "IMPORT_MAX_ROWS", 100_000)


def decode(content: bytes) -> tuple[str, str]:
    """(text, encoding name) of an uploaded file."""
    if content.startswith(b"PK\x03\x04"):
        raise FileRefused(_("This is a spreadsheet workbook (.xlsx or .ods), not a CSV file: save it as CSV "
                            "(comma separated, UTF-8) and upload that."))
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise FileRefused(_("The file says it is UTF-16 but is not: save it as CSV (UTF-8).")) from None
    if b"\x00" in content:
        raise FileRefused(_("The file contains NUL bytes: it is not a text file. Save it as CSV (UTF-8) and "
                            "upload that."))
    if content.startswith(b"\xef\xbb\xbf"):
        try:
            return content[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            raise FileRefused(_("The file starts as UTF-8 but is not: save it as CSV (UTF-8).")) from None
    for encoding in ("utf-8", "cp1252"):
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1"), "latin-1"


def sniff_delimiter(header_line: str) -> str:
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def normalized(header: str) -> str:
    return re.sub(r"[\s_\-.]+", "", (header or "").strip().lower())


def spellings(importer: Importer) -> dict[str, str]:
    """{normalized header: column name} for every column's name and aliases."""
    names = {}
    for column in importer.columns:
        for spelling in (column.name, *column.aliases):
            names.setdefault(normalized(spelling), column.name)
    return names


def match_headers(importer: Importer, headers: list[str]) -> dict[str, str | None]:
    """{header: column name, "" for an extra column kept (importers with extra_columns), None for a
    column ignored}. Refuses a column named twice, a required column missing, a key with no column."""
    names = spellings(importer)
    mapping: dict[str, str | None] = {}
    seen: dict[str, str] = {}
    for header in headers:
        key = normalized(header)
        if not key or key == normalized(ERRORS_HEADER):
            mapping[header] = None
            continue
        if header in mapping:
            raise FileRefused(_("Two columns are headed “%(header)s”: give each column its own header.")
                              % {"header": header})
        name = names.get(key)
        if name is None:
            mapping[header] = "" if importer.extra_columns else None
            continue
        if name in seen:
            raise FileRefused(_("“%(first)s” and “%(second)s” are both the column %(column)s: keep one of them.")
                              % {"first": seen[name], "second": header, "column": name})
        seen[name] = header
        mapping[header] = name
    missing = [c.name for c in importer.columns if c.required and c.name not in seen]
    if missing:
        raise FileRefused(ngettext("The file has no column %(columns)s, which an import of %(kind)s needs.",
                                   "The file has no columns %(columns)s, which an import of %(kind)s needs.",
                                   len(missing)) % {"columns": ", ".join(missing), "kind": importer.label})
    for group in importer.natural_key:
        if not any(name in seen for name in group):
            raise FileRefused(_("The file needs a column that identifies each record: one of %(columns)s.")
                              % {"columns": ", ".join(group)})
    return mapping


@dataclass(frozen=True)
class ReadFile:
    text: str
    encoding: str
    delimiter: str
    headers: list[str]
    mapping: dict[str, str | None]
    rows_total: int


def _reader(text: str, delimiter: str):
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def check_size(size: int) -> None:
    """Refuse a file over IMPORT_MAX_BYTES (the doors call it before reading an upload into memory)."""
    if size > max_bytes():
        raise FileRefused(_("The file is %(size)s MB; files up to %(limit)s MB can be imported: split it.")
                          % {"size": round(size / 1048576, 1), "limit": round(max_bytes() / 1048576, 1)})


def read_file(importer: Importer, content: bytes) -> ReadFile:
    """Everything about a file that can refuse it as a whole, checked at upload."""
    check_size(len(content))
    text, encoding = decode(content)
    if not text.strip():
        raise FileRefused(_("The file is empty."))
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = sniff_delimiter(first_line)
    total, headers = 0, None
    try:
        for cells in _reader(text, delimiter):
            if headers is None:
                if any(c.strip() for c in cells):
                    headers = [c.strip() for c in cells]
                continue
            if any(c.strip() for c in cells):
                total += 1
                if total > max_rows():
                    raise FileRefused(_("The file has more than %(limit)s rows; up to %(limit)s can be imported "
                                        "at once: split it.") % {"limit": f"{max_rows():,}"})
    except csv.Error as exc:
        raise FileRefused(_("The file cannot be read as CSV: %(error)s.") % {"error": exc}) from None
    mapping = match_headers(importer, headers or [])
    if total == 0:
        raise FileRefused(_("The file has a header but no rows."))
    return ReadFile(text=text, encoding=encoding, delimiter=delimiter, headers=headers or [], mapping=mapping,
                    rows_total=total)


def data_rows(text: str, delimiter: str) -> Iterator[tuple[int, dict, int]]:
    """(row number, {header: cell}, filled cells beyond the header) for each non-empty row after the
    header; row numbers count every row of the file, the header being row 1."""
    number, headers = 0, None
    for cells in _reader(text, delimiter):
        number += 1
        if headers is None:
            if any(c.strip() for c in cells):
                headers = [c.strip() for c in cells]
            continue
        if not any(c.strip() for c in cells):
            continue
        extra = sum(1 for c in cells[len(headers):] if c.strip())  # empty trailing cells are nothing
        yield number, {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(headers)}, extra
