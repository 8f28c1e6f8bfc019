"""Teams on the settings pages, in the API and in the Django admin: the invalid inputs of issue
#18 are refused with the same literal field errors at all three doors; exactly one default team."""

from __future__ import annotations

import re

import pytest
from django.db import IntegrityError, transaction

from accounts.models import ClosedDay, Membership, Team
from tests.organisation.conftest import text
from tests.organisation.helpers import admin_team_form, team_form

pytestmark = pytest.mark.django_db

NINE = "“9” is not a time: write HH:MM on a 24-hour clock, e.g. 09:00 or 17:30."
MONDAY_AS_TIME = "“monday” is not a time: write HH:MM on a 24-hour clock, e.g. 09:00 or 17:30."
BACKWARDS_ROW = ("18:00–08:00 ends before it starts: tick “ends next day” for an overnight shift "
                 "(Monday 18:00 to Tuesday 08:00).")
MONDAY_KEY = "“monday” is not a weekday key: use the keys mon, tue, wed, thu, fri, sat and sun."
NINE_STORED = "Monday: “9” is not a time: write HH:MM on a 24-hour clock, e.g. 09:00 or 17:30."
BACKWARDS_STORED = ("Monday: 18:00–08:00 ends before it starts. For an overnight shift write 18:00–24:00 on mon "
                    "and 00:00–08:00 on tue (the weekly editor's “ends next day” box does this).")
KEEP_DEFAULT = ("One team must be the default (it catches every case no routing rule claims): "
                "make another team the default instead.")


def test_only_cx_admins_reach_the_settings_pages(client, personas):
    for who in ("alice", "mia"):
        client.force_login(getattr(personas, who))
        assert client.get("/settings/teams/").status_code == 404
    client.force_login(personas.adam)
    assert client.get("/settings/").status_code == 200
    assert "North" in text(client.get("/settings/teams/"))


def test_an_admin_creates_a_team_with_split_and_overnight_shifts_in_its_time_zone(client, personas):
    client.force_login(personas.adam)
    response = client.post("/settings/teams/new/", team_form(
        "Night desk", timezone="America/New_York", holiday_country="US", holiday_subdivision="NY",
        hours={"mon-0": ("09:00", "12:00"), "mon-1": ("13:00", "17:00"), "tue-0": ("22:00", "06:00", True)}))
    assert response.status_code == 302, text(response)[:3000]
    team = Team.objects.get(name="Night desk")
    assert (team.timezone, team.holiday_country, team.holiday_subdivision, team.is_default) == \
        ("America/New_York", "US", "NY", False)
    assert team.opening_hours == {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "tue": [["22:00", "24:00"]],
                                  "wed": [["00:00", "06:00"]], "thu": [], "fri": [], "sat": [], "sun": []}
    page = text(client.get(f"/settings/teams/{team.pk}/"))
    assert 'name="tue-0-start" value="22:00"' in page and 'name="tue-0-end" value="06:00"' in page
    assert 'name="tue-0-overnight" id="id_tue-0-overnight" checked' in page


@pytest.mark.parametrize("hours, field, message", [
    ({"mon-0": ("9", "17:00")}, "mon-0-start", NINE),
    ({"mon-0": ("monday", "17:00")}, "mon-0-start", MONDAY_AS_TIME),
    ({"mon-0": ("18:00", "08:00")}, "mon-0-end", BACKWARDS_ROW),
])
def test_the_page_refuses_invalid_hours_with_a_field_error(client, personas, hours, field, message):
    client.force_login(personas.adam)
    before = personas.north.opening_hours
    response = client.post(f"/settings/teams/{personas.north.pk}/", team_form("North", is_default="on", hours=hours))
    assert response.status_code == 422
    assert message in text(response)
    tag = re.search(rf'<input[^>]*name="{field}"[^>]*>', text(response)).group(0)
    assert 'aria-invalid="true"' in tag  # the error sits on that input
    personas.north.refresh_from_db()
    assert personas.north.opening_hours == before


def test_the_page_refuses_an_unknown_time_zone_and_holiday_region(client, personas):
    client.force_login(personas.adam)
    response = client.post(f"/settings/teams/{personas.north.pk}/", team_form(
        "North", is_default="on", timezone="Mars/Olympus", holiday_country="GB", holiday_subdivision="ZZ"))
    assert response.status_code == 422
    page = text(response)
    assert "“Mars/Olympus” is not a time zone: use an IANA name such as Europe/London or America/New_York." in page
    assert "“ZZ” is not a region of GB: choose one of ENG, NIR, SCT, WLS, or leave it blank." in page


