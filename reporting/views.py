"""Manager pages: the overdue dashboard (a manager's landing page) and the analyses.

Views only parse the filter form, call selectors (through the report registry) and render.
Managers and admins only: anyone else gets the same 404 as for something not theirs to see."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template import engines
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.permissions import manager_required
from core.replica import reads_from_replica
from reporting import charts, selectors
from reporting.filters import ReportFilterForm
from reporting.reports import REPORTS
from reporting.selectors import ALL_TEAMS, KPI_DIMENSIONS, SCORE_DIMENSIONS, moments
from reporting.tables import Table, cell_text
from segments.models import Segment



def _percent(_value, text: str) -> str:
    return f"{text} %"

FILTER_FIELDS = ("date_from", "date_to", "team", "survey", "touchpoint", "location", "tier", "segment", "journey")
SEGMENT_CHOICE = ("segment", _("Customer segment"))  # a breakdown of the KPI and scores pages besides their dimensions
TABS = [
    ("reporting:dashboard", _("Overdue")),
    ("reporting:reports", _("Closed-loop KPIs")),
    ("reporting:root_causes", _("Root causes")),
    ("reporting:scores", _("Scores")),
    ("reporting:recovery", _("Recovery")),
    ("reporting:themes", _("Themes")),
    ("reporting:segments", _("Segments")),
    ("reporting:journey_map", _("Journey map")),
    ("reporting:results", _("Results")),
    ("reporting:impact", _("Impact")),
    ("reporting:contact", _("Contact")),
]


def _form(request, default_days, default_offset_days: int = 0, journey: bool = False):
    form = ReportFilterForm(request.GET, user=request.user, default_days=default_days,
                            default_offset_days=default_offset_days, journey=journey)
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
    options = form.options(compute=False)  # the filter bar's suggestions, when cached; else loaded after
    return render(
        request,
        template,
        {
            "form": form,
            "filters": filters,
            "options": options or {},
            "options_url": reverse("reporting:filter_options") if options is None else "",
            "filter_query": _filter_query(request),
            "tabs": TABS,
            "generated_at": timezone.now(),
            "keep": {},
            **context,
        },
    )


@require_GET
@manager_required
@reads_from_replica
def filter_options(request):
    """The filter bar's suggestions for a report page that rendered before they were cached: read,
    cached for the next pages, and sent as the <datalist>s the page swaps in (HTMX; without
    JavaScript the fields simply have no suggestions). The same lists, for the same user, as a
    page with a warm cache holds."""
    form = ReportFilterForm({}, user=request.user, default_days=30)
    return render(request, "reporting/_filter_options.html", {"options": form.options()})


@require_GET
@manager_required
def index(request):
    return redirect("reporting:dashboard")


@require_GET
@manager_required
@reads_from_replica
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
                (_("Overdue"), total.get("overdue", 0), total_links.get("overdue")),
                (_("Escalated"), total.get("escalated", 0), total_links.get("escalated")),
                (_("Overdue, unassigned"), total.get("unassigned", 0), total_links.get("unassigned")),
                (_("Due in next 24 h"), total.get("due_24h", 0), total_links.get("due_24h")),
                (_("Overdue value at risk"), total.get("overdue_value", 0), None),
            ],
            "by_team": by_team,
            "by_team_bars": charts.bars(by_team, "team", "overdue", skip_labels=(str(ALL_TEAMS),)),
            "by_assignee": REPORTS["overdue-by-assignee"].build(filters),
            "age": age,
            "age_bars": charts.bars(age, "age", "cases", "share", _percent),
            "escalation": REPORTS["overdue-escalation"].build(filters),
        },
    )


@require_GET
@manager_required
@reads_from_replica
def kpis(request):
    by = request.GET.get("by", "team")
    if by not in KPI_DIMENSIONS and by != "segment":
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
            "choices": [(key, label) for key, (label, _, _) in KPI_DIMENSIONS.items()] + [SEGMENT_CHOICE],
            "table": table,
            "coverage_bars": charts.bars(table, "group", "coverage_pct", "low_scores", lambda n, text: ngettext(
                "%(count)s low score", "%(count)s low scores", int(n)) % {"count": text}),
        },
    )


@require_GET
@manager_required
@reads_from_replica
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
            "pareto_bars": charts.bars(pareto, "root_cause", "cases", "cumulative", lambda n, text: gettext(
                "%(share)s %% cumulative") % {"share": text}),
            "weekly": REPORTS["root-causes-weekly"].build(filters),
            "heat": heat,
            "heat_rows": _heat_rows(heat),
            "scores": REPORTS["root-causes-scores"].build(filters),
            "prevention": REPORTS["root-causes-prevention"].build(filters),
            **_segment_breakdown(request, "root-causes-by-segment", filters),
            "suggestions": suggestions,
            "suggestion_headline": _suggestion_headline(suggestions, model),
            "model": model,
        },
    )


def _segment_breakdown(request, report: str, filters) -> dict:
    """The page's table by customer segment, built only when asked for (`?by=segment`): it tests
    the customer of every closed case of the period against every segment, where the rest of the
    page is a rollup read; the page offers the link when segments exist (as the KPI and scores
    pages offer the breakdown among their dimensions)."""
    if not Segment.objects.exists():
        return {"segment_breakdown": None}
    wanted = request.GET.get("by") == "segment"
    return {"segment_breakdown": "shown" if wanted else "offered",
            "by_segment": REPORTS[report].build(filters) if wanted else None}


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


def _heat_rows(table: Table) -> SafeString:
    """The cross-tab's body rows with a 0..5 shade for the touchpoint columns (not the label or
    totals), rendered by Jinja2 from cells prepared here (as Table.rows_html, which explains why)."""
    shaded = [c.key for c in table.columns if c.numeric and c.key not in ("total", "other")]
    top = max((row.get(k) or 0 for row in table.rows for k in shaded), default=0)
    rows = [
        [(j == 0, text, url if url and text != "0" else None,
          charts.heat_level(table.rows[i].get(col.key), top) if col.key in shaded else None)
         for j, (col, text, url) in enumerate(cells)]
        for i, cells in enumerate(table.cells())
    ]
    return mark_safe(engines["jinja2"].get_template("reporting/heat_rows.html").render({"rows": rows}))


@require_GET
@manager_required
@reads_from_replica
def scores(request):
    period = request.GET.get("period", "week")
    if period not in ("week", "month"):
        period = "week"
    by = request.GET.get("by", "touchpoint")
    if by not in SCORE_DIMENSIONS and by != "segment":
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
            "by_choices": [(key, label) for key, (label, _) in SCORE_DIMENSIONS.items()] + [SEGMENT_CHOICE],
            "trend": trend,
            "nps_chart": charts.line(trend, "period", "nps", -100, 100, ticks=(-100, -50, 0, 50, 100),
                                     newest_first=True),
            "breakdown": REPORTS[f"scores-by-{by}"].build(filters),
        },
    )


@require_GET
@manager_required
@reads_from_replica
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
            "recovery_bars": charts.bars(by_team, "group", "recovery_pct", "detractors_before", lambda n, text: ngettext(
                "%(count)s detractor", "%(count)s detractors", int(n)) % {"count": text}),
            "by_root_cause": REPORTS["recovery-by-root-cause"].build(filters),
            "customers": REPORTS["recovery-customers"].build(filters),
            **_segment_breakdown(request, "recovery-by-segment", filters),
            "verified_by_team": verified_by_team,
            "verified_bars": charts.bars(verified_by_team, "group", "verified_pct", "resolved_pct", lambda n, text: gettext(
                "%(share)s %% self-reported") % {"share": text},
                                         skip_labels=("All",)),
            "verified_by_root_cause": REPORTS["verified-recovery-by-root-cause"].build(filters),
            "verified_by_touchpoint": REPORTS["verified-recovery-by-touchpoint"].build(filters),
        },
    )


@require_GET
@manager_required
@reads_from_replica
def contact(request):
    """The contact policy kept or broken: answers received in breach, customers asked too often."""
    form, filters = _form(request, default_days=REPORTS["contact-breaches"].default_days)
    summary, breaches = selectors.contact_breach_tables(filters)  # one computation for both tables
    return _page(request, "reporting/contact.html", form, filters, {
        "title": _("Contact"),
        "active_tab": "reporting:contact",
        "summary": summary,
        "breaches": breaches,
        "over_contacted": REPORTS["contact-over-contacted"].build(filters),
        "policy_url": reverse("contactpolicy:settings"),
    })


@require_GET
@manager_required
@reads_from_replica
def segments(request):
    """Every named segment side by side: scores, case rate, time to close, recovery, with counts."""
    form, filters = _form(request, default_days=REPORTS["segments"].default_days)
    comparison = REPORTS["segments"].build(filters)
    return _page(
        request,
        "reporting/segments.html",
        form,
        filters,
        {
            "title": _("Segment comparison"),
            "active_tab": "reporting:segments",
            "comparison": comparison,
            "nps_bars": charts.bars(comparison, "segment", "nps", "nps_n", lambda n, text: ngettext(
                "%(text)s answer", "%(text)s answers", int(n or 0)) % {"text": text}),
            "has_segments": len(comparison.rows) > 1,
        },
    )


@require_GET
@manager_required
@reads_from_replica
def export_csv(request, name: str):
    """Any report table as CSV: the same selector output the page's table shows."""
    report = REPORTS.get(name)
    if report is None:
        raise Http404("No such report.")
    _unused, filters = _form(request, default_days=report.default_days, default_offset_days=report.default_offset_days,
                             journey=report.journey)
    table = report.build(filters)
    response = HttpResponse(table.to_csv(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="closeloop-{name}-{stamp}.csv"'
    return response


@require_GET
@manager_required
@reads_from_replica
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
            "volume_bars": charts.bars(volume, "theme", "responses", "share", lambda n, text: gettext(
                "%(share)s %% of comments") % {"share": text}),
            "weekly": weekly,
            "weekly_charts": charts.row_lines(weekly, "theme", "total"),
            "scores": REPORTS["themes-scores"].build(filters),
            "heat": heat,
            "heat_rows": _heat_rows(heat),
        },
    )


