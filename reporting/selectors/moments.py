"""Moments of truth: the journey stages whose scores move the customer's relationship score most.

Method (also printed on the journey map and in docs/journeys.md):
- Per customer, in the period: their relationship score is the average of their NPS answers to
  the journey's relationship survey; their score at a stage is the average score index (0-100,
  reporting.selectors.scoring.score_index) of their other responses that belong to the stage.
- Per stage, over the customers who have both: Spearman's rank correlation (rho) between the
  stage score and the relationship score, ties given their average rank.
- Uncertainty: a 95% percentile bootstrap interval over customers (1,000 resamples with a fixed
  seed, so the page, the CSV and the API agree; each resample correlates the customers' ranks in
  the whole sample). Above MAX_CUSTOMERS customers, a fixed random MAX_CUSTOMERS of them.
- A stage with fewer than MIN_CUSTOMERS such customers says "not enough data" instead of a number.
- A stage is a moment of truth when rho is at least MOMENT_MIN_RHO and its whole interval lies
  above zero. Stages are listed by rho, strongest first.
This is association, not proof of cause: a customer who had a good delivery may also be one who
likes the brand.

Stored, never computed by a page view: a row (reporting.MomentsOfTruth) per journey, scope and
filter set, computed by a worker (reporting.tasks.moments_compute_task). The first view of a
filter set, and the first after a change to the journey's stages or mappings, queues it and says
the table is being computed (a worker takes about as long as the query over the period's
responses: seconds at 10,000,000 responses); a table older than STALE_SECONDS, or of yesterday's
default period, is shown with its time and period while it is computed again. The beat
(reporting.tasks.moments_refresh_task, every five minutes) queues the tables that are due and
forgets those nobody viewed for KEEP_DAYS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np
from django.db.models import Avg, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.queueing import enqueue
from journeys.models import Journey
from journeys.selectors import StageMap, stage_map
from reporting.filters import DEFAULT_PERIOD_DAYS, ReportFilters
from reporting.models import MomentsOfTruth
from reporting.selectors.scoring import score_index
from reporting.tables import Column, Table
from segments.models import Segment

MIN_CUSTOMERS = 30
MAX_CUSTOMERS = 2000
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_CHUNK = 200
SEED = 20261204
MOMENT_MIN_RHO = 0.2
STALE_SECONDS = 60 * 60  # a stored table older than this is computed again (shown meanwhile)
RETRY_SECONDS = 5 * 60  # a computation queued and not done after this is queued again
KEEP_DAYS = 7  # a table nobody viewed for this long is forgotten
VIEWED_EVERY_SECONDS = 60 * 60  # how often a view notes itself on the row (viewed_at)


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


# --- stored estimates ---------------------------------------------------------------------------
def spec(filters: ReportFilters, smap: StageMap) -> dict:
    """What a stored table is of, as JSON: the journey, the scope (the teams whose responses count:
    a manager's table uses only their teams' data), the filters, and the period, kept as "default"
    when it is the filter's default (the last DEFAULT_PERIOD_DAYS days to today, in the reader's
    time zone), so the refresh moves it with the days."""
    tz = timezone.get_current_timezone_name()
    start, end = _default_period(tz)
    period = "default" if (filters.start, filters.end) == (start, end) else [
        filters.start.isoformat() if filters.start else None, filters.end.isoformat() if filters.end else None]
    return {"journey": smap.journey_id, "teams": None if filters.team_ids is None else sorted(filters.team_ids),
            "team": filters.team_id, "survey": filters.survey_id, "touchpoint": filters.touchpoint,
            "location": filters.location, "tier": filters.tier,
            "segment": filters.segment.pk if filters.segment is not None else None, "period": period, "tz": tz}


def _default_period(tz: str) -> tuple[dt.datetime, dt.datetime]:
    """The report filter's default period (ReportFilterForm): DEFAULT_PERIOD_DAYS days to today."""
    zone = zoneinfo.ZoneInfo(tz)
    last = timezone.localdate(timezone.now(), zone)
    return (dt.datetime.combine(last - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1), dt.time.min, tzinfo=zone),
            dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=zone))


