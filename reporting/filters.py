"""The one filter every report panel obeys: date range, team, survey, touchpoint, location, tier,
customer segment (a named segments.Segment: the rows carrying its bit, reporting.segment_bits, or
its customers through an IN subquery).

`ReportFilterForm` parses the query string (the HTML pages, the CSV export and the API all pass
the same parameters); `ReportFilters` is the validated result, already intersected with what the
user may see (accounts.selectors.visible_team_ids), and knows how to narrow a case or response
queryset and which inbox filters reproduce it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django import forms
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from accounts.selectors import visible_team_ids
from reporting.segment_bits import bit_of, has_bits
from segments.models import Segment
from segments.selectors import customers_in_q
from journeys.models import Journey
from surveys.models import Customer, ResponseTheme, Survey, SurveyResponse

DEFAULT_PERIOD_DAYS = 90
OPTIONS_CACHE_SECONDS = 15 * 60
# Dates a report may ask for: far enough either way for any real data, and far enough from
# 0001-01-01 and 9999-12-31 that a day added or a time zone applied cannot leave Python's range.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)


class ReportDateField(forms.DateField):
    def validate(self, value):
        super().validate(value)
        if value and not EARLIEST_DATE <= value <= LATEST_DATE:
            raise forms.ValidationError(
                f"Choose a date between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}.", code="out_of_range"
            )


@dataclass(frozen=True)
class ReportFilters:
    """Validated filters. `team_ids` is None only for an admin who picked no team (every team)."""

    team_ids: frozenset[int] | None
    start: dt.datetime | None = None  # inclusive
    end: dt.datetime | None = None  # exclusive
    team_id: int | None = None
    survey_id: int | None = None
    touchpoint: str = ""
    location: str = ""
    tier: str = ""
    segment: Segment | None = None
    journey_id: int | None = None  # the journey map's journey (None: the first journey)
    now: dt.datetime = field(default_factory=timezone.now)

    # --- querysets -------------------------------------------------------------------------
    def cases(self, queryset=None, date_field: str | None = None, via: str = ""):
        """Cases of the visible (and chosen) teams; segment filters read the opening response
        and the customer; `date_field` (created_at, closed_at) takes the date range. `via` is the
        path to the case when the queryset is of another model (e.g. "case__" for timeline events);
        `date_field` is then a field of that model."""
        from cases.models import Case

        qs = Case.objects.all() if queryset is None else queryset
        if self.team_ids is not None:
            qs = qs.filter(**{f"{via}team_id__in": self.team_ids})
        if self.survey_id:
            qs = qs.filter(**{f"{via}response__survey_id": self.survey_id})
        if self.touchpoint:
            qs = qs.filter(**{f"{via}response__touchpoint": self.touchpoint})
        if self.location:  # the case's copy of its opening response's (cases.response_keys): no join
            qs = qs.filter(**{f"{via}response_location": self.location})
        if self.tier:
            qs = qs.filter(**{f"{via}customer__tier": self.tier})
        if self.segment is not None:
            qs = qs.filter(self._in_segment(via))
        if date_field:
            qs = self.dates(qs, date_field)
        return qs

    def responses(self, queryset=None, via: str = "", date_field: str | None = None):
        """Responses owned by the visible (and chosen) teams, answered in the date range. `via` is
        the path to the response when the queryset is of another model (e.g. "response__" for theme
        tags); `date_field` (default: the response's answered_at) takes the date range."""
        qs = SurveyResponse.objects.all() if queryset is None else queryset
        if self.team_ids is not None:
            qs = qs.filter(**{f"{via}team_id__in": self.team_ids})
        if self.survey_id:
            qs = qs.filter(**{f"{via}survey_id": self.survey_id})
        if self.touchpoint:
            qs = qs.filter(**{f"{via}touchpoint": self.touchpoint})
        if self.location:
            qs = qs.filter(**{f"{via}location": self.location})
        if self.tier:
            qs = qs.filter(**{f"{via}customer__tier": self.tier})
        if self.segment is not None:
            qs = qs.filter(self._in_segment(via))
        return self.dates(qs, date_field or f"{via}answered_at")

    def _in_segment(self, via: str):
        """Cases or responses (through `via`) of the segment's customers: by the rows' stored bit
        when it is built (reporting.segment_bits), else by the IN subquery over the customers."""
        bit = bit_of(self.segment)
        if bit is not None:
            return has_bits(bit, via=via)
        return customers_in_q([self.segment], field=f"{via}customer_id")

    def theme_tags(self):
        """Theme tags (surveys.ResponseTheme) of the responses in scope, the period read on both
        tables: the tag's copy of its response's answer time (a theme's tags walk the index (theme,
        answered_at)) and the response's own, so that PostgreSQL reads only the period's monthly
        partitions of the responses it joins. Joined by id alone it read every month's of the
        viewer's teams (a manager's 5 teams, Themes narrowed to a segment at 10,000,000 responses:
        1.2 s for the statement, 0.35-0.4 s bounded; docs/benchmarks_reports.md). The two times are
        equal (surveys.services.recording.response_tags_follow keeps them so)."""
        tags = self.responses(ResponseTheme.objects.all(), via="response__", date_field="answered_at")
        return self.dates(tags, "response__answered_at")

    def dates(self, qs, field_name: str):
        """`qs` narrowed to the period on `field_name` (start inclusive, end exclusive)."""
        if self.start:
            qs = qs.filter(**{f"{field_name}__gte": self.start})
        if self.end:
            qs = qs.filter(**{f"{field_name}__lt": self.end})
        return qs

    # --- links -----------------------------------------------------------------------------
    def inbox_params(self) -> dict[str, str]:
        """The inbox filters that reproduce this report's filters (the tier has no inbox filter)."""
        params = {}
        if self.team_id:
            params["team"] = str(self.team_id)
        if self.survey_id:
            params["survey"] = str(self.survey_id)
        if self.touchpoint:
            params["touchpoint"] = self.touchpoint
        if self.location:
            params["location"] = self.location
        if self.segment is not None:
            params["segment"] = self.segment.slug
        return params

    @property
    def period_label(self) -> str:
        if not self.start and not self.end:
            return str(_("all time"))
        first = timezone.localdate(self.start).isoformat() if self.start else str(_("the beginning"))
        last = (timezone.localdate(self.end) - dt.timedelta(days=1)).isoformat() if self.end else str(_("now"))
        return str(_("%(first)s to %(last)s") % {"first": first, "last": last})

    def as_dict(self) -> dict:
        """What the API echoes back: the filters the figures were computed with."""
        return {
            "date_from": timezone.localdate(self.start).isoformat() if self.start else None,
            "date_to": (timezone.localdate(self.end) - dt.timedelta(days=1)).isoformat() if self.end else None,
            "team": self.team_id,
            "survey": self.survey_id,
            "touchpoint": self.touchpoint or None,
            "location": self.location or None,
            "tier": self.tier or None,
            "segment": self.segment.slug if self.segment is not None else None,
            **({"journey": self.journey_id} if self.journey_id else {}),
            "teams_in_scope": sorted(self.team_ids) if self.team_ids is not None else "all",
        }


class ReportFilterForm(forms.Form):
    """The filter bar. Teams on offer are the ones the user may see; anything else is refused."""

    date_from = ReportDateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = ReportDateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label=_("All my teams"))
    survey = forms.ModelChoiceField(queryset=Survey.objects.none(), required=False, empty_label=_("All surveys"))
    touchpoint = forms.CharField(required=False, max_length=120)
    location = forms.CharField(required=False, max_length=120)
    tier = forms.CharField(required=False, max_length=60, label=_("Customer tier"))
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.none(), required=False, to_field_name="slug", label=_("Customer segment"),
        empty_label=_("All customers"),
        error_messages={"invalid_choice": _("No segment with that slug (see /api/v1/segments/).")},
    )

    def __init__(self, data, *, user, default_days: int | None = DEFAULT_PERIOD_DAYS, default_offset_days: int = 0,
                 journey: bool = False):
        data = data.copy() if data is not None else {}
        self.default_days = default_days
        self.user = user
        if default_days and not data.get("date_from") and not data.get("date_to"):
            last = timezone.localdate() - dt.timedelta(days=default_offset_days)
            data["date_from"] = (last - dt.timedelta(days=default_days - 1)).isoformat()
            data["date_to"] = last.isoformat()
        super().__init__(data)
        self.fields["team"].queryset = Team.objects.visible_to(user).order_by("name")
        self.fields["survey"].queryset = Survey.objects.order_by("name")
        self.fields["segment"].queryset = Segment.objects.select_related("bit").order_by("name")
        for name in ("touchpoint", "location", "tier"):
            self.fields[name].widget.attrs["list"] = f"report-{name}-options"
        if journey:  # the journey map's reports (Report.journey): which journey
            self.fields["journey"] = forms.ModelChoiceField(
                queryset=Journey.objects.order_by("name"), required=False, label=_("Journey"),
                empty_label=_("The first journey"),
                error_messages={"invalid_choice": _("No such journey: choose one of the list.")},
            )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def filters(self) -> ReportFilters:
        """The validated filters; fields that failed validation fall back to "any"."""
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        visible = visible_team_ids(self.user)
        team = data.get("team")
        if team is not None:
            team_ids = frozenset({team.pk})
        else:
            team_ids = None if visible is None else frozenset(visible)
        tz = timezone.get_current_timezone()
        start = data.get("date_from")
        end = data.get("date_to")
        if "date_to" in self.errors:
            end = None
        return ReportFilters(
            team_ids=team_ids,
            start=dt.datetime.combine(start, dt.time.min, tzinfo=tz) if start else None,
            end=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz) if end else None,
            team_id=team.pk if team is not None else None,
            survey_id=data["survey"].pk if data.get("survey") else None,
            touchpoint=(data.get("touchpoint") or "").strip(),
            location=(data.get("location") or "").strip(),
            tier=(data.get("tier") or "").strip(),
            segment=data.get("segment"),
            journey_id=data["journey"].pk if data.get("journey") else None,
        )

    def options(self, *, compute: bool = True) -> dict[str, list[str]] | None:
        """Suggestions for the free-text segment fields (a <datalist> each), cached briefly. Only
        values the user may see: an admin's come from every response, anyone else's from the
        responses of their teams (a South manager is not told North's locations).

        `compute=False`: only what the cache holds, None when a list is missing. A report page
        asks this way and, on a miss, loads the lists after itself (reporting.views.filter_options):
        at 10M responses a team set's lists take seconds to read, more than the page."""
        visible = visible_team_ids(self.user)
        if visible is None:
            if not compute:
                keys = {name: _options_key(model, column) for name, (model, column) in OPTION_COLUMNS.items()}
                cached = cache.get_many(list(keys.values()))
                return {name: cached[key] for name, key in keys.items()} if len(cached) == len(keys) else None
            return {name: _distinct_values(model, column) for name, (model, column) in OPTION_COLUMNS.items()}
        if not compute:
            return cache.get(_team_options_key(frozenset(visible)))
        return _team_values(frozenset(visible))


