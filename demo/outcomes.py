"""Business outcomes for the demo, so the closed-loop results and impact reports have something
to show: an earlier cohort of NPS answers (200 of them, 100 to 460 days ago, from the demo's
customers), recorded and worked through the same services as the 90 days of history, and a year
of billing events for every customer who answered.

The cohort's cases are worked by the same plans as the recent ones (demo.case_histories), except
a fifth, which nobody picks up: the SLA sweep records them overdue and they are closed unreachable
a fortnight later. Their recovery checks are created, sent and answered day by day as in
demo.followup. Then each customer's next year is drawn by what happened to their feedback: churn
is likelier the less the loop was closed (CHURN), monthly renewals follow until a customer leaves, promoters buy
and expand more, detractors ask for refunds and downgrade. It runs last, after the stages whose
figures cover the last 90 days, which it leaves as they were (its answers and closures are older)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace
from decimal import Decimal

from django.db.models import F, Max
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import Membership
from cases import services
from cases.models import Case, Notification
from cases.notifications import no_dispatch
from cases.services import CaseConflict
from customers.models import Account
from demo.answers import Replay, demo_source, make_customers, make_response
from demo.case_histories import RESOLUTIONS, Schedule, case_plan, cases_opened
from demo.followup import _answer
from followup.models import Verification
from followup.services import (
    verification_send,
    verifications_create_due,
    verifications_expire,
    verifications_owed,
)
from outcomes.models import OutcomeEvent
from outcomes.rows import OutcomeRow
from outcomes.services import outcome_events_upsert
from surveys.models import Customer, SurveyResponse
from surveys.normalized import CustomerIdentity, Score

COHORT = 200
FIRST_DAY, LAST_DAY = 460, 100  # days ago
# The annual relationship survey of a year and more ago, sent to customers of that time, most of
# whom are not in the recent data (some left since): their answers are what the churn model learns
# from (features as of 180 days ago, churn in the 90 days after), so there must be a few hundred.
WAVE = 300
WAVE_FIRST_DAY, WAVE_LAST_DAY = 545, 185  # days ago
UNWORKED = 0.2
CHECK_STEP_DAYS = 3  # the recovery-check sweep of the cohort's year runs every third day (keeps the load quick)
MONTHLY_FEE = {"Tier I": 400, "Gold": 120, "Silver": 45, "": 15}  # EUR a month, by the demo's customer tiers
SOURCE = "demo-billing"
# Churn within a year of the answer, by group: the story the results page tells. Monthly consumer
# subscriptions lose a quarter to a half of their customers in a year; those whose complaint was
# never taken up leave most, promoters least.
CHURN = {"resolved_verified": 0.15, "resolved_unverified": 0.25, "contacted_unresolved": 0.4,
         "not_contacted": 0.6, "passive": 0.3, "promoter": 0.12}


def seed(context: dict) -> dict:
    if OutcomeEvent.objects.exists() or not Customer.objects.filter(external_id__startswith="demo-cust-").exists():
        return {}
    rng = random.Random(20261204)
    now = timezone.now()
    people: dict[int, list] = {}
    for membership in Membership.objects.filter(is_manager=False).select_related("user"):
        people.setdefault(membership.team_id, []).append(membership.user)
    # demo.cases' customers who have no case: an earlier answer of someone with a recent case would
    # be attached to that (later) case by the recording, out of time order.
    identities = list(Customer.objects.filter(external_id__startswith="demo-cust-", merged_into__isnull=True)
                      .exclude(pk__in=Case.objects.filter(customer__isnull=False).values("customer_id"))
                      .order_by("pk").values_list("external_id", flat=True))
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"), no_dispatch():
        first_case = _cohort(rng, now, identities, people)
        _checks(rng, now, people, first=now - dt.timedelta(days=FIRST_DAY), first_case=first_case)
        _close_open(rng, first_case, people)  # what a low recovery answer reopened and nobody closed
        _wave(rng, now, people)
    cohort_cases = Case.objects.filter(pk__gt=first_case).count()
    Notification.objects.filter(status=Notification.Status.PENDING).update(
        status=Notification.Status.SENT, sent_at=F("created_at"))
    events = _events(rng, now)
    out = context.get("stdout")
    if out is not None:
        out.write(f"Outcomes: {COHORT + WAVE} earlier answers ({cohort_cases} cases), {events} billing events.")
    return {"outcome_events": events}


def _cohort(rng: random.Random, now: dt.datetime, identities: list[str], people) -> int:
    source = demo_source()
    first_case = Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    moments = sorted(now - dt.timedelta(days=rng.uniform(LAST_DAY, FIRST_DAY)) for _ in range(COHORT))
    schedule = Schedule()
    unworked: list[int] = []
    replay = Replay(source)
    with cases_opened() as opened:
        for i, answered_at in enumerate(moments):
            received = answered_at + dt.timedelta(seconds=rng.randint(20, 300))
            schedule.run_until(received)
            normalized = make_response(rng, 90000 + i, CustomerIdentity(external_id=rng.choice(identities)), answered_at)
            value = (rng.randint(0, 6) if rng.random() < 0.3 else rng.randint(7, 8) if rng.random() < 0.4
                     else rng.randint(9, 10))
            normalized = normalized.__class__(**{**normalized.__dict__,
                                                 "scores": (Score("nps", "nps", Decimal(value), 0, 10),),
                                                 "survey_id": "relationship", "survey_name": "Relationship NPS"})
            with services.replay_clock(received):
                replay.record(normalized)
            for case_id in sorted(opened):
                if rng.random() < UNWORKED:
                    unworked.append(case_id)
                else:
                    schedule.add(case_plan(rng, case_id, now, people))
            opened.clear()
    schedule.run_until(now - dt.timedelta(days=LAST_DAY - 10))
    causes = _active_causes()
    for case_id in unworked:  # nobody picked these up: overdue, then closed unreachable
        case = Case.objects.get(pk=case_id)
        services.cases_sweep_sla(now=case.resolution_due + dt.timedelta(minutes=5))
        _close(rng, case, case.created_at + dt.timedelta(days=14), "unreachable", people, causes)
    _close_open(rng, first_case, people)
    return first_case


def _wave(rng: random.Random, now: dt.datetime, people) -> None:
    """The relationship survey of WAVE_FIRST_DAY to WAVE_LAST_DAY days ago, answered by customers of
    that time (demo-past-*), recorded like any delivery. The loop was not closed for them: their
    detractors' cases were closed unreachable a few days later, nobody having called."""
    source = demo_source()
    first_case = Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    identities = [replace(identity, external_id=f"demo-past-{i:04d}", email=identity.email.replace("@", ".past@"),
                          phone=f"+44 7700 8{i:05d}")
                  for i, identity in enumerate(make_customers(rng, WAVE))]
    replay = Replay(source)
    for i, identity in enumerate(identities):
        answered_at = now - dt.timedelta(days=rng.uniform(WAVE_LAST_DAY, WAVE_FIRST_DAY))
        normalized = make_response(rng, 95000 + i, identity, answered_at)
        mood = rng.random()
        value = rng.randint(0, 6) if mood < 0.25 else rng.randint(7, 8) if mood < 0.5 else rng.randint(9, 10)
        normalized = replace(normalized, scores=(Score("nps", "nps", Decimal(value), 0, 10),),
                             survey_id="relationship", survey_name="Relationship NPS")
        with services.replay_clock(answered_at + dt.timedelta(seconds=rng.randint(20, 300))):
            replay.record(normalized)
    causes = _active_causes()
    for case in Case.objects.filter(pk__gt=first_case).order_by("pk"):
        _close(rng, case, case.created_at + dt.timedelta(days=rng.uniform(3, 10)), "unreachable", people, causes)


