"""The case page's choices read lean (cases.forms: the assign form's people built by core.lean,
the e-mail templates listed in one query): who and what each select offers, in which order,
marked and escaped as before."""

from __future__ import annotations

import re

import pytest

from accounts.models import Membership
from cases.models import EmailTemplate
from tests.factories import PASSWORD, make_user
from tests.inbox.helpers import open_case

HX = {"HX-Request": "true"}


@pytest.fixture
def alice_client(client, personas):
    client.login(username="alice", password=PASSWORD)
    return client


def _select(html: str, name: str) -> str:
    return re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)


def test_the_assign_select_offers_the_teams_active_people_by_team_and_name(alice_client, personas):
    personas.bob.first_name, personas.bob.last_name, personas.bob.is_away = "Bob", "<Baker>", True
    personas.bob.save()
    gone = make_user("gone", is_active=False)
    Membership.objects.create(user=gone, team=personas.north)
    case = open_case(personas.north)

    options = _select(alice_client.get(f"/cases/{case.reference}/").content.decode(), "assignee")

    north = personas.north.pk
    assert re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', options) == [
        ("", "Choose a person…"),
        (f"{north}:{personas.alice.pk}", "alice"),  # by first name (none before "Bob"), then username
        (f"{north}:{personas.mia.pk}", "mia"),
        (f"{north}:{personas.bob.pk}", "Bob &lt;Baker&gt; (away)"),
    ]
    assert '<optgroup label="North">' in options and "gone" not in options


def test_the_email_select_lists_the_active_templates_in_the_customers_language(alice_client, personas):
    EmailTemplate.objects.all().delete()  # the seeded examples: this test names its own
    sorry = EmailTemplate.objects.create(name="Sorry <3", subject="S", body="B", order=2)
    thanks = EmailTemplate.objects.create(name="Thanks", subject="T", body="B", order=1)
    EmailTemplate.objects.create(name="Old", subject="O", body="B", active=False)
    EmailTemplate.objects.create(name="Désolé", subject="D", body="B", language="fr")
    case = open_case(personas.north)

    html = alice_client.get(f"/cases/{case.reference}/").content.decode()
    assert re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', _select(html, "template")) == [
        ("", "", "Write from scratch"), (str(thanks.pk), "", "Thanks"), (str(sorry.pk), "", "Sorry &lt;3")]

    filled = alice_client.post(f"/cases/{case.reference}/email/",
                               {"version": case.version, "fill": "1", "template": sorry.pk}, headers=HX)
    assert f'<option value="{sorry.pk}" selected>Sorry &lt;3</option>' in _select(filled.content.decode(), "template")