def spec_key(s: dict) -> str:
    return hashlib.sha256(json.dumps(s, sort_keys=True).encode()).hexdigest()


def _fingerprint(smap: StageMap) -> str:
    return hashlib.sha256(smap.fingerprint().encode()).hexdigest()


def filters_of(s: dict) -> ReportFilters | None:
    """The filters a spec was made from (the default period as of now); None when its segment is gone."""
    segment = None
    if s["segment"] is not None:
        segment = Segment.objects.filter(pk=s["segment"]).first()
        if segment is None:
            return None
    if s["period"] == "default":
        start, end = _default_period(s["tz"])
    else:
        start, end = (dt.datetime.fromisoformat(v) if v else None for v in s["period"])
    return ReportFilters(team_ids=None if s["teams"] is None else frozenset(s["teams"]), start=start, end=end,
                         team_id=s["team"], survey_id=s["survey"], touchpoint=s["touchpoint"], location=s["location"],
                         tier=s["tier"], segment=segment, journey_id=s["journey"])


def compute(s: dict) -> MomentsOfTruth | None:
    """Compute and store the table of one spec (the worker's task, the refresh): None when its
    journey or segment is gone (the row, if any, dropped) or the journey has no relationship survey."""
    filters = filters_of(s)
    smap = stage_map(s["journey"]) if Journey.objects.filter(pk=s["journey"]).exists() else None
    key = spec_key(s)
    if filters is None or smap is None:
        MomentsOfTruth.objects.filter(key=key).delete()
        return None
    if smap.relationship_survey_id is None:
        return None
    by_stage = estimates(filters, smap)
    now = timezone.now()
    values = {"journey_id": smap.journey_id, "spec": s, "fingerprint": _fingerprint(smap),
              "estimates": {str(k): [e.customers, e.rho, e.low, e.high, e.sampled] for k, e in by_stage.items()},
              "period_start": filters.start, "period_end": filters.end, "computed_at": now,
              "requested_at": None}  # done: the next change queues it again at once
    row, _created = MomentsOfTruth.objects.update_or_create(key=key, defaults=values,
                                                            create_defaults={**values, "viewed_at": now})
    return row


def estimates(filters: ReportFilters, smap: StageMap) -> dict[int, Estimate]:
    """The estimate per stage id, computed now (what a stored row holds)."""
    pairs = customer_pairs(filters, smap, score_index())
    return {stage.id: spearman_bootstrap(*pairs.get(stage.id, ([], []))) for stage in smap.stages}


def _due(row: MomentsOfTruth, fingerprint: str, filters: ReportFilters, now: dt.datetime) -> bool:
    """Not computed, computed for another mapping of the journey or another period (the default one
    moved on), or older than STALE_SECONDS."""
    return (row.computed_at is None or row.fingerprint != fingerprint
            or (row.period_start, row.period_end) != (filters.start, filters.end)
            or row.computed_at < now - dt.timedelta(seconds=STALE_SECONDS))


def _queue(s: dict, key: str, now: dt.datetime) -> bool:
    """Mark the row asked for and queue its computation, unless one is queued and not done yet
    (requested in the last RETRY_SECONDS: a worker is on it; a computation that ends clears the
    mark). Under CELERY_TASK_ALWAYS_EAGER (tests) it runs at once."""
    queued = MomentsOfTruth.objects.filter(key=key).filter(
        Q(requested_at__isnull=True) | Q(requested_at__lt=now - dt.timedelta(seconds=RETRY_SECONDS))
    ).update(requested_at=now)
    if queued:
        enqueue("reporting.tasks.moments_compute_task", s, if_down="the moments refresh will queue it later")
    return bool(queued)


