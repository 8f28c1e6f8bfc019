"""Every report figure that links opens an inbox whose count equals the figure (issue #19 item 5).

The test walks every page (dashboard, KPIs by each grouping, root causes, scores, themes,
recovery) as a manager and as an admin, on seeded data covering every panel; every link on a
number (table cells, headline figures, bars) is followed and the inbox's cases counted, over
every page of it, and compared with the number that led there."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from tests.factories import PASSWORD
from tests.reporting import builders as b
from tests.reporting import builders_text as t
from tests.reporting.test_verified_recovery import check

PAGES = [
    ("reporting:dashboard", ""),
    *[("reporting:reports", f"?by={by}") for by in ("team", "location", "touchpoint", "week", "month")],
    ("reporting:root_causes", ""),
    ("reporting:scores", ""),
    ("reporting:themes", ""),
    ("reporting:recovery", ""),
]
INBOX = "/cases/"
BAR = re.compile(r'<span class="bar-label"><a href="([^"]+)">[^<]*</a></span>.*?<span class="bar-value">([^<\s]+)',
                 re.S)
NUMBER_LINK = re.compile(r'<a href="(/cases/[^"]*)">\s*([0-9][0-9,.]*)\s*</a>')


@pytest.fixture
def seeded(busy):
    """busy (tests/reporting/conftest.py) plus what the other panels read: overdue cases in every
    age bucket and escalation level, themes on open cases, recovery checks, weeks that straddle
    the period's edges, a customer who answered again."""
    now = timezone.now()
    north = busy.north
    for hours, level in ((2, 0), (10, 1), (30, 2), (50, 1), (100, 0), (200, 2)):
        b.case(north, created=now - dt.timedelta(hours=hours + 5), first_contact_due=now - dt.timedelta(hours=hours),
               escalation_level=level, assignee=busy.bob if level else None)
    delivery, staff = t.theme("Delivery delays"), t.theme("Rude staff")
    for i, themes in enumerate([[delivery], [delivery, staff], [staff]]):
        resp = t.tagged(north, at=now - dt.timedelta(days=4 + i), nps=3, themes=themes, sentiment=-0.4,
                        touchpoint="Web" if i else "Store")
        b.attach(b.case(north, created=now - dt.timedelta(days=4 + i), resp=resp), resp)  # as opening does
    late = b.cause("Late")
    for days in (1, 40, 88):  # the first and last weeks of the 90 days are partial weeks
        who = b.customer(f"Edge {days}")
        resp = b.response(north, at=now - dt.timedelta(days=days, hours=2), nps=1, who=who, touchpoint="Web")
        closed = b.case(north, created=now - dt.timedelta(days=days, hours=1), resp=resp,
                        contacted=now - dt.timedelta(days=days, minutes=30), closed=now - dt.timedelta(days=days),
                        root_cause=late)
        t.closure(closed, at=closed.closed_at)
        check(closed, sent=closed.closed_at + dt.timedelta(hours=1), answer=8)
    b.response(north, at=now - dt.timedelta(hours=5), nps=9, who=b.customer("Edge 40"))
    return busy


def follow(client, url: str) -> tuple[int, int | None]:
    """(cases listed over every page of the inbox at `url`, the inbox's own "N cases match")."""
    response = client.get(url + ("&" if "?" in url else "?") + "size=100")
    assert response.status_code == 200, url
    rows, shown = 0, response.context["match_count"]
    while True:
        page = response.context["page"]
        rows += len(page.rows)
        if not page.has_next:
            return rows, shown
        response = client.get(f"{url}&size=100&after={page.next_cursor}")


def figure_links(page_html: str) -> list[tuple[str, str, str]]:
    """(where, figure, inbox URL) for every bar, headline figure and table cell that links."""
    found = [("bar", value, html.unescape(url)) for url, value in BAR.findall(page_html)]
    found += [("number", value, html.unescape(url)) for url, value in NUMBER_LINK.findall(page_html)]
    return found


@pytest.mark.parametrize("who", ["mia", "adam"])
def test_every_linked_figure_opens_an_inbox_with_that_many_cases(client, seeded, who):
    client.login(username=who, password=PASSWORD)
    checked, wrong = 0, []
    for url_name, query in PAGES:
        page = client.get(reverse(url_name) + query)
        assert page.status_code == 200
        for where, figure, url in figure_links(page.content.decode()):
            assert url.startswith(INBOX), url
            assert figure.isdigit(), f"{url_name}{query}: a {where} links the non-count figure {figure} to {url}"
            rows, shown = follow(client, url)
            if rows != int(figure) or (shown is not None and shown != int(figure)):
                wrong.append(f"{url_name}{query} {where} {figure} -> {url}: {rows} listed, {shown} shown")
            checked += 1
    assert not wrong, "\n".join(wrong)
    assert checked >= 50, checked  # the walk reached every panel, not an empty page


def test_the_age_buckets_open_their_own_cases(client, seeded):
    client.login(username="mia", password=PASSWORD)
    page = client.get(reverse("reporting:dashboard")).content.decode()
    table = re.search(r'data-report="overdue-age".*?</table>', page, re.S).group(0)
    rows = re.findall(r'<th scope="row">([^<]+)</th><td class="num"><a href="([^"]+)">(\d+)</a>', table)
    links = {html.unescape(label): html.unescape(url) for label, url, _ in rows}
    figures = {html.unescape(label): int(n) for label, _, n in rows}
    assert set(links) == {"0-4 h", "4-24 h", "1-3 d", "> 3 d"}
    assert len(set(links.values())) == 4, "each bucket opens its own list"
    assert "overdue_for_min=24&overdue_for_max=72" in links["1-3 d"]
    assert links["> 3 d"].endswith("overdue_for_min=72") or "overdue_for_min=72&" in links["> 3 d"]
    assert figures["1-3 d"] >= 2  # at least the cases overdue 30 h and 50 h ago
    assert follow(client, links["1-3 d"]) == (figures["1-3 d"], figures["1-3 d"])
    assert sum(figures.values()) == follow(client, reverse("cases:inbox") + "?view=overdue")[0]


def test_a_pareto_row_opens_the_closed_cases_of_its_period(client, seeded):
    client.login(username="mia", password=PASSWORD)
    page = client.get(reverse("reporting:root_causes")).content.decode()
    table = re.search(r'data-report="root-causes-pareto".*?</table>', page, re.S).group(0)
    url = html.unescape(re.search(r'<td class="num"><a href="([^"]+)">', table).group(1))
    inbox = client.get(url).content.decode()
    today = timezone.localdate()
    period = f"Closed {(today - dt.timedelta(days=89)).isoformat()} to {today.isoformat()}"
    assert f'<h2 class="list-title">{period}' in inbox
    assert all(row["status"] == Case.Status.CLOSED for row in client.get(url).context["page"].rows)
