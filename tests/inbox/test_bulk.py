"""Bulk actions on selected inbox rows: the same service per case, a line per case saying what
happened, closure only with its fields, and never a case the person cannot see."""

from __future__ import annotations

import re

import pytest

from cases.models import Case
from tests.factories import PASSWORD
from tests.inbox.helpers import open_case, root_causes

BULK = "/cases/bulk/"


@pytest.fixture
def alice_client(client, personas):
    client.login(username="alice", password=PASSWORD)
    return client


def selected(*cases) -> list[str]:
    return [f"{c.pk}:{c.version}" for c in cases]


def test_it_assigns_the_selected_cases(alice_client, personas):
    a, b = open_case(personas.north), open_case(personas.north)
    response = alice_client.post(BULK, {
        "action": "assign", "cases": selected(a, b), "assignee": f"{personas.north.pk}:{personas.bob.pk}",
        "return_query": "view=team",
    })
    assert response.status_code == 302
    assert response["Location"] == "/cases/?view=team"
    assert set(Case.objects.values_list("assignee__username", flat=True)) == {"bob"}
    page = alice_client.get(response["Location"]).content.decode()
    assert f"{a.reference}: assigned to bob" in page


def test_it_changes_priority_through_the_service(alice_client, personas):
    a = open_case(personas.north)
    alice_client.post(BULK, {"action": "priority", "cases": selected(a), "priority": "urgent"})
    a.refresh_from_db()
    assert a.priority == "urgent"
    assert a.events.filter(kind="priority", from_value="normal", to_value="urgent", actor=personas.alice).exists()


def test_closing_needs_the_closure_fields(alice_client, personas):
    a = open_case(personas.north)
    response = alice_client.post(BULK, {"action": "close", "cases": selected(a), "return_query": "view=team"},
                                 headers={"HX-Request": "true"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Choose a root cause." in html and "Choose an outcome." in html
    a.refresh_from_db()
    assert a.status == Case.Status.NEW


def test_it_reports_each_case_and_carries_on_after_a_failure(alice_client, personas):
    fresh, stale = open_case(personas.north), open_case(personas.north)
    stale_version = selected(stale)[0]
    from cases.services import case_claim

    case_claim(case_id=stale.pk, by=personas.bob)  # bob got there first
    response = alice_client.post(BULK, {
        "action": "close", "cases": [*selected(fresh), stale_version], "root_cause": root_causes()["wait"].pk,
        "resolution": "Called and apologised.", "outcome": "resolved", "return_query": "view=team",
    }, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f"{fresh.reference}</a>:\n        closed" in html
    assert re.search(rf"{stale.reference}</a>:\s*<strong>not done</strong>: bob claimed this case", html)
    fresh.refresh_from_db()
    stale.refresh_from_db()
    assert fresh.status == Case.Status.CLOSED and fresh.root_cause.name == "Long wait"
    assert stale.status == Case.Status.NEW


def test_it_never_touches_a_case_of_another_team(alice_client, personas):
    south = open_case(personas.south)
    response = alice_client.post(BULK, {"action": "priority", "cases": selected(south), "priority": "urgent"},
                                 headers={"HX-Request": "true"})
    assert "not found (or not yours to see)" in response.content.decode()
    south.refresh_from_db()
    assert south.priority == "normal"


def test_nothing_selected_is_an_error(alice_client, personas):
    open_case(personas.north)
    response = alice_client.post(BULK, {"action": "priority", "priority": "high"}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "Select at least one case." in response.content.decode()

