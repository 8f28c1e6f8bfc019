"""cases.sla.PageWords: the SLA's words translated once per page say what they say one case at a time."""

import datetime as dt
from types import SimpleNamespace

from django.utils import translation

from cases.sla import PageWords, humanize_duration, sla_state

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


def _case(first_due_hours, resolution_due_hours, contacted=False, status="in_progress"):
    return SimpleNamespace(
        status=status,
        first_contacted_at=NOW if contacted else None,
        first_contact_due=NOW + dt.timedelta(hours=first_due_hours),
        resolution_due=NOW + dt.timedelta(hours=resolution_due_hours),
    )


def test_a_page_of_cases_reads_as_each_case_alone_in_every_language():
    cases = [
        _case(-50, 10),
        _case(-0.5, 10),
        _case(3, 10),
        _case(1, 5, contacted=True),
        _case(-30, -26, contacted=True),
        _case(1, 2, status="closed"),
    ]
    for language, first in (("en", "first contact overdue by 2 days"), ("es", None)):
        with translation.override(language):
            words = PageWords()
            paged = [sla_state(case, now=NOW, words=words) for case in cases]
            alone = [sla_state(case, now=NOW) for case in cases]
            assert paged == alone
            if first:
                assert [state.label for state in paged] == [
                    first,
                    "first contact overdue by 30 min",
                    "first contact due in 3 h",
                    "due in 5 h",
                    "overdue by 1 day",
                    "closed",
                ]
            assert humanize_duration(
                dt.timedelta(hours=49), words
            ) == humanize_duration(dt.timedelta(hours=49))


def test_the_words_are_the_pages_language_not_the_first_pages():
    with translation.override("en"):
        english = PageWords().gettext("due in %(duration)s")
    with translation.override("es"):
        spanish = PageWords().gettext("due in %(duration)s")
    assert english == "due in %(duration)s"
    assert spanish != english
