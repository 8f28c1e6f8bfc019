"""How the demo's frontline works a case: one plausible history per case (claimed, contacted,
e-mailed, closed with a root cause and a prevention idea, sometimes reopened), run in time order
by a schedule, and the stale backlog closed at the end. Every step goes through cases.services."""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Q, Subquery
from django.db.models.signals import post_save

from cases import services
from cases.models import Case, CaseEvent, RootCause
from cases.services import CaseConflict

# Which root causes each touchpoint's cases tend to have (weights), and what staff suggested.
CAUSES = {
    "store": [("Store", "Waiting time", 5), ("Staff", "Attitude", 3), ("Store", "Cleanliness", 2),
              ("Staff", "Knowledge", 2), ("Policy", "Returns", 2)],
    "delivery": [("Delivery", "Late", 6), ("Delivery", "Damaged", 4), ("Delivery", "Wrong item", 1),
                 ("Communication", "No follow-up", 2)],
    "checkout": [("Billing", "Wrong charge", 4), ("Digital", "Checkout problem", 4), ("Digital", "Website or app error", 2)],
    "support": [("Billing", "Refund delay", 5), ("Communication", "No follow-up", 4), ("Communication", "Hard to reach", 2)],
    "onboarding": [("Communication", "Unclear information", 3), ("Product", "Missing feature", 2),
                   ("Product", "Defect", 1)],
}
PREVENTION = {
    "Waiting time": ["Open a second till when more than four people queue.", "Roster one more person on Saturdays."],
    "Attitude": ["Coaching session with the shift lead.", "Share this feedback in the team huddle."],
    "Cleanliness": ["Add the fitting rooms to the hourly check list."],
    "Knowledge": ["Product training on the new range before launch."],
    "Returns": ["Print the returns policy on the receipt."],
    "Late": ["Switch the carrier for the Madrid route.", "Warn customers when the hub is behind."],
    "Damaged": ["Double-box fragile items.", "Raise it with the carrier's account manager."],
    "Wrong item": ["Scan-check at packing."],
    "No follow-up": ["Automatic reminder when a call-back is promised.", "Log every promised call-back as a task."],
    "Wrong charge": ["Fix the double-submit on the payment page."],
    "Checkout problem": ["Test discount codes on mobile before each campaign."],
    "Website or app error": ["Alert on payment errors above 1%."],
    "Refund delay": ["Refunds approved by the agent up to 100 without a manager."],
    "Hard to reach": ["Call-back option when the queue is over 10 minutes."],
    "Unclear information": ["Rewrite the set-up guide with screenshots."],
    "Missing feature": ["Be clearer on the pricing page about what each plan includes."],
    "Defect": ["Report to the product team with the customer's steps."],
}
RESOLUTIONS = ["Apologised and refunded the delivery fee.", "Called the customer, explained and offered a voucher.",
               "Replaced the item free of charge.", "Refunded the duplicate charge.",
               "Escalated to the store manager, who called the customer back.",
               "Booked a call-back with a specialist; the customer was satisfied.",
               "Explained the policy; offered a goodwill gesture."]


def weighted(rng: random.Random, items):
    return rng.choices([i[:-1] if len(i) > 2 else i[0] for i in items], weights=[i[-1] for i in items])[0]


def business_offset(rng, start: dt.datetime, low_hours: float, high_hours: float, now: dt.datetime):
    at = start + dt.timedelta(hours=rng.uniform(low_hours, high_hours))
    return min(at, now - dt.timedelta(minutes=rng.randint(2, 30)))


def case_plan(rng: random.Random, case_id: int, now: dt.datetime, people: dict[int, list]):
    """One case's plausible history, as a generator: it yields the moment of its next step and
    performs that step (through the services) when resumed. The seed loop interleaves all plans
    with the incoming responses in time order, so a repeat response can find the case closed
    (and reopen it) or still open (and join it)."""
    case = Case.objects.select_related("customer", "response").get(pk=case_id)
    opened = case.created_at
    age = now - opened
    team_people = people.get(case.team_id) or []
    if not team_people:
        return
    worker = case.assignee or rng.choice(team_people)
    touchpoint = case.response.touchpoint or "store"
    fate = rng.random()
    if age < dt.timedelta(hours=6) and fate < 0.6:
        return  # fresh: still new (some due soon)
    if age < dt.timedelta(days=6) and fate < 0.3:
        return  # left alone this week: these become overdue
    at = business_offset(rng, opened, 0.2, 6, now)
    yield at
    case.refresh_from_db()
    if case.assignee_id is None:
        services.case_claim(case_id=case.pk, by=worker, at=at)
    attempts = rng.choices([1, 2, 3], weights=[6, 3, 1])[0]
    for n in range(attempts):
        at = business_offset(rng, at, 0.5, 20, now)
        yield at
        outcome = "reached" if n == attempts - 1 and rng.random() < 0.8 else rng.choice(["voicemail", "no_answer"])
        if n == 0 and rng.random() < 0.15 and case.customer_id:
            body = f"Dear {case.customer.name},\n\nThank you for your feedback. I am sorry; I will call you today.\n"
            services.case_email_customer(case_id=case.pk, by=worker, subject="About your recent feedback", body=body,
                                         at=at)
            continue
        services.case_log_contact(case_id=case.pk, by=worker, channel=rng.choice(["phone", "phone", "sms"]),
                                  outcome=outcome, note="" if rng.random() < 0.6 else "Spoke briefly; will follow up.",
                                  at=at)
    if rng.random() < 0.3:
        at = business_offset(rng, at, 0.1, 4, now)
        yield at
        services.case_add_note(case_id=case.pk, by=worker, at=at,
                               note=rng.choice(["Checked with the store manager.", "Carrier ticket raised.",
                                                "Refund requested from finance."]))
    still_open = 0.5 if age < dt.timedelta(days=3) else 0.12 if age < dt.timedelta(days=10) else 0.04
    if rng.random() < still_open:
        return
    at = business_offset(rng, at, 1, 60, now)
    yield at
    category, cause = weighted(rng, CAUSES[touchpoint])
    root_cause = RootCause.objects.get(category__name=category, name=cause)
    prevention = rng.choice(PREVENTION.get(cause, [""])) if rng.random() < 0.6 else ""
    outcome = rng.choices(["resolved", "not_resolved", "unreachable"], weights=[75, 15, 10])[0]
    services.case_close(case_id=case.pk, by=worker, root_cause_id=root_cause.pk,
                        resolution=rng.choice(RESOLUTIONS), outcome=outcome, prevention=prevention,
                        suggestions=offered(case), at=at)
    if age > dt.timedelta(days=5) and rng.random() < 0.04:
        at = business_offset(rng, at, 2, 48, now)
        yield at
        services.case_reopen(case_id=case.pk, by=worker, at=at,
                             reason="The customer called back: the replacement has the same problem.")
        if rng.random() < 0.6:
            at = business_offset(rng, at, 4, 40, now)
            yield at
            services.case_close(case_id=case.pk, by=worker, root_cause_id=root_cause.pk,
                                resolution="Second replacement sent and confirmed by phone.", outcome="resolved",
                                prevention=prevention, at=at)


