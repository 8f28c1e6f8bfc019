"""CaseFilterSet: the one set of case filters behind both the API (/api/v1/cases/) and the HTML inbox.

status accepts the stored statuses plus the derived "overdue" and "due_soon" (several values OR);
`q` searches the reference, the customer's name and e-mail and the response comment; `theme` (a
theme's slug) keeps cases with a response about that theme; `sentiment` (negative, neutral,
positive) reads the opening response's comment score; `segment` (a named segment's slug, several
OR) keeps cases whose customer is in the segment (an IN subquery over customers); `sort` picks one of the orders in
cases.ordering.SORTS (an unknown one is a field error: 400 in the API, a message by the field on
the page)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field
from django.db import router
from django.db.models import Q, Value
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Priority, Team, User
from core.compiled import compiled_values
from core.filters import SharedFormFilterSet
from core.lean import lean_instances, select_related_names
from cases.forms import WIDGET_RENDERER
from cases.models import Case, CaseResponse, RootCause
from cases.ordering import SORT_CHOICES, SORTS
from core.scopes import response_scope_q
from cases.selectors import (
    INBOX_VIEWS,
    due_soon_q,
    inbox_queryset,
    overdue_q,
    overdue_since,
    with_sort,
)
from segments.models import Segment
from segments.selectors import customers_in_q
from surveys.filtersets import ThemeSlugFilter, theme_q
from surveys.models import Theme
from surveys.vocabulary import Sentiment, sentiment_q

DEFAULT_VIEW = "mine"
STATUS_CHOICES = [*Case.Status.choices, ("overdue", _("Overdue")), ("due_soon", _("Due soon"))]
OVERDUE_FOR_MAX_HOURS = 24 * 365 * 100


def _teams(request):
    if request is None:
        return Team.objects.all()
    return Team.objects.visible_to(request.user)


def _themes(request):
    """Themes a case can be filtered by: the ones in use and the retired ones (old cases keep
    them); proposed and rejected themes never tagged anything."""
    return Theme.objects.filter(status__in=[Theme.Status.ACTIVE, Theme.Status.RETIRED])


def _people(request):
    if request is None:
        return User.objects.all()
    from accounts.selectors import visible_team_ids

    return _people_in(visible_team_ids(request.user))


def _people_in(ids):
    """The active people in these teams (None: every active person)."""
    users = User.objects.filter(is_active=True)
    return users if ids is None else users.filter(memberships__team_id__in=ids).distinct()


_ROOT_CAUSES = RootCause.objects.select_related("category")
_SEGMENTS = Segment.objects.order_by("name")


# --- The filter panel's options ---------------------------------------------------------------
# The panel lists every visible team and person, every root cause, theme and segment: through
# their ModelChoiceIterators that was five querysets built, compiled and turned into instances on
# each view of a filtered inbox (about 4 ms of a saved view's 22 ms of CPU, bench/page_cpu.py).
# The same statements (the querysets above, as values) are compiled once per process
# (core.compiled), their rows built into the same instances (core.lean), and each option is what
# the field's iterator gives: its prepare_value() and label_from_instance().


_TEAM_NAMES = select_related_names(Team, ())
_USER_NAMES = select_related_names(User, ())
_ROOT_CAUSE_NAMES = select_related_names(RootCause, ("category",))
_THEME_NAMES = select_related_names(Theme, ())
_SEGMENT_NAMES = select_related_names(Segment, ())
_PANEL = {  # field: (the filter's own queryset, given {"teams": ...} unless every team is visible; the names read)
    "team": (lambda args: Team.objects.among(args.get("teams")), _TEAM_NAMES),
    "assignee": (lambda args: _people_in(args.get("teams")), _USER_NAMES),
    "root_cause": (lambda args: _ROOT_CAUSES, _ROOT_CAUSE_NAMES),
    "theme": (lambda args: _themes(None), _THEME_NAMES),
    "segment": (lambda args: _SEGMENTS, _SEGMENT_NAMES),
}


def panel_choices(form, user) -> dict[str, tuple]:
    """The panel's team, person, root cause, theme and segment options (see above), (value, label)
    tuples per field of `form`: what each field's own choices list, for `user`. The panel's
    widgets take them and its kept markup is keyed on them (cases.views.inbox_panels); submitted
    values are still checked against the field's queryset."""
    from accounts.selectors import visible_team_ids

    ids = visible_team_ids(user)
    args = {} if ids is None else {"teams": tuple(sorted(ids))}
    choices = {}
    for name, (queryset, names) in _PANEL.items():
        field = form.fields.get(name)
        if field is None:
            continue
        model = field.queryset.model
        using = router.db_for_read(model)
        empty = (("", field.empty_label),) if field.empty_label is not None else ()
        if name in ("team", "assignee"):
            if args.get("teams") == ():  # no team: no option (`IN ()` matches none)
                choices[name] = empty
                continue
            key, given = ("inbox.panel", name, len(args["teams"]) if args else "all"), args
        else:
            key, given = ("inbox.panel", name), {}  # the same for everyone
        rows = compiled_values(key, lambda a: queryset(a).values(*names), given, using=using)
        objects = lean_instances(model, rows, names, using=using)
        choices[name] = (*empty, *((field.prepare_value(obj), field.label_from_instance(obj)) for obj in objects))
    return choices


