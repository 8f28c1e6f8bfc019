"""/api/v1/outcomes/: list outcome events (managers and admins, scoped like customers) and create
or update them in bulk (CX admins): a JSON array of items, each answered by its index."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.permissions import IsCxAdmin, IsManager
from core.pagination import NewestFirstCursorPagination
from outcomes.api import serializers as s
from outcomes.filtersets import OutcomeEventFilterSet
from outcomes.rows import RowInvalid, outcome_row_parse
from outcomes.selectors import outcome_events_for_user, probing_visibility
from outcomes.services import UpsertResult, outcome_events_upsert


class OutcomeEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Renewals, churn, downgrades, expansions, purchases and refunds of customers and accounts
    (docs/outcomes.md). Listed for managers (their teams' customers and their accounts) and admins,
    newest first, by cursor; created in bulk by CX admins."""

    serializer_class = s.OutcomeEventSerializer
    filterset_class = OutcomeEventFilterSet
    # Millions of events: pages by cursor (next / previous links), never a COUNT(*) of them all.
    pagination_class = NewestFirstCursorPagination

    def get_permissions(self):
        return [IsCxAdmin()] if self.request.method == "POST" else [IsManager()]

    def get_queryset(self):
        return outcome_events_for_user(self.request.user).order_by("-occurred_at", "-id")

    def list(self, request, *args, **kwargs):
        with probing_visibility():
            return super().list(request, *args, **kwargs)

    @extend_schema(request=s.OutcomeItemSerializer(many=True), responses=s.OutcomeBulkResultSerializer,
                   summary="Create or update outcome events in bulk (idempotent on source + external_id)")
    def create(self, request, *args, **kwargs):
        items = request.data
        limit = settings.OUTCOMES_BULK_MAX_ITEMS
        if not isinstance(items, list):
            raise ValidationError({"non_field_errors": ["Send a JSON array of outcome events (at most "
                                                        f"{limit} per request)."]})
        if not items:
            raise ValidationError({"non_field_errors": ["The array is empty: send at least one outcome event."]})
        if len(items) > limit:
            raise ValidationError({"non_field_errors": [f"{len(items)} items: send at most {limit} per request."]})
        rows, invalid = [], {}
        for index, item in enumerate(items):
            try:
                rows.append(outcome_row_parse(item, default_source="api"))
            except RowInvalid as exc:
                rows.append(None)
                invalid[index] = UpsertResult(index, "error", errors=exc.errors)
        results = {r.index: r for r in outcome_events_upsert(rows)} | invalid
        ordered = [results[i] for i in range(len(items))]
        counts = {status: sum(1 for r in ordered if r.status == status)
                  for status in ("created", "updated", "unchanged", "error")}
        body = {"created": counts["created"], "updated": counts["updated"], "unchanged": counts["unchanged"],
                "errors": counts["error"],
                "results": [{"index": r.index, "status": r.status, "id": r.id, "errors": r.errors} for r in ordered]}
        # 400 when nothing could be taken (the caller must fix the items); otherwise 200 with each item's result.
        return Response(body, status=400 if counts["error"] == len(items) else 200)
