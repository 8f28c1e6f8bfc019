"""AlertFilterSet: the filters of /api/v1/alerts/."""

from __future__ import annotations

import django_filters

from alerts.models import Alert, AlertRule
from core.filters import UtcDateTimeFilter


class AlertFilterSet(django_filters.FilterSet):
    rule = django_filters.ModelMultipleChoiceFilter(queryset=AlertRule.objects.all())
    action = django_filters.MultipleChoiceFilter(choices=AlertRule.Action.choices)
    response = django_filters.NumberFilter(field_name="response_id")
    customer = django_filters.NumberFilter(field_name="response__customer_id")
    team = django_filters.NumberFilter(field_name="response__team_id")
    touchpoint = django_filters.CharFilter(field_name="response__touchpoint", lookup_expr="iexact")
    praised_user = django_filters.NumberFilter(field_name="praised_user_id")
    email_status = django_filters.ChoiceFilter(choices=Alert.EmailStatus.choices[1:])
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Alert
        fields = ["rule", "action", "response", "customer", "team", "touchpoint", "praised_user", "email_status"]
