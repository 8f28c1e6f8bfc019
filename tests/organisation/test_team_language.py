"""A team's default customer language (what customers read when their own is unknown) is set on
the team's settings page and through the API, validated like the other team settings, and every
change is in the audit trail: who changed it from what to what."""

from __future__ import annotations

import pytest

from accounts.models import Team
from tests.audit.conftest import Trail
from tests.organisation.conftest import text
from tests.organisation.helpers import team_form

pytestmark = pytest.mark.django_db


def _team_post(team: Team, **fields) -> dict:
    """The team's settings as the page posts them, with `fields` changed."""
    if team.is_default:
        fields.setdefault("is_default", "on")
    return team_form(team.name, mail_reply_to_closed=team.mail_reply_to_closed, timezone=team.timezone, **fields)


def test_the_settings_page_offers_the_four_languages_and_saves_one_with_an_audit_entry(client, personas):
    north = personas.north
    client.force_login(personas.adam)
    page = text(client.get(f"/settings/teams/{north.pk}/"))
    assert "Customers’ language when theirs is unknown" in page
    for value, name in (("en", "English"), ("es", "Español"), ("fr", "Français"), ("de", "Deutsch")):
        assert f'<option value="{value}"' in page and name in page
    trail = Trail()
    trail.mark()
    saved = client.post(f"/settings/teams/{north.pk}/", _team_post(north, language="de"))
    assert saved.status_code == 302
    north.refresh_from_db()
    assert north.language == "de"
    [entry] = trail.entries()
    assert (entry.action_name, entry.object_type, entry.actor_id) == ("update", "accounts.team", personas.adam.pk)
    assert entry.changes["language"] == ["en", "de"]


def test_a_language_the_product_does_not_speak_is_refused_and_nothing_changes(client, personas):
    north = personas.north
    client.force_login(personas.adam)
    refused = client.post(f"/settings/teams/{north.pk}/", _team_post(north, language="it"))
    assert refused.status_code == 422
    assert "Select a valid choice. it is not one of the available choices." in text(refused)
    north.refresh_from_db()
    assert north.language == "en"


def test_a_post_without_the_field_keeps_the_teams_language(client, personas):
    north = personas.north
    Team.objects.filter(pk=north.pk).update(language="fr")
    client.force_login(personas.adam)
    assert client.post(f"/settings/teams/{north.pk}/", _team_post(north)).status_code == 302
    north.refresh_from_db()
    assert north.language == "fr"


def test_the_api_reads_and_sets_it_with_the_same_rules(api_client, personas):
    north = personas.north
    api_client.force_authenticate(personas.adam)
    assert api_client.get(f"/api/v1/teams/{north.pk}/").json()["language"] == "en"
    trail = Trail()
    trail.mark()
    assert api_client.patch(f"/api/v1/teams/{north.pk}/", {"language": "es"}, format="json").status_code == 200
    assert [e.changes for e in trail.entries()] == [{"language": ["en", "es"]}]
    for wrong in ("", "it"):
        refused = api_client.patch(f"/api/v1/teams/{north.pk}/", {"language": wrong}, format="json")
        assert refused.status_code == 400 and list(refused.json()) == ["language"]
    north.refresh_from_db()
    assert north.language == "es"
