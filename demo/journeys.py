"""The demo's journey: "Subscriber", five stages mapped to the demo touchpoints (one survey mapping
too), the Relationship NPS survey as its relationship score, and a short journey pulse so the
journey map's moments of truth have customers to estimate from.

The pulse: 45 online customers each answered the relationship survey and three stage surveys in
the last 80 days (delivery CSAT, support effort, checkout CSAT). Their relationship NPS follows
their delivery answer closely, their support answer a little and their checkout answer not at
all, so the map shows Receive as a moment of truth, Get help as a weaker one and Buy as none.
Scores stay where no alert rule fires (NPS 7-10, CSAT 3-5, CES 3-7): the pulse opens no cases.
Recorded through surveys.services.response_record like any delivery."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from cases import services as case_services
from cases.notifications import no_dispatch
from demo.answers import FIRST, LAST, demo_source
from journeys import services
from journeys.models import Journey
from surveys.models import Survey
from surveys.normalized import CustomerIdentity, NormalizedResponse, Score
from surveys.services import response_record

STAGES = [
    ("Buy", "Choosing and paying, in a store or online.", ["store", "checkout"]),
    ("Receive", "The order arrives.", ["delivery"]),
    ("Use", "The first weeks with the product.", ["onboarding"]),
    ("Get help", "Support by phone or chat.", ["support"]),
    ("Renew", "The yearly account review and renewal.", ["account review"]),
]
PULSE_CUSTOMERS = 45


def _pulse(source, now: dt.datetime) -> int:
    rng = random.Random(20261204)
    recorded = 0
    for i in range(PULSE_CUSTOMERS):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        who = CustomerIdentity(external_id=f"demo-pulse-{i:03d}", name=f"{first} {last}", segment="Retail",
                               email=f"pulse.{i}@example.com")
        delivery, support, checkout = rng.randint(3, 5), rng.randint(3, 7), rng.randint(3, 5)
        relationship = round(7 + 1.2 * (delivery - 3) + 0.25 * (support - 3) + rng.uniform(-0.6, 0.6))
        relationship = max(7, min(10, relationship))
        base = now - dt.timedelta(days=rng.randint(10, 80))
        answers = [
            ("delivery", "Delivery CSAT", Score("csat", "csat", Decimal(delivery), 1, 5), "delivery"),
            ("support-ces", "Support effort (CES)", Score("ces", "ces", Decimal(support), 1, 7), "support"),
            ("checkout-csat", "Checkout CSAT", Score("csat", "csat", Decimal(checkout), 1, 5), "checkout"),
            ("relationship", "Relationship NPS", Score("nps", "nps", Decimal(relationship), 0, 10), "account review"),
        ]
        for n, (survey_id, survey_name, score, touchpoint) in enumerate(answers):
            at = base + dt.timedelta(days=2 * n, hours=rng.randint(8, 18))
            normalized = NormalizedResponse(
                response_id=f"demo-pulse-{i:03d}-{n}", survey_id=survey_id, survey_name=survey_name, answered_at=at,
                scores=(score,), customer=who, touchpoint=touchpoint, channel="email", location="Web shop",
                region="Online",
            )
            with case_services.replay_clock(at + dt.timedelta(minutes=2)):
                response_record(source=source, normalized=normalized)
            recorded += 1
    return recorded


def seed(context: dict) -> dict:
    if Journey.objects.exists():
        return {}
    now = timezone.now()
    source = demo_source()
    with no_dispatch():
        pulse = _pulse(source, now)
    relationship = Survey.objects.get(source=source, external_id="relationship")
    journey = services.journey_create(
        name="Subscriber", description="From the first purchase to the yearly renewal.",
        relationship_survey=relationship,
    )
    stages = {}
    for name, description, touchpoints in STAGES:
        stages[name] = services.stage_create(journey=journey, name=name, description=description)
        for touchpoint in touchpoints:
            services.mapping_set(stage=stages[name], touchpoint=touchpoint)
    # A survey mapping: a support-effort answer whose touchpoint no stage names still counts as help.
    services.mapping_set(stage=stages["Get help"], survey=Survey.objects.get(source=source, external_id="support-ces"))
    out = context.get("stdout")
    if out is not None:
        out.write(f"Journey “{journey.name}”: {len(STAGES)} stages; journey pulse of {pulse} answers.")
    return {"journey": journey}
