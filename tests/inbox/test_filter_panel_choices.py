"""The inbox filter panel's options read by compiled statements (cases.filtersets.panel_choices):
for every kind of viewer, each select and checkbox list offers what the field's own
ModelChoiceIterator offered, in its order, and the panel still refuses a value it does not offer."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from accounts.models import Membership
from cases.filtersets import CaseFilterSet, panel_choices
from cases.models import RootCause
from segments.models import Segment
from surveys.models import Theme
from tests.factories import PASSWORD, RootCauseCategoryFactory, ThemeFactory, make_team, make_user

FIELDS = ("team", "assignee", "root_cause", "theme", "segment")


def _iterated(form) -> dict:
    """What each field's own iterator lists, as (value, label) text."""
    return {name: [(str(value), str(label)) for value, label in form.fields[name].choices] for name in FIELDS}


def _read(form, user) -> dict:
    return {name: [(str(value), str(label)) for value, label in options] for name, options in panel_choices(form, user).items()}


@pytest.fixture
def options(personas):
    """Teams, people (one inactive, one in no team, one in two), root causes across categories
    (one inactive), themes in every status, segments named out of creation order."""
    west = make_team("West")
    both = make_user("dana", first_name="Dana", last_name="<Ng>")
    Membership.objects.create(user=both, team=personas.north)
    Membership.objects.create(user=both, team=west)
    Membership.objects.create(user=make_user("gone", is_active=False), team=personas.north)
    make_user("loner")
    service = RootCauseCategoryFactory(name="Service", order=2)
    delivery = RootCauseCategoryFactory(name="Delivery & returns", order=1)
    RootCause.objects.create(category=service, name="Rude <staff>")
    RootCause.objects.create(category=delivery, name="Late")
    RootCause.objects.create(category=delivery, name="Lost", active=False)
    for name, status in (("Wait", Theme.Status.ACTIVE), ("Price", Theme.Status.RETIRED),
                         ("Maybe", Theme.Status.PROPOSED), ("No", Theme.Status.REJECTED)):
        ThemeFactory(name=name, status=status)
    Segment.objects.create(name="Zeta", slug="zeta")
    Segment.objects.create(name="Alpha & co", slug="alpha")
    return personas


@pytest.mark.parametrize("who", ["alice", "mia", "adam", "nobody"])
def test_each_viewer_is_offered_what_the_fields_list(options, who):
    user = make_user("nobody", role="manager") if who == "nobody" else getattr(options, who)
    request = RequestFactory().get("/cases/")
    request.user = user
    form = CaseFilterSet({}, queryset=None, request=request).form
    expected = _iterated(form)
    assert _read(form, user) == expected
    if who == "alice":  # her team's active people, not the loner, the inactive or the other team's
        assert [label for _, label in expected["assignee"]] == ["alice", "bob", "dana", "mia"]  # str(user)
        assert [label for _, label in expected["team"]] == ["North"]
    if who == "adam":
        assert [label for _, label in expected["team"]] == ["North", "South", "West"]
    if who == "nobody":
        assert expected["team"] == expected["assignee"] == []
    assert [value for value, _ in expected["theme"]] == ["", "price", "wait"]
    assert [value for value, _ in expected["segment"]] == ["alpha", "zeta"]
    assert len(expected["root_cause"]) == RootCause.objects.count()


def test_the_panel_prints_the_options_and_still_refuses_one_it_does_not_offer(client, options):
    client.login(username="alice", password=PASSWORD)
    html = client.get("/cases/filters/?view=team").content.decode()
    assert f'value="{options.north.pk}"' in html and "Dana &lt;Ng&gt;" in html
    assert "Alpha &amp; co" in html and ">Wait<" in html
    response = client.get(f"/cases/?view=team&team={options.south.pk}")
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
