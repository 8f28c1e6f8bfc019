"""The case figures at /metrics (registered with core.metrics in CasesConfig.ready)."""

from __future__ import annotations

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from cases.models import Case, CaseEvent


class CasesCollector:
    """Cases opened, open and overdue, and escalations, by team."""

    def collect(self):
        opened = CounterMetricFamily("closeloop_cases_opened", "Cases opened, by team.", labels=["team"])
        for team, n in Case.objects.values_list("team__slug").annotate(n=Count("id")).order_by():
            opened.add_metric([team], n)
        yield opened
        open_cases = GaugeMetricFamily("closeloop_cases_open", "Open cases, by team.", labels=["team"])
        for team, n in Case.objects.open().values_list("team__slug").annotate(n=Count("id")).order_by():
            open_cases.add_metric([team], n)
        yield open_cases
        overdue = GaugeMetricFamily("closeloop_cases_overdue", "Open cases past a due time, by team.", labels=["team"])
        for team, n in Case.objects.overdue().values_list("team__slug").annotate(n=Count("id")).order_by():
            overdue.add_metric([team], n)
        yield overdue
        escalations = CounterMetricFamily(
            "closeloop_case_escalations", "Escalations sent (escalated case events), by team.", labels=["team"]
        )
        rows = (
            CaseEvent.objects.filter(kind=CaseEvent.Kind.ESCALATED)
            .values_list("case__team__slug")
            .annotate(n=Count("id"))
            .order_by()
        )
        for team, n in rows:
            escalations.add_metric([team], n)
        yield escalations
