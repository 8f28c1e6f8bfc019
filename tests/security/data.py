"""Test data written directly (through tests/factories.py), so these tests do not wait on the
ingestion and case services: one customer with a response, a raw delivery and a closed case
with free text."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

from django.utils import timezone

CUSTOMER_EMAIL = "Ada.Lovelace@example.org"
CUSTOMER_PHONE = "+44 20 7946 0958"
COMMENT = "The courier threw my parcel over the fence, call me on +44 20 7946 0958"


def make_customer_story(team, *, suffix: str = "1", closed: bool = True, comment: str = COMMENT) -> SimpleNamespace:
    from cases.models import Case, CaseEvent
    from surveys.models import Vendor, WebhookDelivery
    from tests.factories import (
        CaseEventFactory,
        CaseFactory,
        CustomerFactory,
        RootCauseCategoryFactory,
        RootCauseFactory,
        SurveyFactory,
        SurveyResponseFactory,
        WebhookDeliveryFactory,
        WebhookSourceFactory,
    )

    source = WebhookSourceFactory(slug="typeform", name="Typeform", vendor=Vendor.TYPEFORM)
    survey = SurveyFactory(source=source, external_id="relationship", name="Relationship NPS")
    email = CUSTOMER_EMAIL if suffix == "1" else f"customer{suffix}@example.org"
    customer = CustomerFactory(
        external_id=f"crm-{suffix}", email=email, name=f"Ada Lovelace {suffix}", phone=CUSTOMER_PHONE,
        tier="gold", segment="retail", attributes={"crm_note": "prefers phone"},
    )
    body = json.dumps({"event_id": f"evt-{suffix}", "form_response": {"hidden": {"email": email}, "comment": comment}})
    response = SurveyResponseFactory(
        source=source, survey=survey, customer=customer, external_id=f"resp-{suffix}",
        answered_at=timezone.now() - timedelta(hours=2), nps=2, comment=comment, sentiment=-0.6,
        touchpoint="delivery", location="Leeds", attributes={"order": "A-1", "email": email}, team=team,
    )
    delivery = WebhookDeliveryFactory(
        source=source, delivery_id=f"evt-{suffix}", body=body.encode(), headers={"user-agent": "Typeform"},
        status=WebhookDelivery.Status.PROCESSED, response=response,
    )
    cause = RootCauseFactory(category=RootCauseCategoryFactory(name="Delivery"), name="Courier conduct")
    now = timezone.now()
    case = CaseFactory(
        reference=f"CL-{team.pk}-{suffix}", customer=customer, response=response, team=team,
        first_contact_due=now + timedelta(hours=4), resolution_due=now + timedelta(days=1),
        status=Case.Status.CLOSED if closed else Case.Status.NEW,
        root_cause=cause if closed else None, outcome=Case.Outcome.RESOLVED if closed else "",
        resolution=f"Called Ada on {CUSTOMER_PHONE}, refunded" if closed else "",
        prevention="Brief the courier" if closed else "", closed_at=now if closed else None,
    )
    CaseEventFactory(case=case, kind=CaseEvent.Kind.CONTACT, note=f"Rang {CUSTOMER_PHONE}",
                     data={"channel": "phone", "outcome": "reached"})
    CaseEventFactory(case=case, kind=CaseEvent.Kind.EMAIL, note="Dear Ada...", data={"to": email, "subject": "Sorry"})
    return SimpleNamespace(source=source, survey=survey, customer=customer, response=response, delivery=delivery,
                           case=case, cause=cause)
