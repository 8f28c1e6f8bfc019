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

Deterministic (fixed random seed) and fast (well under a minute on SQLite)."""

from __future__ import annotations

import datetime as dt
import heapq
import random
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import F, Max, Q
from django.utils import timezone

from accounts.models import ClosedDay, Membership, Team
from cases import services
from cases.models import Case, Notification, RootCause, RoutingRule
from cases.notifications import no_dispatch
from cases.services import CaseConflict
from surveys.models import Survey, WebhookSource
from surveys.normalized import CustomerIdentity, NormalizedResponse, Score
from surveys.services import response_record

RESPONSES = 1500
DAYS = 90

LOCATIONS = {
    "store": [("London Oxford St", "London"), ("Manchester Arndale", "North West"), ("Leeds Trinity", "Yorkshire"),
              ("Madrid Gran Vía", "Madrid"), ("Barcelona Diagonal", "Catalonia")],
    "delivery": [("London hub", "London"), ("Madrid hub", "Madrid"), ("New York DC", "New York")],
    "checkout": [("Web shop", "Online"), ("Mobile app", "Online")],
    "support": [("Phone support", "Online"), ("Chat support", "Online")],
    "onboarding": [("Web shop", "Online")],
}
TOUCHPOINT_WEIGHTS = {"store": 35, "delivery": 25, "checkout": 15, "support": 15, "onboarding": 10}
TIERS = [("Tier I", 8, (8000, 40000)), ("Gold", 20, (2000, 9000)), ("Silver", 35, (300, 2500)), ("", 37, (20, 600))]
SEGMENTS = ["Retail", "Business", "Students", "Trade"]
FIRST = ["Ana", "Ben", "Chloé", "Daniel", "Elena", "Farid", "Grace", "Hugo", "Isabel", "Jonas", "Kiran", "Lena",
         "Marco", "Nadia", "Oliver", "Paula", "Quentin", "Rosa", "Sven", "Tomás", "Uma", "Victor", "Wen", "Yara"]
LAST = ["Silva", "Moreau", "Schmidt", "Okafor", "García", "Brown", "Rossi", "Novak", "Khan", "Müller", "Dubois",
        "Lopez", "Ivanova", "Murphy", "Tanaka", "Haddad"]

# Comments in four languages, with emoji, that hit the demo themes (demo/themes.py); a few recurring
# topics no theme covers yet (parking, packaging, call-backs, opening hours) for theme discovery.
BAD = {
    "store": [
        ("en", "Waited 25 minutes at the till and nobody opened another one."),
        ("en", "The staff member was rude when I asked for help finding a size."),
        ("en", "Fitting rooms were dirty and the floor was messy 😕"),
        ("en", "Tried to return a jacket and was told the return policy changed. Not happy."),
        ("en", "Everything is so expensive now, prices went up again 😤"),
        ("en", "Long queue, one till open, and the assistant ignored me."),
        ("en", "No parking spaces anywhere near the store, drove around for twenty minutes."),
        ("en", "The car park was full again and parking took ages."),
        ("en", "Parking is a real problem, the car park is always full."),
        ("es", "El probador estaba sucio y nadie me atendió."),
        ("es", "Esperé mucho tiempo en la cola, muy mal organizado."),
        ("es", "El dependiente fue muy grosero conmigo 😡"),
        ("fr", "Le vendeur était impoli et ne connaissait pas le produit."),
        ("de", "Die Filiale war unordentlich und die Regale leer."),
        ("de", "Lange Schlange an der Kasse, ich musste ewig warten."),
    ],
    "delivery": [
        ("en", "Parcel arrived three days late and the box was crushed 📦💥"),
        ("en", "Delivered to the wrong address, had to chase it myself."),
        ("en", "Still waiting for my parcel, a week after the promised date."),
        ("en", "The delivery fee is far too high for how slow it was."),
        ("en", "Courier left it in the rain. Cardboard soaked through."),
        ("en", "The courier never knocked, just left a card and took the parcel back."),
        ("en", "Far too much plastic packaging, the box was three times the size of the item."),
        ("en", "So much packaging for one small item, please cut the plastic."),
        ("es", "El pedido llegó roto y nadie respondió a mis correos."),
        ("es", "Retraso de cinco días sin ninguna explicación 😠"),
        ("fr", "Livraison en retard de presque une semaine, sans aucune information."),
        ("de", "Das Paket kam beschädigt an, der Inhalt war kaputt."),
    ],
    "checkout": [
        ("en", "Payment failed twice and I was charged both times."),
        ("en", "The discount code would not apply on the checkout page."),
        ("en", "The app crashed three times before I could pay 🙄"),
        ("en", "I was overcharged and the invoice shows a different amount."),
        ("de", "Die App ist beim Bezahlen abgestürzt."),
        ("de", "Mir wurde der Betrag doppelt abgebucht."),
        ("es", "Me cobraron dos veces el mismo pedido."),
        ("fr", "Impossible de finaliser la commande sur mobile."),
    ],
    "support": [
        ("en", "Still waiting for my refund after three weeks."),
        ("en", "Nobody called me back although they promised to."),
        ("en", "Promised a call back twice and nobody ever called me back."),
        ("en", "I asked for a call back and never got one."),
        ("en", "On hold for 40 minutes, then the line went dead ☹️"),
        ("en", "The agent was dismissive and hung up on me."),
        ("es", "Nadie me devolvió la llamada, pésimo servicio."),
        ("es", "Todavía espero el reembolso de mi devolución."),
        ("fr", "On m'a transféré quatre fois sans solution."),
        ("de", "Die Hotline war nicht erreichbar, zwei Tage lang."),
    ],
    "onboarding": [
        ("en", "Setting up my account was confusing; the instructions were unclear."),
        ("en", "The feature I bought the plan for does not exist."),
        ("en", "Could not log in to the website after signing up."),
        ("en", "Too expensive for what the plan includes."),
        ("de", "Die Anleitung war unverständlich."),
    ],
}
MIDDLING = [("en", "")] * 12 + [
    ("en", "It was fine, nothing special."), ("es", "Correcto, sin más."), ("fr", "Ça allait."), ("de", "War in Ordnung."),
    ("en", "Okay but the queue was long."), ("en", "Decent, but prices are a bit high."), ("en", "Fine 🙂"),
    ("en", "Good products, but parking is a nightmare."), ("en", "Parking near the store is impossible on Saturdays."),
    ("en", "Please open longer on Sundays, the opening hours are too short."),
    ("en", "Opening hours do not suit anyone who works late."), ("en", "Average experience, as expected."),
]
GOOD = [("en", "Great service, the staff went out of their way to help!"), ("en", "Fast delivery, thank you."),
        ("es", "Muy buena atención, volveré."), ("fr", "Excellent accueil, merci beaucoup."),
        ("de", "Super schnell und freundlich."), ("en", ""), ("en", "Love the new app 😍"), ("en", "👍👍"),
        ("en", "Easy returns, refund in two days. 10/10"), ("en", "Good value for money and it arrived on time.")]
# Promoters often name who helped, or where: these reach that person's manager as recognition.
STAFF_AT = {
    "London Oxford St": ("Sam Shore", "Sam"), "Manchester Arndale": ("Sam Shore", "Sam"),
    "Leeds Trinity": ("Alex Agent", "Alex"), "Madrid Gran Vía": ("Lucía García", "Lucía"),
    "Barcelona Diagonal": ("Lucía García", "Lucía"), "Phone support": ("Omar Haddad", "Omar"),
    "Chat support": ("Priya Patel", "Priya"),
}
PRAISE = {
    "en": ["{first} at {location} went out of their way to help me find my size 🙌",
           "Lovely staff at {location}; {full} was so friendly and patient.",
           "Big thanks to {first} at {location}, sorted everything in minutes!"],
    "es": ["{first} en {location} fue encantadora, muy amable 😊"],
    "support": ["{first} on {location} was brilliant and sorted it out in minutes ⭐",
                "Huge thanks to {full}, the most helpful person I have spoken to on {location}."],
    "place": ["The team at {location} are always friendly. Thank you!",
              "Everyone at {location} was so helpful, best service I have had 👏"],
}


def _praise(rng: random.Random, touchpoint: str, location: str) -> str:
    """A promoter's comment naming a member of staff at that location, or the location itself."""
    staff = STAFF_AT.get(location)
    if staff is None or rng.random() < 0.3:
        return rng.choice(PRAISE["place"]).format(location=location)
    full, first = staff
    if touchpoint == "support":
        templates = PRAISE["support"]
    elif location in ("Madrid Gran Vía", "Barcelona Diagonal") and rng.random() < 0.6:
        templates = PRAISE["es"]
    else:
        templates = PRAISE["en"]
    return rng.choice(templates).format(first=first, full=full, location=location)

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


