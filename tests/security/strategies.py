"""Hypothesis strategies for the values that broke pages before (issue #20): dates at the ends of
the calendar and with odd offsets, NUL bytes and control characters, custom metric names,
template names that are not ids, score bounds past any scale. Shared by the API fuzzing
(schemathesis hooks and direct calls) and the HTML pages' fuzzing."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

# --- dates and times ---------------------------------------------------------------------------
FIRST_DAYS = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(1, 1, 31))
LAST_DAYS = st.dates(min_value=dt.date(9999, 12, 1), max_value=dt.date(9999, 12, 31))
ODD_DATES = st.sampled_from([
    "0000-00-00", "0001-01-01", "9999-12-31", "10000-01-01", "-0001-01-01", "2026-02-30", "2026-13-01",
    "2026-1-1", "20260101", "2026-01-01T", "1899-12-31", "1900-01-01", "2999-12-31", "3000-01-01",
])
DATES = st.one_of(FIRST_DAYS.map(dt.date.isoformat), LAST_DAYS.map(dt.date.isoformat), ODD_DATES)

# Offsets a parser may take (+14:00, -12:00, +05:45) and ones no clock has (+23:59, +24:00, +99:99).
OFFSETS = st.sampled_from(["Z", "", "+00:00", "-00:00", "+14:00", "-12:00", "+05:45", "+23:59", "-23:59",
                           "+24:00", "+99:99", "+0530", "+5"])
TIMES = st.sampled_from(["00:00", "00:00:00", "23:59:59", "23:59:59.999999", "24:00:00", "12:30:60"])
DATETIMES = st.builds(lambda day, time, offset: f"{day}T{time}{offset}",
                      st.one_of(FIRST_DAYS.map(dt.date.isoformat), LAST_DAYS.map(dt.date.isoformat),
                                st.just("2026-06-01")),
                      TIMES, OFFSETS)
WHEN = st.one_of(DATES, DATETIMES)

# --- strings -----------------------------------------------------------------------------------
# Every character but lone surrogates (no UTF-8 request carries those), control characters first.
CONTROL = st.characters(min_codepoint=0, max_codepoint=0x1F) | st.sampled_from(["\x7f", "\x85", "\u2028", "\u202e",
                                                                                 "\ufeff", "\ufffe"])
NASTY_TEXT = st.one_of(
    st.sampled_from(["\x00", "a\x00b", "CL-1\x00", "\r\n", "%00", "../../etc/passwd", "'\"<>", "\t", " ",
                     "\u0000\u0001\u001f", "Ä" * 300, "x" * 5000, "-1", "0", "9" * 30, "1e309", "NaN",
                     "true", "null", "[]", "{}"]),
    st.text(CONTROL | st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12),
)

# --- product values ----------------------------------------------------------------------------
METRICS = st.one_of(st.sampled_from(["nps", "csat", "ces", "q1", "unknown", "NPS", " nps", "q1\x00", "",
                                     "__proto__", "scores__nps"]), NASTY_TEXT)
TEMPLATES = st.one_of(st.sampled_from(["abc", "0", "-1", "1.5", "9223372036854775808", "", "1\x00"]),
                      st.integers(-2, 10).map(str), NASTY_TEXT)
SCORES = st.one_of(
    st.integers(-10**20, 10**20).map(str),
    st.sampled_from(["-0", "0.5", "1e309", "-1e309", "NaN", "Infinity", "1,5", "", " 3", "0x10", "10.000000001"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
IDS = st.one_of(st.integers(-2, 3).map(str), st.sampled_from(["9223372036854775808", "2147483648", "0x1", "1.0", "1 ",
                                                              "١"]), NASTY_TEXT)


def value_for(name: str) -> st.SearchStrategy[str]:
    """The corner values for a parameter, chosen by the name the API and the pages use."""
    lowered = name.lower()
    if lowered == "metric":
        return METRICS
    if "template" in lowered:
        return TEMPLATES
    if lowered.startswith("score") or lowered.endswith(("_min", "_max", "score")):
        return SCORES
    if lowered in ("date_from", "date_to", "period_start") or lowered.endswith(
            ("_after", "_before", "_at", "date", "_from", "_to", "_0", "_1")):
        return WHEN
    if lowered in ("id", "pk", "page", "page_size", "size") or lowered.endswith(("_id", "team", "survey", "customer",
                                                                                 "rule", "user", "owner")):
        return IDS
    return NASTY_TEXT


def query_for(names) -> st.SearchStrategy[dict[str, str]]:
    """A query string over some of `names`, each with its corner values (at least one name)."""
    names = sorted(names)
    return st.fixed_dictionaries({}, optional={name: value_for(name) for name in names}).filter(bool)
