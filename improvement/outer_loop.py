"""Outer-loop alerts: a root cause, theme or touchpoint whose last week left its normal range.

The method (Shewhart control charts, as statistical process control uses them), on whole
weeks (Monday to Sunday, in the installation's zone), the last complete week against the
BASELINE_WEEKS weeks before it:

- **volume** of a root cause (cases closed with it) or a theme (responses tagged with it): a
  c-chart. Centre c̄ = the baseline's mean weekly count; upper limit c̄ + 3·√c̄. The week is out
  of range when its count is above the limit and at least MIN_COUNT (a handful of cases is never
  an alarm by itself).
- **detractor share** at a touchpoint (NPS answers 0-6 among its NPS answers): a p-chart. Centre
  p̄ = the baseline's detractors / answers; upper limit p̄ + 3·√(p̄(1-p̄)/n) for the week's n. Weeks
  with fewer than MIN_ANSWERS answers are not judged.

Only worsening raises an alert. An **episode** starts with the first week out of range and
lasts while the following weeks stay out; one alert per episode: `outer_loop_scan` (beat, daily;
idempotent) opens it and notifies its owner once, updates its evidence each week it continues,
and closes it with the first week back in range. The owner is the owner of an open action plan
that targets the same root cause, theme or touchpoint, else every active CX admin.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncWeek
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from cases import inapp
from cases.inapp import outer_loop_sentence
from cases.models import Case, Notification, NotificationKind, RootCause
from cases.notifications import email_row, enabled_users, queue
from improvement.models import ActionPlan, OuterLoopAlert
from surveys.models import ResponseTheme, SurveyResponse, Theme
from surveys.vocabulary import NpsGroup, nps_q

BASELINE_WEEKS = 12
MIN_COUNT = 5
MIN_ANSWERS = 20


@dataclass(frozen=True)
class Signal:
    kind: str  # OuterLoopAlert.Kind
    key: str  # root cause / theme id, or the touchpoint's name
    label: str
    metric: str  # OuterLoopAlert.Metric
    week: dt.date  # Monday of the week judged
    value: float  # count, or share 0..1
    n: int  # answers behind a share; the count itself for volume
    centre: float
    upper: float
    series: tuple[tuple[str, float, int], ...]  # (week, value, n), oldest first, the judged week last

    @property
    def out_of_range(self) -> bool:
        if self.metric == OuterLoopAlert.Metric.VOLUME:
            return self.value > self.upper and self.value >= MIN_COUNT
        return self.n >= MIN_ANSWERS and self.value > self.upper

    def evidence(self) -> dict:
        return {"week": self.week.isoformat(), "value": round(self.value, 4), "n": self.n,
                "centre": round(self.centre, 4), "upper": round(self.upper, 4),
                "series": [list(point) for point in self.series], "method": self.metric}

    def figures(self) -> dict:
        """What a notification stores: the sentence is made when it is read, in the reader's language."""
        return {"label": self.label, "metric": self.metric, "weeks": BASELINE_WEEKS,
                **{k: v for k, v in self.evidence().items() if k != "series"}}

    def summary(self) -> str:
        return outer_loop_sentence(self.figures())


def last_complete_week(today: dt.date) -> dt.date:
    """Monday of the last whole week before `today`."""
    return today - dt.timedelta(days=today.weekday() + 7)


def _weeks(judged: dt.date) -> list[dt.date]:
    return [judged - dt.timedelta(weeks=k) for k in range(BASELINE_WEEKS, -1, -1)]


