"""Manager pages: the overdue dashboard (a manager's landing page) and the analyses.

Views only parse the filter form, call selectors (through the report registry) and render.
Managers and admins only: anyone else gets the same 404 as for something not theirs to see."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.utils.translation import gettext_lazy as _

from accounts.permissions import manager_required
from reporting import charts, selectors
from reporting.filters import ReportFilterForm
from reporting.reports import REPORTS
from reporting.selectors import KPI_DIMENSIONS, SCORE_DIMENSIONS
from reporting.tables import Table, cell_text

FILTER_FIELDS = ("date_from", "date_to", "team", "survey", "touchpoint", "location", "tier")
TABS = [
    ("reporting:dashboard", _("Overdue")),
    ("reporting:reports", _("Closed-loop KPIs")),
    ("reporting:root_causes", _("Root causes")),
    ("reporting:scores", _("Scores")),
    ("reporting:recovery", _("Recovery")),
    ("reporting:themes", _("Themes")),
    ("reporting:results", _("Results")),
    ("reporting:impact", _("Impact")),
]


def _form(request, default_days, default_offset_days: int = 0):
    form = ReportFilterForm(request.GET, user=request.user, default_days=default_days,
                            default_offset_days=default_offset_days)
    form.is_valid()  # errors are shown beside the fields; invalid fields fall back to "any"
    return form, form.filters()


def _filter_query(request) -> str:
    """The filter part of the query string, carried into CSV links and tab links."""
    query = request.GET.copy()
    for key in list(query):
        if key not in FILTER_FIELDS:
            del query[key]
    return query.urlencode()


def _page(request, template: str, form, filters, context: dict):
    return render(
        request,
        template,
        {
            "form": form,
            "filters": filters,
            "options": form.options(),
            "filter_query": _filter_query(request),
            "tabs": TABS,
            "generated_at": timezone.now(),
            "keep": {},
            **context,
        },
    )


@require_GET
@manager_required
def index(request):
    return redirect("reporting:dashboard")


@require_GET
@manager_required
def dashboard(request):
    """Overdue now: by team, by assignee, by age and escalation level, and what falls due next."""
    form, filters = _form(request, default_days=None)
    by_team = REPORTS["overdue-by-team"].build(filters)
    total = by_team.rows[-1] if by_team.rows else {}
    total_links = by_team.links[-1] if by_team.links else {}
    age = REPORTS["overdue-age"].build(filters)
    return _page(
        request,
        "reporting/dashboard.html",
        form,
        filters,
        {
            "title": _("Overdue dashboard"),
            "active_tab": "reporting:dashboard",
            "headline": [
                ("Overdue", total.get("overdue", 0), total_links.get("overdue")),
                ("Escalated", total.get("escalated", 0), total_links.get("escalated")),
                ("Overdue, unassigned", total.get("unassigned", 0), total_links.get("unassigned")),
                ("Due in next 24 h", total.get("due_24h", 0), total_links.get("due_24h")),
                ("Overdue value at risk", total.get("overdue_value", 0), None),
            ],
            "by_team": by_team,
            "by_team_bars": charts.bars(by_team, "team", "overdue", skip_labels=("All teams",)),
            "by_assignee": REPORTS["overdue-by-assignee"].build(filters),
            "age": age,
            "age_bars": charts.bars(age, "age", "cases", "share", " %"),
            "escalation": REPORTS["overdue-escalation"].build(filters),
        },
    )


@require_GET
@manager_required
def kpis(request):
    by = request.GET.get("by", "team")
    if by not in KPI_DIMENSIONS:
        by = "team"
    form, filters = _form(request, default_days=REPORTS[f"kpis-by-{by}"].default_days)
    table = REPORTS[f"kpis-by-{by}"].build(filters)
    return _page(
        request,
        "reporting/kpis.html",
        form,
        filters,
        {
            "title": _("Closed-loop KPIs"),
            "active_tab": "reporting:reports",
            "by": by,
            "keep": {"by": by},
            "choices": [(key, label) for key, (label, _, _) in KPI_DIMENSIONS.items()],
            "table": table,
            "coverage_bars": charts.bars(table, "group", "coverage_pct", "low_scores", " low scores"),
        },
    )


@require_GET
@manager_required
def root_causes(request):
    form, filters = _form(request, default_days=REPORTS["root-causes-pareto"].default_days)
    pareto = REPORTS["root-causes-pareto"].build(filters)
    heat = REPORTS["root-causes-by-touchpoint"].build(filters)
    suggestions = REPORTS["root-cause-suggestions"].build(filters)
    model = selectors.root_cause_model_in_use()
    return _page(
        request,
        "reporting/root_causes.html",
        form,
        filters,
        {
            "title": _("Root causes"),
            "active_tab": "reporting:root_causes",
            "pareto": pareto,
            "pareto_bars": charts.bars(pareto, "root_cause", "cases", "cumulative", " % cumulative"),
            "weekly": REPORTS["root-causes-weekly"].build(filters),
            "heat": heat,
            "heat_cells": _heat_cells(heat),
            "scores": REPORTS["root-causes-scores"].build(filters),
            "prevention": REPORTS["root-causes-prevention"].build(filters),
            "suggestions": suggestions,
            "suggestion_headline": _suggestion_headline(suggestions, model),
            "model": model,
        },
    )


def _suggestion_headline(table: Table, model: dict | None) -> list[tuple[str, str]]:
    """Acceptance rate and offered share over all teams shown, and the model's held-out accuracy."""
    total = table.rows[-1] if table.rows else {}
    accuracy = ""
    if model and model["accuracy_top1"] is not None:
        accuracy = f"{cell_text(model['accuracy_top1'])} % / {cell_text(model['accuracy_top3'])} %"
    return [
        ("Acceptance rate", f"{cell_text(total['taken_pct'])} %" if total.get("taken_pct") is not None else ""),
        ("Closures with suggestions", f"{total.get('offered', 0)} of {total.get('closures', 0)}"),
        ("Model accuracy, top-1 / top-3 (held out)", accuracy),
    ]


