"""What the product writes down (an alert's reasons, the notes it puts on a case's timeline) is
stored without words, as codes and values, and put into words in the reader's language when
shown: the case page, the inbox, the notifications and the API in Spanish, French and German
carry no English sentence of the catalogue. Old rows written in English are read by the
migrations (alerts 0006, cases 0017)."""

from __future__ import annotations

import re

import importlib
import json

import pytest
from django.urls import reverse
from django.utils import translation

from alerts.legacy_reasons import parse_reason
from alerts.models import Alert
from alerts.reasons import describe_reason
from alerts.services import alerts_raise_for_response
from cases.models import Case, CaseEvent
from cases.services import case_close, cases_erase_free_text
from cases.timeline import event_note
from tests.alerts.helpers import rule
from tests.cases.conftest import make_customer, make_response, open_case, root_cause
from tests.factories import PASSWORD
from tests.i18n.leftovers import english_leftovers

LANGUAGES = ["es", "fr", "de"]
ENGLISH_WORDS = ("is at most", "touchpoint is", "comment mentions", "Reopened", "customer")


@pytest.fixture
def alerted_case(personas):
    """A case opened by a rule with a score, a touchpoint and a keyword condition."""
    from alerts.models import AlertRule

    AlertRule.objects.update(active=False)  # the seeded rules would match first
    rule(name="Broken deliveries", case_team=personas.north, touchpoints=["Delivery"], keywords=["broken"])
    response = make_response(make_customer(name="Dana"), nps=2, comment="The parcel arrived broken.")
    alerts_raise_for_response(response=response)
    return Case.objects.get(response=response)


def test_an_alert_stores_its_reasons_as_codes(alerted_case):
    alert = Alert.objects.get(pk=alerted_case.alert_id)
    assert alert.reasons == [
        {"code": "score", "metric": "nps", "value": 2, "op": "lte", "threshold": 6},
        {"code": "touchpoint", "value": "Delivery"},
        {"code": "keywords", "words": ["broken"], "all": False},
    ]
    opened = alerted_case.events.get(kind=CaseEvent.Kind.OPENED)
    assert opened.note == "" and opened.data["reasons"] == alert.reasons
    with translation.override("en"):
        assert event_note(opened) == "NPS 2 is at most 6; touchpoint is “Delivery”; comment mentions “broken”"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_reasons_are_read_in_the_readers_language(client, personas, alerted_case, language):
    client.login(username="alice", password=PASSWORD)
    page = client.get(f"/cases/{alerted_case.reference}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    # The rule's name and value, as written, in the language's own quotation marks (“ ”, « », „ “).
    assert "Broken deliveries" in page and re.search(r"[“«„]\s?Delivery\s?[”»“]", page)
    assert english_leftovers(page, language) == []
    api = client.get(f"/api/v1/cases/{alerted_case.pk}/", HTTP_ACCEPT_LANGUAGE=language).json()
    assert api["reason_codes"][1] == {"code": "touchpoint", "value": "Delivery"}
    for text in api["reasons"]:
        assert english_leftovers(text, language) == [], text
    with translation.override(language):
        assert api["reasons"] == [describe_reason(r) for r in api["reason_codes"]]


def test_the_products_own_notes_are_stored_as_codes(personas):
    customer = make_customer(name="Ana Lima")
    case = open_case(customer=customer)
    case_close(case_id=case.pk, by=personas.alice, root_cause_id=root_cause().pk, resolution="Refund",
               outcome="resolved")
    open_case(make_response(customer, nps=1))  # a low score within the window: the case reopens
    cases_erase_free_text(case_ids=[case.pk], by=personas.alice)
    written = CaseEvent.objects.filter(case=case, actor__isnull=True).exclude(kind=CaseEvent.Kind.OPENED)
    said = {e.kind: e.data["said"] for e in written if e.data.get("said")}
    assert said == {"reopened": "reopened_by_score"}
    erased = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.NOTE)
    assert erased.note == "" and erased.data == {"said": "erased"}
    stored = json.dumps([[e.note, e.data] for e in CaseEvent.objects.filter(case=case)], ensure_ascii=False)
    assert not [word for word in ENGLISH_WORDS if word in stored] and "Ana Lima" not in stored
    with translation.override("en"):
        assert event_note(erased) == "The customer’s personal data was erased."


