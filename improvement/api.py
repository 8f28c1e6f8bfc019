"""/api/v1/action-plans/: plans as the pages show them, scoped the same way, written through
improvement.services. The CSV of the same plans is /plans/export.csv."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

from improvement import selectors, services
from accounts.permissions import IsManager
from improvement.models import ActionPlan, OuterLoopAlert
from core.ids import parse_id


class SideSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    days = serializers.IntegerField()
    responses = serializers.IntegerField()
    nps = serializers.FloatField(allow_null=True)
    detractors_pct = serializers.FloatField(allow_null=True)
    csat_top2_pct = serializers.FloatField(allow_null=True)
    ces_avg = serializers.FloatField(allow_null=True)
    cases = serializers.IntegerField()
    cases_per_week = serializers.FloatField(allow_null=True)


class ImpactSerializer(serializers.Serializer):
    pivot = serializers.DateField()
    complete = serializers.BooleanField()
    before = SideSerializer()
    after = SideSerializer()
    nps_change = serializers.FloatField(allow_null=True)
    cases_per_week_change = serializers.FloatField(allow_null=True)


class PlanSerializer(serializers.ModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(read_only=True)
    owner_name = serializers.CharField(source="owner.display_name", read_only=True)
    team = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)  # none: the whole organisation
    root_causes = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    themes = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    cases = serializers.SlugRelatedField(many=True, read_only=True, slug_field="reference")
    overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = ActionPlan
        fields = ["id", "title", "description", "status", "owner", "owner_name", "team", "due_date", "change_date",
                  "root_causes", "themes", "touchpoints", "cases", "overdue", "created_at", "updated_at", "done_at"]


class PlanInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    owner = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    team = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=2**63 - 1)
    status = serializers.ChoiceField(choices=ActionPlan.Status.values, default=ActionPlan.Status.PLANNED)
    due_date = serializers.DateField()
    change_date = serializers.DateField(required=False, allow_null=True, default=None)
    root_causes = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
                                       required=False, default=list, max_length=200)
    themes = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
                                   required=False, default=list, max_length=200)
    touchpoints = serializers.ListField(child=serializers.CharField(max_length=120), required=False, default=list,
                                        max_length=200)

    def validate(self, data):
        for key in ("title", "description"):
            if "\x00" in data.get(key, ""):
                raise serializers.ValidationError({key: "Cannot contain a NUL character."})
        return data

    def to_input(self) -> services.PlanInput:
        d = self.validated_data
        return services.PlanInput(
            title=d["title"], description=d["description"], owner_id=d["owner"], team_id=d["team"], status=d["status"],
            due_date=d["due_date"], change_date=d["change_date"], root_cause_ids=tuple(d["root_causes"]),
            theme_ids=tuple(d["themes"]), touchpoints=tuple(d["touchpoints"]))


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=services.NOTE_MAX)


class LinkSerializer(serializers.Serializer):
    references = serializers.ListField(child=serializers.CharField(max_length=20), min_length=1, max_length=500)


def _call(fn, **kwargs):
    try:
        return fn(**kwargs)
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}) from exc
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc)) from exc


class ActionPlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                        mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Action plans you may see (CX admins all; managers their teams' and organisation-wide
    ones; everyone their own). ?status=open|planned|in_progress|done|abandoned, ?overdue=true.
    The detail adds the before-and-after figures. POST creates (managers and CX admins), PUT
    replaces the fields, POST notes/ and cases/ add a note or link cases by reference."""

    serializer_class = PlanSerializer
    http_method_names = ["get", "post", "put", "head", "options"]  # PUT replaces; there is no partial update

    def get_queryset(self):
        plans = selectors.plans_with_links(self.request.user)
        status = self.request.query_params.get("status")
        if status == "open":
            plans = plans.filter(status__in=ActionPlan.OPEN_STATUSES)
        elif status in ActionPlan.Status.values:
            plans = plans.filter(status=status)
        elif status:
            raise ValidationError({"status": f"Use one of open, {', '.join(ActionPlan.Status.values)}."})
        overdue = self.request.query_params.get("overdue")
        if overdue == "true":
            plans = plans.filter(status__in=ActionPlan.OPEN_STATUSES, due_date__lt=timezone.localdate())
        elif overdue not in (None, "", "false"):
            raise ValidationError({"overdue": "Use true or false."})
        return plans.order_by("due_date", "pk")

    def _plan(self) -> ActionPlan:
        pk = parse_id(self.kwargs["pk"])
        plan = self.get_queryset().filter(pk=pk).first() if pk else None
        if plan is None:
            raise NotFound("No such plan.")
        return plan

    @extend_schema(responses=PlanSerializer)
    def retrieve(self, request, *args, **kwargs):
        plan = self._plan()
        body = PlanSerializer(plan).data
        body["impact"] = ImpactSerializer(selectors.plan_impact(plan)).data
        return Response(body)

    @extend_schema(request=PlanInputSerializer, responses={201: PlanSerializer})
    def create(self, request, *args, **kwargs):
        data = PlanInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = _call(services.plan_create, by=request.user, data=data.to_input())
        return Response(PlanSerializer(plan).data, status=201)

    @extend_schema(request=PlanInputSerializer, responses=PlanSerializer)
    def update(self, request, *args, **kwargs):
        plan = self._plan()
        data = PlanInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = _call(services.plan_update, plan_id=plan.pk, by=request.user, data=data.to_input())
        return Response(PlanSerializer(plan).data)

    @extend_schema(request=NoteSerializer, responses={201: None})
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        plan = self._plan()
        data = NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = _call(services.plan_note_add, plan_id=plan.pk, by=request.user, text=data.validated_data["text"])
        return Response({"id": note.pk, "text": note.text, "created_at": note.created_at}, status=201)

    @extend_schema(request=LinkSerializer, responses=PlanSerializer)
    @action(detail=True, methods=["post"])
    def cases(self, request, pk=None):
        plan = self._plan()
        data = LinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _call(services.plan_cases_link, plan_id=plan.pk, by=request.user, references=data.validated_data["references"])
        return Response(PlanSerializer(self._plan()).data)


class OuterLoopAlertSerializer(serializers.ModelSerializer):
    summary = serializers.CharField(read_only=True, help_text="In the requester's language.")

    class Meta:
        model = OuterLoopAlert
        fields = ["id", "kind", "key", "label", "metric", "opened_week", "last_week", "closed_week", "summary",
                  "evidence", "owner"]


class OuterLoopAlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Outer-loop alerts (managers and CX admins): episodes of a root cause, theme or touchpoint
    out of its normal range, ongoing first. ?ongoing=true for the open ones."""

    serializer_class = OuterLoopAlertSerializer
    permission_classes = [IsManager]

    def get_queryset(self):
        alerts = OuterLoopAlert.objects.order_by(F("closed_week").desc(nulls_first=True), "-last_week", "-pk")
        ongoing = self.request.query_params.get("ongoing")
        if ongoing == "true":
            alerts = alerts.filter(closed_week__isnull=True)
        elif ongoing not in (None, "", "false"):
            raise ValidationError({"ongoing": "Use true or false."})
        return alerts
