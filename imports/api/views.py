"""/api/v1/imports/ (a CSV file in, its progress and row errors out) and the bulk upsert view each
app mounts for its importers (POST /api/v1/customers/bulk/, ...). CX admins only: others 404, no
credentials 401."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsCxAdmin
from imports.api import serializers as s
from imports.models import ImportJob
from imports.reading import FileRefused, check_size
from imports.runner import bulk_upsert
from imports.services import import_create


class ImportJobViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """CSV imports, newest first. POST a file (multipart: `kind`, `file`) to start one: 201 with the
    job, queued; read it again for its progress (`rows_done` of `rows_total`, `status` done or
    failed at the end) and `errors/` for the rows that could not be imported. A file that cannot be
    imported at all (encoding, header, size, rows) is a 400 saying why. Filter: `kind`, `status`."""

    permission_classes = [IsCxAdmin]
    serializer_class = s.ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser]
    filterset_fields = ["kind", "status"]

    def get_queryset(self):
        return ImportJob.objects.select_related("created_by").order_by("-created_at", "-id")

    @extend_schema(request=s.ImportUploadSerializer, responses={201: s.ImportJobSerializer})
    def create(self, request, *args, **kwargs):
        data = s.ImportUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        try:
            check_size(upload.size)
            job = import_create(kind=data.validated_data["kind"], file_name=upload.name, content=upload.read(),
                                by=request.user, via="api")
        except FileRefused as exc:
            raise ValidationError({"file": [str(exc)]}) from exc
        job.refresh_from_db()
        return Response(s.ImportJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.RowErrorSerializer(many=True))
    @action(detail=True, methods=["get"])
    def errors(self, request, pk=None):
        """The job's row errors in file order: row number (the header is row 1), column, message and
        the row as it was written."""
        job = self.get_object()
        page = self.paginate_queryset(job.errors.order_by("row", "id"))
        return self.get_paginated_response(s.RowErrorSerializer(page, many=True).data)


class BulkUpsertView(APIView):
    """Upsert a JSON array of up to IMPORT_BULK_MAX_ITEMS objects by natural key, each checked and
    written as a CSV row of the same kind would be. 200 with, per item, its index and created,
    updated, unchanged or error (with the errors); a body that is not such an array is a 400."""

    permission_classes = [IsCxAdmin]
    kind = ""

    @extend_schema(request={"application/json": {"type": "array", "items": {"type": "object"}}},
                   responses=s.BulkUpsertResultSerializer)
    def post(self, request, *args, **kwargs):
        try:
            results = bulk_upsert(kind=self.kind, items=request.data, by=request.user)
        except FileRefused as exc:
            raise ValidationError({"detail": [str(exc)]}) from exc
        counts = {key: sum(r.status == value for r in results) for key, value in
                  (("created", "created"), ("updated", "updated"), ("unchanged", "unchanged"), ("failed", "error"))}
        return Response({**counts, "results": [asdict(r) for r in results]})