@pytest.mark.parametrize("sentence", [
    "NPS 3 is at most 6",
    "NPS 9 is at least 9",
    "CSAT 2 of 1–5 is at most 2",
    "CSAT 2.5 of 0–10 is at most 3",
    "CES 6 of 1–7 (7 = most effort), 2 where 7 = easiest is at most 2",
    "CES 2 of 1–7 (7 = easiest) is between 1 and 3",
    "“delivery” 2 of 0–10 is at most 3",
    "survey is “Relationship NPS”",
    "touchpoint is “Store visit”",
    "region is “North”",
    "customer tier is “Gold”",
    "has a comment",
    "has no comment",
    "comment mentions “refund” and “late”",
    "comment mentions “refund”, “late”",
    "comment is about “Delivery delays” and “Staff attitude”",
    "comment sentiment is negative (-0.62)",
])
def test_the_migration_reads_every_sentence_the_rules_engine_wrote(sentence):
    """Read into codes and said again in English, each old sentence comes back unchanged."""
    parsed = parse_reason(sentence)
    assert parsed is not None and all(word not in json.dumps(parsed) for word in (" is ", "mentions"))
    with translation.override("en"):
        assert describe_reason(parsed) == sentence


def test_a_sentence_the_migration_cannot_read_is_shown_as_stored():
    assert parse_reason("a rule from another version said this") is None
    assert describe_reason("a rule from another version said this") == "a rule from another version said this"


@pytest.mark.parametrize(("kind", "note", "said"), [
    ("reopened", "The customer replied by e-mail.", "The customer replied by e-mail."),
    ("reopened", "The customer answered the recovery check: 3 of 10.",
     "The customer answered the recovery check: 3 of 10."),
    ("priority", "Escalated: still overdue after the team's escalation delay.",
     "Escalated: still overdue after the team’s escalation delay."),
    ("reopened", "Reopened automatically: Ana Lima sent another low score (NPS 2 of 0–10: detractor) 3 days after "
                 "closure (rule “Detractor”, window 14 days).",
     "Reopened automatically: the customer sent another low score (NPS 2 of 0–10: detractor) 3 days after the "
     "closure (rule “Detractor”, window 14 days)."),
    ("opened", "Follow-up of CL-000012: the customer replied by e-mail after it was closed.",
     "Follow-up of CL-000012: the customer replied by e-mail after it was closed."),
    ("overdue", "First contact is overdue.", ""),
    ("note", "Call her back after lunch.", "Call her back after lunch."),  # a person's words stay
])
def test_the_migration_turns_the_products_old_notes_into_codes(kind, note, said):
    migration = importlib.import_module("cases.migrations.0019_system_notes_as_codes")
    event = CaseEvent(kind=kind, note=note, data={})
    migration.rewrite(event)
    assert (event.note == note) == (kind == "note")
    with translation.override("en"):
        assert event_note(event) == said


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_notifications_page_and_the_inbox_have_no_english_left(client, personas, alerted_case, language):
    from cases.models import Notification, NotificationKind

    Notification.objects.create(case=alerted_case, kind=NotificationKind.ASSIGNED, recipient=personas.alice,
                                channel=Notification.Channel.IN_APP, address="", period="t",
                                status=Notification.Status.SENT)
    client.login(username="alice", password=PASSWORD)
    for url in (reverse("cases:notifications"), "/cases/?view=team"):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200 and response["Content-Language"] == language
        assert english_leftovers(response.content.decode(), language) == [], url