def _weighted(rng: random.Random, items):
    return rng.choices([i[:-1] if len(i) > 2 else i[0] for i in items], weights=[i[-1] for i in items])[0]


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


def _source():
    source = WebhookSource.objects.filter(slug="demo-standard").first()
    if source is None:
        source = WebhookSource.objects.create(name="Closeloop format", slug="demo-standard", vendor="standard")
    for external_id, name in [("relationship", "Relationship NPS"), ("delivery", "Delivery CSAT"),
                              ("support-ces", "Support effort (CES)")]:
        Survey.objects.get_or_create(source=source, external_id=external_id, defaults={"name": name})
    return source


def _customers(rng: random.Random, n: int) -> list[CustomerIdentity]:
    people = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        tier, _, (low, high) = rng.choices(TIERS, weights=[t[1] for t in TIERS])[0]
        people.append(CustomerIdentity(
            external_id=f"demo-cust-{i:04d}", email=f"{first}.{last}.{i}@example.com".lower().replace("é", "e")
            .replace("á", "a").replace("ü", "u").replace("í", "i"),
            name=f"{first} {last}", phone=f"+44 7700 9{i:05d}", tier=tier, segment=rng.choice(SEGMENTS),
            account_value=Decimal(rng.randint(low, high)),
        ))
    return people


