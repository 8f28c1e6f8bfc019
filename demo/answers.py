"""What the demo customers answer: who they are (tiers, segments, names), where (touchpoints and
locations), the scores, and the comments (four languages, emoji, praise naming staff), plus the
webhook source and surveys they answer through. Used by demo.cases, which replays them."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from surveys.models import Customer, Survey, SurveyResponse, WebhookSource
from surveys.normalized import CustomerIdentity, NormalizedResponse, Score
from surveys.services import RecordLookups, response_record
from surveys.vocabulary import NpsGroup, nps_group

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


def praise(rng: random.Random, touchpoint: str, location: str) -> str:
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


def demo_source():
    source = WebhookSource.objects.filter(slug="demo-standard").first()
    if source is None:
        source = WebhookSource.objects.create(name="Closeloop format", slug="demo-standard", vendor="standard")
    for external_id, name in [("relationship", "Relationship NPS"), ("delivery", "Delivery CSAT"),
                              ("support-ces", "Support effort (CES)")]:
        Survey.objects.get_or_create(source=source, external_id=external_id, defaults={"name": name})
    return source


class Replay:
    """Records a stage's answers through surveys.services.response_record as a worker records a
    batch: with the RecordLookups it would read up front (surveys.services.lookups), here every
    customer, and the source's surveys and responses, read once for the whole replay. The load is
    one transaction and the only writer, so what was read stays true; what each answer records
    (its customer, survey, response) is kept for the next. Without it every answer asked the
    database for its response, survey and customer again (four to five queries each)."""

    def __init__(self, source: WebhookSource):
        self.source = source
        self.lookups = RecordLookups()
        for customer in Customer.objects.select_related("merged_into").order_by("pk"):
            self.lookups.stage("customer", None, customer)
        for survey in Survey.objects.filter(source=source):
            self.lookups.stage("surveys", (source.pk, survey.external_id), survey)
        for response in SurveyResponse.objects.filter(source=source).order_by():
            self.lookups.stage("responses", (source.pk, response.external_id), response)
        self.lookups.keep()

    def record(self, normalized: NormalizedResponse):
        recorded = response_record(source=self.source, normalized=normalized, lookups=self.lookups)
        self.lookups.keep()
        return recorded


def make_customers(rng: random.Random, n: int) -> list[CustomerIdentity]:
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


def make_response(rng: random.Random, i: int, customer: CustomerIdentity, answered_at: dt.datetime) -> NormalizedResponse:
    touchpoint = rng.choices(list(TOUCHPOINT_WEIGHTS), weights=list(TOUCHPOINT_WEIGHTS.values()))[0]
    location, region = rng.choice(LOCATIONS[touchpoint])
    kind = rng.choices(["nps", "csat", "ces"], weights=[50, 30, 20])[0]
    mood = rng.random()
    if kind == "nps":
        value = rng.randint(0, 6) if mood < 0.24 else rng.randint(7, 8) if mood < 0.5 else rng.randint(9, 10)
        score, survey = Score("nps", "nps", Decimal(value), 0, 10), ("relationship", "Relationship NPS")
        bad, good = nps_group(value) == NpsGroup.DETRACTOR, nps_group(value) == NpsGroup.PROMOTER
    elif kind == "csat":
        value = rng.randint(1, 2) if mood < 0.22 else 3 if mood < 0.4 else rng.randint(4, 5)
        score, survey = Score("csat", "csat", Decimal(value), 1, 5), ("delivery", "Delivery CSAT")
        bad, good = value <= 2, value >= 4
    else:
        value = rng.randint(1, 2) if mood < 0.2 else rng.randint(3, 4) if mood < 0.45 else rng.randint(5, 7)
        score, survey = Score("ces", "ces", Decimal(value), 1, 7), ("support-ces", "Support effort (CES)")
        bad, good = value <= 2, value >= 5
    if good and (location in STAFF_AT or touchpoint == "delivery") and rng.random() < 0.35:
        comment = praise(rng, touchpoint, location)
    else:
        _, comment = rng.choice(BAD[touchpoint] if bad else GOOD if good else MIDDLING)
    return NormalizedResponse(
        response_id=f"demo-{i:05d}", survey_id=survey[0], survey_name=survey[1], answered_at=answered_at,
        scores=(score,), customer=customer, comment=comment, touchpoint=touchpoint,
        channel=rng.choice(["email", "sms", "web", "in_app"]), location=location, region=region,
    )
