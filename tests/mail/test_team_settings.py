"""The team's e-mail settings: its sender address and what a reply to a closed case does, on the
settings page and in the teams API (admins)."""

from __future__ import annotations

import pytest

from accounts.models import Team
from tests.organisation.helpers import team_form

pytestmark = pytest.mark.django_db


def test_the_settings_page_saves_the_teams_mail_settings(client, personas):
    client.force_login(personas.adam)
    assert 'id="team-mail"' in client.get(f"/settings/teams/{personas.north.pk}/").content.decode()
    answer = client.post(f"/settings/teams/{personas.north.pk}/", team_form(
        "North", is_default="on", mail_from="north@closeloop.example", mail_reply_to_closed="follow_up"))
    assert answer.status_code == 302
    personas.north.refresh_from_db()
    assert (personas.north.mail_from, personas.north.mail_reply_to_closed) == ("north@closeloop.example", "follow_up")


def test_a_form_without_the_reply_setting_keeps_the_teams_choice(client, personas):
    personas.north.mail_reply_to_closed = Team.ClosedReply.FOLLOW_UP
    personas.north.save(update_fields=["mail_reply_to_closed"])
    client.force_login(personas.adam)
    assert client.post(f"/settings/teams/{personas.north.pk}/", team_form("North", is_default="on")).status_code == 302
    personas.north.refresh_from_db()
    assert personas.north.mail_reply_to_closed == "follow_up"


def test_the_teams_api_sets_them_and_refuses_a_wrong_value(api_client, personas):
    api_client.force_authenticate(personas.adam)
    url = f"/api/v1/teams/{personas.north.pk}/"
    answer = api_client.patch(url, {"mail_reply_to_closed": "follow_up", "mail_from": "north@closeloop.example"},
                              format="json")
    assert answer.status_code == 200
    assert (answer.json()["mail_reply_to_closed"], answer.json()["mail_from"]) == ("follow_up", "north@closeloop.example")
    wrong = api_client.patch(url, {"mail_reply_to_closed": "sometimes", "mail_from": "not an address"}, format="json")
    assert wrong.status_code == 400
    assert set(wrong.json()) == {"mail_reply_to_closed", "mail_from"}
    personas.north.refresh_from_db()
    assert personas.north.mail_reply_to_closed == "follow_up"