def _close_open(rng: random.Random, first_case: int, people) -> None:
    """The cohort's cases still open are closed, not resolved, a few days after their last step:
    the old cases of the demo are history, never part of today's overdue list."""
    causes = _active_causes()
    for case in Case.objects.filter(pk__gt=first_case).exclude(status=Case.Status.CLOSED).annotate(
            last=Max("events__created_at")):
        _close(rng, case, max(case.last or case.created_at, case.created_at) + dt.timedelta(days=rng.uniform(2, 6)),
               "not_resolved", people, causes)


def _active_causes() -> list:
    """The root causes a case is closed with when it has none yet: read once per batch of closings."""
    from cases.models import RootCause

    return list(RootCause.objects.filter(active=True).order_by("pk"))


def _close(rng, case: Case, at: dt.datetime, outcome: str, people, causes: list) -> None:
    worker = case.assignee or (rng.choice(people[case.team_id]) if people.get(case.team_id) else None)
    cause = case.root_cause or rng.choice(causes or [None])
    if worker is None or cause is None:
        return
    try:
        if case.assignee_id is None:
            services.case_claim(case_id=case.pk, by=worker, at=at - dt.timedelta(minutes=30))
        services.case_close(case_id=case.pk, by=worker, root_cause_id=cause.pk, outcome=outcome, at=at,
                            resolution=rng.choice(RESOLUTIONS) if outcome != "unreachable"
                            else "Tried to reach the customer too late; no answer.")
    except CaseConflict:
        return


