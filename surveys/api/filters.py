"""Filters of /api/v1/responses/ added by text analytics: `theme` (slug, repeatable: any of
them), `sentiment` (negative/neutral/positive, VADER's ±0.05 convention) and `language`."""

from __future__ import annotations

import django_filters as filters
from django.db.models import Exists, OuterRef, Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from surveys.filtersets import ResponseFilterSet
from surveys.models import ResponseTheme, Theme
from surveys.text import NEGATIVE_AT_MOST, POSITIVE_AT_LEAST

SENTIMENT_CHOICES = [("negative", "negative"), ("neutral", "neutral"), ("positive", "positive")]


def sentiment_q(label: str, field: str = "sentiment") -> Q:
    """The responses whose sentiment has this label (no sentiment: none of them)."""
    if label == "negative":
        return Q(**{f"{field}__lte": NEGATIVE_AT_MOST})
    if label == "positive":
        return Q(**{f"{field}__gte": POSITIVE_AT_LEAST})
    return Q(**{f"{field}__gt": NEGATIVE_AT_MOST, f"{field}__lt": POSITIVE_AT_LEAST})


@extend_schema_field(OpenApiTypes.STR)
class ThemeSlugFilter(filters.ModelMultipleChoiceFilter):
    """Theme slugs (the parameter repeated); an unknown slug is a 400 naming it."""


class ResponseTextFilterSet(ResponseFilterSet):
    theme = ThemeSlugFilter(
        queryset=Theme.objects.all(), to_field_name="slug", method="filter_theme",
        help_text="Theme slug; repeat the parameter for any of several themes.",
    )
    sentiment = filters.ChoiceFilter(
        choices=SENTIMENT_CHOICES, method="filter_sentiment",
        help_text="negative (≤ -0.05), neutral or positive (≥ 0.05): VADER's convention.",
    )
    language = filters.CharFilter(field_name="language", lookup_expr="iexact",
                                  help_text="ISO 639-1 code of the comment's language, e.g. en, fr.")

    class Meta(ResponseFilterSet.Meta):
        fields = ResponseFilterSet.Meta.fields

    def filter_theme(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(Exists(ResponseTheme.objects.filter(response_id=OuterRef("pk"), theme__in=value)))

    def filter_sentiment(self, queryset, name, value):
        return queryset.filter(sentiment_q(value)) if value else queryset
