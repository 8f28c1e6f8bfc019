"""The recovery page's second half: what the team recorded at closure beside what customers
answered to "Did we put it right?" (followup.Verification), by team, root cause and touchpoint."""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

from django.db.models import Count, F, Q
from django.utils.translation import gettext_lazy as _

from cases.models import Case
from followup.models import Verification
from reporting.filters import ReportFilters
from reporting.selectors.common import cause_names, closure_events, team_names_by_id
from reporting.tables import Column, Table, pct
from segments.selectors import customers_in_q


def _checks(filters: ReportFilters, date_field: str):
    """Recovery checks ("Did we put it right?") in scope, scoped like cases: the team and touchpoint
    recorded on the check at closure, the rest through its case; `date_field` (sent_at, answered_at)
    takes the date range. Answers by answer date walk the index (team, answered_at)."""
    qs = Verification.objects.filter(**{f"{date_field}__isnull": False})
    if filters.team_ids is not None:
        qs = qs.filter(team_id__in=filters.team_ids)
    if filters.survey_id:
        qs = qs.filter(case__response_survey_id=filters.survey_id)
    if filters.touchpoint:
        qs = qs.filter(touchpoint=filters.touchpoint)
    if filters.location:
        qs = qs.filter(case__response_location=filters.location)
    if filters.tier:
        qs = qs.filter(case__customer__tier=filters.tier)
    if filters.segment is not None:
        qs = qs.filter(customers_in_q([filters.segment], field="case__customer_id"))
    return filters.dates(qs, date_field).order_by()


VERIFIED_COLUMNS = [
    Column("closures", _("Closures"), True),
    Column("resolved", _("Resolved (self-reported)"), True),
    Column("resolved_pct", _("Self-reported resolved %"), True),
    Column("sent", _("Checks sent"), True),
    Column("answered", _("Answered"), True),
    Column("response_pct", _("Response rate %"), True),
    Column("recovered", _("Recovered (customer says)"), True),
    Column("verified_pct", _("Verified recovery %"), True),
    Column("confirmed_pct", _("Resolved as customers confirm % (est.)"), True),
    Column("gap", _("Gap (points)"), True),
]
VERIFIED_DESCRIPTION = _(
    "Beside what the team recorded at closure (share of closures marked resolved with the customer), what "
    "customers answered when asked “Did we put it right?”: checks sent and answers given in the period (response "
    "rate: answers per check sent), and the share of answers saying yes (7 or more of 10, or yes). Resolved as "
    "customers confirm: the self-reported share times the verified share. Gap: self-reported minus confirmed, in "
    "percentage points: closures marked resolved that customers do not confirm."
)


# Each table's slice: the closure events' path to it and the checks' own column.
SLICES = {
    "team": ("case__team_id", "team_id"),
    "root_cause": ("data__root_cause_id", "root_cause_id"),
    # The case's copy of its opening response's touchpoint (cases.response_keys): no join to the responses.
    "touchpoint": ("case__response_touchpoint", "touchpoint"),
}


@lru_cache(maxsize=1)
def _counts(filters: ReportFilters) -> tuple[tuple[dict, ...], tuple[dict, ...], tuple[dict, ...]]:
    """Closures, checks sent and checks answered, each counted by team, root cause and touchpoint
    together: three queries for the page's three tables (each sums the slice it shows). The last
    result is kept, keyed by the filters, whose `now` makes each request's key its own."""
    closure_keys = {f"by_{slice_}": F(path) for slice_, (path, _) in SLICES.items()}
    check_keys = {f"by_{slice_}": F(column) for slice_, (_, column) in SLICES.items()}
    keys = list(closure_keys)
    closures = closure_events(filters).annotate(**closure_keys).values(*keys).annotate(
        closures=Count("pk"), resolved=Count("pk", filter=Q(to_value=Case.Outcome.RESOLVED)))
    sent = _checks(filters, "sent_at").annotate(**check_keys).values(*keys).annotate(sent=Count("pk"))
    answered = _checks(filters, "answered_at").annotate(**check_keys).values(*keys).annotate(
        answered=Count("pk"), recovered=Count("pk", filter=Q(recovered=True)))
    return tuple(closures), tuple(sent), tuple(answered)


