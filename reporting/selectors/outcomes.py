"""What customers did after they answered: the closed-loop results (retention, churn and revenue
over the following 90/180/365 days, by what happened to their feedback) and the impact of each
root cause and theme (NPS points lost, revenue at risk, churn of the customers it touched).

Reporting sits above outcomes in the layers, so it reads outcome events directly, beside the cases
and responses it already reads; the figures are tables like every report's (page, CSV and API).

Unit: a customer, with their latest NPS answer in the period (the experience they last told us
about), in the team of that answer. Groups (the first that fits):
    resolved_verified      detractor (0-6) whose case was closed "resolved with the customer" and
                           whose recovery check came back "put right"
    resolved_unverified    detractor whose case was closed resolved, without such an answer
    contacted_unresolved   detractor whose case reached them (first contact made) but was not
                           resolved, and never went overdue
    not_contacted          detractor with no case, a case never contacted, or a case that went
                           overdue before it was resolved
    passive (7-8), promoter (9-10)
A window counts a customer only when it has fully passed (answered 200 days ago: in the 90 and
180-day windows, not the 365-day one), so recent answers never look like retention. Churned: a
churn event in the window (the customer's own, one of a customer merged into them, or their
account's: an account that leaves takes its contacts with it). Revenue: renewals + purchases +
expansions - refunds of the customer (and the customers merged into them) in the window, in
OUTCOMES_REPORT_CURRENCY (events in other currencies are counted apart, never added unconverted).
Rates carry a Wilson 95% interval; revenue per customer a normal 95% interval (mean +- 1.96
standard errors). Groups under SMALL_GROUP customers are flagged.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from scipy.stats import binomtest

from cases.models import Case
from customers.models import Contact
from followup.models import Verification
from outcomes.models import OutcomeEvent
from reporting.filters import ReportFilters
from reporting.selectors.common import cause_names, team_names_by_id
from reporting.tables import Column, Table
from surveys.models import Customer, SurveyResponse

WINDOWS = (90, 180, 365)
SMALL_GROUP = 30
GROUPS = (
    ("resolved_verified", _("Detractors: resolved and verified")),
    ("resolved_unverified", _("Detractors: resolved, not verified")),
    ("contacted_unresolved", _("Detractors: contacted, not resolved")),
    ("not_contacted", _("Detractors: never contacted or overdue")),
    ("passive", _("Passives")),
    ("promoter", _("Promoters")),
)
GROUP_LABELS = dict(GROUPS)
DETRACTOR_GROUPS = ("resolved_verified", "resolved_unverified", "contacted_unresolved", "not_contacted")
MONEY_IN = {OutcomeEvent.Kind.RENEWAL: 1, OutcomeEvent.Kind.PURCHASE: 1, OutcomeEvent.Kind.EXPANSION: 1,
            OutcomeEvent.Kind.REFUND: -1}


def wilson(k: int, n: int) -> tuple[float | None, float | None]:
    """Wilson score 95% interval for k of n, in percent (scipy's binomtest)."""
    if not n:
        return None, None
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return round(100 * float(ci.low), 1), round(100 * float(ci.high), 1)


def mean_interval(values: list[float]) -> tuple[float | None, float | None, float | None]:
    """Mean and its normal 95% interval (1.96 standard errors; none for fewer than two values)."""
    if not values:
        return None, None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return round(mean, 2), None, None
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    half = 1.96 * sd / math.sqrt(len(values))
    return round(mean, 2), round(mean - half, 2), round(mean + half, 2)


@dataclass
class Answerer:
    """One customer's latest NPS answer in the period, what became of it, and what they did next."""

    customer_id: int
    response_id: int
    answered_at: dt.datetime
    nps: int
    team_id: int | None
    root_cause_id: int | None = None
    segment: str = ""
    group: str = ""
    events: list[tuple[dt.datetime, str, Decimal, str]] = field(default_factory=list)
    _memo: dict = field(default_factory=dict, repr=False)  # each window's figures, worked out once per page

    def churned(self, days: int) -> bool:
        key = ("churned", days)
        if key not in self._memo:
            end = self.answered_at + dt.timedelta(days=days)
            self._memo[key] = any(kind == OutcomeEvent.Kind.CHURN and self.answered_at < at <= end
                                  for at, kind, _a, _c in self.events)
        return self._memo[key]

    def revenue(self, days: int, currency: str) -> tuple[float, int]:
        """Money in over the window in `currency`, and how many events in other currencies were left out."""
        key = ("revenue", days, currency)
        if key not in self._memo:
            self._memo[key] = self._revenue(days, currency)
        return self._memo[key]

    def _revenue(self, days: int, currency: str) -> tuple[float, int]:
        end = self.answered_at + dt.timedelta(days=days)
        total, other = Decimal(0), 0
        for at, kind, amount, cur in self.events:
            if self.answered_at < at <= end and kind in MONEY_IN:
                if cur == currency:
                    total += MONEY_IN[kind] * amount
                else:
                    other += 1
        return float(total), other


# The breakdowns the results report offers: name -> (label, the key of an answerer, names for keys).
# Segment and journey stage plug in here once they exist as customer / response fields of their own.
DIMENSIONS = {
    "team": (_("Team"), lambda a: a.team_id, team_names_by_id),
    "root-cause": (_("Root cause"), lambda a: a.root_cause_id, cause_names),
}


def answerers(filters: ReportFilters) -> list[Answerer]:
    """The period's answerers, each with their group and outcome events: the answers, their cases,
    the recovery checks that said "put right", then customer_events (four queries). The cases,
    checks and events are found through subqueries of the period's answers, never a list of ids
    sent back to the database."""
    answers = filters.responses(SurveyResponse.objects.filter(nps__isnull=False, customer__isnull=False))
    rows = answers.order_by("customer_id", "-answered_at", "-id").values_list(
        "id", "customer_id", "answered_at", "nps", "team_id")
    latest: dict[int, Answerer] = {}
    for rid, cid, answered_at, nps, team_id in rows:
        if cid not in latest:
            latest[cid] = Answerer(cid, rid, answered_at, nps, team_id)
    people = list(latest.values())
    if not people:
        return people
    detractor_answers = answers.filter(nps__lte=6).order_by().values("id")
    cases = {}
    for case in (Case.objects.filter(response_id__in=detractor_answers).order_by("response_id", "created_at")
                 .values("id", "response_id", "status", "outcome", "first_contacted_at", "overdue_at", "root_cause_id")):
        cases.setdefault(case["response_id"], case)
    verified = set(Verification.objects.filter(case__response_id__in=detractor_answers, recovered=True)
                   .values_list("case_id", flat=True))
    for person in people:
        case = cases.get(person.response_id)
        person.group = feedback_group(person.nps, case, verified)
        person.root_cause_id = case["root_cause_id"] if case else None
    first = min(p.answered_at for p in people)
    last = max(p.answered_at for p in people) + dt.timedelta(days=max(WINDOWS))
    by_customer = {p.customer_id: p for p in people}
    for cid, events in customer_events(answers.order_by().values("customer_id"), first, last).items():
        if cid in by_customer:
            by_customer[cid].events.extend(events)
    return people


def customer_events(ids, first: dt.datetime, last: dt.datetime, kinds: tuple[str, ...] = ()
                    ) -> dict[int, list[tuple[dt.datetime, str, Decimal, str]]]:
    """The outcome events in (first, last] of the customers `ids` (a list, or a subquery of customer
    ids): their own, those of customers merged into them, and the churn of accounts they are a
    contact of (an account that leaves takes its contacts with it; its revenue is not split among
    them). Four queries, none joining the events to another table."""
    found: dict[int, list] = defaultdict(list)
    merged = dict(Customer.objects.filter(merged_into_id__in=ids).values_list("pk", "merged_into_id"))
    events = OutcomeEvent.objects.filter(occurred_at__gt=first, occurred_at__lte=last)
    if kinds:
        events = events.filter(kind__in=kinds)
    for cid, at, kind, amount, cur in (events.filter(Q(customer_id__in=ids) | Q(customer_id__in=list(merged)))
                                       .values_list("customer_id", "occurred_at", "kind", "amount", "currency")):
        found[merged.get(cid, cid)].append((at, kind, amount, cur))
    if kinds and OutcomeEvent.Kind.CHURN not in kinds:
        return found
    contacts: dict[int, list[int]] = defaultdict(list)
    for cid, account_id in Contact.objects.filter(customer_id__in=ids).values_list("customer_id", "account_id"):
        contacts[account_id].append(cid)
    if contacts:
        for account_id, at, amount, cur in (
            events.filter(account_id__in=list(contacts), customer__isnull=True, kind=OutcomeEvent.Kind.CHURN)
            .values_list("account_id", "occurred_at", "amount", "currency")
        ):
            for cid in contacts[account_id]:
                found[cid].append((at, OutcomeEvent.Kind.CHURN, amount, cur))
    return found


def feedback_group(nps: int, case: dict | None, verified: set[int]) -> str:
    """The group of an NPS answer: its score and, for a detractor, what became of its case (a dict
    of the case's id, status, outcome, first_contacted_at, overdue_at) and whether a recovery check
    of it (in `verified`, case ids) said it was put right."""
    if nps >= 9:
        return "promoter"
    if nps >= 7:
        return "passive"
    if case is None:
        return "not_contacted"
    resolved = case["status"] == Case.Status.CLOSED and case["outcome"] == Case.Outcome.RESOLVED
    if resolved:
        return "resolved_verified" if case["id"] in verified else "resolved_unverified"
    if case["first_contacted_at"] is not None and case["overdue_at"] is None:
        return "contacted_unresolved"
    return "not_contacted"


@dataclass(frozen=True)
class GroupFigures:
    customers: int
    churned: int
    churn_pct: float | None
    churn_low: float | None
    churn_high: float | None
    revenue: float | None
    revenue_low: float | None
    revenue_high: float | None
    other_currency_events: int

    @property
    def retention_pct(self):
        return None if self.churn_pct is None else round(100 - self.churn_pct, 1)


def figures(people: list[Answerer], days: int, now: dt.datetime, currency: str) -> GroupFigures:
    """A group's figures over one window, counting only customers whose window has passed."""
    matured = [p for p in people if p.answered_at + dt.timedelta(days=days) <= now]
    churned = sum(1 for p in matured if p.churned(days))
    low, high = wilson(churned, len(matured))
    revenues = [p.revenue(days, currency) for p in matured]
    mean, rlow, rhigh = mean_interval([r for r, _o in revenues])
    return GroupFigures(len(matured), churned, round(100 * churned / len(matured), 1) if matured else None, low, high,
                        mean, rlow, rhigh, sum(o for _r, o in revenues))


def _columns(currency: str) -> list[Column]:
    return [
        Column("days", _("Window (days after the answer)"), True),
        Column("customers", _("Customers followed"), True),
        Column("churned", _("Churned"), True),
        Column("churn_pct", _("Churn %"), True),
        Column("churn_low", _("Churn % low (95%)"), True),
        Column("churn_high", _("Churn % high (95%)"), True),
        Column("retention_pct", _("Retention %"), True),
        Column("revenue", _("Revenue per customer (%(currency)s)") % {"currency": currency}, True),
        Column("revenue_low", _("Revenue low (95%)"), True),
        Column("revenue_high", _("Revenue high (95%)"), True),
        Column("small", _("Small group (under %(n)d)") % {"n": SMALL_GROUP}),
    ]


def _row(f: GroupFigures, days: int) -> dict:
    return {"days": days, "customers": f.customers, "churned": f.churned, "churn_pct": f.churn_pct,
            "churn_low": f.churn_low, "churn_high": f.churn_high, "retention_pct": f.retention_pct,
            "revenue": f.revenue, "revenue_low": f.revenue_low, "revenue_high": f.revenue_high,
            "small": f.customers < SMALL_GROUP}


RESULTS_DESCRIPTION = _(
    "Customers by what happened to their latest NPS answer in the period, and what they did in the 90, 180 and 365 "
    "days after it. A window counts a customer only once it has passed. Churn: a churn event in the window; "
    "retention: the rest. Revenue: renewals, purchases and expansions minus refunds in the window, per customer. "
    "Intervals: Wilson 95% for rates, normal 95% for revenue. Groups under 30 customers are flagged: read them "
    "with care.")


def closed_loop_results(filters: ReportFilters, people: list[Answerer] | None = None) -> Table:
    currency = settings.OUTCOMES_REPORT_CURRENCY
    people = answerers(filters) if people is None else people
    by_group = defaultdict(list)
    for person in people:
        by_group[person.group].append(person)
    table = Table("closed-loop-results", _("Closed-loop results"),
                  [Column("group", _("Group")), *_columns(currency)], description=RESULTS_DESCRIPTION)
    for key, label in GROUPS:
        for days in WINDOWS:
            table.add({"group": str(label), **_row(figures(by_group[key], days, filters.now, currency), days)})
    return table


def closed_loop_results_by(filters: ReportFilters, *, by: str, days: int = 180,
                           people: list[Answerer] | None = None) -> Table:
    """One window (180 days), each group split by team or root cause (detractor groups only for a
    root cause: passives and promoters have no case)."""
    currency = settings.OUTCOMES_REPORT_CURRENCY
    label, key_of, names_of = DIMENSIONS[by]
    people = answerers(filters) if people is None else people
    cells = defaultdict(list)
    for person in people:
        if by == "root-cause" and person.group not in DETRACTOR_GROUPS:
            continue
        cells[(key_of(person), person.group)].append(person)
    names = names_of({k for k, _g in cells})
    table = Table(f"closed-loop-results-by-{by}", _("Closed-loop results by %(dimension)s (%(days)d days)") % {
        "dimension": str(label).lower(), "days": days},
        [Column("slice", label), Column("group", _("Group")), *_columns(currency)], description=RESULTS_DESCRIPTION)
    order = {g: i for i, (g, _l) in enumerate(GROUPS)}
    for key, group in sorted(cells, key=lambda kg: (names.get(kg[0], "~"), order[kg[1]])):
        table.add({"slice": names.get(key, str(_("(none)"))), "group": str(GROUP_LABELS[group]),
                   **_row(figures(cells[(key, group)], days, filters.now, currency), days)})
    return table


VALUE_DESCRIPTION = _(
    "Estimated value of closing the loop: for each window, the revenue per customer of detractors whose case was "
    "resolved (verified or not) minus that of detractors never contacted or overdue, times the number of resolved "
    "detractors; and the churn avoided the same way. An observational comparison, not an experiment: customers "
    "who are reached may differ from those who are not, so read it beside the intervals.")


def closed_loop_value(filters: ReportFilters, people: list[Answerer] | None = None) -> Table:
    currency = settings.OUTCOMES_REPORT_CURRENCY
    people = answerers(filters) if people is None else people
    resolved = [p for p in people if p.group in ("resolved_verified", "resolved_unverified")]
    ignored = [p for p in people if p.group == "not_contacted"]
    table = Table("closed-loop-value", _("Estimated value of closing the loop"), [
        Column("days", _("Window (days after the answer)"), True),
        Column("resolved", _("Resolved detractors"), True),
        Column("not_contacted", _("Never contacted or overdue"), True),
        Column("revenue_gap", _("Revenue per customer, difference (%(currency)s)") % {"currency": currency}, True),
        Column("value", _("Estimated revenue kept (%(currency)s)") % {"currency": currency}, True),
        Column("churn_gap", _("Churn %, difference (points)"), True),
        Column("churn_avoided", _("Estimated churn avoided (customers)"), True),
        Column("small", _("Small group (under %(n)d)") % {"n": SMALL_GROUP}),
    ], description=VALUE_DESCRIPTION)
    for days in WINDOWS:
        a, b = figures(resolved, days, filters.now, currency), figures(ignored, days, filters.now, currency)
        gap = round(a.revenue - b.revenue, 2) if a.revenue is not None and b.revenue is not None else None
        churn_gap = round(b.churn_pct - a.churn_pct, 1) if a.churn_pct is not None and b.churn_pct is not None else None
        table.add({"days": days, "resolved": a.customers, "not_contacted": b.customers, "revenue_gap": gap,
                   "value": round(gap * a.customers, 2) if gap is not None else None, "churn_gap": churn_gap,
                   "churn_avoided": round(churn_gap * a.customers / 100, 1) if churn_gap is not None else None,
                   "small": min(a.customers, b.customers) < SMALL_GROUP})
    return table
