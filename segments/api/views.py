"""/api/v1/segments/: everyone signed in reads (with member counts), CX admins create, change
and delete; /api/v1/segments/preview/ counts the customers a draft definition would hold.
Saving and deleting go through segments.services, like the settings page."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import IsCxAdminOrReadOnly
from core.api import SLUG_CHARACTERS, Conflict
from core.ids import parse_id
from segments import selectors, services
from segments.api.serializers import SegmentPreviewSerializer, SegmentSerializer
from segments.conditions import clean_conditions
from segments.models import Segment


class SegmentViewSet(viewsets.ModelViewSet):
    """Named customer segments (docs/customers.md, "Segments"). `/api/v1/segments/<id or slug>/`."""

    serializer_class = SegmentSerializer
    permission_classes = [IsCxAdminOrReadOnly]
    queryset = Segment.objects.order_by("name", "id")
    lookup_value_regex = SLUG_CHARACTERS.pattern  # only a slug's characters reach the database: a NUL is a 404

    def get_object(self):
        value = self.kwargs["pk"]
        if parse_id(value) is None:  # an id past bigint is a slug that matches nothing
            self.kwargs = {**self.kwargs, "pk": get_object_or_404(self.get_queryset(), slug=value).pk}
        return super().get_object()

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        items = page if page is not None else list(queryset)
        serializer = self.get_serializer(items, many=True, context={
            **self.get_serializer_context(), "member_counts": selectors.member_counts(items)})
        return self.get_paginated_response(serializer.data) if page is not None else Response(serializer.data)

    def retrieve(self, request, *args, **kwargs):
        segment = self.get_object()
        serializer = self.get_serializer(segment, context={
            **self.get_serializer_context(), "member_counts": selectors.member_counts([segment])})
        return Response(serializer.data)

    def _save(self, serializer, segment: Segment):
        for field, value in serializer.validated_data.items():
            setattr(segment, field, value)
        saved = services.segment_save(segment)
        serializer.instance = saved
        serializer.context["member_counts"] = selectors.member_counts([saved])

    def perform_create(self, serializer):
        self._save(serializer, Segment())

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance)

    def perform_destroy(self, instance):
        try:
            services.segment_delete(instance)
        except services.SegmentInUse as exc:
            raise Conflict(str(exc)) from exc

    @extend_schema(request=SegmentPreviewSerializer,
                   responses={200: inline_serializer("SegmentPreviewCount", {"member_count": serializers.IntegerField()})})
    @action(detail=False, methods=["post"], permission_classes=[IsCxAdminOrReadOnly])
    def preview(self, request):
        """How many customers a draft definition holds, without saving it: {"member_count": n}."""
        data = SegmentPreviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conditions = clean_conditions(data.validated_data["conditions"])
        return Response({"member_count": selectors.preview_count(conditions, data.validated_data["match"])})
