"""Demo cases: 90 days of survey responses replayed through the real pipeline, then worked.

1. Team calendars (time zones, opening hours, a closed day), routing rules (touchpoint and
   location -> team) and escalation settings.
2. ~1,500 responses (NPS, CSAT and CES; comments in English, Spanish, French and German; several
   tiers, segments, touchpoints and locations) recorded with surveys.services.response_record
   at their historical time (cases.services.replay_clock), so alerts and cases arise exactly as
   they would from webhooks, including repeat customers whose cases get responses attached or
   are reopened automatically.
3. The cases are worked through the services at plausible past moments: claimed, called, some
   e-mailed, most closed with a root cause and often a prevention idea; a few reopened by staff,
   some left overdue or due soon. Finally one SLA sweep records what is overdue now.

The answers (customers, scores, comments) are in demo/answers.py, how a case is worked in
demo/case_histories.py; this module sets up the teams and runs the replay.

Deterministic (fixed random seed) and fast (well under a minute on SQLite)."""


from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from accounts.models import ClosedDay, Membership, Team
from cases import services
from cases.models import Case, Notification, RoutingRule
from cases.notifications import no_dispatch
from demo.answers import BAD, FIRST, LAST, Replay, demo_source, make_customers, make_response
from demo.case_histories import Schedule, case_plan, cases_opened, close_stale
from surveys.normalized import CustomerIdentity, NormalizedResponse, Score
from surveys.services import response_record

RESPONSES = 1500
DAYS = 90


def _calendars(teams: dict) -> None:
    week = ["mon", "tue", "wed", "thu", "fri"]
    Team.objects.filter(pk=teams["north"].pk).update(
        opening_hours={**{d: [["08:00", "18:00"]] for d in week}, "sat": [["09:00", "13:00"]], "sun": []},
        escalation_delay_minutes=240,
    )
    Team.objects.filter(pk=teams["south"].pk).update(
        opening_hours={**{d: [["09:30", "14:00"], ["16:30", "20:00"]] for d in week}, "sat": [["10:00", "14:00"]],
                       "sun": []},
        assignment=Team.Assignment.FEWEST_OPEN, escalation=Team.Escalation.NOTIFY_ONLY, escalation_delay_minutes=120,
    )
    Team.objects.filter(pk=teams["online"].pk).update(
        opening_hours={d: [["07:00", "22:00"]] for d in [*week, "sat", "sun"]}, escalation_delay_minutes=180,
    )
    today = timezone.now().date()
    ClosedDay.objects.get_or_create(team=teams["south"], date=today - dt.timedelta(days=40),
                                    defaults={"name": "Stock-take"})
    for slug in teams:
        teams[slug].refresh_from_db()
    from cases.routing import rules_changed

    rules_changed()  # the calendars were written with update(): the per-process team cache must reload


def _routing(teams: dict) -> None:
    rules = [
        ("Spanish stores and hub", 10, "south", {"locations": ["Madrid", "Catalonia"]}),
        ("Online touchpoints", 20, "online", {"touchpoints": ["checkout", "support", "onboarding"]}),
        ("US deliveries", 30, "online", {"locations": ["New York"]}),
    ]
    for name, order, slug, conditions in rules:
        RoutingRule.objects.get_or_create(name=name, defaults={"order": order, "team": teams[slug], **conditions})



# The root-cause model is (re)trained at these points of the 90 days, as the nightly task would.
TRAIN_AT_DAYS_AGO = (45, 20)


DUE_SOON_PLACES = {"online": ("checkout", "Web shop", "Online"), "north": ("store", "Leeds Trinity", "Yorkshire"),
                   "south": ("store", "Madrid Gran Vía", "Madrid")}


