from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.reporting import builders as b


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """The personas' passwords are hashed with a fast hasher here: these tests are about figures,
    and five PBKDF2 hashes per test would dominate their run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def busy(personas):
    """A little of everything, dated relative to now so the default 90-day filter includes it:
    North has 2 overdue cases (one escalated, one unassigned), one due tomorrow, closed cases with
    causes and suggestions, scores and a recovered customer; South has 3 overdue cases."""
    now = timezone.now()
    north, south = personas.north, personas.south
    late, broken = b.cause("Late"), b.cause("Defect", "Product")
    b.case(north, created=now - dt.timedelta(days=3), first_contact_due=now - dt.timedelta(hours=2),
           assignee=personas.alice, escalation_level=1, value="120")
    b.case(north, created=now - dt.timedelta(days=5), contacted=now - dt.timedelta(days=4),
           resolution_due=now - dt.timedelta(days=4), value="80")
    b.case(north, created=now - dt.timedelta(hours=1), first_contact_due=now + dt.timedelta(hours=20),
           resolution_due=now + dt.timedelta(hours=40), assignee=personas.bob)
    for i, (cause, touchpoint) in enumerate([(late, "Web"), (late, "Store"), (broken, "Store")]):
        who = b.customer(f"Loop {i}")
        resp = b.response(north, at=now - dt.timedelta(days=10), nps=i + 2, touchpoint=touchpoint, who=who,
                          csat=2, ces=3)
        b.case(north, created=now - dt.timedelta(days=10), resp=resp, contacted=now - dt.timedelta(days=9),
               closed=now - dt.timedelta(days=8), root_cause=cause, prevention=f"Idea {i}")
        b.response(north, at=now - dt.timedelta(days=2), nps=9 - i * 3, who=who)
    for score in (10, 9, 7):
        b.response(north, at=now - dt.timedelta(days=20), nps=score, touchpoint="Web", csat=5)
    for _ in range(3):
        b.case(south, created=now - dt.timedelta(days=2), first_contact_due=now - dt.timedelta(days=1), value="1000")
    return personas
