"""What would this rule have done over the last N days? A read-only replay for a draft or saved rule.

The rule is compiled exactly as it would be for live evaluation and run, on its own, over every
response answered in the window (oldest first, only the needed columns, streamed with
.iterator()). It counts the alerts it would have raised and, for an open-case rule, the cases:
by team (the rule's team, else the response's routed team), touchpoint and ISO week, plus the
most recent matching responses as samples.

Repeat protection is approximated: a customer gets at most one new case per repeat window (a
later match within `repeat_window_days` of the customer's last counted case is counted as
"attached" instead). The live path (cases.services.case_open_from_alert) attaches to the
customer's case while it is open and reopens one closed within the window, so the real number
of new cases can be lower when cases stay open longer than the window. The rule is replayed
alone: earlier rules that stop evaluation are not taken into account.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, deque
from dataclasses import asdict, dataclass, field

from django.utils import timezone
from django.utils.translation import gettext_lazy

from alerts.reasons import describe_reasons
from alerts.rules import RuleSet, compile_rule, evaluate, rule_segments
from segments.conditions import CustomerFacts, account_values_of_many
from segments.selectors import customers_in_q
from surveys.filtersets import theme_q
from surveys.models import SurveyResponse
from surveys.vocabulary import scores_line

MAX_DAYS = 365
UNROUTED = gettext_lazy("Not routed")
NO_TOUCHPOINT = gettext_lazy("(none)")
# What a matching response would have become, as the samples say it to the reader.
OUTCOMES = {"alert": gettext_lazy("alert"), "new case": gettext_lazy("new case"),
            "attached to the customer's case": gettext_lazy("attached to the customer’s case")}
COLUMNS = (
    "id", "survey_id", "survey__name", "customer_id", "customer__tier", "customer__segment", "customer__name",
    "customer__email", "nps", "csat", "csat_scale_min", "csat_scale_max", "ces", "ces_scale_min", "ces_scale_max",
    "ces_high_is_easy", "comment", "sentiment", "language", "touchpoint", "channel", "location", "region", "team__name",
    "answered_at",
)
# Read besides when the rule is for named segments: what their predicates read.
SEGMENT_COLUMNS = ("customer__account_value", "customer__churn_risk", "customer__attributes")


class _Row:
    """A response as the evaluator reads it, built from a values() row (no model instance)."""

    __slots__ = (*(c.replace("__", "_") for c in COLUMNS + SEGMENT_COLUMNS), "scores", "theme_ids", "customer")

    def __init__(self, row: dict):
        for key, value in row.items():
            setattr(self, key.replace("__", "_"), value)
        if "scores" not in row:
            self.scores = {}
        self.theme_ids = frozenset()
        self.customer = None  # CustomerFacts, set by _rows when the rule is for named segments
        self.customer_tier = self.customer_tier or ""
        self.customer_segment = self.customer_segment or ""


@dataclass
class Bucket:
    name: str
    alerts: int = 0
    cases: int = 0


@dataclass
class BacktestResult:
    rule_name: str
    action: str
    days: int
    since: dt.datetime
    until: dt.datetime
    scanned: int = 0
    alerts: int = 0
    cases: int = 0
    attached: int = 0
    by_team: list[Bucket] = field(default_factory=list)
    by_touchpoint: list[Bucket] = field(default_factory=list)
    by_week: list[Bucket] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)

    @property
    def tables(self) -> list[tuple[str, list[Bucket]]]:
        return [("team", self.by_team), ("touchpoint", self.by_touchpoint), ("ISO week", self.by_week)]

    def as_dict(self) -> dict:
        data = asdict(self)
        data["since"], data["until"] = self.since.isoformat(), self.until.isoformat()
        return data


CHUNK = 2000


def _rows(responses, columns, theme_ids, segments: bool = False, accounts: bool = False):
    """_Row per response in order; with theme conditions each chunk's theme links (only the
    rule's themes) are loaded in one query, and for a rule about named segments each row carries
    its customer's facts (with the chunk's account values in one query when a segment reads
    them), so evaluation stays pure."""
    from surveys.models import ResponseTheme

    chunk: list[_Row] = []

    def flush():
        if theme_ids:
            found: dict[int, set] = {}
            for response_id, theme_id in ResponseTheme.objects.filter(
                    response_id__in=[r.id for r in chunk], theme_id__in=theme_ids).values_list("response_id", "theme_id"):
                found.setdefault(response_id, set()).add(theme_id)
            for row in chunk:
                row.theme_ids = frozenset(found.get(row.id, ()))
        if segments:
            values = account_values_of_many({r.customer_id for r in chunk if r.customer_id}) if accounts else {}
            for row in chunk:
                if row.customer_id is not None:
                    row.customer = CustomerFacts(
                        tier=row.customer_tier, segment=row.customer_segment,
                        account_value=row.customer_account_value, churn_risk=row.customer_churn_risk,
                        attributes=row.customer_attributes or {},
                        account_values=values.get(row.customer_id, ()))
                else:
                    row.customer = CustomerFacts()
        yield from chunk
        chunk.clear()

    for values in responses.values(*columns).iterator(chunk_size=CHUNK):
        chunk.append(_Row(values))
        if len(chunk) >= CHUNK:
            yield from flush()
    yield from flush()


def backtest(rule, *, days: int = 30, survey_ids=None, survey_names=None, theme_ids=None, theme_names=None,
             segments=None, now: dt.datetime | None = None, sample_size: int = 10) -> BacktestResult:
    """Replay `rule` (an AlertRule, saved or unsaved; pass survey_ids for a draft, theme_ids
    unless the draft carries `draft_themes`, and its segments.Segment rows as `segments` unless
    it carries `draft_segments`) over the last `days` days of responses."""
    days = max(1, min(int(days), MAX_DAYS))
    until = now or timezone.now()
    since = until - dt.timedelta(days=days)
    segments = rule_segments(rule) if segments is None else list(segments)
    compiled = compile_rule(rule, survey_ids=survey_ids, survey_names=survey_names, theme_ids=theme_ids,
                            theme_names=theme_names, segments=segments)
    ruleset = RuleSet([compiled])
    result = BacktestResult(rule_name=rule.name or "Draft rule", action=rule.action, days=days, since=since, until=until)
    opens_cases = rule.action == "open_case"
    window = dt.timedelta(days=rule.repeat_window_days or 0)
    team_name = rule.case_team.name if rule.case_team_id else None
    unrouted, no_touchpoint = str(UNROUTED), str(NO_TOUCHPOINT)  # in the reader's language, once

    responses = SurveyResponse.objects.filter(answered_at__gte=since, answered_at__lte=until)
    if compiled.surveys:
        responses = responses.filter(survey_id__in=compiled.surveys)
    metric_column = {"nps": "nps", "csat": "csat", "ces": "ces"}.get(compiled.metric)
    if metric_column:
        responses = responses.filter(**{f"{metric_column}__isnull": False})
    if compiled.themes:
        responses = responses.filter(theme_q(compiled.themes))
    if segments:  # the segments' own query first (an IN subquery over customers), the predicate after
        responses = responses.filter(customers_in_q(segments))
    columns = COLUMNS + (("scores",) if compiled.metric == "custom" else ()) + (SEGMENT_COLUMNS if segments else ())

    teams, touchpoints, weeks = Counter(), Counter(), Counter()
    team_cases, touchpoint_cases, week_cases = Counter(), Counter(), Counter()
    last_case_at: dict[int, dt.datetime] = {}
    samples: deque = deque(maxlen=sample_size)
    for row in _rows(responses.order_by("answered_at", "id"), columns, compiled.themes, segments=bool(segments),
                     accounts=ruleset.segment_accounts):
        result.scanned += 1
        matches = evaluate(row, ruleset, theme_ids=row.theme_ids, customer=row.customer)
        if not matches:
            continue
        result.alerts += 1
        team = team_name or row.team_name or unrouted
        touchpoint = row.touchpoint or no_touchpoint
        local = timezone.localtime(row.answered_at)
        year, week, _ = local.isocalendar()
        week_label = f"{year}-W{week:02d}"
        teams[team] += 1
        touchpoints[touchpoint] += 1
        weeks[week_label] += 1
        outcome = "alert"
        if opens_cases:
            previous = last_case_at.get(row.customer_id) if row.customer_id else None
            if previous is not None and row.answered_at - previous <= window:
                result.attached += 1
                outcome = "attached to the customer's case"
            else:
                result.cases += 1
                team_cases[team] += 1
                touchpoint_cases[touchpoint] += 1
                week_cases[week_label] += 1
                if row.customer_id:
                    last_case_at[row.customer_id] = row.answered_at
                outcome = "new case"
        samples.append({
            "response_id": row.id, "answered_at": row.answered_at.isoformat(), "survey": row.survey_name,
            "customer": row.customer_name or row.customer_email or "", "tier": row.customer_tier,
            "touchpoint": row.touchpoint, "scores": scores_line(row), "comment": (row.comment or "")[:240],
            "reasons": describe_reasons(matches[0].reasons), "reason_codes": matches[0].reasons, "outcome": outcome,
            "outcome_text": str(OUTCOMES[outcome]),
        })

    result.by_team = [Bucket(name, teams[name], team_cases[name]) for name in sorted(teams, key=lambda n: (-teams[n], n))]
    result.by_touchpoint = [Bucket(name, touchpoints[name], touchpoint_cases[name])
                            for name in sorted(touchpoints, key=lambda n: (-touchpoints[n], n))]
    result.by_week = [Bucket(name, weeks[name], week_cases[name]) for name in sorted(weeks)]
    result.samples = list(reversed(samples))
    return result
