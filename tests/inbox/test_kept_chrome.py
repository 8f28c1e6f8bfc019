"""The inbox's tabs, sort headers and column chooser kept per process for a set of parameters
(cases.views.inbox._page_chrome): each page shows its own parameters' addresses, in its own
language, and a refused sort still says so."""

from __future__ import annotations

import re

import pytest

from tests.factories import PASSWORD
from tests.inbox.helpers import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client, personas):
    make_case(personas.north, assignee=personas.alice)  # a row: the sort headers are printed
    client.login(username="alice", password=PASSWORD)
    return client


def _page(client, url: str, **headers) -> str:
    """The page without what changes on every response (the CSRF token's mask, the live ticket)."""
    html = client.get(url, **headers).content.decode()
    html = re.sub(r'(csrfmiddlewaretoken" value=")[^"]+|("X-CSRFToken": ")[^"]+', r"\1\2", html)
    return re.sub(r'data-live-ticket="[^"]+"', "", html)


def _tab_href(html: str, view: str) -> str:
    start = html.index(f'view={view}', html.index('class="tabs'))
    return html[html.rfind('href="', 0, start) + 6: html.index('"', start)]


def test_each_page_has_its_own_addresses_and_language(alice):
    first = _page(alice, "/cases/?view=team&sort=priority")
    again = _page(alice, "/cases/?view=team&sort=priority")
    other = _page(alice, "/cases/?view=team&sort=due&size=25&columns=case&columns=sla")
    assert first == again
    assert "sort=priority" in _tab_href(first, "mine") and "sort=due" in _tab_href(other, "mine")
    assert "size=25" in _tab_href(other, "unassigned") and "size=25" not in _tab_href(first, "unassigned")
    german = _page(alice, "/cases/?view=team&sort=priority", HTTP_ACCEPT_LANGUAGE="de")
    assert 'lang="de"' in german
    assert "Sort: " in first and "Sort: " not in german and "Sortierung: " in german


def test_a_filtered_page_and_a_refused_sort(alice):
    saved = _page(alice, "/cases/?view=team&priority=high&sort=newest")
    assert "sort=newest" in _tab_href(saved, "mine") and "priority=high" in _tab_href(saved, "mine")
    refused = _page(alice, "/cases/?view=team&priority=high&sort=nonsense")
    assert "Unknown sort nonsense" in refused
    assert _page(alice, "/cases/?view=team&priority=high&sort=newest") == saved
