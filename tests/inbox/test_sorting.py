"""Sortable inbox: each ?sort= order on a small team with ties, walked by keyset pages across the
ties, on the page (column headers) and in the API; an unknown sort is refused, never a 500."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cases import keyset
from cases.filtersets import inbox_filterset
from cases.models import Case
from tests.factories import PASSWORD
from tests.inbox.helpers import make_case

INBOX = "/cases/"

# name: (priority, opened days ago, value at risk, first contact due in hours, customer's churn
# risk). A and F tie on everything but their id (A made first); B and C tie on value at risk;
# A, D and F on churn risk.
CASES = {
    "A": ("normal", 5, "100", 4, 0.2),
    "B": ("urgent", 1, "500", 10, 0.0),  # not scored
    "C": ("high", 3, "500", -2, 0.7),  # overdue
    "D": ("urgent", 2, "50", 1, 0.2),
    "E": ("low", 4, "900", 20, 0.05),
    "F": ("normal", 5, "100", 4, 0.2),
}
EXPECTED = {
    None: ["C", "D", "A", "F", "B", "E"],  # the view's own order: overdue first, then due soonest
    "due": ["C", "D", "A", "F", "B", "E"],
    "due_desc": ["E", "B", "F", "A", "D", "C"],
    "newest": ["B", "D", "C", "E", "F", "A"],
    "oldest": ["A", "F", "E", "C", "D", "B"],
    "priority": ["D", "B", "C", "A", "F", "E"],
    "value": ["E", "C", "B", "A", "F", "D"],
    "churn": ["C", "D", "A", "F", "E", "B"],
}


@pytest.fixture
def team_cases(personas) -> dict[str, Case]:
    base = timezone.now().replace(microsecond=0)
    made = {}
    for name, (priority, days_ago, value, due_in, churn_risk) in CASES.items():
        case = make_case(personas.north, priority=priority, comment=f"case {name}")
        Case.objects.filter(pk=case.pk).update(
            created_at=base - timedelta(days=days_ago), value_at_risk=Decimal(value), customer_churn_risk=churn_risk,
            first_contact_due=base + timedelta(hours=due_in), resolution_due=base + timedelta(hours=48),
        )
        made[name] = case
    return made


@pytest.fixture
def alice_client(client, personas):
    client.login(username="alice", password=PASSWORD)
    return client


def names(team_cases, references) -> list[str]:
    by_reference = {case.reference: name for name, case in team_cases.items()}
    return [by_reference[r] for r in references]


def page_rows(html: str) -> list[str]:
    return re.findall(r'href="/cases/([^/"]+)/"><strong>', html)


def test_the_inbox_lists_each_sort_in_its_order(alice_client, team_cases):
    for sort, expected in EXPECTED.items():
        params = {"view": "team"} | ({"sort": sort} if sort else {})
        html = alice_client.get(INBOX, params).content.decode()
        assert (sort, names(team_cases, page_rows(html))) == (sort, expected)


def test_keyset_pages_walk_each_sort_across_ties(personas, team_cases):
    """Pages of 3 split the A/F tie of "due" and "due_desc", pages of 4 that of "priority" and
    "value"; both walk forwards to the end and back to the first page."""
    for sort in (s for s in EXPECTED if s):
        for size in (3, 4):
            _walk(personas.alice, team_cases, sort, size)


def _walk(user, team_cases, sort, size):
    queryset = inbox_filterset(user, {"view": ["team"], "sort": [sort]}).qs
    forwards, page = [], keyset.paginate(queryset, size=size)
    forwards.append(page)
    while page.has_next:
        page = keyset.paginate(queryset, after=page.next_cursor, size=size)
        forwards.append(page)
    walked = [case.reference for p in forwards for case in p.rows]
    assert names(team_cases, walked) == EXPECTED[sort]
    assert len(forwards) == 2
    back = keyset.paginate(queryset, before=forwards[-1].prev_cursor, size=size)
    assert [case.reference for case in back.rows] == [case.reference for case in forwards[0].rows]


def test_the_page_follows_the_sort_across_its_next_link(alice_client, team_cases, personas):
    for i in range(25):  # 31 cases: the first page (25) ends inside the sort, the next holds the rest
        make_case(personas.north, priority="low", comment=f"filler {i}", first_contact_in=timedelta(days=3))
    html = alice_client.get(INBOX, {"view": "team", "sort": "priority", "size": 25}).content.decode()
    first = page_rows(html)
    assert names(team_cases, first[:5]) == ["D", "B", "C", "A", "F"]
    next_url = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "sort=priority" in next_url
    rest = page_rows(alice_client.get(next_url).content.decode())
    assert len(first) == 25 and len(rest) == 6
    assert set(first).isdisjoint(rest)


def test_column_headers_sort_and_say_which_way(alice_client, team_cases):
    html = alice_client.get(INBOX, {"view": "team", "sort": "newest"}).content.decode()
    case_header = re.search(r'<th scope="col" class="sortable col-case" aria-sort="descending">(.*?)</th>', html).group(1)
    # "Case" sorts the other way now; "Priority" sorts by priority.
    assert 'href="/cases/?view=team&amp;sort=oldest"' in case_header
    assert 'href="/cases/?view=team&amp;sort=priority"' in case_header
    html = alice_client.get(INBOX, {"view": "team", "sort": "due"}).content.decode()
    assert re.search(r'aria-sort="ascending"><a href="/cases/\?view=team&amp;sort=due_desc"', html)


def test_an_unknown_sort_is_a_field_error_on_the_page(alice_client, team_cases):
    response = alice_client.get(INBOX, {"view": "team", "sort": "bogus"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Unknown sort bogus: use one of due, due_desc, newest, oldest, priority, value, churn." in html
    assert names(team_cases, page_rows(html)) == EXPECTED[None]


def test_the_api_sorts_and_refuses_an_unknown_sort(api_client, personas, team_cases):
    api_client.force_authenticate(personas.alice)
    response = api_client.get("/api/v1/cases/", {"sort": "value"})
    assert response.status_code == 200
    assert names(team_cases, [row["reference"] for row in response.json()["results"]]) == EXPECTED["value"]
    response = api_client.get("/api/v1/cases/", {"sort": "score"})
    assert response.status_code == 400
    assert response.json() == {
        "sort": ["Unknown sort score: use one of due, due_desc, newest, oldest, priority, value, churn."]
    }
