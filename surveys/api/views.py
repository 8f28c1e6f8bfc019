"""The surveys API: responses and customers (read-only), themes, webhook sources (CX admins),
and the documented webhook formats."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ADMIN, IsCxAdmin, IsCxAdminOrReadOnly, has_role
from core.api import SLUG_CHARACTERS
from surveys import services
from surveys.api.filters import ResponseTextFilterSet
from surveys.api.serializers import (
    ResponseSerializer, SourceCreatedSerializer, SourceSerializer, TestDeliverySerializer,
    ThemeSerializer,
)
from surveys.models import ResponseTheme, Theme, WebhookSource
from surveys.selectors import response_list_for_user
from surveys.webhook_formats import FORMATS


class ResponseViewSet(viewsets.ReadOnlyModelViewSet):
    """Survey responses you may see (your teams'; admins all), newest first, each with its
    comment's sentiment (-1..1; `sentiment_source` text = VADER, score = from the score, for
    comments not in English), `language` and `themes` (slugs, with the matched words)."""

    serializer_class = ResponseSerializer
    filterset_class = ResponseTextFilterSet

    def get_queryset(self):
        links = ResponseTheme.objects.select_related("theme").order_by("theme__name")
        return (response_list_for_user(self.request.user).order_by("-answered_at", "-id")
                .prefetch_related(Prefetch("theme_links", queryset=links)))


# (from status, to status) -> the decision that makes that change (surveys.services.theme_decide)
STATUS_DECISIONS = {
    (Theme.Status.PROPOSED, Theme.Status.ACTIVE): "accept",
    (Theme.Status.PROPOSED, Theme.Status.REJECTED): "reject",
    (Theme.Status.ACTIVE, Theme.Status.RETIRED): "retire",
    (Theme.Status.RETIRED, Theme.Status.ACTIVE): "reactivate",
    (Theme.Status.REJECTED, Theme.Status.ACTIVE): "reactivate",
}


class ThemeViewSet(viewsets.ModelViewSet):
    """Themes: what comments are about. Everyone signed in reads the active and retired ones
    (filter responses with `?theme=<slug>`); CX admins also see proposed and rejected themes,
    create themes and change them (a status change is a decision: proposed -> active or
    rejected, active -> retired, retired or rejected -> active). Themes are retired, never
    deleted (the comments they tagged keep them)."""

    serializer_class = ThemeSerializer
    permission_classes = [IsCxAdminOrReadOnly]
    lookup_field = "slug"
    lookup_value_regex = SLUG_CHARACTERS.pattern  # only a slug's characters reach the database: a NUL is a 404
    filterset_fields = ["status", "origin"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    queryset = Theme.objects.all()

    def get_queryset(self):
        themes = Theme.objects.order_by("name")
        if not has_role(self.request.user, ADMIN):
            themes = themes.filter(status__in=[Theme.Status.ACTIVE, Theme.Status.RETIRED])
        return themes

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.theme_create(
            name=data["name"], keywords=data.get("keywords", []), description=data.get("description", ""),
            status=data.get("status", Theme.Status.ACTIVE), by=self.request.user,
        )

    @transaction.atomic
    def perform_update(self, serializer):
        theme, data = serializer.instance, serializer.validated_data
        to = data.get("status", theme.status)
        decision = STATUS_DECISIONS.get((theme.status, to)) if to != theme.status else None
        if to != theme.status and decision is None:
            raise serializers.ValidationError({"status": gettext(
                "A %(status)s theme cannot become %(to)s: accept or reject a proposal, retire an active theme, "
                "reactivate a retired or rejected one.") % {"status": theme.status, "to": to}})
        changes = {name: data[name] for name in ("name", "keywords", "description") if name in data}
        if changes:
            theme = services.theme_update(theme_id=theme.pk, by=self.request.user, **changes)
        if decision:
            theme = services.theme_decide(theme_id=theme.pk, decision=decision, by=self.request.user)
        serializer.instance = theme


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


class SourceViewSet(viewsets.ModelViewSet):
    """Webhook sources, for CX admins (others: 404; accounts.permissions). Create answers the
    source with its `secret` and `url` (the secret is not shown again; write it to rotate it).
    Mapping and auth are checked as on the set-up page (errors name the mapping key or auth
    option). Sources are deactivated (`active: false`), never deleted here: their deliveries and
    responses keep them. `POST /api/v1/sources/<slug>/test-delivery/` posts the vendor's signed
    sample delivery through the webhook door and answers what the door answered."""

    serializer_class = SourceSerializer
    permission_classes = [IsCxAdmin]
    lookup_field = "slug"
    lookup_value_regex = SLUG_CHARACTERS.pattern  # only a slug's characters reach the database: a NUL is a 404
    queryset = WebhookSource.objects.order_by("name")
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    @extend_schema(responses={201: SourceCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            source = services.source_create(
                name=data["name"], slug=data.get("slug", ""), vendor=data["vendor"], secret=data.get("secret", ""),
                auth=data.get("auth") or {}, mapping=data.get("mapping") or {}, active=data.get("active", True),
                rate_limit_per_second=data.get("rate_limit_per_second", 50),
                feedback_kind=data.get("feedback_kind", ""))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return Response(SourceCreatedSerializer(source).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("slug", None)
        data.pop("vendor", None)
        try:
            serializer.instance = services.source_update(source=serializer.instance, **data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None

    @extend_schema(request=None, responses={200: TestDeliverySerializer, 409: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path="test-delivery")
    def test_delivery(self, request, slug=None):
        from surveys.connect import TestDeliveryUnavailable, source_test_delivery

        source = self.get_object()
        try:
            result = source_test_delivery(source=source)
        except TestDeliveryUnavailable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response({"status": result.status, "answer": result.answer, "delivery": result.delivery_pk})
