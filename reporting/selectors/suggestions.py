"""Root-cause suggestions (shown on the root-causes page): how often the close form offered root
causes, how often one was taken, and the model they came from."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import RootCauseModel
from reporting.filters import ReportFilters
from reporting.selectors.common import ALL_TEAMS, closure_events, team_names_by_id
from reporting.tables import Column, Table, pct


def root_cause_model_in_use() -> dict | None:
    """The newest trained root-cause model (the one suggestions come from), without its bytes."""
    model = RootCauseModel.objects.defer("blob").order_by("-created_at").first()
    if model is None:
        return None
    return {
        "created_at": model.created_at,
        "trained_on": model.trained_on,
        "classes": model.classes,
        "held_out": model.held_out,
        "accuracy_top1": None if model.accuracy_top1 is None else round(100.0 * model.accuracy_top1, 1),
        "accuracy_top3": None if model.accuracy_top3 is None else round(100.0 * model.accuracy_top3, 1),
    }


def _model_sentence(model: dict | None) -> str:
    if model is None:
        return "No root-cause model is trained yet, so nothing is suggested."
    when = timezone.localtime(model["created_at"]).strftime("%Y-%m-%d %H:%M")
    accuracy = (
        f"held-out accuracy top-1 {model['accuracy_top1']:.1f} %, top-3 {model['accuracy_top3']:.1f} % "
        f"({model['held_out']} closed cases held out)"
        if model["accuracy_top1"] is not None and model["accuracy_top3"] is not None
        else "no held-out accuracy measured"
    )
    return f"Model in use: trained {when} on {model['trained_on']} closed cases, {model['classes']} root causes; {accuracy}."


def root_cause_suggestions(filters: ReportFilters) -> Table:
    """How often the close form offered root causes and how often one of them was taken, by team."""
    rows = {
        r["case__team_id"]: r
        for r in closure_events(filters)
        .values("case__team_id")
        .annotate(
            closures=Count("pk"),
            offered=Count("pk", filter=Q(data__has_key="suggestion_taken")),
            taken=Count("pk", filter=Q(data__suggestion_taken=True)),
        )
    }
    names = team_names_by_id(rows)
    table = Table(
        "root-cause-suggestions",
        _("Root-cause suggestions taken"),
        [
            Column("team", _("Team")),
            Column("closures", _("Closures"), True),
            Column("offered", _("Closed with suggestions"), True),
            Column("offered_pct", _("Suggestions offered %"), True),
            Column("taken", _("Suggestion taken"), True),
            Column("taken_pct", _("Acceptance rate %"), True),
        ],
        description=_("Closures in the period: how many had root causes suggested in the close form, and the share "
                    "where the person closing picked one of them. ") + _model_sentence(root_cause_model_in_use()),
    )
    totals = defaultdict(int)
    for team_id in sorted(rows, key=lambda i: (-rows[i]["closures"], names.get(i, ""))):
        r = rows[team_id]
        for key in ("closures", "offered", "taken"):
            totals[key] += r[key]
        table.add({
            "team": names.get(team_id, "?"), "closures": r["closures"], "offered": r["offered"],
            "offered_pct": pct(r["offered"], r["closures"]), "taken": r["taken"], "taken_pct": pct(r["taken"], r["offered"]),
        })
    if len(rows) > 1:
        table.add({"team": str(ALL_TEAMS), **totals, "offered_pct": pct(totals["offered"], totals["closures"]),
                   "taken_pct": pct(totals["taken"], totals["offered"])})
    return table

