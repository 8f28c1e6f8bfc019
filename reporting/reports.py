"""The named reports: one name per table, shared by the pages, the CSV export
(/reports/export/<name>.csv) and the API (/api/v1/reports/<name>/)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from reporting import selectors
from reporting.filters import DEFAULT_PERIOD_DAYS, ReportFilters
from reporting.tables import Table


@dataclass(frozen=True)
class Report:
    name: str
    build: Callable[[ReportFilters], Table]
    # The dashboard shows the present (no date range unless one is chosen); analyses default to
    # the last DEFAULT_PERIOD_DAYS days.
    default_days: int | None = DEFAULT_PERIOD_DAYS
    # The default period ends this many days before today (outcomes need time to happen).
    default_offset_days: int = 0
    journey: bool = False  # takes the `journey` parameter (the journey map's tables)


def _reports() -> dict[str, Report]:
    items = [
        Report("overdue-by-team", selectors.overdue_by_team, None),
        Report("overdue-by-assignee", selectors.overdue_by_assignee, None),
        Report("overdue-age", selectors.overdue_age, None),
        Report("overdue-escalation", selectors.overdue_escalation, None),
        *[Report(f"kpis-by-{by}", partial(selectors.kpis, by=by)) for by in selectors.KPI_DIMENSIONS],
        Report("kpis-by-segment", selectors.kpis_by_segment),
        Report("root-causes-pareto", selectors.root_cause_pareto),
        Report("root-causes-weekly", selectors.root_cause_weekly),
        Report("root-causes-by-touchpoint", selectors.root_cause_by_touchpoint),
        Report("root-causes-scores", selectors.root_cause_scores),
        Report("root-causes-prevention", selectors.root_cause_prevention),
        Report("root-cause-suggestions", selectors.root_cause_suggestions),
        Report("root-causes-by-segment", selectors.root_causes_by_segment),
        Report("scores-weekly", partial(selectors.scores_trend, period="week")),
        Report("scores-monthly", partial(selectors.scores_trend, period="month")),
        *[Report(f"scores-by-{by}", partial(selectors.scores_by, by=by)) for by in selectors.SCORE_DIMENSIONS],
        Report("scores-by-segment", selectors.scores_by_segment),
        Report("recovery-by-team", selectors.recovery_by_team),
        Report("recovery-by-root-cause", selectors.recovery_by_root_cause),
        Report("recovery-customers", selectors.recovery_customers),
        Report("recovery-by-segment", selectors.recovery_by_segment),
        Report("segments", selectors.segment_comparison),
        Report("verified-recovery-by-team", selectors.verified_recovery_by_team),
        Report("verified-recovery-by-root-cause", selectors.verified_recovery_by_root_cause),
        Report("verified-recovery-by-touchpoint", selectors.verified_recovery_by_touchpoint),
        Report("themes-volume", selectors.themes_volume),
        Report("themes-weekly", selectors.themes_weekly),
        Report("themes-scores", selectors.themes_scores),
        Report("themes-by-touchpoint", selectors.themes_by_touchpoint),
        Report("contact-breaches-summary", selectors.contact_breach_summary),
        Report("contact-breaches", selectors.contact_breaches),
        Report("contact-over-contacted", selectors.over_contacted),
        Report("journey-map", selectors.journey_stages, journey=True),
        Report("journey-pain-points", selectors.journey_pain_points, journey=True),
        Report("journey-moments-of-truth", selectors.journey_moments_of_truth, journey=True),
        Report("journey-trend", selectors.journey_trend, journey=True),
        # Outcomes need time to happen: by default the answers of the 12 months that ended 90 days ago.
        Report("closed-loop-results", selectors.closed_loop_results, 365, 90),
        Report("closed-loop-value", selectors.closed_loop_value, 365, 90),
        *[Report(f"closed-loop-results-by-{by}", partial(selectors.closed_loop_results_by, by=by), 365, 90)
          for by in ("team", "root-cause")],
        Report("impact-root-causes", selectors.impact_root_causes, 365),
        Report("impact-themes", selectors.impact_themes, 365),
        Report("fix-first", selectors.fix_first, 365),
    ]
    return {r.name: r for r in items}


REPORTS = _reports()
