"""Access-control matrix over every route the resolver knows (new routes are covered without
being listed): for each role and for a user of another team, out-of-scope objects are 404 and
absent from every page, API list, export and report, including counts and aggregates.
Field-level: an agent cannot change due times, SLA policies or scores."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.security.data import make_customer_story
from tests.security.urls import all_routes

SOUTH_COMMENT = "Zanzibar umbrella was missing from the South order"
NORTH_COMMENT = "Quokka lamp arrived broken in the North store"
SKIP_PREFIXES = ("admin/", "webhooks/", "metrics", "logout/", "api/docs/")


@pytest.fixture
def world(personas):
    south = make_customer_story(personas.south, suffix="south", comment=SOUTH_COMMENT)
    north = make_customer_story(personas.north, suffix="north", comment=NORTH_COMMENT, closed=False)
    return personas, north, south


def markers(story) -> list[str]:
    return [story.case.reference, story.customer.name, story.customer.email, story.response.comment[:20]]


def _report_names() -> list[str]:
    try:
        from reporting.reports import REPORTS
    except ImportError:
        return ["sample"]
    return list(REPORTS)


def _fill(route, target) -> list[str]:
    """URLs for `route` with its arguments pointing at `target`'s objects."""
    path = route.path
    values = {"reference": target.case.reference, "slug": target.source.slug, "action": "claim", "direction": "up"}
    if "customer" in path:
        values["pk"] = target.customer.pk
    elif "response" in path:
        values["pk"] = target.response.pk
    elif "alert" in path:
        values["pk"] = 1
    elif "deliveries" in path:
        values["pk"] = target.delivery.pk
    else:
        values["pk"] = target.case.pk
    if "<name>" in path or "<slug:name>" in path or "<str:name>" in path:
        return [route.url(name=name, **values) for name in _report_names()]
    return [route.url(**values)]


def _get_routes():
    return [r for r in all_routes() if not r.path.startswith(SKIP_PREFIXES) and "(?" not in r.path and "<format>" not in r.path]


def _targets_object(route) -> bool:
    return bool(re.search(r"<(\w+:)?(pk|reference)>", route.path))


@pytest.mark.parametrize(
    "viewer, owner",
    [("alice", "south"), ("mia", "south"), ("charlie", "north")],
    ids=["agent-other-team", "manager-other-team", "agent-south-vs-north"],
)
def test_out_of_scope_objects_are_404_and_absent_everywhere(world, viewer, owner):
    personas, north, south = world
    hidden = south if owner == "south" else north
    client = Client()
    client.force_login(getattr(personas, viewer))
    leaks, not_404 = [], []
    checked = 0
    for route in _get_routes():
        for url in _fill(route, hidden):
            response = client.get(url, HTTP_ACCEPT="text/html,application/json")
            checked += 1
            body = b"".join(response.streaming_content) if response.streaming else response.content
            text = body.decode(errors="replace").lower()
            for marker in markers(hidden):
                if marker.lower() in text:
                    leaks.append(f"{url} ({response.status_code}) shows {marker!r}")
            if _targets_object(route) and ("cases" in url or "customers" in url or "responses" in url) \
                    and "{pk}" not in route.path and response.status_code == 200:
                not_404.append(f"{url} -> 200")
    assert checked > 30
    assert not leaks, "out-of-scope data visible:\n" + "\n".join(leaks)
    assert not not_404, "out-of-scope objects answered 200:\n" + "\n".join(not_404)


def test_admins_see_every_team(world, api_client):
    """The markers are real: the admin sees the South case where the others do not."""
    personas, north, south = world
    api_client.force_authenticate(personas.adam)
    text = api_client.get("/api/v1/cases/").content.decode()
    assert south.case.reference in text and north.case.reference in text


