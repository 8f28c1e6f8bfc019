"""The inbox's tab counts (cases.selectors.inbox_counts, two hand-written statements) equal the
number of cases each view lists, for every kind of person and every state a case can be in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import Case
from cases.selectors import INBOX_VIEWS, inbox_counts, inbox_queryset
from tests.factories import make_user
from tests.inbox.helpers import make_case, root_causes

pytestmark = pytest.mark.django_db


def _cases(personas):
    now = timezone.now()
    cause = next(iter(root_causes().values()))
    closure = {"status": Case.Status.CLOSED, "root_cause": cause, "resolution": "Refunded", "outcome": "resolved"}
    north, south, alice, bob = personas.north, personas.south, personas.alice, personas.bob
    make_case(north, assignee=alice)  # fine: due in 30 hours
    make_case(north, assignee=alice, first_contact_in=-timedelta(hours=1))  # overdue: first contact missed
    make_case(north, first_contact_in=timedelta(hours=1))  # due soon, unassigned
    make_case(north, assignee=bob, first_contact_in=-timedelta(hours=1), first_contacted_at=now)  # contacted: fine
    make_case(north, assignee=bob, resolution_in=-timedelta(minutes=5))  # overdue: resolution
    make_case(north, assignee=bob, first_contact_in=timedelta(hours=5), resolution_in=timedelta(minutes=90))
    make_case(north, **closure, closed_at=now - timedelta(days=2))  # recently closed
    make_case(north, **closure, closed_at=now - timedelta(days=20))  # closed long ago
    make_case(south, first_contact_in=-timedelta(hours=3))  # another team's overdue case
    make_case(south, assignee=personas.charlie, **closure, closed_at=now - timedelta(hours=1))
    return now


def test_each_tab_counts_what_its_view_lists(personas):
    now = _cases(personas)
    nobody = make_user("nobody")  # in no team: sees no case
    for user in (personas.alice, personas.bob, personas.charlie, personas.mia, personas.adam, nobody):
        listed = {view: inbox_queryset(user, view, now).count() for view in INBOX_VIEWS}
        assert inbox_counts(user, now) == listed, user.username
    assert inbox_counts(personas.alice, now) == {
        "mine": 2, "unassigned": 1, "team": 6, "overdue": 2, "due_soon": 2, "recently_closed": 1}
    assert inbox_counts(personas.adam, now) == {
        "mine": 0, "unassigned": 2, "team": 7, "overdue": 3, "due_soon": 2, "recently_closed": 2}
    assert inbox_counts(nobody, now) == dict.fromkeys(INBOX_VIEWS, 0)


def test_one_overdue_rule_for_counts_querysets_and_filters(personas):
    """Overdue and due soon are defined once (cases.models.case.overdue_q, due_soon_q): the
    queryset methods, the Q objects the reports and filters use and the tab counts' SQL (compiled
    from the same rule) agree on every case, here literally: 2 + 1 overdue, 2 due soon."""
    from accounts.selectors import scope_by_team
    from cases.selectors import due_soon_q, overdue_q

    now = _cases(personas)
    for user, overdue, due_soon in ((personas.alice, 2, 2), (personas.adam, 3, 2), (personas.charlie, 1, 0)):
        visible = scope_by_team(Case.objects.all(), user)
        assert visible.overdue(now).count() == visible.filter(overdue_q(now)).count() == overdue, user.username
        assert visible.due_soon(now=now).count() == visible.filter(due_soon_q(now)).count() == due_soon, user.username
        counts = inbox_counts(user, now)
        assert (counts["overdue"], counts["due_soon"]) == (overdue, due_soon), user.username


def test_the_counts_clock_sql_is_compiled_from_the_rule():
    """The counts' overdue condition is the rule's own SQL (no hand-written copy): the clocks'
    columns only (all in the covering index), one parameter per use of the moment."""
    from django.db import connection

    from cases.selectors import clock_sql

    overdue, n_overdue, soon, n_soon = clock_sql(connection)
    assert (n_overdue, n_soon) == (2, 2)
    for column in ("resolution_due", "first_contact_due", "first_contacted_at"):
        assert column in overdue and column in soon
    assert "status" not in overdue and "<=" in soon and "<=" not in overdue
