"""/api/v1/churn/model/ (the models in use, customers' and accounts', and their held-out figures),
/api/v1/churn/customers/<id>/ and /api/v1/churn/accounts/<id>/ (a customer's or an account's risk
with its reasons, for those who may see them)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from churn import selectors
from churn.api import serializers as s


class ChurnModelView(APIView):
    @extend_schema(responses=s.ChurnStatusSerializer)
    def get(self, request):
        """The churn model in use (accuracy and calibration on a later, held-out period), or why
        there is none yet (no outcomes, too few churns)."""
        overview = selectors.churn_overview()
        accounts = selectors.churn_overview(selectors.ACCOUNT)
        return Response(s.ChurnStatusSerializer({
            "model": overview.model, "why_not": overview.why_not,
            "accounts": {"model": accounts.model, "why_not": accounts.why_not},
        }).data)


class CustomerRiskView(APIView):
    @extend_schema(responses=s.CustomerRiskSerializer,
                   parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="The customer's id.")])
    def get(self, request, pk: str):
        """A customer's churn risk and its main reasons, in the caller's language. 404 when the
        customer is not yours to see or is not scored."""
        from customers.selectors import customer_visible
        from surveys.models import Customer

        customer = Customer.objects.filter(pk=int(pk)).first() if pk.isascii() and pk.isdigit() else None
        if customer is None or not customer_visible(request.user, customer):
            raise NotFound("No such customer.")
        risk = selectors.customer_risk(customer.pk)
        if risk is None:
            raise NotFound("This customer has no churn risk (no model yet, or nothing recent to read).")
        return Response(s.CustomerRiskSerializer(risk).data)


class AccountRiskView(APIView):
    @extend_schema(responses=s.AccountRiskSerializer,
                   parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="The account's id.")])
    def get(self, request, pk: str):
        """An account's own churn risk (the accounts' model) and its main reasons, in the caller's
        language. 404 when the account is not yours to see or is not scored."""
        from customers.models import Account
        from customers.selectors import account_tree_ids, account_visible_to

        account = Account.objects.filter(pk=int(pk)).first() if pk.isascii() and pk.isdigit() else None
        if account is None or not account_visible_to(request.user, account, account_tree_ids(account)):
            raise NotFound("No such account.")
        risk = selectors.account_risk(account.pk)
        if risk is None:
            raise NotFound("This account has no churn risk (no accounts' model yet, or nothing recent to read).")
        return Response(s.AccountRiskSerializer(risk).data)