def _normalize(text: str) -> str:
    text = re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', r"\1", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)?", "<time>", text)
    # "Figures as of 2026-11-24 20:01" ticks over when the two snapshots straddle a minute.
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?", "<time>", text)
    # ... and so does the viewer's-zone form of it ("Fri 4 Dec, 11:42 UTC", core.l10n.when).
    text = re.sub(r"\b\d\d:\d\d(:\d\d)?\b", "<hh:mm>", text)
    # Relative times ("due in 3 h 59 min", "2 minutes ago") tick between the two snapshots.
    text = re.sub(r"\b\d+(\.\d+)?\s*(s|sec|seconds?|min|mins|minutes?|h|hrs?|hours?|d|days?)\b", "<dur>", text)
    # A live ticket is signed with the time it was made (TimestampSigner): its payload (who, which
    # teams) is compared, its timestamp and signature are not.
    text = re.sub(r'(ticket"?[=:]\s*"[\w-]+):[\w-]+:[\w-]+"', r'\1:<signed>"', text)
    return re.sub(r"closeloop-[\w-]*-\d{8}[-\d]*", "<file>", text)


@pytest.mark.parametrize("viewer", ["alice", "mia"])
def test_other_teams_data_does_not_move_lists_counts_or_aggregates(world, viewer):
    """Every list, count, chart and report a North user sees is identical before and after
    the South team gets a pile of new cases and responses."""
    personas, north, south = world
    client = Client()
    client.force_login(getattr(personas, viewer))
    routes = [r for r in _get_routes() if not _targets_object(r) and r.path not in ("healthz", "readyz")]

    def snapshot() -> dict:
        out = {}
        for route in routes:
            for url in _fill(route, north):
                response = client.get(url)
                body = b"".join(response.streaming_content) if response.streaming else response.content
                out[url] = (response.status_code, _normalize(body.decode(errors="replace")))
        return out

    # The report pages hold the filter bar's suggestions once cached and load them after
    # themselves until then (the walk's own /reports/filter-options/ caches them): cached first.
    client.get("/reports/filter-options/")
    before = snapshot()
    for i in range(3):
        story = make_customer_story(personas.south, suffix=f"sx{i}", closed=bool(i % 2), comment=f"extra {i}")
        type(story.case).objects.filter(pk=story.case.pk).update(resolution_due=timezone.now() - timedelta(hours=1))
    after = snapshot()
    import difflib

    changed = [url for url in before if before[url] != after[url]]
    detail = ""
    if changed:
        diff = difflib.unified_diff(before[changed[0]][1].splitlines(), after[changed[0]][1].splitlines(), lineterm="", n=1)
        detail = "\n".join(list(diff)[:30])
    assert not changed, f"another team's data changed what {viewer} sees: {changed}\n{detail}"


def test_an_agent_cannot_change_due_times_sla_policies_or_scores(world, api_client):
    from accounts.models import SlaPolicy
    from cases.models import Case
    from surveys.models import SurveyResponse

    personas, north, south = world
    case = Case.objects.get(pk=north.case.pk)
    policy = SlaPolicy.objects.create(name="Gold", first_contact_hours=1, resolution_hours=8)
    api_client.force_authenticate(personas.alice)
    later = (timezone.now() + timedelta(days=30)).isoformat()
    patch = api_client.patch(
        f"/api/v1/cases/{case.pk}/",
        {"first_contact_due": later, "resolution_due": later, "sla_policy": policy.pk},
        format="json",
    )
    assert patch.status_code in (200, 400, 403, 405)
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.first_contact_due, fresh.resolution_due, fresh.sla_policy_id) == (
        case.first_contact_due, case.resolution_due, case.sla_policy_id
    )
    for method in ("patch", "put"):
        response = getattr(api_client, method)(f"/api/v1/responses/{north.response.pk}/", {"nps": 10}, format="json")
        assert response.status_code in (403, 405)
    assert SurveyResponse.objects.get(pk=north.response.pk).nps == 2
    created = api_client.post("/api/v1/alert-rules/", {"name": "x", "metric": "nps", "operator": "lte", "threshold": 6}, format="json")
    assert created.status_code == 404  # an admin area: not there for an agent (accounts.permissions)
    client = Client()
    client.force_login(personas.alice)
    assert client.get("/admin/accounts/slapolicy/").status_code == 302  # not staff: to the admin login
    response = client.post(f"/admin/accounts/slapolicy/{policy.pk}/change/", {"name": "Gold", "first_contact_hours": 99})
    assert response.status_code == 302
    assert SlaPolicy.objects.get(pk=policy.pk).first_contact_hours == 1
    from alerts.models import AlertRule

    assert not AlertRule.objects.filter(name="x").exists(), "the refused rule was not created"
