"""The filters of /api/v1/customers/ and /api/v1/accounts/ (and the list pages' search)."""

from __future__ import annotations

from django.db.models import Q
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field

from core.phones import to_e164
from customers.models import Account
from segments.models import Segment
from segments.selectors import customers_in_q
from surveys.models import Customer


def search_q(q: str) -> Q:
    """Name, e-mail or external id contains `q`; a phone number matches its E.164 form."""
    query = Q(name__icontains=q) | Q(email__icontains=q) | Q(external_id__icontains=q)
    if phone := to_e164(q):
        query |= Q(phone=phone) | Q(identities__kind="phone", identities__value=phone)
    return query


class CustomerFilterSet(filters.FilterSet):
    q = filters.CharFilter(method="filter_q", help_text="Name, e-mail or external id contains; or a phone number.")
    tier = filters.CharFilter(lookup_expr="iexact")
    segment = filters.CharFilter(lookup_expr="iexact")
    email = filters.CharFilter(method="filter_email", help_text="Any of the customer's e-mails (ignoring case).")
    external_id = filters.CharFilter(method="filter_external_id", help_text="Any of the customer's external ids.")
    phone = filters.CharFilter(method="filter_phone", help_text="Any of the customer's phones, in any format that "
                                                                "reads as a number (compared in E.164).")
    account = filters.NumberFilter(field_name="account_contacts__account", help_text="Contacts of this account.")
    min_churn_risk = filters.NumberFilter(field_name="churn_risk", lookup_expr="gte",
                                          help_text="Churn risk at least this (0..1; docs/churn-risk.md).")
    in_segment = extend_schema_field({"type": "array", "items": {"type": "string"}})(filters.ModelMultipleChoiceFilter(
        queryset=Segment.objects.all(), to_field_name="slug", method="filter_in_segment",
        help_text="In any of these named segments (slugs, /api/v1/segments/).",
        error_messages={"invalid_choice": "No segment with the slug %(value)s (see /api/v1/segments/)."},
    ))

    class Meta:
        model = Customer
        fields = ["tier", "segment"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(search_q(value)).distinct()

    def filter_in_segment(self, queryset, name, segments):
        if not segments:
            return queryset
        return queryset.filter(customers_in_q(segments, field="pk"))

    def filter_email(self, queryset, name, value):
        value = value.strip().lower()
        return queryset.filter(Q(email__iexact=value) | Q(identities__kind="email", identities__value=value)).distinct()

    def filter_external_id(self, queryset, name, value):
        return queryset.filter(Q(external_id=value) | Q(identities__kind="external_id", identities__value=value)).distinct()

    def filter_phone(self, queryset, name, value):
        phone = to_e164(value)
        if phone is None:
            return queryset.none()
        return queryset.filter(Q(phone=phone) | Q(identities__kind="phone", identities__value=phone)).distinct()


class AccountFilterSet(filters.FilterSet):
    q = filters.CharFilter(method="filter_q", help_text="Name or external id contains.")
    owner = filters.CharFilter(field_name="owner__username", help_text="The owner's username.")
    parent = filters.NumberFilter(field_name="parent")
    top_level = filters.BooleanFilter(field_name="parent", lookup_expr="isnull", help_text="Only accounts with no parent.")
    renewal_before = filters.DateFilter(field_name="renewal_date", lookup_expr="lte")
    renewal_after = filters.DateFilter(field_name="renewal_date", lookup_expr="gte")
    min_churn_risk = filters.NumberFilter(field_name="churn_risk", lookup_expr="gte",
                                          help_text="Churn risk at least this (0..1; docs/churn-risk.md).")

    class Meta:
        model = Account
        fields = ["parent"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(external_id__icontains=value))