def _response(rng: random.Random, i: int, customer: CustomerIdentity, answered_at: dt.datetime) -> NormalizedResponse:
    touchpoint = rng.choices(list(TOUCHPOINT_WEIGHTS), weights=list(TOUCHPOINT_WEIGHTS.values()))[0]
    location, region = rng.choice(LOCATIONS[touchpoint])
    kind = rng.choices(["nps", "csat", "ces"], weights=[50, 30, 20])[0]
    mood = rng.random()
    if kind == "nps":
        value = rng.randint(0, 6) if mood < 0.24 else rng.randint(7, 8) if mood < 0.5 else rng.randint(9, 10)
        score, survey = Score("nps", "nps", Decimal(value), 0, 10), ("relationship", "Relationship NPS")
        bad, good = value <= 6, value >= 9
    elif kind == "csat":
        value = rng.randint(1, 2) if mood < 0.22 else 3 if mood < 0.4 else rng.randint(4, 5)
        score, survey = Score("csat", "csat", Decimal(value), 1, 5), ("delivery", "Delivery CSAT")
        bad, good = value <= 2, value >= 4
    else:
        value = rng.randint(1, 2) if mood < 0.2 else rng.randint(3, 4) if mood < 0.45 else rng.randint(5, 7)
        score, survey = Score("ces", "ces", Decimal(value), 1, 7), ("support-ces", "Support effort (CES)")
        bad, good = value <= 2, value >= 5
    if good and (location in STAFF_AT or touchpoint == "delivery") and rng.random() < 0.35:
        comment = _praise(rng, touchpoint, location)
    else:
        _, comment = rng.choice(BAD[touchpoint] if bad else GOOD if good else MIDDLING)
    return NormalizedResponse(
        response_id=f"demo-{i:05d}", survey_id=survey[0], survey_name=survey[1], answered_at=answered_at,
        scores=(score,), customer=customer, comment=comment, touchpoint=touchpoint,
        channel=rng.choice(["email", "sms", "web", "in_app"]), location=location, region=region,
    )


def _business_offset(rng, start: dt.datetime, low_hours: float, high_hours: float, now: dt.datetime):
    at = start + dt.timedelta(hours=rng.uniform(low_hours, high_hours))
    return min(at, now - dt.timedelta(minutes=rng.randint(2, 30)))


def _plan(rng: random.Random, case_id: int, now: dt.datetime, people: dict[int, list]):
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
    at = _business_offset(rng, opened, 0.2, 6, now)
    yield at
    case.refresh_from_db()
    if case.assignee_id is None:
        services.case_claim(case_id=case.pk, by=worker, at=at)
    attempts = rng.choices([1, 2, 3], weights=[6, 3, 1])[0]
    for n in range(attempts):
        at = _business_offset(rng, at, 0.5, 20, now)
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
        at = _business_offset(rng, at, 0.1, 4, now)
        yield at
        services.case_add_note(case_id=case.pk, by=worker, at=at,
                               note=rng.choice(["Checked with the store manager.", "Carrier ticket raised.",
                                                "Refund requested from finance."]))
    still_open = 0.5 if age < dt.timedelta(days=3) else 0.12 if age < dt.timedelta(days=10) else 0.04
    if rng.random() < still_open:
        return
    at = _business_offset(rng, at, 1, 60, now)
    yield at
    category, cause = _weighted(rng, CAUSES[touchpoint])
    root_cause = RootCause.objects.get(category__name=category, name=cause)
    prevention = rng.choice(PREVENTION.get(cause, [""])) if rng.random() < 0.6 else ""
    outcome = rng.choices(["resolved", "not_resolved", "unreachable"], weights=[75, 15, 10])[0]
    services.case_close(case_id=case.pk, by=worker, root_cause_id=root_cause.pk,
                        resolution=rng.choice(RESOLUTIONS), outcome=outcome, prevention=prevention,
                        suggestions=_offered(case), at=at)
    if age > dt.timedelta(days=5) and rng.random() < 0.04:
        at = _business_offset(rng, at, 2, 48, now)
        yield at
        services.case_reopen(case_id=case.pk, by=worker, at=at,
                             reason="The customer called back: the replacement has the same problem.")
        if rng.random() < 0.6:
            at = _business_offset(rng, at, 4, 40, now)
            yield at
            services.case_close(case_id=case.pk, by=worker, root_cause_id=root_cause.pk,
                                resolution="Second replacement sent and confirmed by phone.", outcome="resolved",
                                prevention=prevention, at=at)


