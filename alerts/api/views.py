"""API: /api/v1/alert-rules/ (CX admins: CRUD and backtest) and /api/v1/alerts/ (read, filtered,
scoped to the responses' teams the user may see)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import IsCxAdmin
from alerts import services
from alerts.api.serializers import (
    AlertRuleSerializer, AlertSerializer, BacktestDaysSerializer, BacktestResultSerializer, DraftRuleSerializer,
)
from alerts.backtest import backtest
from alerts.filtersets import AlertFilterSet
from alerts.models import AlertRule
from alerts.selectors import alert_list_for_user, rule_list
from core.api import Conflict


class AlertRuleViewSet(viewsets.ModelViewSet):
    """Alert rules in evaluation order, each with its plain-language `summary` and `scale`.

    A rule that could never match (threshold outside the scale, "between" without an upper
    bound, "all of" with no keyword, a custom metric without its key) is refused with 400 naming
    the field. Deleting a rule that has raised alerts answers 409: disable it instead."""

    serializer_class = AlertRuleSerializer
    permission_classes = [IsCxAdmin]
    filterset_fields = ["active", "action", "metric"]

    def get_queryset(self):
        return rule_list()

    def perform_destroy(self, instance):
        try:
            services.rule_delete(rule_id=instance.pk)
        except services.RuleInUse as exc:
            raise Conflict(str(exc)) from exc

    @extend_schema(operation_id="alert_rules_backtest_draft", request=DraftRuleSerializer,
                   responses=BacktestResultSerializer, summary="Backtest a draft rule (not saved) over the last N days")
    @action(detail=False, methods=["post"], url_path="backtest")
    def backtest_draft(self, request):
        serializer = DraftRuleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        days = data.pop("days", 30)
        surveys = list(data.pop("surveys", []))
        data.pop("notify_users", None)
        themes = list(data.pop("themes", []))
        segments = list(data.pop("segments", []))
        data.setdefault("name", "Draft rule")
        draft = AlertRule(**data)
        result = backtest(draft, days=days, survey_ids=[s.pk for s in surveys],
                          survey_names={s.pk: s.name for s in surveys}, theme_ids=[t.pk for t in themes],
                          theme_names={t.pk: t.name for t in themes}, segments=segments)
        return Response(BacktestResultSerializer(result).data)

    @extend_schema(operation_id="alert_rules_backtest_saved", request=BacktestDaysSerializer,
                   responses=BacktestResultSerializer,
                   summary="Backtest a saved rule over the last N days")
    @action(detail=True, methods=["post"], url_path="backtest")
    def backtest_saved(self, request, pk=None):
        rule = self.get_object()
        params = BacktestDaysSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        result = backtest(rule, days=params.validated_data["days"])
        return Response(BacktestResultSerializer(result).data, status=status.HTTP_200_OK)


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Alerts (which rule matched which response, and why), newest first; only alerts on
    responses of teams you may see (admins: all)."""

    serializer_class = AlertSerializer
    filterset_class = AlertFilterSet

    def get_queryset(self):
        return alert_list_for_user(self.request.user).order_by("-created_at", "-id")
