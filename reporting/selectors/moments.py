"""Moments of truth: the journey stages whose scores move the customer's relationship score most.

Method (also printed on the journey map and in docs/journeys.md):
- Per customer, in the period: their relationship score is the average of their NPS answers to
  the journey's relationship survey; their score at a stage is the average score index (0-100,
  reporting.selectors.journeys.score_index) of their other responses that belong to the stage.
- Per stage, over the customers who have both: Spearman's rank correlation (rho) between the
  stage score and the relationship score, ties given their average rank.
- Uncertainty: a 95% percentile bootstrap interval over customers (1,000 resamples with a fixed
  seed, so the page, the CSV and the API agree; each resample correlates the customers' ranks in
  the whole sample). Above MAX_CUSTOMERS customers, a fixed random MAX_CUSTOMERS of them.
- A stage with fewer than MIN_CUSTOMERS such customers says "not enough data" instead of a number.
- The table is kept for CACHE_SECONDS per journey (its stages and mappings) and filter set: the
  bootstrap is the page's costliest part, and a relationship score moves slowly. The page says
  when the figures were computed.
- A stage is a moment of truth when rho is at least MOMENT_MIN_RHO and its whole interval lies
  above zero. Stages are listed by rho, strongest first.
This is association, not proof of cause: a customer who had a good delivery may also be one who
likes the brand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np
from django.core.cache import cache
from django.db.models import Avg
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from journeys.selectors import StageMap
from reporting.filters import ReportFilters
from reporting.tables import Column, Table

MIN_CUSTOMERS = 30
MAX_CUSTOMERS = 2000
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_CHUNK = 200
SEED = 20261204
MOMENT_MIN_RHO = 0.2
CACHE_SECONDS = 10 * 60


@dataclass(frozen=True)
class Estimate:
    customers: int
    rho: float | None
    low: float | None
    high: float | None
    sampled: int  # customers the estimate used (customers, or MAX_CUSTOMERS of them)


def ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties given their average rank (what Spearman's rho needs)."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    edges = np.concatenate(([True], ordered[1:] != ordered[:-1], [True]))
    starts = np.flatnonzero(edges)
    average = (starts[:-1] + starts[1:] - 1) / 2.0 + 1.0
    group = np.cumsum(edges[:-1]) - 1
    out = np.empty(len(values), dtype=float)
    out[order] = average[group]
    return out


def _corr_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of x with the same row of y (NaN where one is constant)."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    denominator = np.sqrt((xc * xc).sum(axis=1) * (yc * yc).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (xc * yc).sum(axis=1) / denominator


def spearman_bootstrap(stage_scores, relationship_scores, *, seed: int = SEED,
                       resamples: int = BOOTSTRAP_RESAMPLES) -> Estimate:
    x = np.asarray(stage_scores, dtype=float)
    y = np.asarray(relationship_scores, dtype=float)
    n = len(x)
    if n < MIN_CUSTOMERS:
        return Estimate(n, None, None, None, n)
    rng = np.random.default_rng(seed)
    if n > MAX_CUSTOMERS:
        keep = rng.choice(n, size=MAX_CUSTOMERS, replace=False)
        x, y = x[keep], y[keep]
    m = len(x)
    rx, ry = ranks(x), ranks(y)
    rho = float(_corr_rows(rx[None, :], ry[None, :])[0])
    if np.isnan(rho):  # every customer gave the same score: no ordering to correlate
        return Estimate(n, None, None, None, m)
    found = []
    for start in range(0, resamples, BOOTSTRAP_CHUNK):
        size = min(BOOTSTRAP_CHUNK, resamples - start)
        idx = rng.integers(0, m, size=(size, m))
        found.append(_corr_rows(rx[idx], ry[idx]))
    boots = np.concatenate(found)
    boots = boots[~np.isnan(boots)]
    low, high = (float(v) for v in np.percentile(boots, [2.5, 97.5])) if len(boots) else (None, None)
    return Estimate(n, rho, low, high, m)


def customer_pairs(filters: ReportFilters, smap: StageMap, score_expression) -> dict[int, tuple[list, list]]:
    """Per stage: (stage scores, relationship scores) of the customers who have both in the period.
    Two grouped queries."""
    survey_id = smap.relationship_survey_id
    relationship_qs = filters.responses().filter(survey_id=survey_id, nps__isnull=False, customer_id__isnull=False)
    relationship = dict(relationship_qs.order_by().values("customer_id").annotate(v=Avg("nps"))
                        .values_list("customer_id", "v"))
    if not relationship:
        return {}
    rows = (
        filters.responses().filter(smap.mapped_q(), customer_id__in=relationship_qs.values("customer_id"))
        .exclude(survey_id=survey_id).order_by()
        .annotate(stage=smap.stage_expression()).values("customer_id", "stage")
        .annotate(v=Avg(score_expression)).values_list("stage", "customer_id", "v")
    )
    pairs: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
    for stage, customer_id, value in rows:
        if stage is None or value is None or customer_id not in relationship:
            continue
        xs, ys = pairs[stage]
        xs.append(float(value))
        ys.append(float(relationship[customer_id]))
    return dict(pairs)


def _two(value: float | None) -> Decimal | None:
    """Two decimals (a correlation needs them; the tables print floats with one): the HTML and CSV
    show 0.53, the API "0.53"."""
    return None if value is None else Decimal(f"{value:.2f}")


def _cache_key(filters: ReportFilters, smap: StageMap) -> str:
    """The journey as mapped now and the filters (without the moment they were made)."""
    scope = None if filters.team_ids is None else sorted(filters.team_ids)
    fingerprint = repr((scope, replace(filters, team_ids=None, now=None), smap.fingerprint())).encode()
    return "reporting:journey-moments:" + hashlib.sha256(fingerprint).hexdigest()


def moment_estimates(filters: ReportFilters, smap: StageMap, score_expression) -> tuple[dt.datetime, dict[int, Estimate]]:
    """(when computed, estimate per stage id), from the cache when the same journey (as mapped) and
    filters were asked for in the last CACHE_SECONDS. Numbers only: the table around them is built
    in each reader's language."""
    key = _cache_key(filters, smap)
    cached = cache.get(key)
    if cached is None:
        pairs = customer_pairs(filters, smap, score_expression)
        cached = (timezone.now(), {stage.id: spearman_bootstrap(*pairs.get(stage.id, ([], []))) for stage in smap.stages})
        cache.set(key, cached, CACHE_SECONDS)
    return cached


