"""Demo recovery checks ("Did we put it right?"), replayed over the demo's history through the
followup services: a sweep a day creates the checks that are due (customers asked in the last
VERIFICATION_FATIGUE_DAYS days are skipped for fatigue), sends them, and about half the customers
answer within three days. Most say it was put right; a low answer reopens the case for the same
team, which works it again and closes it a day or two later (or still has it, when that was this
week). The checks of the last few hours stay pending for the live sweep.

The replayed e-mails go to a dummy backend: the past's messages are history, not news."""

from __future__ import annotations

import datetime as dt
import random

from django.core.exceptions import ValidationError
from django.db.models import Count, Max
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import Membership
from cases import services as case_services
from cases.models import Case
from cases.notifications import no_dispatch
from cases.services import CaseConflict
from followup.models import Verification
from followup.services import (
    verification_answer,
    verification_send,
    verifications_create_due,
    verifications_expire,
    verifications_owed,
)

DAYS = 90
ANSWER_RATE = 0.55
LOW_ANSWER_RATE = 0.22


def _answer_value(rng: random.Random) -> int:
    return rng.randint(0, 5) if rng.random() < LOW_ANSWER_RATE else rng.choice([7, 8, 8, 9, 9, 10, 10, 10])


def _last_activity(case_id: int) -> dt.datetime | None:
    return Case.objects.filter(pk=case_id).aggregate(at=Max("events__created_at"))["at"]


def _answer(rng: random.Random, verification: Verification, at: dt.datetime, now: dt.datetime,
            people: dict[int, list]) -> str:
    """The customer answers at `at`, unless the case moved on since (a later reopen or closure):
    answering then would put the timeline out of order."""
    case = Case.objects.get(pk=verification.case_id)
    last = _last_activity(case.pk)
    if case.status != Case.Status.CLOSED or case.reopen_count != verification.round or (last and last >= at):
        return "unanswered"
    comments = {True: ["Yes, thank you for sorting it out.", "All good now 👍", "", ""],
                False: ["Not really, the same thing happened again.", "Still waiting for the refund.", ""]}
    value = _answer_value(rng)
    answered = verification_answer(verification_id=verification.pk, value=value,
                                   comment=rng.choice(comments[value >= 7]), at=at)
    if answered.recovered:
        return "recovered"
    _rework(rng, case.pk, at, now, people)
    return "reopened"


def _rework(rng: random.Random, case_id: int, reopened_at: dt.datetime, now: dt.datetime, people: dict[int, list]):
    """The team calls the customer again and closes the case, unless that would be in the future."""
    case = Case.objects.select_related("root_cause").get(pk=case_id)
    worker = case.assignee or (rng.choice(people[case.team_id]) if people.get(case.team_id) else None)
    contact_at = reopened_at + dt.timedelta(hours=rng.uniform(2, 20))
    close_at = contact_at + dt.timedelta(hours=rng.uniform(4, 40))
    if worker is None or close_at > now - dt.timedelta(hours=1):
        return
    try:
        if case.assignee_id is None:
            case_services.case_claim(case_id=case.pk, by=worker, at=contact_at)
        case_services.case_log_contact(case_id=case.pk, by=worker, channel="phone", outcome="reached",
                                       note="Called after the customer's answer to the recovery check.", at=contact_at)
        case_services.case_close(
            case_id=case.pk, by=worker, root_cause_id=case.root_cause_id,
            resolution="Called again after the recovery check; put right this time and confirmed by phone.",
            outcome=Case.Outcome.RESOLVED, at=close_at,
        )
    except (ValidationError, CaseConflict):
        return


def seed(context: dict) -> dict:
    if Verification.objects.exists() or not Case.objects.filter(outcome=Case.Outcome.RESOLVED).exists():
        return {}
    rng = random.Random(20260310)
    now = timezone.now()
    people: dict[int, list] = {}
    for membership in Membership.objects.filter(is_manager=False).select_related("user"):
        people.setdefault(membership.team_id, []).append(membership.user)
    counts = {"recovered": 0, "reopened": 0, "unanswered": 0}
    answers: list[tuple[dt.datetime, int]] = []
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"), no_dispatch():
        day = now - dt.timedelta(days=DAYS)
        while day < now - dt.timedelta(hours=6):
            answers.sort()
            while answers and answers[0][0] <= day:
                at, verification_id = answers.pop(0)
                counts[_answer(rng, Verification.objects.get(pk=verification_id), at, now, people)] += 1
            verifications_create_due(now=day)
            for verification_id in verifications_owed():
                sent_at = day + dt.timedelta(minutes=rng.randint(1, 20))
                if verification_send(verification_id=verification_id, now=sent_at) != "sent":
                    continue
                answer_at = sent_at + dt.timedelta(hours=rng.uniform(1, 72))
                if rng.random() < ANSWER_RATE and answer_at < now - dt.timedelta(minutes=30):
                    answers.append((answer_at, verification_id))
            verifications_expire(now=day)
            day += dt.timedelta(days=1)
        for at, verification_id in sorted(answers):
            counts[_answer(rng, Verification.objects.get(pk=verification_id), at, now, people)] += 1
        verifications_create_due(now=now)  # the last hours' closures: pending, for the live sweep
    by_status = dict(Verification.objects.values_list("status").annotate(n=Count("pk")).order_by())
    out = context.get("stdout")
    if out is not None:
        statuses = ", ".join(f"{n} {status}" for status, n in sorted(by_status.items()))
        out.write(f"Recovery checks: {statuses}; {counts['reopened']} low answers reopened their case.")
    return {"verifications": counts}
