"""The inbox's list statements: what a row reads, and the first page of a list compiled once per
process per shape (core.compiled), with or without filters.

    row_fields() -> tuple[str, ...]              # what a row reads (the page's rows are keyed on them)
    row_queryset(filterset) -> QuerySet          # the list query, built per request
    first_page(user, params, view, size, now) -> Page | None          # a view, a sort: no filters
    filtered_first_page(user, form, params, view, size, now, count) -> (Page, int | None) | None

A list the compiled paths do not take (a search, a date range, a cursor, a theme...) is built
per request by row_queryset and keyset.paginate, as before: the same statement either way
(tests/inbox/test_compiled_first_page.py, tests/inbox/test_compiled_filtered_page.py). Both
compiled paths hand the rows' JSON over as the database sent it (core.compiled.Raw): cases.rows
decodes it only for a row whose markup it has not kept."""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace

from django.db import router
from django.db.models import QuerySet
from django.http import QueryDict
from django_filters.constants import EMPTY_VALUES

from accounts.models import Team, User
from cases import keyset, selectors
from cases.filtersets import CaseFilterSet, inbox_filterset
from cases.models import Case, RootCause
from cases.rows import json_names
from core.compiled import compiled_count, compiled_values

# What a row shows, fetched in the page's one query (no per-row queries): the case's own columns
# (the SLA state, the keyset order) and, of each related row (the opening response, customer,
# team, assignee, the alert's rule), only what the row prints: no JSON attributes, opening hours,
# rule conditions or timestamps decoded for nothing. A template that starts reading another
# related field adds a query per row, which the inbox's query-count test catches.
ROW_RELATED_FIELDS = (
    "response__comment", "response__scores", "response__nps", "response__csat", "response__csat_scale_min",
    "response__csat_scale_max", "response__ces", "response__ces_scale_min", "response__ces_scale_max",
    "response__ces_high_is_easy", "customer__name", "customer__email", "customer__external_id",
    "customer__tier", "response__touchpoint", "response__location", "team__name", "assignee__username",
    "assignee__first_name", "assignee__last_name",
    "alert__rule__metric", "alert__rule__metric_key",
)
# The case's own columns a row never prints (its SLA words read the due times, status and first
# contact; the optional columns value, age and status): left out of the list query. Each
# timestamp left out is also one less through the driver's Python timestamp parser (Django
# registers psycopg's Python loader for timestamptz: about 10 us each, 51 rows a page).
CASE_UNREAD = {"resolution", "prevention", "root_cause_suggestions", "overdue_at", "escalated_at",
               "due_soon_notified_at", "closed_at", "closed_by", "answered_again", "answered_again_at",
               "answered_again_nps", "updated_at", "reopen_count", "first_contact_business_seconds",
               "close_business_seconds", "response_touchpoint", "response_survey", "response_source",
               "response_answered_at", "suggestion_taken", "sla_policy", "root_cause", "outcome",
               "escalation_level", "customer_churn_risk"}


@cache
def row_fields() -> tuple[str, ...]:
    own = [field.attname for field in Case._meta.concrete_fields if field.name not in CASE_UNREAD]
    return (*own, "alert__rule", *ROW_RELATED_FIELDS)


@cache
def _raw() -> frozenset[str]:
    """The rows' JSON, left as sent by the compiled list queries: the page decodes a row's only
    when its markup is not kept (cases.rows.page_rows_html), about 0.2 ms of a page's CPU."""
    return json_names(row_fields())


def _rows(queryset: QuerySet) -> QuerySet:
    return queryset.select_related(None).values(*row_fields())


def row_queryset(filterset):
    """The page's list query: the filtered cases' row fields as values (joins to the related rows
    a row prints, as select_related would make them), which the view turns into cases with their
    related rows cached (core.lean: the same instances select_related(...).only(...) made, for a
    fraction of the calls)."""
    return _rows(filterset.qs)


# Parameters that leave the list query's text to the view, the sort and the page size: the
# first page of such a list runs its statement compiled once per process (first_page).
FIRST_PAGE_PARAMS = {"view", "sort", "size", "columns", "panel"}


