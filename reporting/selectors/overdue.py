"""The overdue dashboard (a manager's landing page): open cases now, by team, assignee, how long
overdue and escalation level."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Count, Min, Q, Sum
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from cases.models import Case
from cases.selectors import due_soon_q, overdue_q, overdue_since
from reporting.filters import ReportFilters
from reporting.selectors.common import ALL_TEAMS, inbox_url
from reporting.tables import Column, Table, one_decimal, pct

AGE_BUCKETS = [("0-4 h", 0, 4), ("4-24 h", 4, 24), ("1-3 d", 24, 72), ("> 3 d", 72, None)]
ESCALATION_LABELS = {
    0: "Not escalated",
    1: "Level 1: assignee and managers notified",
    2: "Level 2: escalation contact notified, priority raised",
}


def due_within_q(now: dt.datetime, hours: int) -> Q:
    """Open, not yet overdue, a clock runs out within `hours`: the inbox's `due_within` filter."""
    return due_soon_q(now, dt.timedelta(hours=hours))


def _user_name(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def _open_cases(filters: ReportFilters):
    """Open cases in scope. The panels count `team` (never null) rather than the primary key: the
    covering partial index cases_case_open_team_cover holds the team and every column they read,
    so each panel is an index-only scan of the open cases."""
    return filters.cases(Case.objects.open(), date_field="created_at").order_by()


def overdue_by_team(filters: ReportFilters) -> Table:
    now = filters.now
    late = overdue_q(now)
    rows = {
        r["team_id"]: r
        for r in _open_cases(filters)
        .values("team_id")
        .annotate(
            overdue=Count("team", filter=late),
            escalated=Count("team", filter=late & Q(escalation_level__gt=0)),
            unassigned=Count("team", filter=late & Q(assignee__isnull=True)),
            due_24h=Count("team", filter=due_within_q(now, 24)),
            open=Count("team"),
            overdue_value=Sum("value_at_risk", filter=late),
        )
    }
    teams = Team.objects.order_by("name")
    if filters.team_ids is not None:
        teams = teams.filter(id__in=filters.team_ids)
    table = Table(
        "overdue-by-team",
        _("Overdue by team"),
        [
            Column("team", _("Team")),
            Column("overdue", _("Overdue"), True),
            Column("escalated", _("Escalated"), True),
            Column("unassigned", _("Overdue, unassigned"), True),
            Column("due_24h", _("Due in next 24 h"), True),
            Column("open", _("Open"), True),
            Column("overdue_value", _("Overdue value at risk"), True),
        ],
        description=_("Open cases per team now; overdue value at risk is the customers' account value."),
    )
    totals = defaultdict(int)
    team_list = sorted(teams, key=lambda t: (-rows.get(t.pk, {}).get("overdue", 0), t.name))
    for team in team_list:
        r = rows.get(team.pk, {})
        row = {
            "team": team.name,
            "overdue": r.get("overdue", 0),
            "escalated": r.get("escalated", 0),
            "unassigned": r.get("unassigned", 0),
            "due_24h": r.get("due_24h", 0),
            "open": r.get("open", 0),
            "overdue_value": r.get("overdue_value") or 0,
        }
        for key in ("overdue", "escalated", "unassigned", "due_24h", "open", "overdue_value"):
            totals[key] += row[key]
        table.add(row, _overdue_links(filters, team=team.pk))
    if len(team_list) > 1:
        table.add({"team": str(ALL_TEAMS), **totals}, _overdue_links(filters))
    return table


def _overdue_links(filters: ReportFilters, **segment) -> dict[str, str]:
    return {
        "overdue": inbox_url(filters, view="overdue", **segment),
        "escalated": inbox_url(filters, view="overdue", escalation_level="1", **segment),
        "unassigned": inbox_url(filters, view="overdue", unassigned="true", **segment),
        # "Team all" narrowed by `due_within`: the "due soon" view itself means the next 2 hours.
        "due_24h": inbox_url(filters, view="team", due_within="24", **segment),
        "open": inbox_url(filters, view="team", **segment),
    }


def overdue_by_assignee(filters: ReportFilters) -> Table:
    now = filters.now
    rows = (
        _open_cases(filters)
        .filter(overdue_q(now))
        .values("assignee_id", "assignee__first_name", "assignee__last_name", "assignee__username")
        .annotate(
            overdue=Count("team"),
            escalated=Count("team", filter=Q(escalation_level__gt=0)),
            oldest=Min(overdue_since()),
        )
        .order_by("-overdue", "assignee__username")
    )
    table = Table(
        "overdue-by-assignee",
        _("Overdue by assignee"),
        [
            Column("assignee", _("Assignee")),
            Column("overdue", _("Overdue"), True),
            Column("escalated", _("Escalated"), True),
            Column("longest_hours", _("Longest overdue (h)"), True),
        ],
    )
    for r in rows:
        if r["assignee_id"] is None:
            name, who = "Unassigned", {"unassigned": "true"}
        else:
            name = _user_name(r["assignee__first_name"], r["assignee__last_name"], r["assignee__username"])
            who = {"assignee": r["assignee_id"]}
        longest = (now - r["oldest"]).total_seconds() / 3600 if r["oldest"] else None
        link = inbox_url(filters, view="overdue", **who)
        table.add(
            {"assignee": name, "overdue": r["overdue"], "escalated": r["escalated"], "longest_hours": one_decimal(longest)},
            {"overdue": link, "escalated": inbox_url(filters, view="overdue", escalation_level="1", **who)},
        )
    return table


def overdue_age(filters: ReportFilters) -> Table:
    """Overdue cases by how long ago they became overdue (wall-clock time)."""
    now = filters.now
    buckets = {}
    for label, low, high in AGE_BUCKETS:
        cond = Q(since__lte=now - dt.timedelta(hours=low))
        if high is not None:
            cond &= Q(since__gt=now - dt.timedelta(hours=high))
        buckets[label] = Count("team", filter=cond)
    counts = _open_cases(filters).filter(overdue_q(now)).annotate(since=overdue_since()).aggregate(
        **{f"b{i}": agg for i, agg in enumerate(buckets.values())}
    )
    total = sum(counts.values())
    table = Table(
        "overdue-age",
        _("How long overdue"),
        [Column("age", _("Overdue for")), Column("cases", _("Cases"), True), Column("share", _("Share %"), True)],
        description=_("Time since the case's first clock ran out."),
    )
    for i, (label, low, high) in enumerate(AGE_BUCKETS):
        n = counts[f"b{i}"]
        # The inbox's overdue_for range is the same bucket: (now - high, now - low].
        link = inbox_url(filters, view="overdue", overdue_for_min=low or None, overdue_for_max=high)
        table.add({"age": label, "cases": n, "share": pct(n, total)}, {"cases": link})
    return table


def overdue_escalation(filters: ReportFilters) -> Table:
    rows = {
        r["escalation_level"]: r["n"]
        for r in _open_cases(filters)
        .filter(overdue_q(filters.now))
        .values("escalation_level")
        .annotate(n=Count("team"))
    }
    table = Table(
        "overdue-escalation",
        _("Overdue by escalation level"),
        [Column("level", _("Level"), True), Column("meaning", _("Meaning")), Column("cases", _("Cases"), True)],
    )
    for level in sorted(set(ESCALATION_LABELS) | set(rows)):
        link = inbox_url(filters, view="overdue", escalation_level=level or None, escalation_level_max=str(level))
        table.add(
            {"level": level, "meaning": ESCALATION_LABELS.get(level, f"Level {level}"), "cases": rows.get(level, 0)},
            {"cases": link},
        )
    return table