def _verified_table(filters: ReportFilters, name: str, title: str, label: str, slice_: str, label_of,
                    link_of) -> Table:
    """One row per slice (team, root cause or touchpoint): closures and their self-reported outcome
    from the timeline, checks from followup.Verification, summed by the slice from _counts."""
    closure_rows, sent_rows, answered_rows = _counts(filters)
    by = f"by_{slice_}"
    closures: dict = defaultdict(lambda: defaultdict(int))
    for r in closure_rows:
        closures[r[by]]["closures"] += r["closures"]
        closures[r[by]]["resolved"] += r["resolved"]
    checks: dict = defaultdict(lambda: defaultdict(int))
    for r in sent_rows:
        checks[r[by]]["sent"] += r["sent"]
    for r in answered_rows:
        checks[r[by]]["answered"] += r["answered"]
        checks[r[by]]["recovered"] += r["recovered"]
    keys = set(closures) | set(checks)
    labels = label_of(keys)
    table = Table(name, title, [Column("group", label), *VERIFIED_COLUMNS], description=VERIFIED_DESCRIPTION)

    def row_for(c: dict, v: dict) -> dict:
        resolved_pct = pct(c.get("resolved", 0), c.get("closures", 0))
        verified_pct = pct(v.get("recovered", 0), v.get("answered", 0))
        confirmed = (round(resolved_pct * verified_pct / 100.0, 1)
                     if resolved_pct is not None and verified_pct is not None else None)
        return {
            "closures": c.get("closures", 0), "resolved": c.get("resolved", 0), "resolved_pct": resolved_pct,
            "sent": v.get("sent", 0), "answered": v.get("answered", 0),
            "response_pct": pct(v.get("answered", 0), v.get("sent", 0)),
            "recovered": v.get("recovered", 0), "verified_pct": verified_pct,
            "confirmed_pct": confirmed,
            "gap": round(resolved_pct - confirmed, 1) if confirmed is not None else None,
        }

    totals: dict[str, dict] = {"c": defaultdict(int), "v": defaultdict(int)}
    order = sorted(keys, key=lambda k: (-checks.get(k, {}).get("sent", 0), -closures.get(k, {}).get("closures", 0),
                                        labels.get(k, "")))
    for key in order:
        c, v = closures.get(key, {}), checks.get(key, {})
        for k in ("closures", "resolved"):
            totals["c"][k] += c.get(k, 0)
        for k in ("sent", "answered", "recovered"):
            totals["v"][k] += v.get(k, 0)
        table.add({"group": labels.get(key, "(none)"), **row_for(c, v)}, link_of(key))
    if len(order) > 1:
        table.add({"group": "All", **row_for(totals["c"], totals["v"])})
    return table


def _no_link(_key) -> dict[str, str]:
    """Closures are timeline events (a case closed twice counts twice; a case reopened since still
    counts), the inbox lists cases: no list of cases has exactly that many rows, so no link."""
    return {}


def verified_recovery_by_team(filters: ReportFilters) -> Table:
    return _verified_table(
        filters, "verified-recovery-by-team", _("Verified recovery by team"), _("Team"), "team", team_names_by_id,
        _no_link,
    )


def verified_recovery_by_root_cause(filters: ReportFilters) -> Table:
    return _verified_table(
        filters, "verified-recovery-by-root-cause", _("Verified recovery by root cause"), _("Root cause"),
        "root_cause", cause_names, _no_link,
    )


def verified_recovery_by_touchpoint(filters: ReportFilters) -> Table:
    return _verified_table(
        filters, "verified-recovery-by-touchpoint", _("Verified recovery by touchpoint"), _("Touchpoint"),
        "touchpoint", lambda keys: {k: k for k in keys if k}, _no_link,
    )