def journey_moments(filters: ReportFilters, smap: StageMap | None, score_expression) -> Table:
    table = Table(
        "journey-moments-of-truth", _("Moments of truth"),
        [Column("stage", _("Stage")), Column("customers", _("Customers (n)"), True),
         Column("rho", _("Spearman's rho"), True), Column("ci_low", _("95% interval, low"), True),
         Column("ci_high", _("95% interval, high"), True), Column("verdict", _("Moment of truth"))],
        description=str(_(
            "How strongly each stage's score moves with the customer's relationship NPS: Spearman's rank correlation "
            "per customer in the period, with a 95%% bootstrap interval (%(resamples)d resamples). Fewer than "
            "%(min)d customers: not enough data. A moment of truth has rho at least %(rho).1f and an interval above zero."
        ) % {"resamples": BOOTSTRAP_RESAMPLES, "min": MIN_CUSTOMERS, "rho": MOMENT_MIN_RHO}),
    )
    if smap is None:
        table.description = str(_("No journey is defined yet: a CX admin adds one under Settings, Journeys."))
        return table
    if smap.relationship_survey_id is None:
        table.description = str(_("Choose the journey's relationship survey (Settings, Journeys) to estimate the "
                                  "moments of truth."))
        return table
    computed_at, by_stage = moment_estimates(filters, smap, score_expression)
    table.description += " " + str(_("Computed at %(time)s.") % {
        "time": timezone.localtime(computed_at).strftime("%Y-%m-%d %H:%M")})
    estimates = [(stage, by_stage.get(stage.id, Estimate(0, None, None, None, 0))) for stage in smap.stages]
    estimates.sort(key=lambda item: (item[1].rho is None, -(item[1].rho or 0), item[0].position))
    for stage, e in estimates:
        if e.rho is None:
            verdict = str(_("not enough data")) if e.customers < MIN_CUSTOMERS else str(_("no variation"))
        else:
            verdict = str(_("yes")) if is_moment(e) else str(_("no"))
        table.add({"stage": stage.name, "customers": e.customers,
                   "rho": _two(e.rho), "ci_low": _two(e.low), "ci_high": _two(e.high),
                   "verdict": verdict}, {})
    return table


def is_moment(e: Estimate) -> bool:
    return e.rho is not None and e.rho >= MOMENT_MIN_RHO and e.low is not None and e.low > 0