def _checks(rng: random.Random, now: dt.datetime, people, *, first: dt.datetime, first_case: int) -> None:
    """The cohort's recovery checks, day by day, as demo.followup replays the recent ones."""
    answers: list[tuple[dt.datetime, int]] = []
    day, end = first, now - dt.timedelta(days=LAST_DAY - 20)
    while day < end:
        answers.sort()
        while answers and answers[0][0] <= day:
            at, verification_id = answers.pop(0)
            _answer(rng, Verification.objects.get(pk=verification_id), at, now, people)
        verifications_create_due(now=day)
        owed = verifications_owed()  # the cohort's only: the recent closures' checks wait for the live sweep
        for verification_id in Verification.objects.filter(pk__in=owed, case_id__gt=first_case).order_by("pk") \
                .values_list("pk", flat=True):
            sent_at = day + dt.timedelta(minutes=rng.randint(1, 20))
            if verification_send(verification_id=verification_id, now=sent_at) == "sent" and rng.random() < 0.6:
                answers.append((sent_at + dt.timedelta(hours=rng.uniform(1, 72)), verification_id))
        verifications_expire(now=day)
        day += dt.timedelta(days=CHECK_STEP_DAYS)


def _events(rng: random.Random, now: dt.datetime) -> int:
    """A year of billing events after each customer's latest NPS answer, by the fate of that answer."""
    from reporting.selectors.outcomes import (
        feedback_group,  # the report's own groups: the story is the one shown
    )

    # Each customer's latest answer of the earlier cohort (the one the results page follows), else
    # their latest answer at all.
    cutoff = now - dt.timedelta(days=LAST_DAY - 1)
    latest: dict[int, SurveyResponse] = {}
    for response in SurveyResponse.objects.filter(nps__isnull=False, customer__isnull=False).order_by("answered_at"):
        if response.customer_id not in latest or latest[response.customer_id].answered_at > cutoff \
                or response.answered_at <= cutoff:
            latest[response.customer_id] = response
    cases = {c["response_id"]: c for c in Case.objects.filter(response_id__in=[r.pk for r in latest.values()]).values(
        "id", "response_id", "status", "outcome", "first_contacted_at", "overdue_at", "root_cause_id")}
    verified = set(Verification.objects.filter(recovered=True).values_list("case_id", flat=True))
    tiers = dict(Customer.objects.filter(pk__in=list(latest)).values_list("pk", "tier"))
    rows: list[OutcomeRow] = []

    for customer_id, response in latest.items():
        group = feedback_group(response.nps, cases.get(response.pk), verified)
        yearly = Decimal(12 * MONTHLY_FEE.get(tiers.get(customer_id) or "", 25))
        start = response.answered_at
        churn_at = start + dt.timedelta(days=rng.uniform(15, 365)) if rng.random() < CHURN[group] else None
        planned = [("renewal", yearly / 12, start + dt.timedelta(days=rng.uniform(1, 30) + 30.4 * month))
                   for month in range(12)]  # a monthly subscription, renewed until it churns
        if churn_at is not None:
            planned.append(("churn", yearly, churn_at))
        if rng.random() < (0.35 if group == "promoter" else 0.15):
            planned.append(("purchase", yearly * Decimal(rng.uniform(0.05, 0.3)),
                            start + dt.timedelta(days=rng.uniform(5, 300))))
        if group == "promoter" and rng.random() < 0.15:
            planned.append(("expansion", yearly * Decimal("0.2"), start + dt.timedelta(days=rng.uniform(30, 330))))
        if group not in ("passive", "promoter") and rng.random() < 0.15:
            planned.append(("refund", yearly * Decimal(rng.uniform(0.02, 0.1)),
                            start + dt.timedelta(days=rng.uniform(1, 30))))
        if group in ("contacted_unresolved", "not_contacted") and rng.random() < 0.1:
            planned.append(("downgrade", yearly * Decimal("0.25"), start + dt.timedelta(days=rng.uniform(30, 200))))
        happened = [(kind, amount, at) for kind, amount, at in planned
                    if at <= now and (churn_at is None or at <= churn_at or kind == "churn")]
        rows.extend(OutcomeRow(kind=kind, amount=Decimal(amount).quantize(Decimal("1.00")), currency="EUR",
                               occurred_at=at, external_id=f"demo-{customer_id}-{n}", source=SOURCE,
                               customer_id=customer_id)
                    for n, (kind, amount, at) in enumerate(happened, start=1))
    acme = Account.objects.filter(external_id="acct-acme").first()
    if acme is not None:
        rows.append(OutcomeRow(kind="renewal", amount=Decimal("120000.00"), currency="EUR",
                               occurred_at=now - dt.timedelta(days=335), external_id="demo-acme-renewal",
                               source=SOURCE, account_id=acme.pk))
    results = outcome_events_upsert(rows)
    return sum(1 for r in results if r.status == "created")
