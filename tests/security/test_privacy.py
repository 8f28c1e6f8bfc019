"""Personal data: export and erase a customer through the API, the admin and the commands;
erasure keeps the anonymous figures and every request is audited."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from privacy.models import PrivacyLog
from tests.security.data import COMMENT, CUSTOMER_EMAIL, CUSTOMER_PHONE, make_customer_story


@pytest.fixture
def story(personas):
    return make_customer_story(personas.north)


def _everything_stored(story) -> str:
    from cases.models import Case, CaseEvent
    from surveys.models import Customer, SurveyResponse, WebhookDelivery

    parts = [
        json.dumps(list(Customer.objects.filter(pk=story.customer.pk).values()), default=str),
        json.dumps(list(SurveyResponse.objects.filter(pk=story.response.pk).values()), default=str),
        json.dumps(list(Case.objects.filter(pk=story.case.pk).values()), default=str),
        json.dumps(list(CaseEvent.objects.filter(case=story.case).values()), default=str),
        bytes(WebhookDelivery.objects.get(pk=story.delivery.pk).body).decode(errors="replace"),
        json.dumps(list(WebhookDelivery.objects.filter(pk=story.delivery.pk).values("headers")), default=str),
    ]
    return "\n".join(parts)


def test_admin_exports_everything_stored_about_the_customer(api_client, personas, story):
    api_client.force_authenticate(personas.adam)
    response = api_client.get(f"/api/v1/customers/{story.customer.pk}/export/")
    assert response.status_code == 200
    data = response.json()
    assert data["customer"]["email"] == CUSTOMER_EMAIL
    assert data["responses"][0]["comment"] == COMMENT
    assert CUSTOMER_EMAIL in data["webhook_deliveries"][0]["body"]
    assert data["cases"][0]["reference"] == story.case.reference
    assert any(CUSTOMER_PHONE in e["note"] for e in data["cases"][0]["timeline"])
    log = PrivacyLog.objects.get()
    assert (log.action, log.via, log.customer_id, log.actor) == ("export", "api", story.customer.pk, personas.adam)
    assert CUSTOMER_EMAIL not in json.dumps(log.summary)


def test_erase_strips_personal_data_and_keeps_the_figures(api_client, personas, story):
    from cases.models import Case
    from surveys.models import SurveyResponse

    api_client.force_authenticate(personas.adam)
    response = api_client.post(f"/api/v1/customers/{story.customer.pk}/erase/", {"reason": "GDPR-42"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["responses"] == 1
    stored = _everything_stored(story)
    for secret in (CUSTOMER_EMAIL, CUSTOMER_EMAIL.lower(), CUSTOMER_PHONE, "Ada", "parcel", "prefers phone", "crm-1"):
        assert secret not in stored
    kept = SurveyResponse.objects.get(pk=story.response.pk)
    assert (kept.nps, kept.touchpoint, kept.location, kept.team_id) == (2, "delivery", "Leeds", personas.north.pk)
    case = Case.objects.get(pk=story.case.pk)
    assert (case.status, case.root_cause_id, case.outcome) == ("closed", story.cause.pk, "resolved")
    assert case.version == story.case.version + 1
    assert story.customer.__class__.objects.get(pk=story.customer.pk).erased_at is not None
    log = PrivacyLog.objects.get()
    assert (log.action, log.reason, log.actor_name) == ("erase", "GDPR-42", "adam")


def test_erase_also_scrubs_a_failed_delivery_that_names_the_customer(api_client, personas, story):
    from surveys.models import WebhookDelivery

    failed = WebhookDelivery.objects.create(
        source=story.source, delivery_id="broken-1", body=json.dumps({"email": CUSTOMER_EMAIL, "nps": "x"}).encode(),
        status=WebhookDelivery.Status.FAILED, error="bad nps",
    )
    other = WebhookDelivery.objects.create(source=story.source, delivery_id="broken-2", body=b'{"email": "x@y.org"}')
    api_client.force_authenticate(personas.adam)
    assert api_client.post(f"/api/v1/customers/{story.customer.pk}/erase/").status_code == 200
    assert bytes(WebhookDelivery.objects.get(pk=failed.pk).body) == b""
    assert bytes(WebhookDelivery.objects.get(pk=other.pk).body) == b'{"email": "x@y.org"}'


@pytest.mark.parametrize("who", ["alice", "mia", "charlie"])
def test_only_admins_may_export_or_erase(api_client, personas, story, who):
    """Privacy is an admin area: for anyone else it does not exist (accounts.permissions)."""
    api_client.force_authenticate(getattr(personas, who))
    assert api_client.get(f"/api/v1/customers/{story.customer.pk}/export/").status_code == 404
    assert api_client.post(f"/api/v1/customers/{story.customer.pk}/erase/").status_code == 404
    assert not PrivacyLog.objects.exists()


def test_unknown_customer_is_404(api_client, personas):
    api_client.force_authenticate(personas.adam)
    assert api_client.get("/api/v1/customers/999999/export/").status_code == 404


def test_commands_export_and_erase_by_email(personas, story, capsys, tmp_path):
    target = tmp_path / "ada.json"
    call_command("customer_export", CUSTOMER_EMAIL.upper(), "--output", str(target))
    assert json.loads(target.read_text())["customer"]["phone"] == CUSTOMER_PHONE
    with pytest.raises(CommandError, match="--yes"):
        call_command("customer_erase", "crm-1")
    call_command("customer_erase", "crm-1", "--yes", "--reason", "ticket 7")
    assert "Erased customer" in capsys.readouterr().out
    assert CUSTOMER_PHONE not in _everything_stored(story)
    assert list(PrivacyLog.objects.order_by("created_at").values_list("action", "via")) == [
        ("export", "command"), ("erase", "command")
    ]


def test_admin_actions_export_and_erase_after_confirmation(client, personas, story):
    client.force_login(personas.adam)
    url = "/admin/privacy/customerdata/"
    assert client.get(url).status_code == 200
    exported = client.post(url, {"action": "export_data", "_selected_action": [story.customer.pk]})
    assert exported.status_code == 200 and CUSTOMER_EMAIL in exported.content.decode()
    confirm = client.post(url, {"action": "erase_data", "_selected_action": [story.customer.pk]})
    assert confirm.status_code == 200 and b"Yes, erase" in confirm.content
    assert CUSTOMER_PHONE in _everything_stored(story)  # nothing erased before confirming
    done = client.post(url, {"action": "erase_data", "_selected_action": [story.customer.pk], "confirm": "yes"})
    assert done.status_code == 302
    assert CUSTOMER_PHONE not in _everything_stored(story)
    assert set(PrivacyLog.objects.values_list("action", "via")) == {("export", "admin"), ("erase", "admin")}


def test_agents_cannot_reach_the_admin_pages(client, personas, story):
    client.force_login(personas.alice)
    assert client.get("/admin/privacy/customerdata/").status_code == 302  # to the admin login


def test_export_and_erase_cover_themes_recovery_checks_and_recognition(api_client, personas, story):
    from django.utils import timezone

    from followup.models import Recognition, Verification
    from surveys.models import ResponseTheme, Theme

    theme = Theme.objects.create(name="Delivery", slug="delivery", keywords=["parcel"])
    ResponseTheme.objects.create(response=story.response, theme=theme, matches=["parcel"],
                                 answered_at=story.response.answered_at)
    Verification.objects.create(case=story.case, round=0, customer=story.customer, team=personas.north,
                                email=CUSTOMER_EMAIL, status="answered", answered_at=timezone.now(), answer_value=3,
                                recovered=False, comment=f"Call me on {CUSTOMER_PHONE}")
    Recognition.objects.create(response=story.response, team=personas.north, quote=COMMENT, score=9)
    api_client.force_authenticate(personas.adam)

    data = api_client.get(f"/api/v1/customers/{story.customer.pk}/export/").json()
    assert data["responses"][0]["themes"] == [{"theme": "Delivery", "matches": ["parcel"]}]
    assert data["recovery_checks"][0]["email"] == CUSTOMER_EMAIL and CUSTOMER_PHONE in data["recovery_checks"][0]["comment"]
    assert data["recognitions"][0]["quote"] == COMMENT

    assert api_client.post(f"/api/v1/customers/{story.customer.pk}/erase/", {}, format="json").status_code == 200
    link = ResponseTheme.objects.get(response=story.response)
    assert (link.theme_id, link.matches) == (theme.pk, [])  # the theme still counts; the words are gone
    check = Verification.objects.get(case=story.case)
    assert (check.email, check.comment, check.recovered) == ("", "", False)
    assert Recognition.objects.get(response=story.response).quote == ""
