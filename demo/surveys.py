"""Demo webhook sources (one per vendor) and a few surveys. Responses come from the cases stage."""

from django.conf import settings
from django.urls import reverse

from surveys.models import Survey, Vendor, WebhookSource
from surveys.services import secret_generate, source_create

SOURCES = [
    # slug, vendor, name, auth, mapping
    ("demo-standard", Vendor.STANDARD, "Closeloop format (Standard Webhooks)", {}, {}),
    ("demo-typeform", Vendor.TYPEFORM, "Typeform checkout survey", {}, {}),
    ("demo-delighted", Vendor.DELIGHTED, "Delighted NPS", {}, {}),
    ("demo-qualtrics", Vendor.QUALTRICS, "Qualtrics store survey", {"token_header": "X-Closeloop-Token"}, {}),
    ("demo-surveymonkey", Vendor.SURVEYMONKEY, "SurveyMonkey support CSAT",
     {"api_key": "demo-client-id", "api_token": "demo-access-token"}, {}),
    ("demo-generic", Vendor.GENERIC, "Helpdesk CSAT (generic)",
     {"mode": "hmac", "header": "X-Signature", "algorithm": "sha256", "encoding": "hex", "prefix": "sha256="},
     {"csat": "ticket.satisfaction.score", "csat_scale": "1-5", "response_id": "ticket.id",
      "comment": "ticket.satisfaction.comment", "email": "ticket.requester.email", "touchpoint": "=support"}),
    # The tools the guides in docs/connect/ send from: their copy-paste examples post to these.
    ("demo-formbricks", Vendor.FORMBRICKS, "Formbricks product NPS", {}, {}),
    ("demo-tally", Vendor.TALLY, "Tally customer feedback", {}, {}),
    ("demo-jotform", Vendor.JOTFORM, "Jotform support follow-up", {}, {}),
    ("demo-google-forms", Vendor.GOOGLE_FORMS, "Google Forms after-sales survey", {}, {}),
    ("demo-intercom", Vendor.INTERCOM, "Intercom conversation ratings", {}, {}),
    ("demo-helpscout", Vendor.HELPSCOUT, "Help Scout satisfaction ratings", {}, {}),
]
SURVEYS = {
    "demo-standard": [("onboarding", "Onboarding NPS"), ("delivery", "Delivery CSAT")],
    "demo-typeform": [("lT4Z3j", "Checkout feedback")],
    "demo-delighted": [("delighted-nps", "Delighted NPS")],
    "demo-qualtrics": [("SV_store", "In-store experience")],
    "demo-surveymonkey": [("4321", "Support satisfaction")],
    "demo-generic": [("helpdesk", "Ticket satisfaction")],
}


def seed(context: dict) -> dict:
    sources = {}
    for slug, vendor, name, auth, mapping in SOURCES:
        source = WebhookSource.objects.filter(slug=slug).first()
        if source is None:
            # Formbricks makes the signing secret and the admin pastes it: one in its format (whsec_...).
            secret = secret_generate(Vendor.STANDARD) if vendor == Vendor.FORMBRICKS else ""
            source = source_create(name=name, slug=slug, vendor=vendor, auth=auth, mapping=mapping, secret=secret)
        sources[slug] = source
        for external_id, survey_name in SURVEYS.get(slug, []):
            Survey.objects.get_or_create(source=source, external_id=external_id, defaults={"name": survey_name})
    listing = [
        {"slug": s.slug, "vendor": s.vendor, "url": f"{settings.SITE_URL}{reverse('webhook', args=[s.slug])}",
         "secret": s.secret} for s in sources.values()
    ]
    out = context.get("stdout")
    if out is not None:
        out.write("Webhook sources (POST survey responses here):")
        for item in listing:
            out.write(f"  {item['vendor']:<13} {item['url']}  secret: {item['secret']}")
    return {"sources": sources, "webhook_sources": listing}
