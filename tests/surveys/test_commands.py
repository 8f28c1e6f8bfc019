"""add_webhook_source, import_responses (idempotent, failed row numbers) and the demo sources."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from surveys.models import SurveyResponse, WebhookSource

pytestmark = pytest.mark.django_db


def test_add_webhook_source_with_a_mapping():
    out = StringIO()
    call_command("add_webhook_source", "--slug", "zendesk", "--vendor", "generic", "--secret", "abc",
                 "--map", "csat=ticket.satisfaction.score", "--map", "csat_scale=1-5",
                 "--auth", "header=X-Zendesk-Webhook-Signature", "--auth", "encoding=base64", stdout=out)
    source = WebhookSource.objects.get(slug="zendesk")
    assert source.mapping == {"csat": "ticket.satisfaction.score", "csat_scale": "1-5"}
    assert source.auth["encoding"] == "base64" and source.secret == "abc"
    assert "/webhooks/zendesk/" in out.getvalue() and "Secret: abc" in out.getvalue()


def test_import_responses_is_idempotent_and_names_failed_rows(tmp_path):
    call_command("add_webhook_source", "--slug", "csv", "--vendor", "generic", stdout=StringIO())
    path = tmp_path / "responses.csv"
    path.write_text(
        "response_id,nps,comment,email,answered_at,touchpoint\n"
        "r1,3,Late,a@example.com,2025-01-02T10:00:00Z,delivery\n"
        "r2,ten,Bad,b@example.com,2025-01-02,store\n"
        "r3,10,\"Great, thanks <b>!</b>\",C@Example.com,2025-01-03,store\n"
        "r4,,no score,d@example.com,2025-01-03,store\n",
        encoding="utf-8",
    )
    out = StringIO()
    call_command("import_responses", "--source", "csv", str(path), stdout=out, stderr=StringIO())
    assert "Imported 2, duplicates 0, failed 2." in out.getvalue()
    assert "row 3:" in out.getvalue() and "not a number" in out.getvalue() and "Failed rows: 3, 5" in out.getvalue()
    again = StringIO()
    call_command("import_responses", "--source", "csv", str(path), stdout=again, stderr=StringIO())
    assert "Imported 0, duplicates 2, failed 2." in again.getvalue()
    assert SurveyResponse.objects.count() == 2
    assert SurveyResponse.objects.get(external_id="r3").comment == "Great, thanks <b>!</b>"


def test_demo_creates_one_source_per_vendor_and_prints_them(personas):
    from django.core.management.base import OutputWrapper

    import demo.surveys

    out = StringIO()
    result = demo.surveys.seed({"stdout": OutputWrapper(out)})
    # One per vendor the docs' examples post to (docs/webhooks.md and the guides in docs/connect/).
    assert {s.vendor for s in result["sources"].values()} == {
        "standard", "typeform", "delighted", "qualtrics", "surveymonkey", "generic", "formbricks", "tally", "jotform",
        "google_forms", "intercom", "helpscout"}
    assert "demo-typeform" in out.getvalue() and result["sources"]["demo-standard"].secret.startswith("whsec_")
    assert result["sources"]["demo-formbricks"].secret.startswith("whsec_")  # Formbricks' own format
    demo.surveys.seed({})  # twice is fine
    assert WebhookSource.objects.count() == 12
