"""The API list's filters: customer, account, kind, source, currency and a date range."""

from __future__ import annotations

import django_filters

from outcomes.models import OutcomeEvent


class OutcomeEventFilterSet(django_filters.FilterSet):
    customer = django_filters.NumberFilter(field_name="customer_id")
    account = django_filters.NumberFilter(field_name="account_id")
    kind = django_filters.MultipleChoiceFilter(choices=OutcomeEvent.Kind.choices)
    source = django_filters.CharFilter()
    currency = django_filters.CharFilter(method="_currency")
    occurred_from = django_filters.DateFilter(field_name="occurred_at", lookup_expr="date__gte",
                                              label="First day (inclusive)")
    occurred_to = django_filters.DateFilter(field_name="occurred_at", lookup_expr="date__lte",
                                            label="Last day (inclusive)")

    class Meta:
        model = OutcomeEvent
        fields = ["customer", "account", "kind", "source", "currency", "occurred_from", "occurred_to"]

    def _currency(self, queryset, name, value):
        return queryset.filter(currency=value.upper())