def offered(case: Case) -> list[dict]:
    """What the close form would have suggested (once a model was trained part-way through the
    history, as the nightly task would have): the demo's staff pick their own cause, so whether
    they "took" a suggestion is whether the model saw it coming."""
    from cases.suggest import suggest_root_causes

    return [s.as_offered() for s in suggest_root_causes(case)]



@contextmanager
def cases_opened() -> Iterator[list[int]]:
    """The ids of the cases opened while the block runs, in order (every opening outside a batch
    saves its case, cases.services.opening._insert_case): the replay takes them from the list
    after each answer, instead of asking the database for new cases after every answer."""
    opened: list[int] = []

    def heard(sender, instance, created, **kwargs):
        if created:
            opened.append(instance.pk)

    post_save.connect(heard, sender=Case, weak=False, dispatch_uid="demo.cases_opened")
    try:
        yield opened
    finally:
        post_save.disconnect(sender=Case, dispatch_uid="demo.cases_opened")


class Schedule:
    """Case plans ordered by the moment of their next step."""

    def __init__(self):
        self.heap: list = []
        self.seq = 0

    def add(self, plan) -> None:
        self._advance(plan)

    def _advance(self, plan) -> None:
        try:
            at = next(plan)
        except (StopIteration, ValidationError, CaseConflict):
            return
        self.seq += 1
        heapq.heappush(self.heap, (at, self.seq, plan))

    def run_until(self, moment: dt.datetime) -> None:
        while self.heap and self.heap[0][0] <= moment:
            _, _, plan = heapq.heappop(self.heap)
            self._advance(plan)  # performs the due step, then schedules the next one


STALE_AFTER = dt.timedelta(days=7)
KEEP_STALE = 2


def close_stale(rng: random.Random, now: dt.datetime, people: dict[int, list]) -> int:
    """Cases overdue for more than a week (left alone, stopped by a conflict, or reopened by the
    customer's next answer after their plan ended) are worked and closed a day or two after their
    last activity, as a real team would have; KEEP_STALE stay open, so the overdue list looks like
    one week's backlog with a short tail rather than months of neglect."""
    old = now - STALE_AFTER
    stale = list(
        Case.objects.open()
        .filter(Q(resolution_due__lt=old) | Q(first_contacted_at__isnull=True, first_contact_due__lt=old))
        # A subquery, not Max() over a join: grouping by the case and its response would need the
        # response's id to be its table's key, and the partitioned table's is (id, answered_at).
        .annotate(last_at=Subquery(CaseEvent.objects.filter(case=OuterRef("pk")).order_by("-created_at")
                                   .values("created_at")[:1]))
        .select_related("response")
        .order_by("-resolution_due", "pk")
    )
    closed = 0
    for case in stale[KEEP_STALE:]:
        team_people = people.get(case.team_id) or []
        if not team_people:
            continue
        worker = case.assignee or rng.choice(team_people)
        at = business_offset(rng, max(case.last_at or case.created_at, case.created_at), 1, 30, now)
        category, cause = weighted(rng, CAUSES[case.response.touchpoint or "store"])
        root_cause = RootCause.objects.get(category__name=category, name=cause)
        try:
            if case.assignee_id is None:
                services.case_claim(case_id=case.pk, by=worker, at=at)
            at = business_offset(rng, at, 0.2, 8, now)
            services.case_log_contact(case_id=case.pk, by=worker, channel="phone", outcome="reached", note="", at=at)
            at = business_offset(rng, at, 0.5, 24, now)
            services.case_close(
                case_id=case.pk, by=worker, root_cause_id=root_cause.pk, resolution=rng.choice(RESOLUTIONS),
                outcome=rng.choices(["resolved", "not_resolved", "unreachable"], weights=[75, 15, 10])[0],
                prevention=rng.choice(PREVENTION.get(cause, [""])) if rng.random() < 0.5 else "", at=at,
            )
        except (ValidationError, CaseConflict):
            continue
        closed += 1
    return closed