class FilterForm(forms.Form):
    """The filter panel's form: its widgets (checkboxes of teams, statuses, priorities; selects of
    people and themes) render through the case forms' Jinja2 renderer, Django's own widget
    templates: the same HTML for a third of the CPU (bench/page_cpu.py, a saved view's page)."""

    default_renderer = WIDGET_RENDERER


class CaseFilterSet(SharedFormFilterSet):
    # distinct=False on the multiple-choice filters: each is a column of the case itself (no join
    # that could repeat a case), and django-filter's default SELECT DISTINCT would make PostgreSQL
    # sort every matching case (wide rows) before the first page instead of walking an index.
    team = django_filters.ModelMultipleChoiceFilter(queryset=_teams, distinct=False)
    assignee = django_filters.ModelMultipleChoiceFilter(queryset=_people, distinct=False)
    unassigned = django_filters.BooleanFilter(field_name="assignee", lookup_expr="isnull", label=_("Unassigned"))
    status = django_filters.MultipleChoiceFilter(choices=STATUS_CHOICES, method="filter_status")
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices, distinct=False)
    touchpoint = django_filters.CharFilter(field_name="response__touchpoint", lookup_expr="iexact")
    location = django_filters.CharFilter(method="filter_location")
    survey = django_filters.NumberFilter(field_name="response__survey_id")
    root_cause = django_filters.ModelMultipleChoiceFilter(queryset=_ROOT_CAUSES,
                                                          distinct=False)
    customer = django_filters.NumberFilter(field_name="customer_id")
    created = django_filters.DateFromToRangeFilter(field_name="created_at")
    closed = django_filters.DateFromToRangeFilter(field_name="closed_at")
    due_within = django_filters.NumberFilter(
        method="filter_due_within", min_value=1, max_value=24 * 14, label=_("Due within (hours)")
    )
    escalation_level = django_filters.NumberFilter(
        field_name="escalation_level", lookup_expr="gte", min_value=0, max_value=2, label=_("Escalated to at least level")
    )
    escalation_level_max = django_filters.NumberFilter(
        field_name="escalation_level", lookup_expr="lte", min_value=0, max_value=2, label=_("Escalated to at most level")
    )
    # ?overdue_for_min=24&overdue_for_max=72: overdue, and its first clock ran out 24 to 72 hours
    # ago (wall-clock): the overdue dashboard's age buckets.
    # At most a century: a larger age has no case and would date the limit before the year 1.
    overdue_for_min = django_filters.NumberFilter(method="filter_overdue_for", min_value=0, max_value=OVERDUE_FOR_MAX_HOURS,
                                                  label=_("Overdue for at least (hours)"))
    overdue_for_max = django_filters.NumberFilter(method="filter_overdue_for", min_value=0, max_value=OVERDUE_FOR_MAX_HOURS,
                                                  label=_("Overdue for less than (hours)"))
    answered_again = django_filters.BooleanFilter(
        method="filter_answered_again", label=_("Customer answered again (NPS) after the closure")
    )
    theme = ThemeSlugFilter(
        queryset=_themes, to_field_name="slug", method="filter_theme", label=_("Theme"),
        error_messages={"invalid_choice": "No theme with that slug (see /api/v1/themes/)."},
    )
    sentiment = django_filters.MultipleChoiceFilter(
        choices=Sentiment.choices, method="filter_sentiment", label=_("Comment sentiment"),
    )
    segment = extend_schema_field({"type": "array", "items": {"type": "string"}})(django_filters.ModelMultipleChoiceFilter(
        queryset=_SEGMENTS, to_field_name="slug", method="filter_segment",
        label=_("Customer segment"),
        error_messages={"invalid_choice": "No segment with the slug %(value)s (see /api/v1/segments/)."},
    ))
    # A journey stage's cases (by their opening response), lent by the journeys app (core.scopes).
    journey_stage = django_filters.NumberFilter(method="filter_journey_stage", label=_("Journey stage"))
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    sort = django_filters.ChoiceFilter(
        choices=SORT_CHOICES, method="filter_sort", label=_("Sort by"), empty_label=_("The view's own order"),
        error_messages={"invalid_choice": f"Unknown sort %(value)s: use one of {', '.join(SORTS)}."},
    )

    class Meta:
        model = Case
        fields = ["team", "assignee", "status", "priority", "root_cause", "customer"]
        form = FilterForm

    def filter_status(self, queryset, name, values):
        if not values:
            return queryset
        now = timezone.now()
        condition = Q(pk__in=[])
        stored = [v for v in values if v in Case.Status.values]
        if stored:
            condition |= Q(status__in=stored)
        if "overdue" in values:
            condition |= overdue_q(now)
        if "due_soon" in values:
            condition |= due_soon_q(now)
        return queryset.filter(condition)

    def filter_due_within(self, queryset, name, value):
        """Open, not yet overdue, and a clock runs out within `value` hours."""
        return queryset.filter(due_soon_q(timezone.now(), dt.timedelta(hours=float(value))))

    def filter_overdue_for(self, queryset, name, value):
        """Overdue, and overdue since at least `overdue_for_min` / less than `overdue_for_max` hours
        (dated by the first clock that ran out), as the overdue dashboard's age buckets count."""
        if value is None:
            return queryset
        now = timezone.now()
        limit = Value(now - dt.timedelta(hours=float(value)))
        since = LessThanOrEqual(overdue_since(), limit) if name == "overdue_for_min" else GreaterThan(overdue_since(), limit)
        return queryset.filter(overdue_q(now)).filter(since)

    def filter_answered_again(self, queryset, name, value):
        """Closed cases whose customer answered (with an NPS score) after the closure: the
        recovery report's "answered again", stored on the case (cases.services.report_fields; the
        opening response's score: its copy, Case.response_nps)."""
        if value is None:
            return queryset
        again = Q(status=Case.Status.CLOSED, customer__isnull=False, response_nps__isnull=False,
                  answered_again_nps__isnull=False)
        return queryset.filter(again if value else ~again)

    def filter_journey_stage(self, queryset, name, value):
        return queryset.filter(response_scope_q("journey_stage", value, "response__"))

    def filter_location(self, queryset, name, value):
        return queryset.filter(Q(response__location__iexact=value) | Q(response__region__iexact=value))

    def filter_theme(self, queryset, name, theme):
        """Cases with a response about `theme`: the opening one or any attached later. A semi-join
        from the theme's tagged responses (one index range), so no per-row query and no duplicates."""
        if theme is None:
            return queryset
        tagged = CaseResponse.objects.filter(theme_q([theme], response="response_id")).values("case_id")
        return queryset.filter(pk__in=tagged)

    def filter_sentiment(self, queryset, name, values):
        if not values:
            return queryset
        condition = Q(pk__in=[])
        for value in values:
            condition |= sentiment_q(value, field="response__sentiment")
        return queryset.filter(condition)

    def filter_segment(self, queryset, name, segments):
        """Cases whose customer is in any of the segments: customer_id IN (the segments' customers),
        which PostgreSQL runs as a semi-join; a case without a customer is in no segment."""
        if not segments:
            return queryset
        return queryset.filter(customers_in_q(segments))

    def filter_sort(self, queryset, name, value):
        return with_sort(queryset, value) if value else queryset

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(reference__icontains=value)
            | Q(customer__name__icontains=value)
            | Q(customer__email__icontains=value)
            | Q(response__comment__icontains=value)
        )


# Query parameters of /cases/ that are not filters: they never change which cases match.
PAGING_PARAMS = {"after", "before", "size"}


def inbox_filterset(user, params, *, request=None, now=None) -> CaseFilterSet:
    """The inbox's cases for `params` (a QueryDict, or a dict of value lists): its view (default
    "My open"; an unknown one too) narrowed by CaseFilterSet. The inbox page lists `.qs` and a
    saved view counts it, so the two can never disagree. An explicit closure date range (a
    report's drill-down) replaces "Recently closed"'s last 7 days."""
    from types import SimpleNamespace

    from django.http import QueryDict

    if not isinstance(params, QueryDict):
        data = QueryDict(mutable=True)
        for key, values in params.items():
            data.setlist(key, list(values))
        params = data
    view = params.get("view") if params.get("view") in INBOX_VIEWS else DEFAULT_VIEW
    closed_window = not (params.get("closed_after") or params.get("closed_before"))
    queryset = inbox_queryset(user, view, now, closed_window=closed_window)
    return CaseFilterSet(params, queryset=queryset, request=request or SimpleNamespace(user=user))
