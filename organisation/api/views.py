"""API for the settings pages' objects, under /api/v1/ (CX admins; anyone else gets 404):
teams, memberships, closed-days, sla-policies, routing-rules (+ routing-rules/test/),
root-cause-categories, root-cause-entries and notification-preferences. Validation and saving are the pages' own."""

from __future__ import annotations

from django.db.models.deletion import ProtectedError
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import teams as team_services
from accounts.models import ClosedDay, Membership, SlaPolicy, Team
from accounts.permissions import IsCxAdmin
from cases.models import NotificationPreference, RootCause, RootCauseCategory, RoutingRule
from core.api import SLUG_CHARACTERS, Conflict
from core.ids import parse_id
from organisation import services
from organisation.api import serializers as s


class TeamViewSet(viewsets.ModelViewSet):
    """Teams with business hours, holidays and notification channels (see TeamSerializer)."""

    serializer_class = s.TeamSerializer
    permission_classes = [IsCxAdmin]
    queryset = Team.objects.prefetch_related("memberships__user").order_by("name")

    def get_object(self):
        """/api/v1/teams/<id>/ or /api/v1/teams/<slug>/."""
        value = self.kwargs["pk"]
        if parse_id(value) is None:
            if not SLUG_CHARACTERS.fullmatch(str(value)):  # a NUL never reaches the database
                raise Http404
            self.kwargs = {**self.kwargs, "pk": get_object_or_404(self.get_queryset(), slug=value).pk}
        return super().get_object()

    def perform_create(self, serializer):
        serializer.instance = team_services.team_save(Team(**serializer.validated_data))

    def perform_update(self, serializer):
        team = serializer.instance
        for field, value in serializer.validated_data.items():
            setattr(team, field, value)
        serializer.instance = team_services.team_save(team)

    def perform_destroy(self, instance):
        team_services.team_delete(instance)


class MembershipViewSet(viewsets.ModelViewSet):
    serializer_class = s.MembershipSerializer
    permission_classes = [IsCxAdmin]
    queryset = Membership.objects.select_related("user", "team").order_by("team__name", "user__username")
    filterset_fields = ["team", "user"]


class ClosedDayViewSet(viewsets.ModelViewSet):
    """A team's own closed days (public holidays come from the team's holiday_country)."""

    serializer_class = s.ClosedDaySerializer
    permission_classes = [IsCxAdmin]
    queryset = ClosedDay.objects.order_by("team_id", "date")
    filterset_fields = ["team"]
    http_method_names = ["get", "post", "delete", "head", "options"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = team_services.closed_day_add(data["team"], data["date"], data.get("name", ""))


class SlaPolicyViewSet(viewsets.ModelViewSet):
    """SLA policies: positive targets in business hours, resolution no sooner than first contact."""

    serializer_class = s.SlaPolicySerializer
    permission_classes = [IsCxAdmin]
    queryset = SlaPolicy.objects.order_by("name")

    def perform_create(self, serializer):
        serializer.instance = team_services.sla_policy_save(SlaPolicy(**serializer.validated_data))

    def perform_update(self, serializer):
        for field, value in serializer.validated_data.items():
            setattr(serializer.instance, field, value)
        team_services.sla_policy_save(serializer.instance)


class RoutingRuleViewSet(viewsets.ModelViewSet):
    """Routing rules in order (first match wins; the default team catches the rest)."""

    serializer_class = s.RoutingRuleSerializer
    permission_classes = [IsCxAdmin]
    queryset = RoutingRule.objects.prefetch_related("surveys", "segments").order_by("order", "id")

    def _save(self, serializer, rule):
        data = dict(serializer.validated_data)
        surveys = data.pop("surveys", None)
        segments = data.pop("segments", None)
        for field, value in data.items():
            setattr(rule, field, value)
        serializer.instance = services.routing_rule_save(rule, surveys, segments)

    def perform_create(self, serializer):
        self._save(serializer, RoutingRule())

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance)

    @extend_schema(request=s.RouteTestSerializer, responses=s.RouteAnswerSerializer,
                   summary="Which team would a response with these fields go to?")
    @action(detail=False, methods=["post"], url_path="test")
    def test(self, request):
        params = s.RouteTestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        return Response(s.RouteAnswerSerializer(services.route_test(**params.validated_data)).data)


class _Taxonomy(viewsets.ModelViewSet):
    permission_classes = [IsCxAdmin]

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError:
            raise Conflict(f"“{instance}” is in use: set active to false instead, so closed cases keep it.") from None


class RootCauseCategoryViewSet(_Taxonomy):
    serializer_class = s.CategorySerializer
    queryset = RootCauseCategory.objects.prefetch_related("causes")


class RootCauseEntryViewSet(_Taxonomy):
    serializer_class = s.CauseSerializer
    queryset = RootCause.objects.select_related("category")
    filterset_fields = ["category", "active"]


class NotificationPreferenceViewSet(viewsets.ModelViewSet):
    """A person's switch for one kind of notification (no row: on)."""

    serializer_class = s.NotificationPreferenceSerializer
    permission_classes = [IsCxAdmin]
    queryset = NotificationPreference.objects.order_by("user_id", "kind")
    filterset_fields = ["user", "kind", "enabled"]
