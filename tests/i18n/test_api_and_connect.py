"""The API answers in the requester's language (Accept-Language; a signed-in person's profile
language when the call comes with their session); the Connect pages speak the admin's language
with the source's address and secret filled in. The webhook door's answers stay in English:
the survey tool's logs and its developers read them, not a person who chose a language
(docs/languages.md)."""

from __future__ import annotations

import json

import pytest

from accounts.models import User
from surveys.presets import PRESETS
from surveys.services import source_create
from tests.factories import api_key_for
from tests.i18n.leftovers import english_leftovers

REQUIRED = {"en": "This field is required.", "es": "Este campo es requerido.", "fr": "Ce champ est obligatoire.",
            "de": "Dieses Feld ist zwingend erforderlich."}
NO_CREDENTIALS = {"en": "Authentication credentials were not provided.",
                  "es": "Las credenciales de autenticación no se proveyeron.",
                  "fr": "Informations d'authentification non fournies.", "de": "Anmeldedaten fehlen."}


@pytest.mark.parametrize("language", ["en", "es", "fr", "de"])
def test_api_errors_follow_accept_language(api_client, personas, language):
    assert api_client.get("/api/v1/cases/", HTTP_ACCEPT_LANGUAGE=language).json() == {
        "detail": NO_CREDENTIALS[language]}
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(User.objects.get(username='adam'))}")
    refused = api_client.post("/api/v1/teams/", {}, format="json", HTTP_ACCEPT_LANGUAGE=language)
    assert refused.status_code == 400 and refused["Content-Language"] == language
    assert refused.json()["name"] == [REQUIRED[language]]
    # The product's own refusals go through the same catalogue.
    default = personas.north if personas.north.is_default else personas.south
    kept = api_client.delete(f"/api/v1/teams/{default.pk}/", HTTP_ACCEPT_LANGUAGE=language)
    assert kept.status_code in (400, 409) and english_leftovers(str(kept.json()), language) == [] if language != "en" \
        else "The default team cannot be deleted" in str(kept.json())


@pytest.mark.parametrize("language", ["es", "fr", "de"])
def test_the_connect_pages_speak_the_admins_language(client, personas, language):
    source = source_create(name="Checkout", slug="checkout", vendor="typeform", secret="s3cret-typeform")
    client.force_login(personas.adam)
    home = client.get("/surveys/setup/", HTTP_ACCEPT_LANGUAGE=language)
    page = client.get(f"/surveys/setup/source/{source.slug}/", HTTP_ACCEPT_LANGUAGE=language)
    new = client.get("/surveys/setup/new/tally/", HTTP_ACCEPT_LANGUAGE=language)
    for response in (home, page, new):
        assert response.status_code == 200 and response["Content-Language"] == language
        assert english_leftovers(response.content.decode(), language) == []
    html = page.content.decode()
    assert "/webhooks/checkout/" in html and "s3cret-typeform" in html  # filled into the translated steps
    assert "%(url)s" not in html and "%(secret)s" not in html
    assert "{url}" in new.content.decode()  # before the source exists, the steps name where it goes
    assert len(PRESETS["typeform"].steps) == html.count("<li>", html.index('class="steps"'), html.index("</ol>"))


def test_the_webhook_door_answers_in_english_whatever_the_tool_asks_for(client, personas):
    source_create(name="Checkout", slug="checkout", vendor="typeform", secret="s3cret-typeform")
    answer = client.post("/webhooks/checkout/", b'{"event_type": "form_response"}', content_type="application/json",
                         HTTP_TYPEFORM_SIGNATURE="sha256=not-it", HTTP_ACCEPT_LANGUAGE="de")
    assert answer.status_code == 401, answer.content
    body = answer.json()
    assert body["error"].isascii() and "signature" in json.dumps(body).lower(), body