OPTION_COLUMNS = {"touchpoint": (SurveyResponse, "touchpoint"), "location": (SurveyResponse, "location"),
                  "tier": (Customer, "tier")}


def _options_key(model, column: str) -> str:
    return f"reporting:options:{model._meta.label_lower}:{column}"


def _team_options_key(team_ids: frozenset[int]) -> str:
    return "reporting:options:teams:" + ",".join(str(pk) for pk in sorted(team_ids))


def _distinct_values(model, column: str, limit: int = 200) -> list[str]:
    """Distinct non-blank values of an indexed text column. On PostgreSQL a recursive "skip scan"
    walks the index once per distinct value, so ten million responses with fifty touchpoints
    cost fifty index probes, not a full scan."""
    key = _options_key(model, column)
    values = cache.get(key)
    if values is not None:
        return values
    table = model._meta.db_table
    if connection.vendor == "postgresql" and _has_index(model, column):
        sql = f"""
            WITH RECURSIVE walk(value, n) AS (
                (SELECT {column}, 1 FROM {table} WHERE {column} > '' ORDER BY {column} LIMIT 1)
                UNION ALL
                SELECT (SELECT {column} FROM {table} WHERE {column} > walk.value ORDER BY {column} LIMIT 1), n + 1
                FROM walk WHERE walk.value IS NOT NULL AND n < %s
            )
            SELECT value FROM walk WHERE value IS NOT NULL
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [limit])
            values = [row[0] for row in cursor.fetchall()]
    else:
        values = list(
            model.objects.exclude(**{column: ""}).order_by(column).values_list(column, flat=True).distinct()[:limit]
        )
    cache.set(key, values, OPTIONS_CACHE_SECONDS)
    return values


TEAM_OPTIONS_DAYS = 365


def _team_values(team_ids: frozenset[int], limit: int = 200) -> dict[str, list[str]]:
    """The segment values in the responses of these teams over the last TEAM_OPTIONS_DAYS (a
    range of the (team, answered_at) index, not every response ever), cached per set of teams."""
    key = _team_options_key(team_ids)
    values = cache.get(key)
    if values is not None:
        return values
    since = timezone.now() - dt.timedelta(days=TEAM_OPTIONS_DAYS)
    responses = SurveyResponse.objects.filter(team_id__in=team_ids, answered_at__gte=since)
    values = {
        column: list(responses.exclude(**{column: ""}).order_by(column).values_list(column, flat=True).distinct()[:limit])
        for column in ("touchpoint", "location")
    }
    values["tier"] = list(
        Customer.objects.filter(pk__in=responses.values("customer_id")).exclude(tier="").order_by("tier")
        .values_list("tier", flat=True).distinct()[:limit]
    )
    cache.set(key, values, OPTIONS_CACHE_SECONDS)
    return values


def _has_index(model, column: str) -> bool:
    field_obj = model._meta.get_field(column)
    return bool(field_obj.db_index)


