"""The filter panel's markup kept per process (cases.views.inbox_panels.filter_panel_html): for
every kind of viewer and for given, refused and missing values it is the markup made afresh,
and what it prints from (a team's name, a new person, the language) makes another key; a
filtered list's panel has the panel's own labels."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.test import RequestFactory
from django.utils import translation

from accounts.models import Membership, Team
from cases.filtersets import CaseFilterSet, panel_choices
from cases.views import inbox_panels
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def _filterset(user, query: str) -> CaseFilterSet:
    request = RequestFactory().get("/cases/")
    request.user = user
    filterset = CaseFilterSet(QueryDict(query), queryset=None, request=request)
    filterset.form.is_valid()  # as the page does before printing the panel (its list, its sort)
    return filterset


def _fresh(user, query: str) -> str:
    filterset = _filterset(user, query)
    form = filterset.form
    inbox_panels._label_choice_fields(form)
    inbox_panels.tune_filter_form(form, panel_choices(form, user), inbox_panels._surveys(), None)
    return str(inbox_panels.filter_fields_html(filterset, (25, 50, 100), 50))


def _kept(user, query: str) -> str:
    return str(inbox_panels.filter_panel_html(_filterset(user, query), user, (25, 50, 100), 50))


QUERIES = ["view=team", "view=team&priority=high&priority=urgent&sort=newest", "status=new&team={north}",
           "team={south}", "priority=nonsense&created_after=2026-01-01", "unassigned=true&touchpoint=<b>Web</b>"]


@pytest.mark.parametrize("who", ["alice", "mia", "adam", "nobody"])
def test_the_kept_panel_is_the_fresh_one(personas, who):
    user = make_user("nobody", role="manager") if who == "nobody" else getattr(personas, who)
    inbox_panels._kept.clear()
    for template in QUERIES:
        query = template.format(north=personas.north.pk, south=personas.south.pk)
        first = _kept(user, query)  # made and kept
        assert first == _fresh(user, query), (who, query)
        assert _kept(user, query) == first  # kept
    assert len(inbox_panels._kept) == len(QUERIES)
    refused = _kept(user, f"team={personas.south.pk}")
    assert ("Select a valid choice" in refused) == (who in ("alice", "mia", "nobody"))


def test_what_the_panel_prints_from_makes_another_key(personas):
    alice = personas.alice
    inbox_panels._kept.clear()
    before = _kept(alice, "view=team")
    assert " North</label>" in before
    Team.objects.filter(pk=personas.north.pk).update(name="North & East")
    Membership.objects.create(user=make_user("zed", first_name="Zed", last_name="<Q>"), team=personas.north)
    after = _kept(alice, "view=team")
    assert "North &amp; East" in after and "Zed &lt;Q&gt;" in after and " North</label>" not in after
    with translation.override("fr"):
        assert _kept(alice, "view=team") != after


def test_a_filtered_lists_panel_has_the_panels_labels(personas, client):
    client.login(username="alice", password=PASSWORD)
    for url in ("/cases/?view=team&priority=high", "/cases/?view=team&panel=filters", "/cases/filters/?view=team"):
        html = client.get(url).content.decode()
        assert "Assigned or not" in html and "Location or region" in html and "Opened between" in html, url
        assert "[invalid name]" not in html, url