@require_GET
@manager_required
def journey_map(request):
    """Per stage of a journey: scores, cases, time to close, top root causes and themes; the pain
    points; the moments of truth with their method and interval; the trend by month."""
    form, filters = _form(request, default_days=REPORTS["journey-map"].default_days, journey=True)
    result = selectors.journey_map(filters)
    return _page(
        request,
        "reporting/journey_map.html",
        form,
        filters,
        {
            "title": _("Journey map"),
            "active_tab": "reporting:journey_map",
            "journey": result.journey,
            "stages": result.stages,
            "stage_cards": _stage_cards(result),
            "pain_points": result.pain_points,
            "moments": result.moments,
            "trend": result.trend,
            "trend_charts": charts.row_lines(result.trend, "stage", "total", limit=12),
            "method": moments_method(),
        },
    )


PAIN_HIGHLIGHT = 2  # the worst stages marked on the map


def _stage_cards(result) -> list[dict]:
    """One card per stage, in journey order, for the map across the top of the page: its row and
    links, and whether it is among the worst pain points or a moment of truth."""
    worst = {row["stage"] for row in result.pain_points.rows[:PAIN_HIGHLIGHT]}
    moments = {row["stage"] for row in result.moments.rows if row.get("verdict") == str(_("yes"))}
    return [{"row": row, "links": links, "pain": row["stage"] in worst, "moment": row["stage"] in moments}
            for row, links in zip(result.stages.rows, result.stages.links, strict=True)]


def moments_method() -> dict:
    return {"min": moments.MIN_CUSTOMERS, "max": moments.MAX_CUSTOMERS, "resamples": moments.BOOTSTRAP_RESAMPLES,
            "rho": moments.MOMENT_MIN_RHO}


@require_GET
@manager_required
@reads_from_replica
def results(request):
    """What customers did after they answered, by what happened to their feedback (docs/outcomes.md)."""
    report = REPORTS["closed-loop-results"]
    form, filters = _form(request, default_days=report.default_days, default_offset_days=report.default_offset_days)
    cells = selectors.result_cells(filters)  # one query for the page's four tables
    return _page(request, "reporting/results.html", form, filters, {
        "title": _("Closed-loop results"),
        "active_tab": "reporting:results",
        "results": selectors.closed_loop_results(filters, cells),
        "value": selectors.closed_loop_value(filters, cells),
        "by_team": selectors.closed_loop_results_by(filters, by="team", cells=cells),
        "by_root_cause": selectors.closed_loop_results_by(filters, by="root-cause", cells=cells),
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