def _due_soon_extras(rng: random.Random, source, teams: dict, now: dt.datetime, count: int = 4) -> int:
    """A few untouched cases whose first-contact clock runs out within the next two hours: the
    moment each response came in is found by searching back through the team's business time."""
    from accounts.sla import choose_sla_policy
    from cases.calendar import add_business_hours
    from cases.sla import policy_hours

    first_hours, _ = policy_hours(choose_sla_policy(priority="normal", tier=""))
    made = 0
    for slug, (touchpoint, location, region) in DUE_SOON_PLACES.items():
        team = Team.objects.get(pk=teams[slug].pk)
        moment = now - dt.timedelta(minutes=5)
        found = []
        for _ in range(72 * 6):
            due = add_business_hours(team, moment, first_hours)
            if now + dt.timedelta(minutes=15) < due < now + dt.timedelta(minutes=110):
                found.append(moment)
                if len(found) == count - made:
                    break
                moment -= dt.timedelta(minutes=25)
                continue
            moment -= dt.timedelta(minutes=10)
        for n, at in enumerate(found):
            _, comment = rng.choice(BAD[touchpoint])
            customer = CustomerIdentity(external_id=f"demo-soon-{slug}-{n}", email=f"soon.{slug}.{n}@example.com",
                                        name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", segment="Retail")
            normalized = NormalizedResponse(
                response_id=f"demo-soon-{slug}-{n}", survey_id="relationship", survey_name="Relationship NPS",
                answered_at=at - dt.timedelta(minutes=2), scores=(Score("nps", "nps", Decimal(rng.randint(0, 4)), 0, 10),),
                customer=customer, comment=comment, touchpoint=touchpoint, channel="email", location=location,
                region=region,
            )
            with services.replay_clock(at):
                response_record(source=source, normalized=normalized)
            made += 1
        if made >= count:
            break
    return made


def seed(context: dict) -> dict:
    rng = random.Random(20260301)
    now = timezone.now()
    teams = context.get("teams") or {t.slug: t for t in Team.objects.all()}
    if {"north", "south", "online"} - set(teams):
        return {}
    if Case.objects.exists():
        return {"cases": Case.objects.count()}
    _calendars(teams)
    _routing(teams)
    source = (context.get("sources") or {}).get("demo-standard") or demo_source()
    demo_source()  # make sure the demo surveys exist on it
    customers = make_customers(rng, 850)
    moments = sorted(now - dt.timedelta(days=DAYS) + dt.timedelta(seconds=rng.uniform(0, DAYS * 86400 - 600))
                     for _ in range(RESPONSES))
    people: dict[int, list] = {}
    for membership in Membership.objects.filter(is_manager=False).select_related("user"):
        people.setdefault(membership.team_id, []).append(membership.user)
    schedule = Schedule()
    trainings = [now - dt.timedelta(days=d) for d in TRAIN_AT_DAYS_AGO]
    replay = Replay(source)
    with no_dispatch(), cases_opened() as opened:
        for i, answered_at in enumerate(moments):
            received = answered_at + dt.timedelta(seconds=rng.randint(20, 300))
            schedule.run_until(received)
            if trainings and received >= trainings[0]:
                from cases.suggest import train_root_cause_model

                train_root_cause_model(now=trainings.pop(0))
            # A quarter of the answers come from a small set of frequent customers (repeats).
            customer = rng.choice(customers[:120]) if rng.random() < 0.25 else rng.choice(customers)
            with services.replay_clock(received):
                replay.record(make_response(rng, i, customer, answered_at))
            for case_id in sorted(opened):
                schedule.add(case_plan(rng, case_id, now, people))
            opened.clear()
        schedule.run_until(now)
        close_stale(rng, now, people)
        _due_soon_extras(rng, source, teams, now)
        sweep = services.cases_sweep_sla(now=now)
    # Notifications of the replayed past are history, not news: nobody should get 90 days of e-mail.
    Notification.objects.filter(status=Notification.Status.PENDING).update(
        status=Notification.Status.SENT, sent_at=F("created_at"))
    total = Case.objects.count()
    out = context.get("stdout")
    if out is not None:
        out.write(f"Cases: {total} from {RESPONSES} responses; {sweep['overdue']} overdue, "
                  f"{sweep['due_soon']} due soon now.")
    return {"cases": total}
