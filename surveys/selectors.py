"""Reads for the surveys stage, scoped by accounts.selectors (the one visibility rule)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from accounts.selectors import scope_by_team, visible_team_ids
from surveys.models import Customer, SurveyResponse


def response_list_for_user(user) -> QuerySet[SurveyResponse]:
    """Responses whose team the user may see (admins: all)."""
    queryset = SurveyResponse.objects.select_related("source", "survey", "customer", "team")
    return scope_by_team(queryset, user)


def customer_list_for_user(user) -> QuerySet[Customer]:
    """Customers with at least one visible response, each with its visible responses prefetched."""
    visible = response_list_for_user(user).order_by("-answered_at")
    queryset = Customer.objects.all()
    if visible_team_ids(user) is not None:
        queryset = queryset.filter(Exists(visible.filter(customer=OuterRef("pk"))))
    return queryset.prefetch_related(Prefetch("responses", queryset=visible, to_attr="visible_responses"))
