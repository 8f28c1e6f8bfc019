"""/api/v1/reports/ for BI tools: the same tables as the manager pages, as JSON."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from accounts.permissions import IsManager
from core.replica import reads_from_replica
from reporting.api.serializers import ReportIndexEntrySerializer, ReportSerializer
from reporting.filters import ReportFilterForm
from reporting.reports import REPORTS

FILTER_PARAMETERS = [
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="First day (inclusive). Default: 90 days ago, "
                     "except for the overdue-* reports, which show the present unless a range is given."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Last day (inclusive). Default: today."),
    OpenApiParameter("team", OpenApiTypes.INT, description="One of your teams (default: all your teams)."),
    OpenApiParameter("survey", OpenApiTypes.INT),
    OpenApiParameter("touchpoint", OpenApiTypes.STR),
    OpenApiParameter("location", OpenApiTypes.STR),
    OpenApiParameter("tier", OpenApiTypes.STR, description="Customer tier."),
    OpenApiParameter("journey", OpenApiTypes.INT, description="The journey-* reports only: a journey's id "
                     "(default: the first journey by name)."),
]


class ReportViewSet(viewsets.ViewSet):
    """Read-only report tables, scoped to the caller's teams and filtered like the pages."""

    permission_classes = [IsManager]
    lookup_field = "name"
    lookup_value_regex = "[a-z0-9-]+"

    @extend_schema(responses=ReportIndexEntrySerializer(many=True), summary="List the available reports")
    def list(self, request):
        return Response(
            [
                {
                    "name": name,
                    "url": request.build_absolute_uri(reverse("reports-detail", args=[name])),
                    "csv_url": request.build_absolute_uri(reverse("reporting:export", args=[name])),
                }
                for name in REPORTS
            ]
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=sorted(REPORTS)),
            *FILTER_PARAMETERS,
        ],
        responses=ReportSerializer,
        summary="One report table",
    )
    @reads_from_replica
    def retrieve(self, request, name=None):
        report = REPORTS.get(name)
        if report is None:
            raise NotFound("No such report.")
        form = ReportFilterForm(request.query_params, user=request.user, default_days=report.default_days,
                                journey=report.journey, default_offset_days=report.default_offset_days)
        if not form.is_valid():
            raise ValidationError(form.errors.get_json_data(escape_html=True))
        filters = form.filters()
        return Response(
            {**report.build(filters).to_json(), "filters": filters.as_dict(), "generated_at": timezone.now()}
        )
