"""/api/v1/journeys/: journeys with their stages and mappings. Managers and CX admins read; CX
admins write (others with the manager role: 403 naming who may; without it: 404). Every write
goes through journeys.services, as the settings pages do."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.permissions import ADMIN, MANAGER, WHO_MAY, has_role
from journeys import services
from journeys.api import serializers as s
from journeys.models import Journey, Stage, StageMapping


class ManagerReadAdminWrite(permissions.BasePermission):
    message = f"Only {WHO_MAY[ADMIN]} may change journeys."

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if not has_role(user, MANAGER):
            raise NotFound()
        return request.method in permissions.SAFE_METHODS or has_role(user, ADMIN)


class JourneyViewSet(viewsets.ModelViewSet):
    permission_classes = [ManagerReadAdminWrite]
    serializer_class = s.JourneySerializer
    pagination_class = None  # a handful of journeys: the whole list, stages and mappings included

    def get_queryset(self):
        stages = Stage.objects.order_by("position", "pk").prefetch_related(
            Prefetch("mappings", queryset=StageMapping.objects.select_related("source").order_by("kind", "pk")))
        return Journey.objects.order_by("name").prefetch_related(Prefetch("stages", queryset=stages))

    def _out(self, journey: Journey, code=status.HTTP_200_OK) -> Response:
        return Response(s.JourneySerializer(self.get_queryset().get(pk=journey.pk)).data, status=code)

    @extend_schema(request=s.JourneyInputSerializer, responses={201: s.JourneySerializer})
    def create(self, request, *args, **kwargs):
        data = s.JourneyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        journey = services.journey_create(name=v["name"], description=v["description"],
                                          relationship_survey=v["relationship_survey"], stage_names=v["stages"])
        return self._out(journey, status.HTTP_201_CREATED)

    @extend_schema(request=s.JourneyInputSerializer, responses=s.JourneySerializer)
    def update(self, request, *args, **kwargs):
        journey = self.get_object()
        partial = kwargs.get("partial", False)
        data = s.JourneyInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        services.journey_update(
            journey=journey, name=v.get("name", journey.name),
            description=v.get("description", journey.description),
            relationship_survey=v["relationship_survey"] if "relationship_survey" in request.data
            else journey.relationship_survey,
        )
        return self._out(journey)

    def destroy(self, request, *args, **kwargs):
        services.journey_delete(journey=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _stage(self, journey: Journey, stage_id) -> Stage:
        stage = journey.stages.filter(pk=stage_id).first()
        if stage is None:
            raise NotFound("No such stage in this journey.")
        return stage

    @extend_schema(request=s.StageInputSerializer, responses={201: s.JourneySerializer})
    @action(detail=True, methods=["post"], url_path="stages")
    def stage_add(self, request, pk=None):
        """Add a stage at the end of the journey."""
        journey = self.get_object()
        data = s.StageInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.stage_create(journey=journey, **data.validated_data)
        return self._out(journey, status.HTTP_201_CREATED)

    @extend_schema(request=s.StageInputSerializer, responses=s.JourneySerializer)
    @action(detail=True, methods=["patch", "delete"], url_path=r"stages/(?P<stage_id>\d+)")
    def stage_change(self, request, pk=None, stage_id=None):
        """Rename or describe a stage (PATCH), or delete it with its mappings (DELETE)."""
        journey = self.get_object()
        stage = self._stage(journey, stage_id)
        if request.method == "DELETE":
            services.stage_delete(stage=stage)
            return self._out(journey)
        data = s.StageInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.stage_update(stage=stage, name=data.validated_data.get("name", stage.name),
                              description=data.validated_data.get("description", stage.description))
        return self._out(journey)

    @extend_schema(request=s.ReorderInputSerializer, responses=s.JourneySerializer)
    @action(detail=True, methods=["post"])
    def reorder(self, request, pk=None):
        """Put the stages in this order (every stage id exactly once)."""
        journey = self.get_object()
        data = s.ReorderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.stages_reorder(journey=journey, stage_ids=data.validated_data["stages"])
        return self._out(journey)

    @extend_schema(request=s.MappingInputSerializer, responses={201: s.JourneySerializer})
    @action(detail=True, methods=["post"], url_path="mappings")
    def mapping_add(self, request, pk=None):
        """Map one touchpoint, survey (id) or webhook source (slug) to a stage; one mapped
        already in this journey moves to that stage."""
        journey = self.get_object()
        data = s.MappingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        stage = self._stage(journey, v["stage"])
        services.mapping_set(stage=stage, touchpoint=v["touchpoint"], survey=v["survey"], source=v["source"])
        return self._out(journey, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.JourneySerializer)
    @action(detail=True, methods=["delete"], url_path=r"mappings/(?P<mapping_id>\d+)")
    def mapping_remove(self, request, pk=None, mapping_id=None):
        journey = self.get_object()
        mapping = journey.mappings.filter(pk=mapping_id).first()
        if mapping is None:
            raise NotFound("No such mapping in this journey.")
        services.mapping_delete(mapping=mapping)
        return self._out(journey)
