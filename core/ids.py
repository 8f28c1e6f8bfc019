"""`parse_id(text)`: a row id a client typed (a URL segment, a query or form value), or None.

Only ASCII digits, at most 18 of them (every id fits PostgreSQL's bigint). `str.isdigit()` alone is
not enough: it is True for "³", "٣" and "①", which `int()` or the database then refuse, and a
client's typing became a 500 (found by the API fuzzer on /api/v1/action-plans/³/cases/)."""

from __future__ import annotations

MAX_DIGITS = 18


def parse_id(value) -> int | None:
    text = str(value) if value is not None else ""
    if not text or len(text) > MAX_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
