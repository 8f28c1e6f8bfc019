"""The Contact report's breach figures (reporting.selectors.contact.breaches_found, one set-based
statement) equal a direct computation: every visible answer of the period checked against every
case and every answer of its customer, in Python, rule by rule as docs/contact-policy.md says.

The data is varied on purpose: cases open across an answer, opened at the answer's very moment,
closed exactly at the answer or exactly at the edge of the rest days, the case the answer itself
opened, a case reopened with its old closure time kept, earlier answers exactly at the edge of the
policy period or at the same moment, answers of other teams (they count towards the limit but are
not listed), answers without a customer; under several policies (each rule switched off in turn)
and for a manager of one team and an admin of every team, with and without a date range."""

import datetime as dt
import random

import pytest
from django.utils import timezone

from cases.models import Case
from contactpolicy.models import ContactPolicy
from contactpolicy.services import _policy_cache
from reporting.filters import ReportFilters
from reporting.selectors.common import MAX_LIST_ROWS
from reporting.selectors.contact import breaches_found, contact_breach_summary, contact_breach_tables, contact_breaches
from surveys.models import SurveyResponse
from tests.factories import CaseFactory, CustomerFactory, RootCauseFactory, SurveyFactory, SurveyResponseFactory

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)
US = dt.timedelta(microseconds=1)


def direct(filters: ReportFilters, policy: ContactPolicy):
    """Obviously correct and slow: each visible answer against all its customer's cases and answers."""
    answers = list(SurveyResponse.objects.values("pk", "customer_id", "team_id", "answered_at"))
    cases = list(Case.objects.values("customer_id", "response_id", "created_at", "closed_at"))
    rest = dt.timedelta(days=policy.days_after_close)
    period = dt.timedelta(days=policy.period_days)
    visible = [a for a in answers if a["customer_id"] is not None
               and (filters.team_ids is None or a["team_id"] in filters.team_ids)
               and (filters.start is None or a["answered_at"] >= filters.start)
               and (filters.end is None or a["answered_at"] < filters.end)]
    found = {}
    for a in visible:
        t, theirs = a["answered_at"], [c for c in cases if c["customer_id"] == a["customer_id"]]
        broken = []
        if policy.open_case_blocks and any(
                c["created_at"] < t and (c["closed_at"] is None or c["closed_at"] > t) and c["response_id"] != a["pk"]
                for c in theirs):
            broken.append("open_case")
        if policy.days_after_close and any(
                c["closed_at"] is not None and t - rest <= c["closed_at"] < t for c in theirs):
            broken.append("recently_closed")
        if policy.max_surveys:
            earlier = [b for b in answers if b["customer_id"] == a["customer_id"] and t - period <= b["answered_at"] < t]
            if len(earlier) >= policy.max_surveys:
                broken.append("frequency")
        if broken:
            found[a["pk"]] = (t, tuple(broken))
    counts = {key: sum(key in broken for _t, broken in found.values())
              for key, on in (("open_case", policy.open_case_blocks), ("recently_closed", policy.days_after_close),
                              ("frequency", policy.max_surveys)) if on}
    counts["any"] = len(found)
    newest = sorted(found.items(), key=lambda item: (item[1][0], item[0]), reverse=True)[:MAX_LIST_ROWS]
    return len(visible), counts, [(pk, broken) for pk, (_t, broken) in newest]


@pytest.fixture
def varied(personas):
    now = timezone.now().replace(microsecond=500_000)
    rng = random.Random(25)
    survey = SurveyFactory()
    cause = RootCauseFactory()
    serial = iter(range(10_000))

    def answer(customer, at, team=None):
        return SurveyResponseFactory(source=survey.source, survey=survey, customer=customer,
                                     team=team or personas.north, answered_at=at, external_id=f"v{next(serial)}")

    def case(customer, created, closed=None, response=None, status=None):
        closed_fields = {"root_cause": cause, "outcome": Case.Outcome.RESOLVED, "resolution": "Done."}
        status = status or (Case.Status.CLOSED if closed else Case.Status.NEW)
        return CaseFactory(response=response or answer(customer, created - DAY, personas.south), customer=customer,
                           team=personas.north, created_at=created, closed_at=closed, status=status,
                           **(closed_fields if status == Case.Status.CLOSED else {}))

    # Edges, one customer each, answered 40 days ago (t).
    t = now - 40 * DAY
    edge = {name: CustomerFactory(name=name) for name in (
        "opened at t", "closed at t", "closed rest days before t", "closed a microsecond earlier", "own case",
        "reopened", "period edge", "same moment", "other teams count", "open across")}
    case(edge["opened at t"], created=t)  # not open before t
    answer(edge["opened at t"], t)
    case(edge["closed at t"], created=t - 3 * DAY, closed=t)  # neither open at t nor closed before it
    answer(edge["closed at t"], t)
    case(edge["closed rest days before t"], created=t - 20 * DAY, closed=t - 14 * DAY)  # within (>=)
    answer(edge["closed rest days before t"], t)
    case(edge["closed a microsecond earlier"], created=t - 20 * DAY, closed=t - 14 * DAY - US)  # outside
    answer(edge["closed a microsecond earlier"], t)
    own = answer(edge["own case"], t)
    case(edge["own case"], created=t - US, response=own)  # the answer's own case does not count
    case(edge["reopened"], created=t - 30 * DAY, closed=t - 20 * DAY, status=Case.Status.IN_PROGRESS)
    answer(edge["reopened"], t)  # closed_at kept: neither open nor recent at t, by its closure time
    for days in (30, 20, 10):
        answer(edge["period edge"], t - days * DAY)  # the 30-day-old one counts (>=)
    answer(edge["period edge"], t)
    for _ in range(3):
        answer(edge["same moment"], t)  # three at once: none is earlier than another
    for team in (personas.south, personas.south, personas.north):
        answer(edge["other teams count"], t - 5 * DAY, team)
    answer(edge["other teams count"], t)
    case(edge["open across"], created=t - 2 * DAY)
    answer(edge["open across"], t)
    answer(None, t)  # no customer: never counted
    # Random customers: answers and cases over 120 days, to mix everything.
    for c in range(25):
        customer = CustomerFactory(name=f"R{c:02d}")
        for _ in range(rng.randint(1, 7)):
            answer(customer, now - rng.uniform(0, 120) * DAY, rng.choice([personas.north, personas.north, personas.south]))
        for _ in range(rng.randint(0, 2)):
            created = now - rng.uniform(0, 120) * DAY
            closed = created + rng.uniform(0, 20) * DAY if rng.random() < 0.7 else None
            case(customer, created=created, closed=closed if closed and closed < now else None)
    answer(None, now - 3 * DAY)
    return personas, now


