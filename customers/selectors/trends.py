"""Score trends per month, drawn as a small inline SVG line (server-side, no script: the same
approach as reporting's charts), with every value also printed as text."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Avg, Count, DecimalField, ExpressionWrapper, F, FloatField, Q, QuerySet, Value
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class TrendPoint:
    month: str  # "2026-03"
    value: float
    count: int


@dataclass(frozen=True)
class Trend:
    """One metric's monthly values, oldest first, and the geometry of its small line."""

    metric: str  # "nps", "csat", "ces"
    label: str
    unit: str
    points: list[TrendPoint]
    polyline: str
    dots: list[tuple[float, float, str]]  # x, y, title
    width: int = 160
    height: int = 40

    @property
    def last(self) -> TrendPoint | None:
        return self.points[-1] if self.points else None


def _geometry(values: list[float], low: float, high: float, width: int, height: int) -> list[tuple[float, float]]:
    pad = 4
    span = (high - low) or 1
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    return [(round(pad + i * step if len(values) > 1 else width / 2, 1),
             round(pad + (height - 2 * pad) * (1 - (min(max(v, low), high) - low) / span), 1)) for i, v in enumerate(values)]


METRICS = [
    ("nps", _("NPS"), "", -100.0, 100.0),
    ("csat", _("CSAT"), "%", 0.0, 100.0),
    ("ces", _("CES"), "", None, None),
]


def month_figures() -> dict:
    """Per month: NPS answers, promoters and detractors; CSAT answers and their average as % of
    their scale; CES answers and their average. Aggregates over a month's responses: grouped
    (monthly_trends) or as window aggregates partitioned by month (the account page)."""
    csat_pct = ExpressionWrapper(
        # 100.0 as a decimal: one type throughout (Django refuses decimal x float), real division on SQLite.
        (F("csat") - F("csat_scale_min")) * Value(100.0, output_field=DecimalField())
        / (F("csat_scale_max") - F("csat_scale_min")),
        output_field=FloatField())
    return {
        "n_nps": Count("nps"), "promoters": Count("pk", filter=Q(nps__gte=9)), "detractors": Count("pk", filter=Q(nps__lte=6)),
        "n_csat": Count("csat", filter=Q(csat_scale_max__gt=F("csat_scale_min"))),
        "csat": Avg(csat_pct, filter=Q(csat_scale_max__gt=F("csat_scale_min"))),
        "n_ces": Count("ces"), "ces": Avg("ces"),
    }


def monthly_trends(responses: QuerySet, *, months: int = 24) -> list[Trend]:
    """NPS (promoters minus detractors, %), CSAT (average, % of its scale) and CES (average) per
    month over `responses`, the latest `months`; one query. Metrics never answered are left out."""
    rows = list(responses.order_by().annotate(month=TruncMonth("answered_at")).values("month").annotate(
        **month_figures()).order_by("-month")[:months])
    return trends_of(rows, months=months)


def trends_of(rows: list[dict], *, months: int = 24) -> list[Trend]:
    """The trends of per-month rows (a "month" and month_figures()'s keys, in any order): the
    latest `months` of them, oldest first."""
    rows = sorted(rows, key=lambda row: row["month"], reverse=True)[:months]
    rows.reverse()
    trends = []
    for metric, label, unit, low, high in METRICS:
        points = []
        for row in rows:
            label_month = row["month"].strftime("%Y-%m")
            if metric == "nps" and row["n_nps"]:
                points.append(TrendPoint(label_month, round(100.0 * (row["promoters"] - row["detractors"]) / row["n_nps"], 1),
                                         row["n_nps"]))
            elif metric == "csat" and row["n_csat"] and row["csat"] is not None:
                points.append(TrendPoint(label_month, round(float(row["csat"]), 1), row["n_csat"]))
            elif metric == "ces" and row["n_ces"] and row["ces"] is not None:
                points.append(TrendPoint(label_month, round(float(row["ces"]), 2), row["n_ces"]))
        if not points:
            continue
        values = [p.value for p in points]
        lo = low if low is not None else min(values) - 1
        hi = high if high is not None else max(values) + 1
        xy = _geometry(values, lo, hi, 160, 40)
        trends.append(Trend(
            metric=metric, label=str(label), unit=unit, points=points,
            polyline=" ".join(f"{x},{y}" for x, y in xy),
            dots=[(x, y, f"{p.month}: {p.value:g}{unit} ({p.count})") for (x, y), p in zip(xy, points, strict=True)],
        ))
    return trends
