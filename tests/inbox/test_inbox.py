"""The inbox: views with counts, rows a person can read at a glance, filters from the shared
FilterSet, keyset pages, HTMX fragments, visibility, and a fixed query budget."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from tests.factories import PASSWORD
from tests.inbox.helpers import make_case, make_customer, root_causes

INBOX = "/cases/"
# Session, user, memberships, the page, the counts, the person's saved views (their counts are
# cached briefly, one query per saved view otherwise: tests/inbox/test_saved_views.py) and the
# bell's unread count (cold cache): the same for 1 row or 100. The filter and bulk panels' choices
# (teams, people, root causes, themes) load when a panel is opened, not with the page.
INBOX_QUERY_CEILING = 10  # 8 + the two-factor check: does the user have an authenticator, the role policy (cold)


def rows(html: str) -> list[str]:
    return re.findall(r'href="/cases/([^/"]+)/"><strong>', html)


@pytest.fixture
def alice_client(client, personas):
    client.login(username="alice", password=PASSWORD)
    return client


def test_it_shows_only_the_teams_cases(alice_client, personas):
    mine = make_case(personas.north, comment="North's customer")
    theirs = make_case(personas.south, comment="South's customer")
    html = alice_client.get(INBOX, {"view": "team"}).content.decode()
    assert mine.reference in html
    assert theirs.reference not in html


def test_it_redirects_home_to_the_inbox(alice_client):
    response = alice_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:inbox")


def test_it_counts_every_view(alice_client, personas):
    make_case(personas.north, assignee=personas.alice)
    make_case(personas.north, first_contact_in=-timedelta(hours=1))  # overdue, unassigned
    make_case(personas.north, first_contact_in=timedelta(minutes=30))  # due soon
    make_case(personas.south)
    html = alice_client.get(INBOX).content.decode()
    counts = dict(re.findall(r'>\s*([A-Z][a-z]+(?: [a-z]+)?) <span class="count">(\d+)<', html))
    assert counts == {
        "My open": "1", "Team unassigned": "2", "Team all": "3", "Overdue": "1", "Due soon": "1",
        "Recently closed": "0",
    }


def test_it_orders_overdue_first_then_due_soonest(alice_client, personas):
    later = make_case(personas.north, first_contact_in=timedelta(hours=20))
    sooner = make_case(personas.north, first_contact_in=timedelta(hours=2))
    overdue = make_case(personas.north, first_contact_in=-timedelta(minutes=5))
    html = alice_client.get(INBOX, {"view": "team"}).content.decode()
    assert rows(html) == [overdue.reference, sooner.reference, later.reference]


def test_a_row_reads_at_a_glance(alice_client, personas):
    customer = make_customer("Dana Whitfield", tier="Platinum")
    make_case(personas.north, assignee=personas.bob, nps=3, customer=customer,
              comment="Waited 40 minutes at the till.\nThen the card reader broke.",
              first_contact_in=-timedelta(hours=3))
    html = alice_client.get(INBOX, {"view": "team"}).content.decode()
    assert "NPS 3</strong> <span class=\"score-word\">detractor" in html
    assert "Waited 40 minutes at the till." in html
    assert "card reader" not in html  # only the first line
    assert "Dana Whitfield" in html and "Platinum" in html
    assert "North · bob" in html
    assert re.search(r'class="sla sla-overdue"><span aria-hidden="true">⚠</span> first contact overdue by 3 h', html)


def test_it_escapes_the_comment(alice_client, personas):
    make_case(personas.north, comment="<script>alert('x')</script> rude staff")
    html = alice_client.get(INBOX, {"view": "team"}).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html


def test_recently_closed_lists_closed_cases(alice_client, personas):
    closed = make_case(personas.north, status=Case.Status.CLOSED, root_cause=root_causes()["wait"],
                       resolution="Apologised", outcome="resolved", closed_at=timezone.now())
    open_one = make_case(personas.north)
    html = alice_client.get(INBOX, {"view": "recently_closed"}).content.decode()
    assert rows(html) == [closed.reference]
    assert open_one.reference not in html
    assert "sla-closed" in html


def test_it_filters_with_the_shared_filterset(alice_client, personas):
    urgent = make_case(personas.north, priority="urgent", comment="Parcel arrived broken")
    make_case(personas.north, priority="low", comment="Queue too long")
    html = alice_client.get(INBOX, {"view": "team", "priority": "urgent"}).content.decode()
    assert rows(html) == [urgent.reference]
    html = alice_client.get(INBOX, {"view": "team", "q": "parcel"}).content.decode()
    assert rows(html) == [urgent.reference]
    # A search alone leaves the filter panel closed: its fields load when it opens.
    assert 'name="status"' not in html and 'href="/cases/?view=team&amp;q=parcel&amp;panel=filters"' in html
    panel = alice_client.get("/cases/filters/", {"view": "team", "q": "parcel"}).content.decode()
    assert 'name="status"' in panel and 'name="root_cause"' in panel and 'name="created_after"' in panel


def test_the_filter_panel_is_in_the_page_when_filters_are_used_or_asked_for(alice_client, personas):
    html = alice_client.get(INBOX, {"view": "team", "priority": "urgent"}).content.decode()
    assert re.search(r'<details class="more-filters" open>', html)
    assert re.search(r'name="priority" value="urgent"[^>]*checked', html)
    # Without JavaScript, the "Show the filters" link opens it with its fields.
    html = alice_client.get(INBOX, {"view": "team", "panel": "filters"}).content.decode()
    assert 'name="status"' in html and 'name="root_cause"' in html
    # The panel fetched on its own keeps the page's filter values.
    panel = alice_client.get("/cases/filters/", {"view": "team", "priority": "urgent", "size": "25"}).content.decode()
    assert re.search(r'name="priority" value="urgent"[^>]*checked', panel)
    assert '<option value="25" selected>25</option>' in panel


def test_the_bulk_panel_loads_its_choices_when_opened(alice_client, personas):
    make_case(personas.north)
    html = alice_client.get(INBOX, {"view": "team"}).content.decode()
    assert 'name="assignee"' not in html and 'hx-get="/cases/bulk/fields/"' in html
    fields = alice_client.get("/cases/bulk/fields/").content.decode()
    assert 'name="assignee"' in fields and 'name="root_cause"' in fields and 'value="close"' in fields
    assert personas.bob.display_name in fields
    html = alice_client.get(INBOX, {"view": "team", "panel": "bulk"}).content.decode()
    assert 'name="assignee"' in html and 'name="root_cause"' in html


def test_it_searches_customer_email(alice_client, personas):
    customer = make_customer("Someone", email="needle@example.org")
    wanted = make_case(personas.north, customer=customer)
    make_case(personas.north)
    html = alice_client.get(INBOX, {"view": "team", "q": "NEEDLE@example"}).content.decode()
    assert rows(html) == [wanted.reference]


def test_keyset_pages_walk_every_case_once(alice_client, personas):
    created = [make_case(personas.north, first_contact_in=timedelta(hours=1 + i % 7)) for i in range(30)]
    seen, url, pages = [], f"{INBOX}?view=team&size=25", 0
    while url and pages < 5:
        html = alice_client.get(url).content.decode()
        seen += rows(html)
        match = re.search(r'rel="next" href="([^"]+)"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
        pages += 1
    assert pages == 2
    assert sorted(seen) == sorted(c.reference for c in created)
    assert len(seen) == len(set(seen))
    # and back again
    prev = re.search(r'rel="prev" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert prev.startswith("/cases/?")
    first_page = rows(alice_client.get(prev).content.decode())
    assert first_page == seen[:25]


def test_a_broken_cursor_shows_the_first_page(alice_client, personas):
    case = make_case(personas.north)
    response = alice_client.get(INBOX, {"view": "team", "after": "not-a-cursor!!"})
    assert response.status_code == 200
    assert rows(response.content.decode()) == [case.reference]


def test_htmx_gets_the_list_fragment(alice_client, personas):
    make_case(personas.north)
    response = alice_client.get(INBOX, {"view": "overdue"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="filter-view" form="inbox-filters" hx-swap-oob="true"' in html and 'value="overdue"' in html
    assert 'aria-current="page">Overdue' in html
    assert "HX-Request" in response["Vary"]


def test_the_full_page_works_without_javascript(alice_client, personas):
    html = alice_client.get(INBOX, {"view": "unassigned"}).content.decode()
    assert '<form id="inbox-filters" class="card filters" method="get" action="/cases/"' in html
    assert 'hx-push-url="true"' in html
    assert 'href="/cases/?view=team"' in html


@pytest.mark.parametrize("n_cases", [1, 60])
def test_inbox_query_count_is_fixed(alice_client, personas, django_assert_max_num_queries, n_cases):
    for i in range(n_cases):
        make_case(personas.north, assignee=personas.bob if i % 2 else None)
    with django_assert_max_num_queries(INBOX_QUERY_CEILING):
        response = alice_client.get(INBOX, {"view": "team", "size": 100})
    assert len(rows(response.content.decode())) == n_cases


def test_report_drill_down_filters_reach_the_right_cases(alice_client, personas):
    """The manager dashboard links here with due_within, escalation_level and closure date
    ranges; each must narrow to exactly the cases behind the figure."""
    soon = make_case(personas.north, comment="due in 20 hours", first_contact_in=timedelta(hours=2),
                     resolution_in=timedelta(hours=20), first_contacted_at=timezone.now())
    later = make_case(personas.north, comment="due in 3 days", first_contact_in=timedelta(days=3),
                      resolution_in=timedelta(days=3))
    escalated = make_case(personas.north, comment="escalated", first_contact_in=-timedelta(hours=9),
                          resolution_in=-timedelta(hours=1), escalation_level=1)
    plain_late = make_case(personas.north, comment="late", first_contact_in=-timedelta(hours=2))
    causes = root_causes()
    old = make_case(personas.north, comment="closed a month ago", status=Case.Status.CLOSED,
                    root_cause=next(iter(causes.values())), resolution="Refunded", outcome="resolved",
                    closed_at=timezone.now() - timedelta(days=30))

    html = alice_client.get(INBOX, {"view": "team", "due_within": "24"}).content.decode()
    assert soon.reference in html and later.reference not in html and plain_late.reference not in html

    html = alice_client.get(INBOX, {"view": "overdue", "escalation_level": "1"}).content.decode()
    assert escalated.reference in html and plain_late.reference not in html

    # "Recently closed" is the last 7 days, unless a closure range is asked for explicitly.
    assert old.reference not in alice_client.get(INBOX, {"view": "recently_closed"}).content.decode()
    day = (timezone.localdate() - timedelta(days=30)).isoformat()
    html = alice_client.get(INBOX, {"view": "recently_closed", "closed_after": day, "closed_before": day}).content.decode()
    assert old.reference in html