POLICIES = [
    {},
    {"open_case_blocks": False},
    {"days_after_close": 0},
    {"max_surveys": 0},
    {"max_surveys": 2, "period_days": 10, "days_after_close": 5},
    {"max_surveys": 0, "open_case_blocks": False, "days_after_close": 0},
]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("who", ["north", "everyone"])
@pytest.mark.parametrize("window", ["90 days", "50 to 30 days ago", "no dates"])
def test_the_breaches_equal_a_direct_computation(varied, policy, who, window):
    personas, now = varied
    ContactPolicy.objects.create(id=1, **policy)
    _policy_cache.changed()
    start, end = {"90 days": (now - 90 * DAY, None), "50 to 30 days ago": (now - 50 * DAY, now - 30 * DAY),
                  "no dates": (None, None)}[window]
    filters = ReportFilters(team_ids=frozenset({personas.north.pk}) if who == "north" else None,
                            start=start, end=end, now=now)
    total, counts, newest = direct(filters, ContactPolicy.load())
    found = breaches_found(filters)
    assert (found.total, found.counts, found.newest) == (total, counts, newest)
    # The summary and the list are both read from it, and agree with each other.
    summary = {str(row["rule"]): row["answers"] for row in contact_breach_summary(filters).rows}
    listed = contact_breaches(filters).rows
    assert summary["Any rule"] == len(listed) == counts["any"]
    page_summary, page_list = contact_breach_tables(filters)
    assert (page_summary.rows, page_list.rows) == (contact_breach_summary(filters).rows, listed)


def test_the_varied_data_breaks_every_rule_and_the_edges_fall_where_the_rules_say(varied):
    """The comparison above is not vacuous: the direct computation finds each rule broken, and the
    edge cases land as written (answers of the customers named after them, 40 days ago)."""
    personas, now = varied
    _policy_cache.changed()
    filters = ReportFilters(team_ids=frozenset({personas.north.pk}), start=now - 90 * DAY, now=now)
    total, counts, newest = direct(filters, ContactPolicy.load())
    assert min(counts.values()) >= 2
    names = dict(SurveyResponse.objects.filter(answered_at=now - 40 * DAY).values_list("pk", "customer__name"))
    at_t = {names[pk]: broken for pk, broken in breaches_found(filters).newest if pk in names}
    assert at_t == {
        "closed rest days before t": ("recently_closed",),
        "period edge": ("frequency",),
        "other teams count": ("frequency",),
        "open across": ("open_case",),
    }


@pytest.mark.parametrize(("cut", "newest_days"), [(1, 45), (3, 45), (3, 7), (500, 45)])
@pytest.mark.parametrize("who", ["north", "everyone"])
def test_the_list_read_from_the_newest_days_first_is_the_whole_periods(varied, monkeypatch, cut, newest_days, who):
    """The list report reads the newest days first and the whole period only when they hold fewer
    breaches than it lists: the same rows either way (a short list and a long window here, so
    both paths run on this data)."""
    from reporting.selectors import contact

    personas, now = varied
    _policy_cache.changed()
    monkeypatch.setattr(contact, "MAX_LIST_ROWS", cut)
    monkeypatch.setattr(contact, "NEWEST_FIRST", dt.timedelta(days=newest_days))
    filters = ReportFilters(team_ids=frozenset({personas.north.pk}) if who == "north" else None,
                            start=now - 90 * DAY, now=now)
    whole = breaches_found(filters)
    assert len(whole.newest) == min(cut, whole.counts["any"])
    assert contact_breaches(filters).rows == contact._list_table(whole).rows