@pytest.mark.parametrize("hours, message", [
    ({"monday": [["09:00", "17:00"]]}, MONDAY_KEY),
    ({"mon": [["9", "17:00"]]}, NINE_STORED),
    ({"mon": [["18:00", "08:00"]]}, BACKWARDS_STORED),
])
def test_the_api_and_the_admin_refuse_the_same_hours(api_client, client, personas, hours, message):
    api_client.force_authenticate(personas.adam)
    answer = api_client.patch(f"/api/v1/teams/{personas.north.pk}/", {"opening_hours": hours}, format="json")
    assert answer.status_code == 400
    assert answer.json() == {"opening_hours": [message]}

    personas.adam.is_superuser = True
    personas.adam.save()
    client.force_login(personas.adam)
    import json
    response = client.post(f"/admin/accounts/team/{personas.north.pk}/change/",
                           admin_team_form(personas.north, opening_hours=json.dumps(hours)))
    assert response.status_code == 200
    assert message in text(response)
    personas.north.refresh_from_db()
    assert "monday" not in personas.north.opening_hours and personas.north.opening_hours.get("mon") != hours.get("mon")


def test_exactly_one_default_team_on_the_page(client, personas):
    client.force_login(personas.adam)
    north, south = personas.north, personas.south
    response = client.post(f"/settings/teams/{north.pk}/", team_form("North"))  # unticking the only default
    assert response.status_code == 422 and KEEP_DEFAULT in text(response)
    assert client.post(f"/settings/teams/{south.pk}/", team_form("South", is_default="on")).status_code == 302
    assert list(Team.objects.filter(is_default=True)) == [south]  # the flag moved


def test_exactly_one_default_team_in_the_api_and_the_admin(api_client, client, personas):
    api_client.force_authenticate(personas.adam)
    north = personas.north
    answer = api_client.patch(f"/api/v1/teams/{north.pk}/", {"is_default": False}, format="json")
    assert answer.status_code == 400 and answer.json() == {"is_default": [KEEP_DEFAULT]}
    created = api_client.post("/api/v1/teams/", {"name": "West", "is_default": True}, format="json")
    assert created.status_code == 201, created.json()
    assert list(Team.objects.filter(is_default=True).values_list("name", flat=True)) == ["West"]
    west = Team.objects.get(name="West")
    assert api_client.delete(f"/api/v1/teams/{west.pk}/").json() == {
        "detail": ["The default team cannot be deleted: make another team the default first."]}

    personas.adam.is_superuser = True
    personas.adam.save()
    client.force_login(personas.adam)
    response = client.post(f"/admin/accounts/team/{west.pk}/change/", admin_team_form(west, is_default=None))
    assert response.status_code == 200 and KEEP_DEFAULT in text(response)
    response = client.post(f"/admin/accounts/team/{north.pk}/change/", admin_team_form(north, is_default="on"))
    assert response.status_code == 302
    assert list(Team.objects.filter(is_default=True).values_list("name", flat=True)) == ["North"]


def test_the_database_refuses_a_second_default_team(personas):
    with pytest.raises(IntegrityError), transaction.atomic():
        Team.objects.create(name="Second", slug="second", is_default=True)


def test_the_migration_keeps_one_default(personas):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("accounts.migrations.0003_one_default_team")
    Team.objects.update(is_default=False)
    migration.keep_one_default(apps, None)
    assert list(Team.objects.filter(is_default=True)) == [personas.north]  # the oldest team


def test_members_and_closed_days(client, personas):
    client.force_login(personas.adam)
    south = personas.south
    assert client.post(f"/settings/teams/{south.pk}/members/", {"user": personas.alice.pk, "is_manager": "on"}).status_code == 302
    assert Membership.objects.get(team=south, user=personas.alice).is_manager is True
    assert client.post(f"/settings/teams/{south.pk}/closed-days/", {"date": "2026-12-24", "name": "Stock-take"}).status_code == 302
    again = client.post(f"/settings/teams/{south.pk}/closed-days/", {"date": "2026-12-24"}, follow=True)
    assert "South is already closed on 24 Dec 2026." in text(again)
    assert list(ClosedDay.objects.filter(team=south).values_list("name", flat=True)) == ["Stock-take"]


def test_notification_channels_are_checked(client, api_client, personas):
    client.force_login(personas.adam)
    response = client.post(f"/settings/teams/{personas.north.pk}/", team_form(
        "North", is_default="on", slack_webhook_url="https://example.com/hook", escalation_delay_minutes="0"))
    assert response.status_code == 422
    page = text(response)
    assert "A Slack incoming-webhook URL starts with https://hooks.slack.com/ (Slack: Apps › Incoming Webhooks)." in page
    assert "Give how many minutes after becoming overdue a case escalates, e.g. 240 (or choose “Notify only”)." in page
