"""On real PostgreSQL, with threads: racing claims and racing sweeps."""

from __future__ import annotations

import datetime as dt
from functools import partial
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Membership, Team
from cases.models import Case, CaseEvent, Notification
from cases.services import CaseConflict, case_claim, cases_sweep_sla
from tests.cases.conftest import make_response, open_case
from tests.concurrency import run_concurrently
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def claim_or_conflict(case_id, user):
    try:
        return case_claim(case_id=case_id, by=user)
    except CaseConflict as conflict:  # losing the race is an answer, not a failure
        return conflict


def test_twenty_concurrent_claims_one_wins(personas):
    assert connection.vendor == "postgresql"
    people = [make_user(f"agent{i}") for i in range(20)]
    Membership.objects.bulk_create([Membership(user=u, team=personas.north) for u in people])
    case = open_case()
    results = run_concurrently(*[partial(claim_or_conflict, case.pk, u) for u in people])
    winners = [r for r in results if isinstance(r, Case)]
    conflicts = [r for r in results if isinstance(r, CaseConflict)]
    assert len(winners) == 1 and len(conflicts) == 19, results
    winner = winners[0].assignee
    assert all(c.message.startswith(f"{winner.display_name} claimed this case at") for c in conflicts)
    assert CaseEvent.objects.filter(case=case, kind="claimed").count() == 1
    case.refresh_from_db()
    assert case.assignee == winner and case.version == 2


def test_two_concurrent_sweeps_over_ten_thousand_overdue_cases(personas, monkeypatch):
    # Delivery of the 30,000 queued rows is not what this test is about (see test_notifications).
    monkeypatch.setattr("cases.notifications.dispatch_on_commit", lambda: None)
    Team.objects.filter(pk=personas.north.pk).update(slack_webhook_url="http://127.0.0.1:9/hook")
    template = open_case()
    past = timezone.now() - dt.timedelta(hours=2)
    response = make_response(None)
    Case.objects.bulk_create([
        Case(reference=f"BULK-{i:06d}", response=response, team=personas.north, assignee=personas.alice,
             first_contact_due=past, resolution_due=past, value_at_risk=Decimal("0"))
        for i in range(9_999)
    ], batch_size=5000)
    Case.objects.filter(pk=template.pk).update(first_contact_due=past, resolution_due=past, assignee=personas.alice)
    now = timezone.now()
    results = run_concurrently(lambda: cases_sweep_sla(now=now), lambda: cases_sweep_sla(now=now), timeout=120)
    assert all(isinstance(r, dict) for r in results), results
    assert sorted(r["overdue"] for r in results) == [0, 10_000]
    assert CaseEvent.objects.filter(kind="overdue").count() == 10_000
    # One message per recipient and channel for the whole backlog (alice, her manager mia, the
    # team's Slack), each counting all 10,000 cases: once, however many sweeps ran.
    rows = list(Notification.objects.filter(kind="overdue").order_by("channel", "address"))
    assert [(r.channel, r.address) for r in rows] == [
        ("email", "alice@example.com"), ("email", "mia@example.com"), ("slack", "http://127.0.0.1:9/hook")]
    assert all(r.case_id is None and r.context["count"] == 10_000 and len(r.context["references"]) == 50
               for r in rows)
    assert rows[0].context["references"][:2] == [template.reference, "BULK-000000"]
