"""The set-up flow in the product, for a CX admin, through the Django test client: pick the
tool, get the URL, secret and steps, send a test delivery through the webhook door and watch it
arrive (the HTMX fragment the page polls), and preview a mapping on a sample pasted before any
delivery exists. Everyone else gets a 404 (accounts.permissions)."""

from __future__ import annotations

import json

import pytest
from django.utils.html import escape

from alerts.defaults import default_rules_ensure
from cases.models import Case
from surveys.models import SurveyResponse, WebhookDelivery, WebhookSource
from surveys.presets import PRESETS
from surveys.services import source_create

pytestmark = pytest.mark.django_db

CES_MAPPING = {"response_id": "submission.id", "ces": "answers[title=How easy was it?].value", "ces_scale": "1-5",
               "ces_values": {"Very difficult": 1, "Difficult": 2, "Neutral": 3, "Easy": 4, "Very easy": 5},
               "comment": "answers[id=why].value", "email": "respondent.email"}


def test_it_is_a_404_for_everyone_but_cx_admins(client, personas):
    source_create(name="G", slug="g", vendor="generic")
    for user in (personas.alice, personas.mia):
        client.force_login(user)
        for url in ("/surveys/setup/", "/surveys/setup/new/typeform/", "/surveys/setup/source/g/",
                    "/surveys/setup/source/g/deliveries/"):
            assert client.get(url).status_code == 404, url
        assert client.post("/surveys/setup/source/g/test/").status_code == 404
        assert client.post("/surveys/setup/preview/", {"vendor": "generic", "sample": "{}"}).status_code == 404
    assert not WebhookDelivery.objects.exists()
    client.logout()
    assert client.get("/surveys/setup/").status_code == 302  # to the login page


def test_the_tool_list_offers_every_preset_and_the_navigation_links_it(client, personas):
    client.force_login(personas.adam)
    page = client.get("/surveys/setup/").content.decode()
    for vendor in ("typeform", "surveymonkey", "qualtrics", "delighted", "formbricks", "standard", "tally", "jotform",
                   "surveysparrow", "zendesk", "intercom", "helpscout", "google_forms", "generic"):
        assert f'href="/surveys/setup/new/{vendor}/"' in page
    assert '<a href="/surveys/setup/"' in page or 'href="/surveys/setup/"' in page


def test_a_tool_that_issues_the_secret_asks_for_it(client, personas):
    client.force_login(personas.adam)
    response = client.post("/surveys/setup/new/delighted/", {"vendor": "delighted", "name": "NPS", "slug": "nps",
                                                             "secret": "", "auth": "", "mapping": "", "active": "on"})
    assert response.status_code == 200
    assert "Paste Delighted&#x27;s private API key: this tool issues the secret." in response.content.decode()
    assert not WebhookSource.objects.exists()


