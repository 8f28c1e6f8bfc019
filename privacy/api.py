"""GET /api/v1/customers/{id}/export/ and POST /api/v1/customers/{id}/erase/: CX admins only."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsCxAdmin
from privacy.models import PrivacyLog
from privacy.services import customer_erase, customer_export
from surveys.models import Customer


class EraseInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


EraseOutput = inline_serializer(
    "CustomerEraseResult",
    {
        "responses": serializers.IntegerField(),
        "webhook_deliveries": serializers.IntegerField(),
        "cases": serializers.IntegerField(),
        "case_events": serializers.IntegerField(),
    },
)


class CustomerExportApi(APIView):
    permission_classes = [IsCxAdmin]

    @extend_schema(
        operation_id="customer_export",
        tags=["personal data"],
        responses={200: OpenApiResponse(description="Everything stored about the customer, as JSON.")},
    )
    def get(self, request, pk: int):
        customer = get_object_or_404(Customer, pk=pk)
        data = customer_export(customer_id=customer.pk, by=request.user, via=PrivacyLog.Via.API)
        return Response(data, headers={"Content-Disposition": f'attachment; filename="customer-{customer.pk}.json"'})


class CustomerEraseApi(APIView):
    permission_classes = [IsCxAdmin]

    @extend_schema(operation_id="customer_erase", tags=["personal data"], request=EraseInputSerializer, responses={200: EraseOutput})
    def post(self, request, pk: int):
        customer = get_object_or_404(Customer, pk=pk)
        payload = EraseInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        summary = customer_erase(
            customer_id=customer.pk, by=request.user, via=PrivacyLog.Via.API, reason=payload.validated_data["reason"]
        )
        return Response(summary)
