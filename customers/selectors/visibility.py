"""Which customers and accounts a user may see: the one rule (accounts.selectors.visible_team_ids)
applied to a customer's responses and cases. A customer is visible when at least one of their
responses or cases is in one of the user's teams (admins: every customer); an account when its
owner is the user or one of its contacts is visible. What is not visible is a 404."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from accounts.selectors import visible_team_ids
from core.lookups import AnyOf
from cases.models import Case
from customers.models import Account, Contact
from surveys.models import Customer, SurveyResponse


def of_customers(queryset: QuerySet, customer_ids) -> QuerySet:
    """Rows of `customer_ids`: one id as an equality (so the (customer, -answered_at) index also
    gives the timeline its order, which `= ANY(array)` does not), a list as one array parameter
    (core.lookups), a subquery as a subquery."""
    if isinstance(customer_ids, list | tuple):
        if len(customer_ids) == 1:
            return queryset.filter(customer_id=customer_ids[0])
        return queryset.filter(AnyOf(F("customer_id"), customer_ids))
    return queryset.filter(customer_id__in=customer_ids)


def visible_responses(user, customer_ids) -> QuerySet[SurveyResponse]:
    """Responses of `customer_ids` (ids or a subquery) the user may see."""
    queryset = of_customers(SurveyResponse.objects.all(), customer_ids)
    ids = visible_team_ids(user)
    if ids is None:
        return queryset
    if isinstance(customer_ids, list | tuple):
        # A few customers' responses: read by the customer index, the teams checked on each row.
        # Written as `team_id + 0` so PostgreSQL cannot AND in a bitmap of the team index, which
        # holds every response of the user's teams (300,000 entries read for 2,000 customers' rows
        # at 3,000,000 responses, and growing with the table).
        return queryset.filter(AnyOf(F("team_id") + 0, sorted(ids)))
    return queryset.filter(team_id__in=ids)


def visible_cases(user, customer_ids) -> QuerySet[Case]:
    queryset = of_customers(Case.objects.all(), customer_ids)
    ids = visible_team_ids(user)
    return queryset if ids is None else queryset.filter(team_id__in=ids)


def customer_seen_q(ids, ref: str = "pk") -> Q:
    return Q(Exists(SurveyResponse.objects.filter(customer_id=OuterRef(ref), team_id__in=ids))) | Q(
        Exists(Case.objects.filter(customer_id=OuterRef(ref), team_id__in=ids)))


def customers_for_user(user) -> QuerySet[Customer]:
    """Customers the user may see, merged ones left out (they live on in their target)."""
    queryset = Customer.objects.filter(merged_into__isnull=True)
    ids = visible_team_ids(user)
    return queryset if ids is None else queryset.filter(customer_seen_q(ids))


def customer_visible(user, customer: Customer) -> bool:
    ids = visible_team_ids(user)
    if ids is None:
        return True
    return (SurveyResponse.objects.filter(customer_id=customer.pk, team_id__in=ids).exists()
            or Case.objects.filter(customer_id=customer.pk, team_id__in=ids).exists())


def accounts_for_user(user) -> QuerySet[Account]:
    queryset = Account.objects.all()
    ids = visible_team_ids(user)
    if ids is None:
        return queryset
    seen = Contact.objects.filter(account_id=OuterRef("pk")).filter(customer_seen_q(ids, "customer_id"))
    return queryset.filter(Q(owner_id=user.pk) | Q(Exists(seen)))


def account_visible(user, account: Account) -> bool:
    return accounts_for_user(user).filter(pk=account.pk).exists()
