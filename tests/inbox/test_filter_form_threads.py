"""The inbox's filters share one form class per process (core.filters.SharedFormFilterSet): what
one person may pick, and the cases a method filter finds, stay that person's when requests run
at the same time in threads of one process."""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import pytest
from django.http import QueryDict
from django.utils import translation
from django_filters.utils import label_for_filter

from accounts.models import User
from cases.filtersets import CaseFilterSet, inbox_filterset
from cases.models import Case
from tests.concurrency import run_concurrently
from tests.inbox.helpers import make_case, make_customer


def _params(**values) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in values.items():
        data.setlist(key, value if isinstance(value, list) else [value])
    return data


def _look(user_id: int, team_id: int, search: str, rounds: int = 15) -> list[tuple]:
    """What `user` sees, `rounds` times: the team filter's verdict, the people they may pick, the
    cases the search (a method filter: it runs through the filter's parent) finds."""
    user = User.objects.get(pk=user_id)
    seen = []
    for _ in range(rounds):
        filterset = inbox_filterset(user, _params(view="team", team=str(team_id), q=search))
        valid = filterset.is_valid()
        people = sorted(filterset.form.fields["assignee"].queryset.values_list("username", flat=True))
        found = sorted(filterset.qs.values_list("reference", flat=True)) if valid else None
        seen.append((valid, filterset.form.errors.get("team"), people, found))
    return seen


@pytest.mark.django_db(transaction=True)
def test_people_filtering_at_once_in_threads_each_see_only_their_own_choices(personas):
    north_case = make_case(personas.north, customer=make_customer(name="Nora North", email="nora@example.com"))
    south_case = make_case(personas.south, customer=make_customer(name="Sam South", email="sam@example.com"))
    alice = partial(_look, personas.alice.pk, personas.north.pk, "Nora")
    charlie = partial(_look, personas.charlie.pk, personas.south.pk, "Sam")
    alice_tries_south = partial(_look, personas.alice.pk, personas.south.pk, "Sam")

    results = run_concurrently(alice, charlie, alice_tries_south, alice, charlie, alice_tries_south)

    north_people = ["alice", "bob", "mia"]
    for seen in (results[0], results[3]):
        assert set(map(repr, seen)) == {repr((True, None, north_people, [north_case.reference]))}
    for seen in (results[1], results[4]):
        assert set(map(repr, seen)) == {repr((True, None, ["charlie"], [south_case.reference]))}
    refused = f"Select a valid choice. {personas.south.pk} is not one of the available choices."
    for seen in (results[2], results[5]):
        assert {(valid, tuple(errors)) for valid, errors, _people, _found in seen} == {(False, (refused,))}


@pytest.mark.django_db
def test_the_shared_form_class_holds_no_persons_choices(personas):
    form_class = CaseFilterSet.shared_form_class()
    assert form_class is CaseFilterSet.shared_form_class()
    for name in ("team", "assignee", "theme"):
        assert list(form_class.base_fields[name].queryset) == []
    # A filterset with no request (a saved view's count has its user) offers every team, as before.
    filterset = CaseFilterSet(_params(team=str(personas.south.pk)), queryset=Case.objects.all())
    assert filterset.is_valid()
    assert filterset.form.fields["team"].queryset.count() == 2
    assert list(CaseFilterSet.shared_form_class().base_fields["team"].queryset) == []


@pytest.mark.django_db
def test_each_filterset_has_filters_of_its_own(personas):
    request = SimpleNamespace(user=personas.alice)
    first = CaseFilterSet(_params(q="a"), queryset=Case.objects.all(), request=request)
    second = CaseFilterSet(_params(q="b"), queryset=Case.objects.all(), request=request)
    for filterset in (first, second):
        assert filterset.filters["q"].parent is filterset and filterset.filters["q"].filter.f is filterset.filters["q"]
        assert filterset.filters["team"] is not CaseFilterSet.base_filters["team"]
    first.form.fields["team"]  # the request's queryset is written into the copy's kwargs only
    assert first.filters["team"].extra is not CaseFilterSet.base_filters["team"].extra
    assert "parent" not in vars(CaseFilterSet.base_filters["q"])


def test_labels_worded_by_django_filter_follow_the_language():
    for language in ("en", "fr"):
        with translation.override(language):
            form = CaseFilterSet.shared_form_class()()
            assert form.fields["customer"].label == label_for_filter(Case, "customer_id", "exact")
    with translation.override("en"):
        english = CaseFilterSet.shared_form_class()
    with translation.override("fr"):
        assert CaseFilterSet.shared_form_class() is not english
