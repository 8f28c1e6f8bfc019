"""Every figure reporting shows: read-only queries over surveys, alerts and cases, one module per page.

Each public function takes `ReportFilters` (already scoped to the teams the user may see) and
returns a `Table`. Counting happens in SQL (conditional aggregation: COUNT(*) FILTER (WHERE ...)
on PostgreSQL, date_trunc for periods); Python only pivots small result sets and measures
durations in business hours, which depend on each team's calendar (cases.calendar).

Modules: overdue (the dashboard), journeys and moments (the journey map), kpis, root_causes and suggestions, scores, recovery and
verified_recovery, themes, contact (the contact policy's breaches), segments (the segment comparison and the per-segment breakdowns); scoring (how scores are counted) and common (drill-down links, names,
cross-tabs) are what the pages share. Callers import the page functions from here.

Definitions (also in the README):
- overdue: not closed and a clock ran out (resolution due passed, or first contact due passed
  with no contact yet). It became overdue at that due time, which dates the age buckets.
- low score: a response with an alert whose action opens a case, or NPS 0-6, or CSAT in the two
  lowest points of its scale. Coverage: share of low scores linked to a case (opened it or
  attached to one).
- durations: from case creation to the first contact attempt / to closure, in the team's
  business hours; median and 90th percentile (linear interpolation, like percentile_cont).
- SLA met: first contact at or before its due time; closed at or before the resolution due.
  Missed: late, or still waiting after the due time. Cases whose clock still runs are left out.
- reopen rate: cases reopened at least once among cases ever closed.
- NPS: promoters (9-10) % minus detractors (0-6) %. CSAT: top-2-box %, the two highest points
  of the response's scale (1-5 when unknown). CES: every answer rescaled to 1-7 where 7 is
  easiest (respecting ces_high_is_easy; 1-7, high-is-easy when unknown); high effort = the hard
  half of the scale (below its midpoint).
"""

from reporting.selectors.common import ALL_TEAMS, MAX_LIST_ROWS, inbox_filter_names, inbox_url, percentile
from reporting.selectors.contact import contact_breach_summary, contact_breach_tables, contact_breaches, over_contacted
from reporting.selectors.impact import fix_first, impact_root_causes, impact_tables, impact_themes
from reporting.selectors.journeys import (
    JourneyMap,
    journey_map,
    journey_moments_of_truth,
    journey_pain_points,
    journey_stages,
    journey_trend,
)
from reporting.selectors.kpis import KPI_COLUMNS, KPI_DIMENSIONS, business_hours, kpis
from reporting.selectors.outcomes import closed_loop_results, closed_loop_results_by, closed_loop_value, result_cells
from reporting.selectors.overdue import (
    AGE_BUCKETS,
    ESCALATION_LABELS,
    due_within_q,
    overdue_age,
    overdue_by_assignee,
    overdue_by_team,
    overdue_escalation,
    overdue_since,
)
from reporting.selectors.recovery import RECOVERY_COLUMNS, recovery_by_root_cause, recovery_by_team, recovery_customers
from reporting.selectors.root_causes import (
    PREVENTION_PER_CAUSE,
    root_cause_by_touchpoint,
    root_cause_pareto,
    root_cause_prevention,
    root_cause_scores,
    root_cause_weekly,
)
from reporting.selectors.scores import SCORE_DIMENSIONS, score_rollup, scores_by, scores_trend
from reporting.selectors.segments import (
    kpis_by_segment,
    recovery_by_segment,
    root_causes_by_segment,
    scores_by_segment,
    segment_comparison,
)
from reporting.selectors.scoring import SCORE_COLUMNS, score_aggregates, score_figures
from reporting.selectors.suggestions import root_cause_model_in_use, root_cause_suggestions
from reporting.selectors.themes import (
    THEME_SCORE_COLUMNS,
    themes_by_touchpoint,
    themes_scores,
    themes_volume,
    themes_weekly,
)
from reporting.selectors.verified_recovery import (
    VERIFIED_COLUMNS,
    verified_recovery_by_root_cause,
    verified_recovery_by_team,
    verified_recovery_by_touchpoint,
)

__all__ = [
    "closed_loop_results", "closed_loop_results_by", "closed_loop_value", "fix_first", "result_cells",
    "impact_root_causes", "impact_tables",
    "impact_themes",
    "AGE_BUCKETS",
    "ESCALATION_LABELS",
    "JourneyMap",
    "KPI_COLUMNS",
    "ALL_TEAMS",
    "KPI_DIMENSIONS",
    "MAX_LIST_ROWS",
    "PREVENTION_PER_CAUSE",
    "RECOVERY_COLUMNS",
    "SCORE_COLUMNS",
    "SCORE_DIMENSIONS",
    "THEME_SCORE_COLUMNS",
    "VERIFIED_COLUMNS",
    "business_hours",
    "contact_breach_summary",
    "contact_breach_tables",
    "contact_breaches",
    "kpis_by_segment",
    "recovery_by_segment",
    "root_causes_by_segment",
    "scores_by_segment",
    "segment_comparison",
    "due_within_q",
    "inbox_filter_names",
    "inbox_url",
    "journey_map",
    "journey_moments_of_truth",
    "journey_pain_points",
    "journey_stages",
    "journey_trend",
    "kpis",
    "overdue_age",
    "overdue_by_assignee",
    "overdue_by_team",
    "overdue_escalation",
    "overdue_since",
    "over_contacted",
    "percentile",
    "recovery_by_root_cause",
    "recovery_by_team",
    "recovery_customers",
    "root_cause_by_touchpoint",
    "root_cause_model_in_use",
    "root_cause_pareto",
    "root_cause_prevention",
    "root_cause_scores",
    "root_cause_suggestions",
    "root_cause_weekly",
    "score_aggregates",
    "score_figures",
    "score_rollup",
    "scores_by",
    "scores_trend",
    "themes_by_touchpoint",
    "themes_scores",
    "themes_volume",
    "themes_weekly",
    "verified_recovery_by_root_cause",
    "verified_recovery_by_team",
    "verified_recovery_by_touchpoint",
]
