"""Follow-up test data: cases closed as resolved some time ago, and the helpers to age them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from cases.services import case_close
from alerts.models import AlertRule
from tests.cases.conftest import (  # noqa: F401  (fixtures shared with the case tests)
    _fast_passwords, _taxonomy, make_customer, make_response, make_rule, open_case, root_cause,
)

RESOLUTION = "Refunded the delivery fee; internal: courier blacklisted after three strikes."


def closed_case(*, customer=None, closed_ago=dt.timedelta(hours=2), outcome="resolved", by=None, **response_extra):
    """A case opened from a detractor response and closed `closed_ago` ago with `outcome`."""
    now = timezone.now()
    customer = customer if customer is not None else make_customer()
    response = make_response(customer, answered_at=now - closed_ago - dt.timedelta(hours=3), **response_extra)
    # Each response opens its own case (no attaching to the customer's recent one).
    rule = AlertRule.objects.filter(name="Every detractor").first() or make_rule(name="Every detractor",
                                                                                  repeat_window_days=0)
    case = open_case(response=response, rule=rule, at=now - closed_ago - dt.timedelta(hours=2))
    return case_close(case_id=case.pk, by=by, root_cause_id=root_cause().pk, resolution=RESOLUTION,
                      outcome=outcome, at=now - closed_ago)


def link_path(body: str) -> str:
    """The /r/<token>/ path in an e-mail body."""
    match = re.search(r"https?://[^/\s]+(/r/[^/\s]+/)", body)
    assert match, body
    return match.group(1)


@pytest.fixture
def sent_check(personas, mailoutbox):
    """A recovery check sent for a case closed two hours ago: (verification, path of its link)."""
    from followup.models import Verification
    from followup.tasks import verification_sweep_task

    case = closed_case()
    verification_sweep_task()
    verification = Verification.objects.get(case=case)
    assert verification.status == Verification.Status.SENT
    return verification, link_path(mailoutbox[-1].body)