def _bounds(judged: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = judged - dt.timedelta(weeks=BASELINE_WEEKS)
    return (timezone.make_aware(dt.datetime.combine(start, dt.time.min)),
            timezone.make_aware(dt.datetime.combine(judged + dt.timedelta(days=7), dt.time.min)))


def _week_of(value) -> dt.date:
    value = timezone.localtime(value) if isinstance(value, dt.datetime) and timezone.is_aware(value) else value
    return value.date() if isinstance(value, dt.datetime) else value


def _volume_signals(kind: str, counts: dict, labels: dict, judged: dt.date) -> list[Signal]:
    weeks = _weeks(judged)
    signals = []
    for key, per_week in counts.items():
        baseline = [per_week.get(week, 0) for week in weeks[:-1]]
        centre = sum(baseline) / len(baseline)
        value = per_week.get(judged, 0)
        signals.append(Signal(kind=kind, key=str(key), label=labels.get(key, str(key)),
                              metric=OuterLoopAlert.Metric.VOLUME, week=judged, value=value, n=value,
                              centre=centre, upper=centre + 3 * math.sqrt(centre),
                              series=tuple((w.isoformat(), per_week.get(w, 0), per_week.get(w, 0)) for w in weeks)))
    return signals


def signals_for_week(judged: dt.date) -> list[Signal]:
    """Every root cause, theme and touchpoint seen in the 13 weeks, judged on `judged`'s week."""
    lo, hi = _bounds(judged)
    causes: dict = defaultdict(dict)
    for cause_id, week, n in (Case.objects.filter(closed_at__gte=lo, closed_at__lt=hi, root_cause__isnull=False)
                              .annotate(week=TruncWeek("closed_at")).values("root_cause_id", "week")
                              .annotate(n=Count("pk")).values_list("root_cause_id", "week", "n")):
        causes[cause_id][_week_of(week)] = n
    cause_labels = {c.pk: f"{c.category.name} › {c.name}"
                    for c in RootCause.objects.filter(pk__in=causes).select_related("category")}
    themes: dict = defaultdict(dict)
    for theme_id, week, n in (ResponseTheme.objects.filter(answered_at__gte=lo, answered_at__lt=hi)
                              .annotate(week=TruncWeek("answered_at")).values("theme_id", "week")
                              .annotate(n=Count("pk")).values_list("theme_id", "week", "n")):
        themes[theme_id][_week_of(week)] = n
    theme_labels = dict(Theme.objects.filter(pk__in=themes).values_list("pk", "name"))
    signals = _volume_signals(OuterLoopAlert.Kind.ROOT_CAUSE, causes, cause_labels, judged)
    signals += _volume_signals(OuterLoopAlert.Kind.THEME, themes, theme_labels, judged)
    shares: dict = defaultdict(dict)
    for touchpoint, week, answers, detractors in (
            SurveyResponse.objects.filter(answered_at__gte=lo, answered_at__lt=hi, nps__isnull=False)
            .exclude(touchpoint="").annotate(week=TruncWeek("answered_at")).values("touchpoint", "week")
            .annotate(answers=Count("nps"), detractors=Count("nps", filter=nps_q(NpsGroup.DETRACTOR, "nps")))
            .values_list("touchpoint", "week", "answers", "detractors")):
        shares[touchpoint][_week_of(week)] = (answers, detractors)
    weeks = _weeks(judged)
    for touchpoint, per_week in shares.items():
        base_n = sum(per_week.get(w, (0, 0))[0] for w in weeks[:-1])
        base_d = sum(per_week.get(w, (0, 0))[1] for w in weeks[:-1])
        n, d = per_week.get(judged, (0, 0))
        if not base_n or not n:
            continue
        centre = base_d / base_n
        signals.append(Signal(
            kind=OuterLoopAlert.Kind.TOUCHPOINT, key=touchpoint, label=touchpoint,
            metric=OuterLoopAlert.Metric.DETRACTOR_SHARE, week=judged, value=d / n, n=n, centre=centre,
            upper=centre + 3 * math.sqrt(centre * (1 - centre) / n),
            series=tuple((w.isoformat(), round(per_week[w][1] / per_week[w][0], 4) if per_week.get(w, (0, 0))[0] else 0,
                          per_week.get(w, (0, 0))[0]) for w in weeks)))
    return signals


def _owners(signal: Signal) -> list[User]:
    plans = (ActionPlan.objects.filter(status__in=ActionPlan.OPEN_STATUSES, owner__is_active=True)
             .select_related("owner").order_by("due_date", "pk"))
    if signal.kind == OuterLoopAlert.Kind.ROOT_CAUSE:
        plan = plans.filter(root_causes__pk=int(signal.key)).first()
    elif signal.kind == OuterLoopAlert.Kind.THEME:
        plan = plans.filter(themes__pk=int(signal.key)).first()
    else:  # touchpoints are a JSON list: read the open plans (a few) rather than a backend-specific lookup
        plan = next((p for p in plans.exclude(touchpoints=[]) if signal.key in p.touchpoints), None)
    if plan is not None:
        return [plan.owner]
    return list(User.objects.filter(is_active=True).filter(Q(role=Role.ADMIN) | Q(is_superuser=True)).order_by("pk"))


def _notify(alert: OuterLoopAlert, signal: Signal, owners: list[User]) -> None:
    url = reverse("improvement:alerts") + f"#alert-{alert.pk}"
    context = {**signal.figures(), "url": url}
    period = f"outer-loop:{alert.pk}"
    wanted = enabled_users({u.pk for u in owners}, NotificationKind.OUTER_LOOP)
    rows: list[Notification | None] = [inapp.row(case_id=None, kind=NotificationKind.OUTER_LOOP, user_id=u.pk,
                                                 period=period, context=context) for u in owners]
    rows += [email_row(case_id=None, kind=NotificationKind.OUTER_LOOP, user_id=u.pk, email=u.email, period=period,
                       context=context) for u in owners if u.pk in wanted]
    queue(rows)


def outer_loop_scan(*, today: dt.date | None = None) -> dict:
    """Judge the last complete week: open an alert per new episode (and notify its owner), carry
    on the ones that continue, close the ones back in range. Safe to run twice."""
    judged = last_complete_week(today or timezone.localdate())
    signals = {(s.kind, s.key, s.metric): s for s in signals_for_week(judged)}
    opened = continued = closed = 0
    with transaction.atomic():
        ongoing = {(a.kind, a.key, a.metric): a for a in OuterLoopAlert.objects.select_for_update()
                   .filter(closed_week__isnull=True)}
        for key, signal in signals.items():
            if not signal.out_of_range:
                continue
            alert = ongoing.get(key)
            if alert is None:
                owners = _owners(signal)
                alert = OuterLoopAlert.objects.create(
                    kind=signal.kind, key=signal.key, label=signal.label[:200], metric=signal.metric,
                    opened_week=judged, last_week=judged, evidence=signal.evidence(),
                    owner=owners[0] if len(owners) == 1 else None)
                _notify(alert, signal, owners)
                opened += 1
            elif alert.last_week < judged:
                alert.last_week, alert.evidence = judged, signal.evidence()
                alert.save(update_fields=["last_week", "evidence"])
                continued += 1
        for key, alert in ongoing.items():
            signal = signals.get(key)
            if alert.last_week < judged and (signal is None or not signal.out_of_range):
                alert.closed_week = judged
                alert.save(update_fields=["closed_week"])
                closed += 1
    return {"week": judged.isoformat(), "opened": opened, "continued": continued, "closed": closed}
