"""How scores are counted, shared by the KPI, root-cause, scores and themes pages: low scores and
their coverage, NPS / CSAT / CES aggregates and the figures and columns shown for them."""

from __future__ import annotations

from django.db import models
from django.db.models import Avg, Count, F, FloatField, Q, Value
from django.db.models.functions import Cast, Coalesce, NullIf
from django.db.models.lookups import LessThan
from django.utils.translation import gettext_lazy as _

from reporting.tables import Column, pct
from surveys.vocabulary import NpsGroup, nps_q


def low_score_q(prefix: str = "") -> Q:
    """NPS 0-6, CSAT in the two lowest points of its scale, or an alert that opens a case (the flag
    SurveyResponse.case_alert, kept by reporting.coverage's triggers): all in the covering score index."""
    p = prefix
    return (
        nps_q(NpsGroup.DETRACTOR, f"{p}nps")
        | Q(**{f"{p}csat__lte": Coalesce(F(f"{p}csat_scale_min"), Value(1)) + 1})
        | Q(**{f"{p}case_alert": True})
    )


def covered_q(prefix: str = "") -> Q:
    """A case is linked to the response: opened from it or attached (SurveyResponse.case_linked,
    kept by reporting.coverage's triggers)."""
    return Q(**{f"{prefix}case_linked": True})


def ces_ease01(p: str = ""):
    """CES rescaled to 0 (hardest) .. 1 (easiest) on the answer's own scale and direction."""
    lo = Cast(Coalesce(F(f"{p}ces_scale_min"), Value(1)), FloatField())
    hi = Cast(Coalesce(F(f"{p}ces_scale_max"), Value(7)), FloatField())
    raw = Cast(F(f"{p}ces"), FloatField())
    distance = models.Case(
        models.When(**{f"{p}ces_high_is_easy": False}, then=hi - raw),
        default=raw - lo,
        output_field=FloatField(),
    )
    return models.ExpressionWrapper(distance / NullIf(hi - lo, Value(0.0)), output_field=FloatField())


def csat_pct(p: str = ""):
    """CSAT as 0..100 % of its scale (for averaging answers on different scales)."""
    lo = Cast(Coalesce(F(f"{p}csat_scale_min"), Value(1)), FloatField())
    hi = Cast(Coalesce(F(f"{p}csat_scale_max"), Value(5)), FloatField())
    raw = Cast(F(f"{p}csat"), FloatField())
    return models.ExpressionWrapper(100.0 * (raw - lo) / NullIf(hi - lo, Value(0.0)), output_field=FloatField())


def score_index(p: str = ""):
    """One answer as 0..100: CSAT % of scale, else CES ease %, else NPS x 10 (NULL without any).
    The journey map's stage scores and its moments of truth average it."""
    nps10 = Cast(F(f"{p}nps"), FloatField()) * Value(10.0)
    ces100 = ces_ease01(p) * Value(100.0)
    return Coalesce(csat_pct(p), ces100, nps10, output_field=FloatField())


def score_aggregates(p: str = "") -> dict:
    """NPS / CSAT / CES counts for responses (p="") or a case's opening response (p="response__").

    Each count counts the metric's own column (never the primary key), so for responses every
    column read is in the covering index surveys_response_team_scores: an index-only scan."""
    return {
        "nps_n": Count(f"{p}nps"),
        "promoters": Count(f"{p}nps", filter=nps_q(NpsGroup.PROMOTER, f"{p}nps")),
        "passives": Count(f"{p}nps", filter=nps_q(NpsGroup.PASSIVE, f"{p}nps")),
        "detractors": Count(f"{p}nps", filter=nps_q(NpsGroup.DETRACTOR, f"{p}nps")),
        "csat_n": Count(f"{p}csat"),
        "csat_top2": Count(f"{p}csat", filter=Q(**{f"{p}csat__gte": Coalesce(F(f"{p}csat_scale_max"), Value(5)) - 1})),
        "ces_n": Count(f"{p}ces"),
        "ces_ease": Avg(ces_ease01(p)),
        "ces_high_effort": Count(f"{p}ces", filter=LessThan(ces_ease01(p), 0.5)),
    }


# The average ease is a sum of floats, and the same answers summed in another order (the rollup's
# days, a parallel scan's workers) differ in the last bits: enough to turn a true 4.05 into 4.0
# one way and 4.1 the other. Halves round up, after a nudge far above that noise and far below 0.05.
HALF_UP_NUDGE = 1e-9


def half_up(value: float | None) -> float | None:
    """An average to one decimal, halves up (see HALF_UP_NUDGE)."""
    return None if value is None else round(float(value) + HALF_UP_NUDGE, 1)


def ces_average(ease: float | None) -> float | None:
    """The 1-7 CES average (7 easiest) of an average ease (0..1), to one decimal."""
    return half_up(1 + 6 * ease) if ease is not None else None


def score_figures(agg: dict) -> dict:
    """The shown figures from score_aggregates' counts."""
    nps_n = agg["nps_n"]
    return {
        "nps_n": nps_n,
        "promoters": agg["promoters"],
        "passives": agg["passives"],
        "detractors": agg["detractors"],
        "promoters_pct": pct(agg["promoters"], nps_n),
        "detractors_pct": pct(agg["detractors"], nps_n),
        "nps": round(100.0 * (agg["promoters"] - agg["detractors"]) / nps_n, 1) if nps_n else None,
        "csat_n": agg["csat_n"],
        "csat_top2_pct": pct(agg["csat_top2"], agg["csat_n"]),
        "ces_n": agg["ces_n"],
        "ces_avg": ces_average(agg["ces_ease"]),
        "ces_high_effort_pct": pct(agg["ces_high_effort"], agg["ces_n"]),
    }


SCORE_COLUMNS = [
    Column("nps_n", _("NPS n"), True),
    Column("promoters", _("Promoters"), True),
    Column("passives", _("Passives"), True),
    Column("detractors", _("Detractors"), True),
    Column("promoters_pct", _("Promoters %"), True),
    Column("detractors_pct", _("Detractors %"), True),
    Column("nps", _("NPS"), True),
    Column("csat_n", _("CSAT n"), True),
    Column("csat_top2_pct", _("CSAT top-2-box %"), True),
    Column("ces_n", _("CES n"), True),
    Column("ces_avg", _("CES average (1-7, 7 easiest)"), True),
    Column("ces_high_effort_pct", _("High effort %"), True),
]
