"""/api/v1/customers/ and /api/v1/accounts/: the customer and account pages as JSON, scoped by
team as the pages are (out of scope: 404 and absent from lists). /api/v1/account-rules/: managers
read, CX admins create and change (no delete: a rule that opened cases is deactivated)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from accounts.permissions import IsCxAdminOrReadOnly, IsManager
from customers import selectors, services
from customers.api import serializers as s
from customers.filtersets import AccountFilterSet, CustomerFilterSet
from core.ids import parse_id


class CustomerViewSet(viewsets.ReadOnlyModelViewSet):
    """Customers with a response or a case in your teams (admins: all), merged ones left out.
    The detail adds identities, channels, consent per channel, accounts, score trends and the
    timeline (newest 100 entries) of what your teams may see."""

    serializer_class = s.CustomerSerializer
    filterset_class = CustomerFilterSet

    def get_queryset(self):
        return (selectors.customers_for_user(self.request.user).prefetch_related("identities__source")
                .order_by("name", "email", "id"))

    def _customer(self):
        from surveys.models import Customer

        pk = parse_id(self.kwargs["pk"])
        customer = Customer.objects.prefetch_related("identities__source").filter(pk=pk).first() if pk else None
        if customer is None or not selectors.customer_visible(self.request.user, customer):
            raise NotFound("No such customer.")
        return customer

    @extend_schema(responses=s.CustomerDetailSerializer)
    def retrieve(self, request, *args, **kwargs):
        customer = self._customer()
        return Response(s.CustomerDetailSerializer(selectors.customer_page(request.user, customer)).data)

    @extend_schema(request=s.ConsentInputSerializer, responses=s.CustomerDetailSerializer)
    @action(detail=True, methods=["post"])
    def consent(self, request, pk=None):
        """Record the customer's consent on a channel ("any" is the standing opt-out): granted,
        refused, or "" for not asked; `via`: how they told us. Honoured by the case e-mail
        action and the recovery checks."""
        customer = self._customer()
        data = s.ConsentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.customer_consent_set(customer_id=customer.pk, by=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        customer.refresh_from_db()
        return Response(s.CustomerDetailSerializer(selectors.customer_page(request.user, customer)).data)


class AccountViewSet(viewsets.ReadOnlyModelViewSet):
    """B2B accounts you own or with a contact your teams may see (admins: all). The detail adds
    the account page's figures over the account and every account under it."""

    serializer_class = s.AccountSerializer
    filterset_class = AccountFilterSet

    def get_queryset(self):
        return selectors.accounts_for_user(self.request.user).select_related("owner").order_by("name", "id")

    @extend_schema(responses=s.AccountDetailSerializer)
    def retrieve(self, request, *args, **kwargs):
        from customers.models import Account

        pk = parse_id(kwargs.get("pk"))
        account = Account.objects.select_related("owner", "parent").filter(pk=pk).first() if pk else None
        page = selectors.account_page(request.user, account) if account is not None else None
        if page is None:  # no such account, or not the user's to see
            raise NotFound("No such account.")
        return Response(s.AccountDetailSerializer(page).data)


class AccountRuleViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Account rules (docs/customers.md, "Account rules"): a decision maker is a detractor, the
    account's NPS falls by `points`, or no answer from the account for `window_days`; each opens a
    case in `team`'s inbox, assigned to the account's owner when they are in that team. Managers
    read; CX admins create and change (`"active": false` switches a rule off; there is no delete)."""

    serializer_class = s.AccountRuleSerializer
    permission_classes = [IsManager, IsCxAdminOrReadOnly]
    filterset_fields = ["active", "kind"]

    def get_queryset(self):
        from customers.models import AccountRule

        return AccountRule.objects.select_related("team").order_by("name", "id")

    def _save(self, serializer, rule):
        for field, value in serializer.validated_data.items():
            setattr(rule, field, value)
        try:
            serializer.instance = services.account_rule_save(rule)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc

    def perform_create(self, serializer):
        from customers.models import AccountRule

        self._save(serializer, AccountRule())

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance)
