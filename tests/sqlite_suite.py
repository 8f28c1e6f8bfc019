"""Which tests run again on SQLite, the database of `make run` (tests/test_sqlite.py): a pytest
plugin (`-p tests.sqlite_suite`) that keeps, of the files named here, the tests each entry selects.
One process runs them all, so the interpreter starts and the migrations run once.

What each part checks there, where SQLite's SQL differs from PostgreSQL's:
- recording (core.unit_of_work): ids from sqlite_sequence, multi-row INSERTs for COPY, one UPDATE
  per delivery for unnest; a batch still in one transaction;
- the SLA sweep: no UPDATE inside WITH, no interval, SQLite's JSON;
- the journey map's figures and the case keys it reads (cases.response_keys): SQLite's triggers,
  the median to close computed in Python; the score totals over every team (reporting.score_totals)
  kept by SQLite's row triggers, and the theme rollup (reporting.theme_rollup) by its; the stored moments of truth (their JSON spec matched by key);
- customers: identities by INSERT OR IGNORE, the trend's month truncation, the account page's
  window query, the merge;
- imports: bulk INSERT and UPDATE with their ids back, e-mails matched case-insensitively, the
  run's claim;
- closed-loop results and impact: window functions, FILTER-free aggregates, the ORM's date
  arithmetic, the datetimes and decimals SQLite hands back;
- churn: features with window functions, the datetimes SQLite hands back as text, the row-by-row
  upsert of the scores;
- Formbricks partial responses completed in place;
- the Contact report's breaches and over-contacted peaks: the range joins' date arithmetic
  (Django's SQLite function; the peaks a join where PostgreSQL has a window with an interval frame),
  the times SQLite hands back as text;
- the inbox's tab counts: hand-written SQL with FILTER and the times as the backend stores them;
- statements compiled once per process (core.compiled): the inbox's first page (with a saved
  view's filters too, and its count) and the case page's reads, the same rows as the ORM's; a statement whose moment SQLite adapts to text stays built;
- inbox rows and timeline entries kept per process (cases.rows, cases.timeline_rows): keyed on the
  values SQLite hands back, a kept row equal to a fresh one, a value holding NUL rendered whole;
- the segment reports: each row's segments tested over its customer (SQLite's JSON and case-folding),
  the medians computed in Python;
- an action plan's before and after from the score and theme rollups (SQLite's row triggers) and
  its cases from the cases' stored keys, against a direct query."""

from __future__ import annotations

import pytest

# These count PostgreSQL's statements (COPY, UPDATE ... FROM VALUES, unnest), take more rows
# than asked for (FOR UPDATE SKIP LOCKED), race two workers on row locks, or read which monthly
# partitions a plan touches: PostgreSQL only.
# The segment reports read from the stored segment bits, and the score and theme totals keyed by
# them (reporting.segment_bits: PostgreSQL's triggers; the world fixture's "bits" parameter) likewise.
POSTGRESQL_ONLY = ("costs_a_few_statements", "learns_about_known_customers", "tops_its_batch_up", "two_workers",
                   "read_only_the_periods_months", "[bits", "customers_segments_move_their_counts",
                   "keyed_by_bits")


def _all(name: str) -> bool:
    return True


def _not_postgresql_only(name: str) -> bool:
    return not any(part in name for part in POSTGRESQL_ONLY)


def _partials(name: str) -> bool:
    return "partial" in name


def _equal_a_direct_query(name: str) -> bool:
    return "equal_a_direct_query" in name


# A path (a file, or a folder and everything under it) -> which of its tests, by test name. The
# slow and browser tests are left out of all of them (`-m "not slow and not browser"`).
SUITES = {
    "tests/surveys/test_recording_contract.py": _not_postgresql_only,
    "tests/surveys/test_batch_transaction.py": _not_postgresql_only,
    "tests/surveys/test_batch_processing.py": _not_postgresql_only,
    "tests/surveys/test_processing.py": _not_postgresql_only,
    "tests/surveys/presets/test_formbricks.py": _partials,
    "tests/cases/test_sla_sweep.py": _all,
    "tests/cases/test_response_keys.py": _all,
    "tests/inbox/test_inbox_counts.py": _all,
    "tests/inbox/test_compiled_first_page.py": _all,
    "tests/inbox/test_compiled_filtered_page.py": _all,
    "tests/inbox/test_case_page_load.py": _all,
    "tests/inbox/test_kept_markup.py": _all,
    "tests/journeys/test_selectors.py": _not_postgresql_only,
    "tests/journeys/test_moments_store.py": _all,
    "tests/reporting/test_score_totals.py": _not_postgresql_only,
    "tests/customers": _not_postgresql_only,
    "tests/imports": _all,
    "tests/outcomes/test_reports_sql.py": _all,
    "tests/outcomes/test_reports.py": _all,
    "tests/outcomes/test_followups.py": _all,
    "tests/churn": _all,
    "tests/reporting/test_theme_rollup.py": _not_postgresql_only,
    "tests/contactpolicy/test_breaches_exact.py": _all,
    "tests/contactpolicy/test_over_contacted_exact.py": _all,
    "tests/segments/test_reports_exact.py": _not_postgresql_only,
    "tests/improvement/test_plans.py": _equal_a_direct_query,
    "tests/reporting/test_kpis.py": _equal_a_direct_query,
}


def _selects(nodeid: str) -> bool:
    path, _, name = nodeid.partition("::")
    for prefix, keep in SUITES.items():
        if path == prefix or path.startswith(prefix + "/"):
            return keep(name)
    return False


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    kept = [item for item in items if _selects(item.nodeid)]
    deselected = [item for item in items if not _selects(item.nodeid)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    items[:] = kept
