"""Feedback nobody asked for (issue #22 item 6): reviews, support ratings, chats and forms come in
through the same webhook door and CSV import, may be a text without a score, run through sentiment
and themes, open cases through the rules, and are marked unsolicited on the customer page and in
the themes report."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from alerts.models import AlertRule
from cases.models import Case
from surveys.models import SurveyResponse, WebhookDelivery
from surveys.tasks import process_delivery_task
from tests.factories import ThemeFactory
from tests.surveys.payloads import make_source, post, signed

pytestmark = pytest.mark.django_db
REVIEW_MAPPING = {"response_id": "id", "comment": "text", "csat": "stars", "csat_scale": "1-5", "email": "author.email",
                  "answered_at": "created_at"}


def review_source(slug="app-reviews", **extra):
    return make_source("generic", slug=slug, mapping=REVIEW_MAPPING, feedback_kind="review",
                       auth={"mode": "hmac", "header": "X-Signature", "algorithm": "sha256", "encoding": "hex"}, **extra)


def deliver(client, source, payload: dict):
    body = json.dumps(payload).encode()
    answer = post(client, source, body, signed("generic", source, body))
    assert answer.status_code == 202, answer.content
    delivery = WebhookDelivery.objects.filter(source=source).latest("pk")
    process_delivery_task(delivery.pk)
    delivery.refresh_from_db()
    return delivery


def test_a_review_with_a_text_and_no_stars_is_recorded_as_unsolicited(client, personas):
    ThemeFactory(name="crash", keywords=["crash", "crashes"])
    source = review_source()
    delivery = deliver(client, source, {"id": "rev-1", "text": "Terrible app: it crashes every time and I hate it.",
                                        "author": {"email": "kim@example.com"}, "created_at": "2026-05-02T10:00:00Z"})
    assert delivery.status == "processed", delivery.error
    response = SurveyResponse.objects.get(external_id="rev-1")
    assert (response.feedback_kind, response.nps, response.csat) == ("review", None, None)
    assert response.customer.email == "kim@example.com"
    assert response.sentiment < 0
    assert [t.name for t in response.themes.all()] == ["crash"]


def test_a_survey_source_still_needs_a_score(client, personas):
    source = make_source("generic", slug="survey-src", mapping=REVIEW_MAPPING,
                         auth={"mode": "hmac", "header": "X-Signature", "algorithm": "sha256", "encoding": "hex"})
    delivery = deliver(client, source, {"id": "s-1", "text": "Nice.", "created_at": "2026-05-02T10:00:00Z"})
    assert delivery.status == "failed"
    assert delivery.error.startswith("No score found")


def test_feedback_with_neither_a_rating_nor_a_text_is_refused_by_name(client, personas):
    delivery = deliver(client, review_source(), {"id": "rev-2", "text": "  ", "created_at": "2026-05-02T10:00:00Z"})
    assert delivery.status == "failed"
    assert delivery.error.startswith("Neither a rating nor a text: feedback needs at least one.")


def test_a_one_star_review_opens_a_case_through_an_ordinary_rule(client, personas):
    AlertRule.objects.create(name="One-star reviews", metric="csat", operator="lte", threshold=Decimal("1"),
                             action=AlertRule.Action.OPEN_CASE)
    deliver(client, review_source(), {"id": "rev-3", "stars": 1, "text": "Charged twice and nobody answers.",
                                      "author": {"email": "lee@example.com"}, "created_at": "2026-05-02T10:00:00Z"})
    case = Case.objects.get()
    assert case.response.feedback_kind == "review"
    assert case.response.csat == Decimal("1")


def test_a_delivery_can_name_its_own_kind(client, personas):
    source = review_source(slug="mixed-feedback")
    source.mapping = {**REVIEW_MAPPING, "attr.feedback_kind": "kind"}
    source.save(update_fields=["mapping"])
    deliver(client, source, {"id": "chat-1", "kind": "chat", "text": "Agent: hello. Customer: my parcel is lost.",
                             "created_at": "2026-05-02T10:00:00Z"})
    assert SurveyResponse.objects.get(external_id="chat-1").feedback_kind == "chat"


def test_the_customer_page_and_the_themes_report_mark_it(client, personas):
    ThemeFactory(name="crash", keywords=["crash", "crashes"])
    deliver(client, review_source(), {"id": "rev-4", "text": "It crashes.", "author": {"email": "kim@example.com"},
                                      "created_at": "2026-05-02T10:00:00Z"})
    response = SurveyResponse.objects.get(external_id="rev-4")
    client.force_login(personas.adam)
    page = client.get(f"/customers/{response.customer_id}/").content.decode()
    assert "Unsolicited: Reviews (app store, web) (" in page
    table = client.get("/api/v1/reports/themes-volume/", {"date_from": "2026-05-01", "date_to": "2026-05-31"}).json()
    assert [r["theme"] for r in table["rows"]] == ["crash"], table
    assert (table["rows"][0]["responses"], table["rows"][0]["unsolicited"]) == (1, 1)


def test_csv_import_into_a_review_source_takes_texts_alone(tmp_path, personas):
    source = review_source()
    path = tmp_path / "reviews.csv"
    path.write_text("id,text,stars,created_at\nr-1,Great support,,2026-05-01T09:00:00Z\n"
                    "r-2,,4,2026-05-01T10:00:00Z\nr-3,,,2026-05-01T11:00:00Z\n")
    out = __import__("io").StringIO()
    call_command("import_responses", str(path), source=source.slug, stdout=out, stderr=__import__("io").StringIO())
    assert "Imported 2, duplicates 0, failed 1." in out.getvalue()
    assert sorted(SurveyResponse.objects.values_list("external_id", "feedback_kind")) == [("r-1", "review"),
                                                                                         ("r-2", "review")]
