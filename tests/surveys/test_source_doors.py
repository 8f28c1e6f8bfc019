"""One validation of a webhook source, the same at every door: the set-up page, the REST API,
the `add_webhook_source` command, the Django admin and the service they all call
(surveys.services.sources.source_problems). Each refusal names the field and the mapping key or
auth option, and stores nothing; an unknown auth option or mode is refused, never replaced by a
default."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils.html import escape

from surveys.models import WebhookSource
from surveys.services import source_create, source_update

pytestmark = pytest.mark.django_db

GENERIC_OPTIONS = ("mode, header, algorithm, encoding, prefix, timestamp_header, timestamp_separator, "
                   "tolerance_seconds, token_header, delivery_id_header, delivery_id_path")

# (auth, mapping) -> the field and the one message every door must give, literally.
REFUSALS = [
    pytest.param({"hedaer": "X-Signature"}, {}, "auth",
                 f"hedaer: not an auth option of Generic (any tool) (its options: {GENERIC_OPTIONS}).", id="unknown-option"),
    pytest.param({"mode": "hmca"}, {}, "auth", "mode: 'hmca' is not a mode: write hmac or token.", id="unknown-mode"),
    pytest.param({"algorithm": "md5"}, {}, "auth", "algorithm: 'md5' is not an algorithm: write sha1, sha256 or sha512.",
                 id="unknown-algorithm"),
    pytest.param({"mode": "token", "encoding": "base64"}, {}, "auth",
                 "encoding: encoding applies to mode hmac only; this source uses mode token.", id="option-of-other-mode"),
    pytest.param({}, {"nsp": "answers.nps"}, "mapping",
                 "nsp: Unknown mapping key 'nsp': use one of response_id, survey_id, survey_name, comment, touchpoint, "
                 "channel, location, region, external_id, email, name, phone, tier, segment, account_value, "
                 "answered_at, nps, csat, csat_scale, ces, ces_scale, ces_direction, nps_values, csat_values, "
                 "ces_values, score.<key>[.scale|.direction|.values] or attr.<name>.", id="unknown-mapping-key"),
    pytest.param({}, {"ces": "answers[id=q7].value", "ces_values": "Very difficult=one"}, "mapping",
                 "ces_values: The value map 'Very difficult' maps to 'one', not a number.", id="bad-value-map"),
    pytest.param({}, {"ces": "answers[id=q7.value"}, "mapping",
                 "ces: Path 'answers[id=q7.value': '[' at character 8 is never closed.", id="bad-path"),
]


def _cli_args(auth: dict, mapping: dict) -> list[str]:
    args = []
    for key, value in auth.items():
        args += ["--auth", f"{key}={value}"]
    for key, value in mapping.items():
        args += ["--map", f"{key}={value}"]
    return args


def _admin_form(auth: dict, mapping: dict, slug: str = "g1") -> dict:
    return {"name": "Generic", "slug": slug, "vendor": "generic", "secret": "s3cret",
            "auth": json.dumps(auth), "mapping": json.dumps(mapping), "active": "on", "rate_limit_per_second": "50",
            "secret_grace_hours": "24"}


def _page_form(auth: dict, mapping: dict) -> dict:
    return {"vendor": "generic", "name": "Generic", "slug": "g1", "secret": "", "auth": json.dumps(auth),
            "mapping": json.dumps(mapping), "active": "on"}


@pytest.mark.parametrize("auth, mapping, field, message", REFUSALS)
def test_the_service_refuses_with_the_field_and_its_message(auth, mapping, field, message):
    with pytest.raises(ValidationError) as caught:
        source_create(name="Generic", slug="g1", vendor="generic", auth=auth, mapping=mapping)
    assert caught.value.message_dict == {field: [message]}
    assert not WebhookSource.objects.exists()


@pytest.mark.parametrize("auth, mapping, field, message", REFUSALS)
def test_the_api_refuses_on_create_and_on_update(api_client, personas, auth, mapping, field, message):
    api_client.force_authenticate(personas.adam)
    response = api_client.post("/api/v1/sources/", {"name": "Generic", "slug": "g1", "vendor": "generic",
                                                    "auth": auth, "mapping": mapping}, format="json")
    assert (response.status_code, response.json()) == (400, {field: [message]})
    assert not WebhookSource.objects.exists()
    source = source_create(name="Generic", slug="g2", vendor="generic", secret="s3cret")
    response = api_client.patch("/api/v1/sources/g2/", {field: auth if field == "auth" else mapping}, format="json")
    assert (response.status_code, response.json()) == (400, {field: [message]})
    source.refresh_from_db()
    assert (source.auth, source.mapping) == ({}, {})


@pytest.mark.parametrize("auth, mapping, field, message", REFUSALS)
def test_the_command_refuses(auth, mapping, field, message):
    with pytest.raises(CommandError) as caught:
        call_command("add_webhook_source", "--slug", "g1", "--vendor", "generic", "--secret", "s3cret",
                     *_cli_args(auth, mapping), stdout=StringIO())
    assert str(caught.value) == f"{field}: {message}"
    assert not WebhookSource.objects.exists()


@pytest.mark.parametrize("auth, mapping, field, message", REFUSALS)
def test_the_django_admin_refuses_on_add_and_change(client, personas, auth, mapping, field, message):
    personas.adam.is_superuser = True
    personas.adam.save()
    client.force_login(personas.adam)
    response = client.post("/admin/surveys/webhooksource/add/", _admin_form(auth, mapping))
    assert response.status_code == 200
    assert escape(message) in response.content.decode()
    assert not WebhookSource.objects.exists()
    source = source_create(name="Generic", slug="g2", vendor="generic", secret="s3cret")
    response = client.post(f"/admin/surveys/webhooksource/{source.pk}/change/", _admin_form(auth, mapping, "g2"))
    assert response.status_code == 200 and escape(message) in response.content.decode()
    source.refresh_from_db()
    assert (source.auth, source.mapping) == ({}, {})


@pytest.mark.parametrize("auth, mapping, field, message", REFUSALS)
def test_the_set_up_page_refuses_on_create_and_on_save(client, personas, auth, mapping, field, message):
    client.force_login(personas.adam)
    response = client.post("/surveys/setup/new/generic/", _page_form(auth, mapping))
    assert response.status_code == 200
    assert escape(message) in response.content.decode()
    assert not WebhookSource.objects.exists()
    source = source_create(name="Generic", slug="g2", vendor="generic", secret="s3cret")
    response = client.post("/surveys/setup/source/g2/", _page_form(auth, mapping))
    assert response.status_code == 200 and escape(message) in response.content.decode()
    source.refresh_from_db()
    assert (source.auth, source.mapping) == ({}, {})


# --- what each door stores when the input is right ---------------------------------------------

GOOD_MAPPING = {"response_id": "submission.id", "ces": "answers[title=How easy was it?].value", "ces_scale": "1-5",
                "ces_values": "Very difficult=1; Difficult=2; Neutral=3; Easy=4; Very easy=5"}
STORED_MAPPING = {**GOOD_MAPPING, "ces_values": {"Very difficult": 1, "Difficult": 2, "Neutral": 3, "Easy": 4,
                                                 "Very easy": 5}}
GOOD_AUTH = {"mode": "hmac", "header": "X-Zendesk-Webhook-Signature", "encoding": "base64", "prefix": "",
             "timestamp_header": "X-Zendesk-Webhook-Signature-Timestamp", "timestamp_separator": ""}


def test_the_command_stores_a_value_map_written_as_text_as_an_object():
    out = StringIO()
    call_command("add_webhook_source", "--slug", "g1", "--vendor", "generic", "--secret", "s3cret",
                 *_cli_args(GOOD_AUTH, GOOD_MAPPING), stdout=out)
    source = WebhookSource.objects.get(slug="g1")
    assert (source.vendor, source.secret, source.auth, source.mapping) == ("generic", "s3cret", GOOD_AUTH, STORED_MAPPING)
    assert "URL:    http://127.0.0.1:8000/webhooks/g1/\nSecret: s3cret\n" in out.getvalue()


def test_the_api_admin_and_page_store_the_same_source(api_client, client, personas):
    api_client.force_authenticate(personas.adam)
    created = api_client.post("/api/v1/sources/", {"name": "Via API", "slug": "api", "vendor": "generic",
                                                   "auth": GOOD_AUTH, "mapping": GOOD_MAPPING}, format="json")
    assert created.status_code == 201, created.json()
    personas.adam.is_superuser = True
    personas.adam.save()
    client.force_login(personas.adam)
    assert client.post("/admin/surveys/webhooksource/add/", _admin_form(GOOD_AUTH, GOOD_MAPPING, "admin")).status_code == 302
    page = {**_page_form(GOOD_AUTH, GOOD_MAPPING), "slug": "page", "secret": "s3cret"}
    assert client.post("/surveys/setup/new/generic/", page).status_code == 302
    for slug in ("api", "admin", "page"):
        source = WebhookSource.objects.get(slug=slug)
        assert (source.vendor, source.auth, source.mapping) == ("generic", GOOD_AUTH, STORED_MAPPING), slug


def test_an_empty_separator_is_kept_empty_so_zendesk_style_signatures_verify():
    """Zendesk signs base64(HMAC-SHA256(secret, timestamp + body)): no separator. An empty value
    must not fall back to the default '.'."""
    import base64
    import hashlib
    import hmac
    import time

    from surveys.adapters import generic

    source = source_create(name="Z", slug="z", vendor="generic", secret="s3cret", auth=GOOD_AUTH)
    body, timestamp = b'{"id": "1", "csat": 1}', str(int(time.time()))
    signature = base64.b64encode(hmac.new(b"s3cret", timestamp.encode() + body, hashlib.sha256).digest()).decode()
    from django.utils import timezone

    generic.verify(source, body, {"x-zendesk-webhook-signature": signature,
                                  "x-zendesk-webhook-signature-timestamp": timestamp}, timezone.now())


def test_an_update_keeps_the_secret_when_none_is_given_and_the_vendor_options_apply():
    source = source_create(name="G", slug="g", vendor="generic", secret="first")
    source_update(source=source, secret="", name="Renamed")
    source.refresh_from_db()
    assert (source.name, source.secret) == ("Renamed", "first")
    with pytest.raises(ValidationError) as caught:
        source_update(source=source, created_at=None)
    assert caught.value.message_dict == {"created_at": ["This field cannot be changed here."]}


def test_a_slug_that_is_taken_is_refused_naming_the_address():
    source_create(name="G", slug="g", vendor="generic")
    with pytest.raises(ValidationError) as caught:
        source_create(name="G again", slug="g", vendor="generic")
    assert caught.value.message_dict == {"slug": ["A source with the address /webhooks/g/ exists already; choose "
                                                  "another slug."]}