def test_an_admin_connects_a_generic_tool_sends_a_test_delivery_and_watches_it_arrive(
        client, personas, django_capture_on_commit_callbacks):
    default_rules_ensure()  # CES 1-5 "high effort" opens a case
    client.force_login(personas.adam)
    new = client.get("/surveys/setup/new/generic/").content.decode()
    assert escape(str(PRESETS["generic"].steps[2])) in new

    created = client.post("/surveys/setup/new/generic/", {
        "vendor": "generic", "name": "Checkout form", "slug": "checkout", "secret": "s3cret-checkout",
        "auth": json.dumps({"mode": "hmac", "prefix": "sha256="}), "mapping": json.dumps(CES_MAPPING),
        "active": "on"})
    assert (created.status_code, created["Location"]) == (302, "/surveys/setup/source/checkout/")
    source = WebhookSource.objects.get(slug="checkout")
    assert (source.vendor, source.secret, source.auth, source.mapping) == (
        "generic", "s3cret-checkout", {"mode": "hmac", "prefix": "sha256="}, CES_MAPPING)

    page = client.get("/surveys/setup/source/checkout/").content.decode()
    assert '<code id="webhook-url">http://127.0.0.1:8000/webhooks/checkout/</code>' in page
    assert '<code id="webhook-secret">s3cret-checkout</code>' in page
    assert escape("In the tool's webhook settings, send a POST with a JSON or form body to "
                  "http://127.0.0.1:8000/webhooks/checkout/.") in page
    assert escape("HMAC-SHA256 and the secret s3cret-checkout in an X-Signature header") in page
    assert "Nothing has arrived yet." in page

    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post("/surveys/setup/source/checkout/test/", HTTP_HX_REQUEST="true")
    assert sent.status_code == 200
    fragment = sent.content.decode()
    assert "Test delivery accepted (202); watch it arrive below." in fragment

    delivery = WebhookDelivery.objects.get(source=source)
    assert delivery.status == WebhookDelivery.Status.PROCESSED
    assert delivery.delivery_id.startswith("sha256:")  # the generic adapter's id: the body's hash
    response = SurveyResponse.objects.get(pk=delivery.response_id)
    assert (response.ces, response.ces_scale_min, response.ces_scale_max, response.ces_high_is_easy) == (1, 1, 5, True)
    assert response.customer.email == "setup-test@example.com"
    assert response.comment == "Test delivery from the Closeloop set-up page: the checkout kept failing."
    assert Case.objects.filter(responses=response).count() == 1

    polled = client.get("/surveys/setup/source/checkout/deliveries/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in polled
    assert f"Response {response.external_id}; open a case (High effort (CES 1–2 of 5))" in polled
    assert "Processed" in polled


def test_a_test_delivery_the_door_refuses_says_why_and_stores_nothing(client, personas):
    source = source_create(name="G", slug="g", vendor="generic", secret="s3cret", active=False)
    client.force_login(personas.adam)
    response = client.post(f"/surveys/setup/source/{source.slug}/test/", follow=True)
    assert "The webhook answered 404: No active webhook source with this address." in response.content.decode()
    assert not WebhookDelivery.objects.exists()


def test_a_vendor_without_a_sample_says_so(client, personas, monkeypatch):
    from surveys.adapters import generic

    monkeypatch.delattr(generic, "sample_delivery")
    source_create(name="G", slug="g", vendor="generic")
    client.force_login(personas.adam)
    response = client.post("/surveys/setup/source/g/test/", follow=True)
    assert ("The Generic (any tool) preset has no test delivery yet: send one from the tool itself."
            in response.content.decode())


def test_the_preview_reads_a_pasted_sample_before_any_delivery_exists(client, personas):
    client.force_login(personas.adam)
    sample = {"submission": {"id": "S-9"}, "respondent": {"email": "kim@example.com"},
              "answers": [{"title": "How easy was it?", "value": "Difficult"}, {"id": "why", "value": "Two calls"}]}
    response = client.post("/surveys/setup/preview/", {
        "vendor": "generic", "mapping": json.dumps(CES_MAPPING), "sample": json.dumps(sample),
        "content_type": "application/json"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<dt>Response id</dt><dd>S-9</dd>" in html
    assert "<dt>CES</dt><dd>2 on 1–5</dd>" in html
    assert "<dt>Comment</dt><dd>Two calls</dd>" in html
    assert "kim@example.com" in html
    assert not WebhookSource.objects.exists() and not WebhookDelivery.objects.exists()

    bad = client.post("/surveys/setup/preview/", {
        "vendor": "generic", "mapping": json.dumps({**CES_MAPPING, "ces_values": {"Easy": 4}}),
        "sample": json.dumps(sample)}).content.decode()
    assert escape("CES answer 'Difficult' is not in ces_values (Easy): add it to the value map, or map a numeric "
                  "question.") in bad


@pytest.mark.parametrize("vendor", sorted(PRESETS))
def test_every_tool_has_a_set_up_page_with_its_steps(client, personas, vendor):
    client.force_login(personas.adam)
    page = client.get(f"/surveys/setup/new/{vendor}/")
    assert page.status_code == 200
    html = page.content.decode()
    for step in PRESETS[vendor].steps_for(url="{url}", secret="{secret}"):
        assert escape(step) in html
    assert f"docs/connect/{vendor}.md" in html
