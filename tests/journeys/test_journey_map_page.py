"""The journey map page (managers), its CSV and /api/v1/reports/journey-map/: team scoping, the
drill-down counts, the query budget."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.test import Client
from django.utils import timezone

from tests.reporting import builders as b

pytestmark = pytest.mark.django_db

# Queries the journey map page makes: session, user, two-factor device and teams (4), the stage map
# (3), the scores by stage and month (1), the other stage figures (4: the closed cases' instants
# among them), the calendars of the closed cases' teams (2, whatever the number of teams; none
# when nothing closed), moments of truth (1: the stored table, reporting.MomentsOfTruth; 2 once an
# hour, noting the view), the filter form's teams, surveys and journeys (3); the datalist options
# are cached after the first view.
JOURNEY_MAP_QUERIES = 19
NUMBER_LINK = re.compile(r'<a href="([^"]+)">\s*([0-9][0-9,.]*)\s*</a>')


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_manager_sees_the_map_of_their_teams(mapped):
    response = client_for(mapped.mia).get("/reports/journey/")
    assert response.status_code == 200
    stages = response.context["stages"]
    assert [(r["stage"], r["responses"], r["cases"]) for r in stages.rows] == [
        ("Buy", 4, 2), ("Receive", 2, 1), ("Get help", 2, 0)]
    page = response.content.decode()
    assert "How the moments of truth are estimated" in page
    assert "Choose the journey&#x27;s relationship survey" in page


def test_an_agent_gets_a_404(mapped):
    assert client_for(mapped.alice).get("/reports/journey/").status_code == 404


def test_without_a_journey_the_page_says_where_to_define_one(personas):
    page = client_for(personas.adam).get("/reports/journey/").content.decode()
    assert 'href="/settings/journeys/">Define the stages and map touchpoints to them</a>' in page


def test_an_unknown_journey_is_a_400_in_the_api_and_a_message_on_the_page(mapped):
    api = client_for(mapped.mia).get("/api/v1/reports/journey-map/?journey=999999")
    assert api.status_code == 400
    assert api.json()["journey"][0]["message"] == "No such journey: choose one of the list."
    page = client_for(mapped.mia).get("/reports/journey/?journey=999999")
    assert page.status_code == 200
    assert "No such journey: choose one of the list." in page.content.decode()


def test_every_linked_figure_opens_a_list_with_that_count(mapped):
    """Responses link to /api/v1/responses/ (its count), cases to the inbox (its match count)."""
    for user in (mapped.mia, mapped.adam):
        client = client_for(user)
        page = client.get("/reports/journey/").content.decode()
        links = [(html.unescape(url), int(figure)) for url, figure in NUMBER_LINK.findall(page)]
        followed = 0
        for url, figure in links:
            if url.startswith("/api/v1/responses/"):
                assert client.get(url).json()["count"] == figure, url
            elif url.startswith("/cases/"):
                assert client.get(url + "&size=100").context["match_count"] == figure, url
            else:
                continue
            followed += 1
        assert followed >= 8  # responses (cards and table, trend totals), open and closed cases


def test_the_csv_is_the_table(mapped):
    response = client_for(mapped.mia).get("/reports/export/journey-map.csv")
    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("#,Stage,Responses,Score index (0-100),NPS n,NPS,")
    assert lines[1].startswith("1,Buy,4,55.0,4,0.0,")


def test_the_api_serves_every_journey_table(mapped):
    client = client_for(mapped.mia)
    for name in ("journey-map", "journey-pain-points", "journey-moments-of-truth", "journey-trend"):
        response = client.get(f"/api/v1/reports/{name}/?journey={mapped.journey.pk}")
        assert response.status_code == 200, name
        assert response.json()["filters"]["journey"] == mapped.journey.pk
    rows = client.get("/api/v1/reports/journey-map/").json()["rows"]
    assert [(r["stage"], r["responses"], r["case_rate"]) for r in rows] == [
        ("Buy", 4, 50.0), ("Receive", 2, 50.0), ("Get help", 2, 0.0)]


@pytest.mark.parametrize("customers", [40, 400])
def test_the_page_costs_the_same_queries_at_any_size(personas, django_assert_max_num_queries, customers):
    from journeys import services
    from tests.journeys.conftest import journey_with_stages

    journey, stages, _ = journey_with_stages()
    relationship = b.survey("Relationship")
    services.journey_update(journey=journey, name=journey.name, relationship_survey=relationship)
    at = timezone.now() - dt.timedelta(days=3)
    for i in range(customers):
        who = b.customer(f"C{i}")
        b.response(personas.north, at=at, nps=i % 11, touchpoint="Relationship email", who=who, on_survey=relationship)
        resp = b.response(personas.north, at=at, nps=(i * 7) % 11, touchpoint="Checkout", who=who,
                          on_survey=b.survey("Shop"))
        if i % 10 == 0:
            b.case(personas.north, created=at, resp=resp, contacted=at, closed=at + dt.timedelta(hours=3))
    client = client_for(personas.mia)
    client.get("/reports/journey/")  # the filter's suggestions are cached from here on
    with django_assert_max_num_queries(JOURNEY_MAP_QUERIES):
        response = client.get("/reports/journey/")
    assert response.status_code == 200
    assert response.context["moments"].rows[0]["customers"] == customers