@dataclass(frozen=True)
class Stored:
    computed_at: dt.datetime | None  # None: being computed, nothing to show yet
    by_stage: dict[int, Estimate]
    period_start: dt.datetime | None = None
    period_end: dt.datetime | None = None
    refreshing: bool = False  # shown, and being computed again


def moment_estimates(filters: ReportFilters, smap: StageMap) -> Stored:
    """The stored table of this journey (as mapped now), scope and filters. A row missing, or
    computed for another mapping, is queued and shown as being computed; one merely old (or of
    yesterday's default period) is shown, with its time and period, while it is computed again.
    One query when the row is current (two once an hour: the row's viewed_at)."""
    s = spec(filters, smap)
    key = spec_key(s)
    now = timezone.now()
    fingerprint = _fingerprint(smap)
    row = MomentsOfTruth.objects.filter(key=key).first()
    if row is None:
        row, _created = MomentsOfTruth.objects.get_or_create(key=key, defaults={
            "journey_id": smap.journey_id, "spec": s, "viewed_at": now})
    elif row.viewed_at < now - dt.timedelta(seconds=VIEWED_EVERY_SECONDS):
        MomentsOfTruth.objects.filter(pk=row.pk).update(viewed_at=now)
    refreshing = _due(row, fingerprint, filters, now)
    if refreshing:
        _queue(s, key, now)
        row = MomentsOfTruth.objects.filter(key=key).first() or row  # computed already under eager Celery
        refreshing = _due(row, fingerprint, filters, now)
    if row.computed_at is None or row.fingerprint != fingerprint:
        return Stored(None, {})
    by_stage = {int(k): Estimate(*v) for k, v in row.estimates.items()}
    return Stored(row.computed_at, by_stage, row.period_start, row.period_end, refreshing)


def refresh_due(now: dt.datetime | None = None) -> dict:
    """The beat's sweep (reporting.tasks.moments_refresh_task): forget the tables nobody viewed in
    KEEP_DAYS; queue the others that are due (not computed, the journey's stages or mappings changed,
    the default period moved on, older than STALE_SECONDS) and not queued in the last RETRY_SECONDS."""
    now = now or timezone.now()
    forgotten, _ = MomentsOfTruth.objects.filter(viewed_at__lt=now - dt.timedelta(days=KEEP_DAYS)).delete()
    maps: dict[int, StageMap | None] = {}
    queued = 0
    for row in MomentsOfTruth.objects.order_by("pk"):
        if row.journey_id not in maps:
            exists = Journey.objects.filter(pk=row.journey_id).exists()
            maps[row.journey_id] = stage_map(row.journey_id) if exists else None
        smap = maps[row.journey_id]
        filters = filters_of(row.spec)
        if smap is None or filters is None:
            row.delete()
            forgotten += 1
            continue
        if smap.relationship_survey_id is None or not _due(row, _fingerprint(smap), filters, now):
            continue
        queued += _queue(row.spec, row.key, now)
    return {"queued": queued, "forgotten": forgotten}


def journey_moments(filters: ReportFilters, smap: StageMap | None) -> Table:
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
    stored = moment_estimates(filters, smap)
    if stored.computed_at is None:
        table.description += " " + str(_("Being computed for this journey and these filters: reload the page in a "
                                          "minute."))
        return table
    table.description += " " + str(_("Computed at %(time)s.") % {
        "time": timezone.localtime(stored.computed_at).strftime("%Y-%m-%d %H:%M")})
    if (stored.period_start, stored.period_end) != (filters.start, filters.end):
        period = replace(filters, start=stored.period_start, end=stored.period_end).period_label
        table.description += " " + str(_("These figures are of %(period)s; those of this period are being computed.")
                                       % {"period": period})
    rows = [(stage, stored.by_stage.get(stage.id, Estimate(0, None, None, None, 0))) for stage in smap.stages]
    rows.sort(key=lambda item: (item[1].rho is None, -(item[1].rho or 0), item[0].position))
    for stage, e in rows:
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
