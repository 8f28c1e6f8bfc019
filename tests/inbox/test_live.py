"""/cases/live/: an open page learns that its list or case changed (304 while nothing did), and
never learns anything about another team's cases."""

from __future__ import annotations

import re

import pytest

from cases.services import case_add_note, case_claim
from cases.views.live import Ticket
from tests.factories import PASSWORD
from tests.inbox.helpers import open_case

LIVE = "/cases/live/"


@pytest.fixture
def alice_client(client, personas):
    client.login(username="alice", password=PASSWORD)
    return client


def marker(client, path: str) -> dict:
    """The ticket and counters a page was rendered with (templates/cases/_live_marker.html)."""
    html = client.get(path).content.decode()
    found = dict(re.findall(r'data-live-(ticket|token|list|new)="([^"]*)"', html))
    assert found["ticket"], html
    return found


def poll(client, page: dict, *, etag: str | None = None, **params):
    headers = {"HTTP_X_LIVE_TICKET": page["ticket"]}
    headers["HTTP_IF_NONE_MATCH"] = etag if etag is not None else page["token"].replace("&quot;", '"')
    return client.get(LIVE, params, **headers)


def test_it_answers_304_until_the_case_service_writes_then_200(alice_client, personas,
                                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case(personas.north)
    page = marker(alice_client, "/cases/?view=team")
    unchanged = poll(alice_client, page)
    assert unchanged.status_code == 304
    assert unchanged.content == b""

    with django_capture_on_commit_callbacks(execute=True):
        case_claim(case_id=case.pk, by=personas.bob)
    changed = poll(alice_client, page)
    assert changed.status_code == 200
    body = changed.json()
    assert body["list"] != page["list"]  # "Updated: refresh the list"
    assert body["new"] == int(page["new"])  # a claim is not a new case
    assert changed["ETag"] == body["token"]
    assert poll(alice_client, page, etag=body["token"]).status_code == 304


def test_a_new_case_in_the_team_counts_as_new(alice_client, personas, django_capture_on_commit_callbacks):
    page = marker(alice_client, "/cases/")
    with django_capture_on_commit_callbacks(execute=True):
        open_case(personas.north)
        open_case(personas.north)
    body = poll(alice_client, page).json()
    assert body["new"] - int(page["new"]) == 2


def test_another_teams_changes_do_not_reach_the_page(client, personas, django_capture_on_commit_callbacks):
    client.login(username="charlie", password=PASSWORD)  # South
    page = marker(client, "/cases/")
    with django_capture_on_commit_callbacks(execute=True):
        north = open_case(personas.north)
        case_add_note(case_id=north.pk, by=personas.alice, note="North only")
    assert poll(client, page).status_code == 304
    # Nor can charlie watch a North case, with or without a ticket.
    assert client.get(LIVE, {"scope": "case", "case": north.reference}).status_code == 404
    assert client.get(f"/cases/{north.reference}/").status_code == 404


def test_a_forged_or_foreign_ticket_is_not_trusted(client, personas, django_capture_on_commit_callbacks):
    client.login(username="charlie", password=PASSWORD)
    forged = Ticket(personas.charlie.pk, "teams", (personas.north.pk,)).sign()[:-2] + "xx"
    answer = client.get(LIVE, HTTP_X_LIVE_TICKET=forged)
    assert answer.status_code == 200  # fell back to the session: charlie's own teams
    renewed = Ticket.load(answer.json()["ticket"])
    assert renewed.team_ids == (personas.south.pk,)


def test_the_case_page_sees_a_note_on_its_case_only(alice_client, personas, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case(personas.north)
        other = open_case(personas.north)
    page = marker(alice_client, f"/cases/{case.reference}/")
    with django_capture_on_commit_callbacks(execute=True):
        case_add_note(case_id=other.pk, by=personas.bob, note="On the other case")
    assert poll(alice_client, page).status_code == 304
    with django_capture_on_commit_callbacks(execute=True):
        case_add_note(case_id=case.pk, by=personas.bob, note="On this case")
    assert poll(alice_client, page).status_code == 200


def test_signed_out_is_401_and_a_bad_scope_404(client, personas, alice_client):
    assert alice_client.get(LIVE, {"scope": "everything"}).status_code == 404
    client.logout()
    answer = client.get(LIVE)
    assert answer.status_code == 401
    assert "Sign in" in answer.json()["detail"]


def test_redis_down_is_503_and_the_page_still_renders(alice_client, personas, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}
    settings.AXES_ENABLED = False  # axes counts sign-ins in the same (now unreachable) cache
    page = alice_client.get("/cases/")
    assert page.status_code == 200
    assert b"Live updates are paused" in page.content  # shown by live.js when the poll fails
    answer = alice_client.get(LIVE)
    assert answer.status_code == 503
    assert "refresh the page" in answer.json()["detail"]


def test_a_case_going_overdue_reaches_the_inbox_the_case_page_and_the_dashboard(client, personas,
                                                                                 django_capture_on_commit_callbacks):
    import datetime as dt

    from django.utils import timezone

    from cases.models import Case
    from cases.services import cases_sweep_sla

    with django_capture_on_commit_callbacks(execute=True):
        case = open_case(personas.north)
    client.login(username="mia", password=PASSWORD)  # manager of North: inbox, case page, dashboard
    pages = {path: marker(client, path) for path in ("/cases/", f"/cases/{case.reference}/", "/reports/overdue/")}
    Case.objects.filter(pk=case.pk).update(first_contact_due=timezone.now() - dt.timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert cases_sweep_sla(now=timezone.now())["overdue"] == 1
    for path, page in pages.items():
        answer = poll(client, page)
        assert answer.status_code == 200, path
        assert answer.json()["list"] != page["list"], path