def first_page(user, params: QueryDict, view: str, size: int, now) -> keyset.Page | None:
    """The first page of a view in one of its sorts, without filters, from the list query compiled
    once per process (core.compiled) for its shape: the view, the sort, the page size, and whom
    the person sees (every team, or how many teams); the person, their teams and the moment are
    the statement's parameters. None for any other list (filters, a search, a cursor, a view
    whose statement derives a value from the moment), which the caller builds as before. The
    statement is the one row_queryset and keyset.paginate compile for the same list (built by
    them, with sentinel values: tests/inbox/test_compiled_first_page.py)."""
    from cases.ordering import SORTS

    sort = params.get("sort") or ""
    if (any(key not in FIRST_PAGE_PARAMS for key in params) or (sort and sort not in SORTS)
            or len(params.getlist("view")) > 1 or len(params.getlist("sort")) > 1):
        return None
    seen = selectors.seen_teams(user)
    if seen.get("teams") == ():
        return None  # sees no team: the list is empty, and quick to find so
    args = {"user": user.pk, "now": now, **seen}
    key = ("inbox.first_page", view, sort, size, *selectors.seen_teams_key(seen))
    rows = compiled_values(key, _first_page_builder(view, sort, size), args, using=router.db_for_read(Case),
                           raw=_raw())
    return keyset.page_of(rows, size)


def _first_page_builder(view: str, sort: str, size: int):
    def build(args: dict):
        params = QueryDict(mutable=True)
        params["view"] = view
        if sort:
            params["sort"] = sort
        filterset = inbox_filterset(selectors.stand_in(args, pk=args["user"]), params, now=args["now"])
        return keyset.first_page_query(row_queryset(filterset), size)

    return build


# --- the first page of a filtered list (a saved view, a report's drill-down) -----------------------
#
# The filters whose statement has the same text for every value a person can give, so compiled
# once per shape: the choices' values (a few of each: priorities, stored statuses, assigned or
# not) are part of the key, the teams', people's and root causes' ids are the statement's
# arguments (how many is part of the key). "Overdue" and "Due soon" among the statuses read the
# clock inside the filter, so a list with them is built per request; so is any other filter.
KEYED_FILTERS = {"priority", "status", "unassigned"}
ID_FILTERS = {"team": Team, "assignee": User, "root_cause": RootCause}
FILTERED_PAGE_PARAMS = {*FIRST_PAGE_PARAMS, *KEYED_FILTERS, *ID_FILTERS}


def filtered_first_page(user, form, params: QueryDict, view: str, size: int, now,
                        count: bool) -> tuple[keyset.Page, int | None] | None:
    """The first page of a list narrowed by the filters above (and how many cases match, when
    `count`), from statements compiled once per shape: the view, the sort, the page size, whom
    the person sees, each filter's values or how many ids. `form` is the request's FilterSet form
    (its cleaned values are the filters'). None for any other list, which the caller builds as
    before; the statements are the ones row_queryset, keyset.paginate and count() compile for the
    same filters (tests/inbox/test_compiled_filtered_page.py)."""
    if (any(key not in FILTERED_PAGE_PARAMS for key in params) or len(params.getlist("view")) > 1
            or not form.is_valid()):
        return None
    seen = selectors.seen_teams(user)
    if seen.get("teams") == ():
        return None
    args, shape = {"user": user.pk, "now": now, **seen}, []
    for name, value in form.cleaned_data.items():
        if value in EMPTY_VALUES or (isinstance(value, QuerySet) and value.query.is_empty()):
            continue
        if name in ID_FILTERS:
            args[name] = tuple(sorted(obj.pk for obj in value))
            shape.append((name, len(args[name])))
        elif name in KEYED_FILTERS or name == "sort":
            if name == "status" and any(status not in Case.Status.values for status in value):
                return None  # "overdue", "due soon": the filter reads the clock
            shape.append((name, tuple(sorted(value)) if isinstance(value, list) else value))
        else:
            return None
    shape, using = tuple(shape), router.db_for_read(Case)
    key = (view, size, shape, *selectors.seen_teams_key(seen))
    required = tuple(name for name, _value in shape if name in ID_FILTERS)
    build = _filtered_builder(view, shape)
    rows = compiled_values(("inbox.filtered_page", *key), lambda a: keyset.first_page_query(_rows(build(a)), size),
                           args, using=using, required=required, raw=_raw())
    matches = compiled_count(("inbox.filtered_count", *key), build, args, using=using, required=required) if count else None
    return keyset.page_of(rows, size), matches


def _filtered_builder(view: str, shape: tuple):
    """The filtered cases for `args`, through the FilterSet's own filters in its order (as
    CaseFilterSet.filter_queryset applies them), the ids made into instances of their models."""

    def build(args: dict) -> QuerySet:
        person = selectors.stand_in(args, pk=args["user"])
        filterset = CaseFilterSet(queryset=selectors.inbox_queryset(person, view, args["now"]),
                                  request=SimpleNamespace(user=person))
        queryset = filterset.queryset
        for name, value in shape:
            if name in ID_FILTERS:
                value = [ID_FILTERS[name](pk=pk) for pk in args[name]]
            elif isinstance(value, tuple):
                value = list(value)
            queryset = filterset.filters[name].filter(queryset, value)
        return queryset

    return build
