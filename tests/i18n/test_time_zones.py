"""Dates and times in the viewer's zone with the zone named; the profile page that sets a person's
language and zone; SLA due times still counted in the team's business hours."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from accounts.models import User
from cases.calendar import add_business_hours
from cases.models import Case
from tests.factories import PASSWORD
from tests.inbox.helpers import make_case

UTC = dt.timezone.utc


@pytest.fixture
def madrid_case(personas):
    """North works in Madrid; the case's first contact is due Mon 7 Dec 2026 at 12:00 in Madrid."""
    personas.north.timezone = "Europe/Madrid"
    personas.north.save(update_fields=["timezone"])
    case = make_case(personas.north)
    Case.objects.filter(pk=case.pk).update(first_contact_due=dt.datetime(2026, 12, 7, 11, 0, tzinfo=UTC),
                                           resolution_due=dt.datetime(2026, 12, 9, 16, 30, tzinfo=UTC))
    return case


def login(client, username):
    client.login(username=username, password=PASSWORD)
    return client


def test_times_are_shown_in_the_teams_zone_by_default_with_the_zone_named(client, madrid_case):
    html = login(client, "alice").get(f"/cases/{madrid_case.reference}/").content.decode()
    assert "Mon 7 Dec, 12:00 CET" in html  # 11:00 UTC
    assert "Wed 9 Dec, 17:30 CET" in html


def test_a_person_sees_times_in_their_own_zone_and_format(client, personas, madrid_case):
    User.objects.filter(pk=personas.alice.pk).update(timezone="America/New_York", language="de")
    html = login(client, "alice").get(f"/cases/{madrid_case.reference}/").content.decode()
    assert "Mo, 7. Dez, 06:00 EST" in html and "Mi, 9. Dez, 11:30 EST" in html
    assert "12:00 CET" not in html


def test_the_profile_page_saves_language_and_zone(client, personas):
    client = login(client, "alice")
    page = client.get("/account/profile/")
    assert page.status_code == 200 and "Europe/Madrid" in page.content.decode()
    response = client.post("/account/profile/", {"language": "fr", "timezone": "Asia/Tokyo"})
    assert response.status_code == 302 and response["Location"] == "/account/profile/"
    alice = User.objects.get(pk=personas.alice.pk)
    assert (alice.language, alice.timezone) == ("fr", "Asia/Tokyo")
    after = client.get("/account/profile/", HTTP_ACCEPT_LANGUAGE="en")
    html = after.content.decode()
    assert after["Content-Language"] == "fr" and "Enregistré : votre langue et votre fuseau horaire." in html
    assert "Asia/Tokyo (JST)" in html


def test_the_profile_page_refuses_what_it_does_not_know(client, personas):
    client = login(client, "alice")
    response = client.post("/account/profile/", {"language": "xx", "timezone": "Mars/Olympus"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Select a valid choice. xx is not one of the available choices." in html
    assert "Select a valid choice. Mars/Olympus is not one of the available choices." in html
    alice = User.objects.get(pk=personas.alice.pk)
    assert (alice.language, alice.timezone) == ("", "")


def test_blank_means_the_browser_and_the_team(client, personas, madrid_case):
    User.objects.filter(pk=personas.alice.pk).update(timezone="Asia/Tokyo", language="de")
    client = login(client, "alice")
    assert client.post("/account/profile/", {"language": "", "timezone": ""}).status_code == 302
    html = client.get(f"/cases/{madrid_case.reference}/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "lun 7 dic, 12:00 CET" in html


def test_sla_due_times_are_counted_in_the_teams_business_hours_whatever_the_viewer(personas):
    """Friday 15:00 in Madrid plus 4 business hours (Mon-Fri 09-17 there) is Monday 11:00 in Madrid,
    for a viewer in New York too: the zone only changes how it is shown."""
    personas.north.timezone = "Europe/Madrid"
    start = dt.datetime(2026, 12, 4, 15, 0, tzinfo=ZoneInfo("Europe/Madrid"))
    due = add_business_hours(personas.north, start, 4)
    assert due == dt.datetime(2026, 12, 7, 11, 0, tzinfo=ZoneInfo("Europe/Madrid"))
    from django.utils import timezone, translation

    from core.l10n import when

    with timezone.override(ZoneInfo("America/New_York")), translation.override("en"):
        assert when(due) == "Mon 7 Dec, 05:00 EST"
    with timezone.override(ZoneInfo("Asia/Kolkata")), translation.override("fr"):
        assert when(due) == "lun 7 déc, 15:30 IST"
    with timezone.override(ZoneInfo("Asia/Dubai")), translation.override("es"):
        assert when(due, "long") == "lun 7 dic 2026, 14:00 UTC+04"


def test_a_remembered_moment_is_worded_for_each_viewer_again():
    """core.l10n.when remembers its words per process: the same moment asked for again, in another
    zone or language (and the same instant written in another zone), never gets another viewer's words."""
    from django.utils import timezone, translation

    from core.l10n import when

    moment = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
    same_instant_elsewhere = moment.astimezone(ZoneInfo("Asia/Tokyo"))
    for _ in range(2):
        with timezone.override(ZoneInfo("Europe/Madrid")), translation.override("en"):
            assert when(moment) == "Mon 7 Dec, 11:00 CET"
            assert when(same_instant_elsewhere) == "Mon 7 Dec, 11:00 CET"
        with timezone.override(ZoneInfo("Europe/Madrid")), translation.override("es"):
            assert when(moment) == "lun 7 dic, 11:00 CET"
        with timezone.override(ZoneInfo("America/New_York")), translation.override("en"):
            assert when(moment) == "Mon 7 Dec, 05:00 EST"
            assert when(moment, "long") == "Mon 7 Dec 2026, 05:00 EST"
