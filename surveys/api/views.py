"""Read-only API over responses and customers, plus the documented webhook formats."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from surveys.api.serializers import CustomerSerializer, ResponseSerializer
from surveys.filtersets import CustomerFilterSet, ResponseFilterSet
from surveys.selectors import customer_list_for_user, response_list_for_user
from surveys.webhook_formats import FORMATS


class ResponseViewSet(viewsets.ReadOnlyModelViewSet):
    """Survey responses you may see (your teams'; admins all), newest first."""

    serializer_class = ResponseSerializer
    filterset_class = ResponseFilterSet

    def get_queryset(self):
        return response_list_for_user(self.request.user).order_by("-answered_at", "-id")


class CustomerViewSet(viewsets.ReadOnlyModelViewSet):
    """Customers with at least one response you may see, each with those responses."""

    serializer_class = CustomerSerializer
    filterset_class = CustomerFilterSet

    def get_queryset(self):
        return customer_list_for_user(self.request.user).order_by("name", "email", "id")


_EXAMPLES = [
    OpenApiExample(f"{name}: {fmt['title']}", value=fmt["example_body"], response_only=True,
                   description=fmt["description"] + "\n\nHeaders: " + ", ".join(fmt["headers"]))
    for name, fmt in FORMATS.items()
]


class WebhookFormatsView(APIView):
    """What each vendor posts to `POST /webhooks/<source-slug>/` and how it is signed.

    Answers: 202 `{"status": "accepted", "id", "delivery_id"}` once stored; 200 with the original
    id for a repeated delivery id; 401 bad or missing signature; 404 unknown or inactive source;
    413 body over 1 MB; 415 unsupported content type; 400 malformed body (the parser's reason);
    429 over the source's rate limit (Retry-After); 503 database unreachable (retry later)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="webhook_formats",
        summary="Webhook formats accepted at POST /webhooks/<source-slug>/",
        description=__doc__,
        parameters=[OpenApiParameter("vendor", OpenApiTypes.STR, description="Only this vendor's format.")],
        responses={200: OpenApiResponse(response=OpenApiTypes.OBJECT, examples=_EXAMPLES)},
        tags=["webhooks"],
    )
    def get(self, request):
        vendor = request.query_params.get("vendor")
        return Response({vendor: FORMATS[vendor]} if vendor in FORMATS else FORMATS)