def _heat_cells(table: Table) -> list:
    """The table's cells with a 0..5 shade for the touchpoint columns (not the label or totals)."""
    shaded = [c.key for c in table.columns if c.numeric and c.key not in ("total", "other")]
    top = max((row.get(k) or 0 for row in table.rows for k in shaded), default=0)
    return [
        [(col, text, url, charts.heat_level(table.rows[i].get(col.key), top) if col.key in shaded else None)
         for col, text, url in cells]
        for i, cells in enumerate(table.cells())
    ]


@require_GET
@manager_required
def scores(request):
    period = request.GET.get("period", "week")
    if period not in ("week", "month"):
        period = "week"
    by = request.GET.get("by", "touchpoint")
    if by not in SCORE_DIMENSIONS:
        by = "touchpoint"
    form, filters = _form(request, default_days=REPORTS["scores-weekly"].default_days)
    trend = REPORTS[f"scores-{period}ly"].build(filters)
    return _page(
        request,
        "reporting/scores.html",
        form,
        filters,
        {
            "title": _("Scores"),
            "active_tab": "reporting:scores",
            "period": period,
            "by": by,
            "keep": {"period": period, "by": by},
            "by_choices": [(key, label) for key, (label, _) in SCORE_DIMENSIONS.items()],
            "trend": trend,
            "nps_chart": charts.line(trend, "period", "nps", -100, 100, ticks=(-100, -50, 0, 50, 100),
                                     newest_first=True),
            "breakdown": REPORTS[f"scores-by-{by}"].build(filters),
        },
    )


@require_GET
@manager_required
def recovery(request):
    form, filters = _form(request, default_days=REPORTS["recovery-by-team"].default_days)
    by_team = REPORTS["recovery-by-team"].build(filters)
    verified_by_team = REPORTS["verified-recovery-by-team"].build(filters)
    return _page(
        request,
        "reporting/recovery.html",
        form,
        filters,
        {
            "title": _("Recovery"),
            "active_tab": "reporting:recovery",
            "by_team": by_team,
            "recovery_bars": charts.bars(by_team, "group", "recovery_pct", "detractors_before", " detractors"),
            "by_root_cause": REPORTS["recovery-by-root-cause"].build(filters),
            "customers": REPORTS["recovery-customers"].build(filters),
            "verified_by_team": verified_by_team,
            "verified_bars": charts.bars(verified_by_team, "group", "verified_pct", "resolved_pct", " % self-reported",
                                         skip_labels=("All",)),
            "verified_by_root_cause": REPORTS["verified-recovery-by-root-cause"].build(filters),
            "verified_by_touchpoint": REPORTS["verified-recovery-by-touchpoint"].build(filters),
        },
    )


@require_GET
@manager_required
def export_csv(request, name: str):
    """Any report table as CSV: the same selector output the page's table shows."""
    report = REPORTS.get(name)
    if report is None:
        raise Http404("No such report.")
    _unused, filters = _form(request, default_days=report.default_days, default_offset_days=report.default_offset_days)
    table = report.build(filters)
    response = HttpResponse(table.to_csv(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="closeloop-{name}-{stamp}.csv"'
    return response


@require_GET
@manager_required
def themes(request):
    """What customers talk about: theme volume and sentiment, weekly trend, scores, touchpoints."""
    form, filters = _form(request, default_days=REPORTS["themes-volume"].default_days)
    volume = REPORTS["themes-volume"].build(filters)
    weekly = REPORTS["themes-weekly"].build(filters)
    heat = REPORTS["themes-by-touchpoint"].build(filters)
    return _page(
        request,
        "reporting/themes.html",
        form,
        filters,
        {
            "title": _("Themes"),
            "active_tab": "reporting:themes",
            "volume": volume,
            "volume_bars": charts.bars(volume, "theme", "responses", "share", " % of comments"),
            "weekly": weekly,
            "weekly_charts": charts.row_lines(weekly, "theme", "total"),
            "scores": REPORTS["themes-scores"].build(filters),
            "heat": heat,
            "heat_cells": _heat_cells(heat),
        },
    )


@require_GET
@manager_required
def results(request):
    """What customers did after they answered, by what happened to their feedback (docs/outcomes.md)."""
    report = REPORTS["closed-loop-results"]
    form, filters = _form(request, default_days=report.default_days, default_offset_days=report.default_offset_days)
    people = selectors.answerers(filters)  # read once for the page's two main tables
    return _page(request, "reporting/results.html", form, filters, {
        "title": _("Closed-loop results"),
        "active_tab": "reporting:results",
        "results": selectors.closed_loop_results(filters, people),
        "value": selectors.closed_loop_value(filters, people),
        "by_team": selectors.closed_loop_results_by(filters, by="team", people=people),
        "by_root_cause": selectors.closed_loop_results_by(filters, by="root-cause", people=people),
    })


@require_GET
@manager_required
def impact(request):
    """What each root cause and theme costs, and what to fix first."""
    form, filters = _form(request, default_days=REPORTS["fix-first"].default_days)
    tables = selectors.impact_tables(filters)
    return _page(request, "reporting/impact.html", form, filters, {
        "title": _("Impact"),
        "active_tab": "reporting:impact",
        "fix_first": tables.fix_first,
        "root_causes": tables.root_causes,
        "themes": tables.themes,
    })
