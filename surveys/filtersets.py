"""ResponseFilterSet: the filters of /api/v1/responses/ (customers.filtersets has /api/v1/customers/),
and the one theme filter: `theme_q` and the slug filters, shared with the case filters
(cases.filtersets) and the alert backtest."""

from __future__ import annotations

import django_filters as filters
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from core.filters import UtcDateTimeFilter
from core.scopes import response_scope_q
from surveys.models import Metric, ResponseTheme, SurveyResponse

METRIC_COLUMNS = {"nps": "nps", "csat": "csat", "ces": "ces"}


def theme_q(themes, response: str = "pk") -> Q:
    """The rows whose response (`response`: the path to its id, "pk" for responses themselves,
    "response_id" for a case's responses) is tagged with any of `themes` (Theme rows or ids). A
    semi-join from the themes' tags (one index range), so no duplicates and no per-row query."""
    return Q(**{f"{response}__in": ResponseTheme.objects.filter(theme__in=themes).values("response_id")})


# The theme parameters: a slug (or the slug repeated), filtered with theme_q in the method.
@extend_schema_field(OpenApiTypes.STR)
class ThemeSlugFilter(filters.ModelChoiceFilter):
    """A theme by its slug (the API documents it as a string)."""


@extend_schema_field(OpenApiTypes.STR)
class ThemeSlugsFilter(filters.ModelMultipleChoiceFilter):
    """Theme slugs (the parameter repeated: any of them); an unknown slug is a 400 naming it."""


class ResponseFilterSet(filters.FilterSet):
    survey = filters.NumberFilter(field_name="survey_id")
    source = filters.CharFilter(field_name="source__slug")
    customer = filters.NumberFilter(field_name="customer_id")
    team = filters.NumberFilter(field_name="team_id", help_text="The owning team's id (within the teams you may see).")
    touchpoint = filters.CharFilter(field_name="touchpoint", lookup_expr="iexact")
    location = filters.CharFilter(field_name="location", lookup_expr="iexact")
    metric = filters.CharFilter(method="filter_metric", help_text="nps, csat, ces, or a custom question key.")
    score_min = filters.NumberFilter(method="filter_noop", help_text="Lowest score of `metric` (default nps).")
    score_max = filters.NumberFilter(method="filter_noop", help_text="Highest score of `metric` (default nps).")
    answered_after = UtcDateTimeFilter(field_name="answered_at", lookup_expr="gte")
    answered_before = UtcDateTimeFilter(field_name="answered_at", lookup_expr="lt")
    has_comment = filters.BooleanFilter(method="filter_has_comment")
    journey_stage = filters.NumberFilter(
        method="filter_journey_stage",
        help_text="A journey stage's id: the responses that belong to it (touchpoint, else survey, else source).",
    )

    class Meta:
        model = SurveyResponse
        fields = ["survey", "source", "customer", "touchpoint", "location"]

    def filter_noop(self, queryset, name, value):
        return queryset  # applied together with `metric` in filter_queryset

    def filter_metric(self, queryset, name, value):
        return queryset  # see filter_queryset

    def filter_journey_stage(self, queryset, name, value):
        return queryset.filter(response_scope_q("journey_stage", value))

    def filter_has_comment(self, queryset, name, value):
        return queryset.exclude(comment="") if value else queryset.filter(comment="")

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        metric = (data.get("metric") or "").strip()
        low, high = data.get("score_min"), data.get("score_max")
        if not metric and low is None and high is None:
            return queryset
        metric = metric or Metric.NPS
        if metric in METRIC_COLUMNS:
            column = METRIC_COLUMNS[metric]
            queryset = queryset.filter(**{f"{column}__isnull": False})
        else:
            column = f"scores__{metric}__value"
            queryset = queryset.filter(scores__has_key=metric)
            # Compared inside JSON: a number JSON can hold (a Decimal cannot be written into the query).
            low, high = (float(v) if v is not None else None for v in (low, high))
        if low is not None:
            queryset = queryset.filter(**{f"{column}__gte": low})
        if high is not None:
            queryset = queryset.filter(**{f"{column}__lte": high})
        return queryset
