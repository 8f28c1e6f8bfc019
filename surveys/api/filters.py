"""Filters of /api/v1/responses/ added by text analytics: `theme` (slug, repeatable: any of
them), `sentiment` (negative/neutral/positive, VADER's ±0.05 convention: surveys.vocabulary)
and `language`."""

from __future__ import annotations

import django_filters as filters

from surveys.filtersets import ResponseFilterSet, ThemeSlugsFilter, theme_q
from surveys.models import Theme
from surveys.vocabulary import Sentiment, sentiment_q


class ResponseTextFilterSet(ResponseFilterSet):
    theme = ThemeSlugsFilter(
        queryset=Theme.objects.all(), to_field_name="slug", method="filter_theme",
        help_text="Theme slug; repeat the parameter for any of several themes.",
    )
    sentiment = filters.ChoiceFilter(
        choices=[(value, value) for value in Sentiment.values], method="filter_sentiment",
        help_text="negative (≤ -0.05), neutral or positive (≥ 0.05): VADER's convention.",
    )
    language = filters.CharFilter(field_name="language", lookup_expr="iexact",
                                  help_text="ISO 639-1 code of the comment's language, e.g. en, fr.")

    class Meta(ResponseFilterSet.Meta):
        fields = ResponseFilterSet.Meta.fields

    def filter_theme(self, queryset, name, value):
        return queryset.filter(theme_q(value)) if value else queryset

    def filter_sentiment(self, queryset, name, value):
        return queryset.filter(sentiment_q(value)) if value else queryset