def _offered(case: Case) -> list[dict]:
    """What the close form would have suggested (once a model was trained part-way through the
    history, as the nightly task would have): the demo's staff pick their own cause, so whether
    they "took" a suggestion is whether the model saw it coming."""
    from cases.suggest import suggest_root_causes

    return [s.as_offered() for s in suggest_root_causes(case)]


# The root-cause model is (re)trained at these points of the 90 days, as the nightly task would.
TRAIN_AT_DAYS_AGO = (45, 20)


class _Schedule:
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


def _close_stale(rng: random.Random, now: dt.datetime, people: dict[int, list]) -> int:
    """Cases overdue for more than a week (left alone, stopped by a conflict, or reopened by the
    customer's next answer after their plan ended) are worked and closed a day or two after their
    last activity, as a real team would have; KEEP_STALE stay open, so the overdue list looks like
    one week's backlog with a short tail rather than months of neglect."""
    old = now - STALE_AFTER
    stale = list(
        Case.objects.open()
        .filter(Q(resolution_due__lt=old) | Q(first_contacted_at__isnull=True, first_contact_due__lt=old))
        .annotate(last_at=Max("events__created_at"))
        .select_related("response")
        .order_by("-resolution_due", "pk")
    )
    closed = 0
    for case in stale[KEEP_STALE:]:
        team_people = people.get(case.team_id) or []
        if not team_people:
            continue
        worker = case.assignee or rng.choice(team_people)
        at = _business_offset(rng, max(case.last_at or case.created_at, case.created_at), 1, 30, now)
        category, cause = _weighted(rng, CAUSES[case.response.touchpoint or "store"])
        root_cause = RootCause.objects.get(category__name=category, name=cause)
        try:
            if case.assignee_id is None:
                services.case_claim(case_id=case.pk, by=worker, at=at)
            at = _business_offset(rng, at, 0.2, 8, now)
            services.case_log_contact(case_id=case.pk, by=worker, channel="phone", outcome="reached", note="", at=at)
            at = _business_offset(rng, at, 0.5, 24, now)
            services.case_close(
                case_id=case.pk, by=worker, root_cause_id=root_cause.pk, resolution=rng.choice(RESOLUTIONS),
                outcome=rng.choices(["resolved", "not_resolved", "unreachable"], weights=[75, 15, 10])[0],
                prevention=rng.choice(PREVENTION.get(cause, [""])) if rng.random() < 0.5 else "", at=at,
            )
        except (ValidationError, CaseConflict):
            continue
        closed += 1
    return closed


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
    source = (context.get("sources") or {}).get("demo-standard") or _source()
    _source()  # make sure the demo surveys exist on it
    customers = _customers(rng, 850)
    moments = sorted(now - dt.timedelta(days=DAYS) + dt.timedelta(seconds=rng.uniform(0, DAYS * 86400 - 600))
                     for _ in range(RESPONSES))
    people: dict[int, list] = {}
    for membership in Membership.objects.filter(is_manager=False).select_related("user"):
        people.setdefault(membership.team_id, []).append(membership.user)
    schedule = _Schedule()
    last_case_id = 0
    trainings = [now - dt.timedelta(days=d) for d in TRAIN_AT_DAYS_AGO]
    with no_dispatch():
        for i, answered_at in enumerate(moments):
            received = answered_at + dt.timedelta(seconds=rng.randint(20, 300))
            schedule.run_until(received)
            if trainings and received >= trainings[0]:
                from cases.suggest import train_root_cause_model

                train_root_cause_model(now=trainings.pop(0))
            # A quarter of the answers come from a small set of frequent customers (repeats).
            customer = rng.choice(customers[:120]) if rng.random() < 0.25 else rng.choice(customers)
            with services.replay_clock(received):
                response_record(source=source, normalized=_response(rng, i, customer, answered_at))
            for case_id in Case.objects.filter(pk__gt=last_case_id).order_by("pk").values_list("pk", flat=True):
                schedule.add(_plan(rng, case_id, now, people))
                last_case_id = case_id
        schedule.run_until(now)
        _close_stale(rng, now, people)
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
