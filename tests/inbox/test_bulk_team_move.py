"""A bulk assignment that would move cases to another team says so and asks first, on the inbox
page and in the API (which refuses without confirm_team_move)."""

from __future__ import annotations

import re

import pytest

from cases.models import Case
from tests.factories import PASSWORD
from tests.inbox.helpers import open_case

BULK = "/cases/bulk/"
API_BULK = "/api/v1/cases/bulk/"
HX = {"HX-Request": "true"}


@pytest.fixture
def adam_client(client, personas):
    client.login(username="adam", password=PASSWORD)
    return client


def selected(*cases) -> list[str]:
    return [f"{c.pk}:{c.version}" for c in cases]


@pytest.mark.parametrize("headers", [HX, {}], ids=["htmx", "page"])
def test_assigning_into_another_team_asks_first_and_names_the_moves(adam_client, personas, headers):
    north, south = open_case(personas.north), open_case(personas.south)
    to_charlie = f"{personas.south.pk}:{personas.charlie.pk}"
    response = adam_client.post(BULK, {"action": "assign", "cases": selected(north, south), "assignee": to_charlie,
                                       "return_query": "view=team"}, headers=headers)
    assert response.status_code == 409
    html = response.content.decode()
    assert "Move 1 case to another team?" in html
    assert f"This moves 1 case to another team: {north.reference} from North to South." in html
    # Nothing changed yet; the question carries the selection and the team agreed to.
    assert list(Case.objects.order_by("pk").values_list("team__name", "assignee")) == [("North", None),
                                                                                       ("South", None)]
    confirm = re.search(r'<div class="card bulk-confirm.*?</div>\s*</div>', html, re.S).group(0)
    assert re.findall(r'name="cases" value="([^"]+)"', confirm) == selected(north, south)
    assert f'name="confirm_team_move" value="{personas.south.pk}"' in confirm
    assert re.search(rf'<option value="{to_charlie}" selected>', html), "the chosen person stays chosen"

    done = adam_client.post(BULK, {"action": "assign", "cases": selected(north, south), "assignee": to_charlie,
                                   "confirm_team_move": str(personas.south.pk), "return_query": "view=team"},
                            headers=HX)
    assert done.status_code == 200
    assert list(Case.objects.order_by("pk").values_list("team__name", "assignee__username")) == [
        ("South", "charlie"), ("South", "charlie")]
    assert north.events.filter(kind="team", from_value="North", to_value="South").exists()


def test_a_confirmation_for_one_team_does_not_cover_another(adam_client, personas):
    case = open_case(personas.north)
    # Agreed to move into North (nothing to move), then chose a person in South: asked again.
    response = adam_client.post(BULK, {"action": "assign", "cases": selected(case),
                                       "assignee": f"{personas.south.pk}:{personas.charlie.pk}",
                                       "confirm_team_move": str(personas.north.pk)}, headers=HX)
    assert response.status_code == 409
    assert Case.objects.get(pk=case.pk).team == personas.north


def test_assigning_within_the_team_is_not_asked(adam_client, personas):
    case = open_case(personas.north)
    response = adam_client.post(BULK, {"action": "assign", "cases": selected(case),
                                       "assignee": f"{personas.north.pk}:{personas.bob.pk}"}, headers=HX)
    assert response.status_code == 200 and "bulk-confirm" not in response.content.decode()
    assert Case.objects.get(pk=case.pk).assignee == personas.bob


def test_the_api_refuses_a_team_move_without_the_flag(api_client, personas):
    north, south = open_case(personas.north), open_case(personas.north)
    api_client.force_authenticate(personas.adam)
    body = {"action": "assign", "cases": [{"id": north.pk, "version": north.version}, {"id": south.pk}],
            "assignee": personas.charlie.pk, "team": personas.south.pk}
    refused = api_client.post(API_BULK, body, format="json")
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": f"This moves 2 cases to another team: {north.reference} from North to South; "
                  f"{south.reference} from North to South. Send confirm_team_move: true to do it.",
        "code": "team_move_unconfirmed",
        "moves": [{"case": north.reference, "from_team": "North", "to_team": "South"},
                  {"case": south.reference, "from_team": "North", "to_team": "South"}],
    }
    assert set(Case.objects.values_list("team__name", flat=True)) == {"North"}

    done = api_client.post(API_BULK, {**body, "confirm_team_move": True}, format="json")
    assert done.status_code == 200
    assert done.json() == {"results": [{"case": north.reference, "ok": True, "message": "assigned to charlie"},
                                       {"case": south.reference, "ok": True, "message": "assigned to charlie"}],
                           "done": 2, "failed": 0}
    assert set(Case.objects.values_list("team__name", "assignee__username")) == {("South", "charlie")}


def test_the_api_bulk_reports_each_case(api_client, personas):
    fresh, stale = open_case(personas.north), open_case(personas.north)
    hidden = open_case(personas.south)
    api_client.force_authenticate(personas.alice)
    response = api_client.post(API_BULK, {
        "action": "priority", "priority": "high",
        "cases": [{"id": fresh.pk, "version": 1}, {"id": stale.pk, "version": 7}, {"id": hidden.pk}],
    }, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0] == {"case": fresh.reference, "ok": True, "message": "priority set to high"}
    assert results[1]["ok"] is False and results[1]["message"].endswith("reload to see it.")
    assert results[2] == {"case": f"#{hidden.pk}", "ok": False, "message": "not found (or not yours to see)"}
    assert list(Case.objects.order_by("pk").values_list("priority", flat=True)) == ["high", "normal", "normal"]
