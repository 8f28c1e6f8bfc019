"""Saved views: save the inbox as shown, find it above the list with the count the inbox itself
gives, rename, delete; the same through /api/v1/saved-views/; only what the filter form accepts
is stored; another person's views are invisible (404)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from cases.saved_views.models import SavedView
from cases.saved_views.services import saved_view_create
from tests.factories import PASSWORD
from tests.inbox.helpers import make_case
from tests.inbox.test_inbox import INBOX_QUERY_CEILING

INBOX = "/cases/"
API = "/api/v1/saved-views/"


@pytest.fixture
def alice_client(client, personas):
    client.login(username="alice", password=PASSWORD)
    return client


@pytest.fixture
def north_cases(personas):
    """Four open North cases (two urgent, one of them overdue; one Alice's) and one of South's."""
    return [
        make_case(personas.north, priority="urgent", first_contact_in=-timedelta(hours=2), comment="broken till"),
        make_case(personas.north, priority="urgent", comment="cold food"),
        make_case(personas.north, priority="low", assignee=personas.alice, comment="slow queue"),
        make_case(personas.north, priority="normal", comment="broken door"),
        make_case(personas.south, priority="urgent", comment="South's"),
    ]


def bar(html: str) -> dict[str, str]:
    """Saved view name -> the count shown beside it."""
    return dict(re.findall(r'data-saved-view="\d+"(?: aria-current="true")?>([^<]+) <span class="count">(\d+)<', html))


def match_count(html: str) -> str:
    return re.search(r'data-count="(\d+)"', html).group(1)


def test_save_this_view_round_trip_on_the_page(alice_client, personas, north_cases):
    response = alice_client.post("/cases/saved-views/", {
        "name": "  Urgent   work ", "query": "view=team&priority=urgent&sort=newest&after=abc&size=25",
    })
    assert response.status_code == 302
    assert response["Location"] == "/cases/?priority=urgent&sort=newest&view=team"
    saved = SavedView.objects.get(owner=personas.alice)
    assert (saved.name, saved.params) == ("Urgent work", {"priority": ["urgent"], "sort": ["newest"], "view": ["team"]})

    html = alice_client.get(response["Location"]).content.decode()
    assert bar(html) == {"Urgent work": "2"}
    assert 'aria-current="true">Urgent work' in html
    assert match_count(html) == "2"

    response = alice_client.post(f"/cases/saved-views/{saved.pk}/rename/", {"name": "Urgent", "query": "view=team"})
    assert response.status_code == 302 and response["Location"] == "/cases/?view=team"
    saved.refresh_from_db()
    assert saved.name == "Urgent"

    response = alice_client.post(f"/cases/saved-views/{saved.pk}/delete/", {"query": "view=team"})
    assert response.status_code == 302
    assert not SavedView.objects.filter(pk=saved.pk).exists()
    assert bar(alice_client.get(INBOX).content.decode()) == {}


def test_it_saves_what_the_filter_form_submits_and_keeps_only_what_filters(alice_client, personas, north_cases):
    """The filter form sends every field, most of them "any" (empty, answered_again=unknown); a
    date range arrives as two parameters."""
    query = ("view=team&q=&priority=urgent&unassigned=&touchpoint=&location=&survey=&created_after=2020-01-01"
             "&created_before=&closed_after=&closed_before=&due_within=&escalation_level=&escalation_level_max="
             "&overdue_for_min=&overdue_for_max=&answered_again=unknown&theme=&sort=due_desc&size=50")
    response = alice_client.post("/cases/saved-views/", {"name": "Urgent since 2020", "query": query})
    assert response.status_code == 302
    assert SavedView.objects.get(owner=personas.alice).params == {
        "created_after": ["2020-01-01"], "priority": ["urgent"], "sort": ["due_desc"], "view": ["team"]}
    assert bar(alice_client.get(response["Location"]).content.decode()) == {"Urgent since 2020": "2"}


# name: (params, cases of north_cases it holds)
COUNTED = {
    "Team": ({"view": "team"}, 4),
    "Urgent": ({"view": "team", "priority": "urgent"}, 2),
    "Overdue urgent or low": ({"view": "overdue", "priority": ["urgent", "low"]}, 1),
    "Broken by value": ({"view": "team", "q": "broken", "sort": "value"}, 2),
    "Mine": ({"view": "mine"}, 1),
    "Overdue unassigned": ({"view": "team", "status": "overdue", "unassigned": "true"}, 1),
}


def test_each_count_equals_the_inbox_count_for_that_view(alice_client, personas, north_cases):
    for name, (params, _) in COUNTED.items():
        saved_view_create(owner=personas.alice, name=name, params=params)
    html = alice_client.get(INBOX, {"view": "team"}).content.decode()
    assert bar(html) == {name: str(expected) for name, (_, expected) in COUNTED.items()}
    links = dict(re.findall(r'<a href="(/cases/\?[^"]+)" hx-get="[^"]+" hx-target="#inbox-results" hx-push-url="true"\s+'
                            r'data-saved-view="\d+"(?: aria-current="true")?>([^<]+) <span', html))
    assert len(links) == len(COUNTED)
    for link, name in links.items():
        params, expected = COUNTED[name]
        shown = alice_client.get(link.replace("&amp;", "&")).content.decode()
        assert (name, len(re.findall(r'href="/cases/([^/"]+)/"><strong>', shown))) == (name, expected)
        if params.keys() - {"view", "sort", "q"}:  # the list says how many match when filters are on
            assert (name, match_count(shown)) == (name, str(expected))
        assert f'aria-current="true">{name} <span' in shown


@pytest.mark.parametrize(("query", "message"), [
    ("view=team&sort=bogus", "Unknown sort bogus"),
    ("view=team&priority=extreme", "Select a valid choice. extreme is not one of the available choices."),
    ("view=nowhere", "Use one of mine, unassigned, team, overdue, due_soon, recently_closed."),
    ("view=team&colour=red", "Not an inbox filter."),
])
def test_the_page_refuses_what_the_filter_form_refuses(alice_client, personas, query, message):
    response = alice_client.post("/cases/saved-views/", {"name": "Bad", "query": query})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not SavedView.objects.exists()


def test_names_are_required_and_unique_per_person(alice_client, personas):
    saved_view_create(owner=personas.alice, name="Mine", params={"view": "mine"})
    saved_view_create(owner=personas.bob, name="Team", params={"view": "team"})
    response = alice_client.post("/cases/saved-views/", {"name": "Mine", "query": "view=team"})
    assert response.status_code == 422
    assert "You already have a view named “Mine”." in response.content.decode()
    assert alice_client.post("/cases/saved-views/", {"name": " ", "query": "view=team"}).status_code == 422
    # Bob's "Team" does not stop Alice from having one.
    assert alice_client.post("/cases/saved-views/", {"name": "Team", "query": "view=team"}).status_code == 302
    assert sorted(SavedView.objects.values_list("owner__username", "name")) == [
        ("alice", "Mine"), ("alice", "Team"), ("bob", "Team")]


def test_another_persons_views_are_invisible_on_the_page(alice_client, personas):
    bobs = saved_view_create(owner=personas.bob, name="Bob's", params={"view": "team"})
    assert "Bob's" not in alice_client.get(INBOX).content.decode()
    assert alice_client.post(f"/cases/saved-views/{bobs.pk}/rename/", {"name": "Mine now"}).status_code == 404
    assert alice_client.post(f"/cases/saved-views/{bobs.pk}/delete/").status_code == 404
    bobs.refresh_from_db()
    assert bobs.name == "Bob's"


def test_the_api_round_trip(api_client, personas, north_cases):
    api_client.force_authenticate(personas.alice)
    response = api_client.post(API, {"name": "Urgent", "params": {"view": "team", "priority": ["urgent"],
                                                                  "sort": "priority"}}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["params"], body["count"]) == (
        "Urgent", {"priority": ["urgent"], "sort": ["priority"], "view": ["team"]}, 2)
    assert body["inbox_url"] == "/cases/?priority=urgent&sort=priority&view=team"
    pk = body["id"]

    assert [(v["name"], v["count"]) for v in api_client.get(API).json()] == [("Urgent", 2)]
    response = api_client.patch(f"{API}{pk}/", {"name": "Low", "params": {"view": "team", "priority": "low"}},
                                format="json")
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["count"]) == ("Low", 1)
    assert SavedView.objects.get(pk=pk).params == {"priority": ["low"], "view": ["team"]}

    assert api_client.delete(f"{API}{pk}/").status_code == 204
    assert not SavedView.objects.filter(pk=pk).exists()


@pytest.mark.parametrize(("payload", "errors"), [
    ({"name": "X", "params": {"view": "team", "sort": "score"}},
     {"sort": ["Unknown sort score: use one of due, due_desc, newest, oldest, priority, value, churn."]}),
    ({"name": "X", "params": {"view": "inbox"}},
     {"view": ["Use one of mine, unassigned, team, overdue, due_soon, recently_closed."]}),
    ({"name": "X", "params": {"team": ["999999"]}},
     {"team": ["Select a valid choice. 999999 is not one of the available choices."]}),
    ({"name": "X", "params": {"status": [{"a": 1}]}}, {"status": ["Give a text value or a list of text values."]}),
    ({"name": "", "params": {}}, {"name": ["Give the view a name."]}),
    ({"name": "X" * 81, "params": {}}, {"name": ["Keep the name to 80 characters."]}),
])
def test_the_api_refuses_bad_input_with_a_message(api_client, personas, payload, errors):
    api_client.force_authenticate(personas.alice)
    response = api_client.post(API, payload, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert not SavedView.objects.exists()


def test_the_api_hides_another_persons_views(api_client, personas):
    bobs = saved_view_create(owner=personas.bob, name="Bob's", params={"view": "team"})
    api_client.force_authenticate(personas.alice)
    assert api_client.get(API).json() == []
    assert api_client.get(f"{API}{bobs.pk}/").status_code == 404
    assert api_client.patch(f"{API}{bobs.pk}/", {"name": "Mine"}, format="json").status_code == 404
    assert api_client.delete(f"{API}{bobs.pk}/").status_code == 404
    assert api_client.get(f"{API}not-a-number/").status_code == 404
    assert SavedView.objects.get(pk=bobs.pk).name == "Bob's"
    api_client.force_authenticate(None)
    assert api_client.get(API).status_code in (401, 403)


def test_saved_views_cost_one_query_and_their_counts_are_cached(alice_client, personas, north_cases,
                                                                django_assert_max_num_queries):
    for name, priority in (("Urgent", "urgent"), ("Low", "low"), ("Normal", "normal")):
        saved_view_create(owner=personas.alice, name=name, params={"view": "team", "priority": priority})
    # First load: the list of saved views (one query) and one count per view.
    with django_assert_max_num_queries(INBOX_QUERY_CEILING + 3):
        alice_client.get(INBOX, {"view": "team", "size": 100})
    # Counts are cached briefly (cases.saved_views.services.COUNT_TTL): the inbox's own budget.
    with django_assert_max_num_queries(INBOX_QUERY_CEILING):
        html = alice_client.get(INBOX, {"view": "team", "size": 100}).content.decode()
    assert bar(html) == {"Low": "1", "Normal": "1", "Urgent": "2"}
