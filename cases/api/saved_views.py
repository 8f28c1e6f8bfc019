"""/api/v1/saved-views/: the caller's own saved views (list with counts, create, read, rename or
re-point, delete). Another person's saved view is a 404 for every method. Writes go through
cases.saved_views.services, which validates `params` with the inbox's CaseFilterSet (400 with a
message per parameter)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from cases.saved_views import services
from cases.saved_views.models import SavedView


class SavedViewSerializer(serializers.ModelSerializer):
    count = serializers.SerializerMethodField(help_text="Cases the view holds now (may lag by up to 30 s).")
    inbox_url = serializers.SerializerMethodField(help_text="The inbox page showing this view.")

    class Meta:
        model = SavedView
        fields = ["id", "name", "params", "count", "inbox_url", "created_at", "updated_at"]

    def get_count(self, saved_view) -> int:
        return services.saved_view_count(saved_view)

    def get_inbox_url(self, saved_view) -> str:
        return f"/cases/?{services.saved_view_query(saved_view)}"


class SavedViewInput(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                 help_text="Unique among your views.")
    params = serializers.DictField(
        required=False,
        help_text='Inbox query parameters, each a value or a list: {"view": "team", "status": ["overdue"], '
                  '"sort": "priority", "columns": ["score", "age"]}. The same names and values /cases/ takes '
                  '(columns: case, status, score, comment, customer, touchpoint, value, owner, age, sla, due; '
                  'none: the default columns). Replaces the stored parameters as a whole.',
    )


def _refuse(error: DjangoValidationError):
    raise ValidationError(error.message_dict) from None


class SavedViewViewSet(viewsets.ViewSet):
    """Your saved inbox views, by name, each with how many cases it holds."""

    serializer_class = SavedViewSerializer
    queryset = SavedView.objects.none()  # for the OpenAPI schema (an integer id); reads go through the services
    lookup_value_regex = r"[^/]+"  # a non-number is a 404 from the service, not a missing route

    def _get(self, request, pk) -> SavedView:
        try:
            saved_view = services.saved_view_get(owner=request.user, pk=pk)
        except services.SavedViewNotFound:
            raise NotFound("No such saved view.") from None
        saved_view.owner = request.user
        return saved_view

    def _out(self, saved_view, code=status.HTTP_200_OK) -> Response:
        return Response(SavedViewSerializer(saved_view).data, status=code)

    @extend_schema(responses=SavedViewSerializer(many=True))
    def list(self, request):
        saved_views = list(SavedView.objects.filter(owner=request.user))
        for saved_view in saved_views:
            saved_view.owner = request.user  # counts scope by the owner: no query per row to fetch it
        return Response(SavedViewSerializer(saved_views, many=True).data)

    @extend_schema(responses=SavedViewSerializer)
    def retrieve(self, request, pk=None):
        return self._out(self._get(request, pk))

    @extend_schema(request=SavedViewInput, responses={201: SavedViewSerializer})
    def create(self, request):
        data = SavedViewInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            saved_view = services.saved_view_create(owner=request.user, name=data.validated_data.get("name", ""),
                                                    params=data.validated_data.get("params", {}))
        except DjangoValidationError as error:
            _refuse(error)
        return self._out(saved_view, status.HTTP_201_CREATED)

    @extend_schema(request=SavedViewInput, responses=SavedViewSerializer)
    def partial_update(self, request, pk=None):
        self._get(request, pk)  # 404 before any validation message
        data = SavedViewInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            saved_view = services.saved_view_update(owner=request.user, pk=pk, name=data.validated_data.get("name"),
                                                    params=data.validated_data.get("params"))
        except DjangoValidationError as error:
            _refuse(error)
        return self._out(saved_view)

    @extend_schema(request=SavedViewInput, responses=SavedViewSerializer)
    def update(self, request, pk=None):
        return self.partial_update(request, pk)

    def destroy(self, request, pk=None):
        self._get(request, pk)
        services.saved_view_delete(owner=request.user, pk=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
