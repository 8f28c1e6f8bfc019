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
from reporting import contact_breaches
from reporting.models import AnswerBreach, BreachStale
from reporting.selectors.contact import (
    Breaches,
    breaches_found,
    contact_breach_summary,
    contact_breach_tables,
)
from reporting.selectors.contact import contact_breaches as contact_breach_list
from surveys.models import Customer, SurveyResponse
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
    listed = contact_breach_list(filters).rows
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


def _same_as_direct(filters: ReportFilters) -> Breaches:
    found = breaches_found(filters)
    total, counts, newest = direct(filters, ContactPolicy.load())
    assert (found.total, found.counts, found.newest) == (total, counts, newest)
    return found


def _filters(personas, now, who="north", window="90 days"):
    start, end = {"90 days": (now - 90 * DAY, None), "50 to 30 days ago": (now - 50 * DAY, now - 30 * DAY),
                  "no dates": (None, None)}[window]
    return ReportFilters(team_ids=frozenset({personas.north.pk}) if who == "north" else None,
                         start=start, end=end, now=now)


@pytest.mark.parametrize("policy", POLICIES)
def test_the_stored_breaches_equal_a_direct_computation(varied, policy):
    """Built under the policy (reporting.contact_breaches.rebuild), with no customer stale, the
    report reads only the stored rows: the same figures."""
    personas, now = varied
    ContactPolicy.objects.create(id=1, **policy)
    _policy_cache.changed()
    contact_breaches.rebuild()
    assert not BreachStale.objects.exists()
    assert AnswerBreach.objects.exists() == any((ContactPolicy.load().max_surveys, ContactPolicy.load().open_case_blocks,
                                                 ContactPolicy.load().days_after_close))
    for who in ("north", "everyone"):
        for window in ("90 days", "50 to 30 days ago", "no dates"):
            _same_as_direct(_filters(personas, now, who, window))


def _customer(name):
    return Customer.objects.get(name=name)


def _late_answer(personas, now):  # answered before the customer's others: the later ones count it
    customer = _customer("period edge")
    SurveyResponseFactory(source=SurveyResponse.objects.filter(customer=customer).first().source, customer=customer,
                          team=personas.south, answered_at=now - 40 * DAY - 5 * DAY, external_id="late")


def _answer_deleted(personas, now):
    SurveyResponse.objects.filter(customer=_customer("period edge"), answered_at=now - 40 * DAY - 20 * DAY).delete()


def _customers_merged(personas, now):  # what customers.services.merging does with the answers
    SurveyResponse.objects.filter(customer=_customer("same moment")).update(customer=_customer("other teams count"))


def _answer_redated(personas, now):  # into another month's partition
    SurveyResponse.objects.filter(customer=_customer("other teams count"), answered_at=now - 40 * DAY).update(
        answered_at=now - 80 * DAY)


def _answer_moved_to_another_team(personas, now):
    SurveyResponse.objects.filter(customer=_customer("open across")).update(team=personas.south)


def _case_reopened(personas, now):
    Case.objects.filter(customer=_customer("closed rest days before t")).update(closed_at=None,
                                                                                 status=Case.Status.IN_PROGRESS)


def _case_closed(personas, now):
    Case.objects.filter(customer=_customer("open across")).update(closed_at=now - 40 * DAY - DAY)


def _case_opened_in_the_past(personas, now):
    customer = _customer("period edge")
    CaseFactory(response=SurveyResponse.objects.filter(customer=customer).first(), customer=customer,
                team=personas.north, created_at=now - 70 * DAY)


def _case_deleted(personas, now):
    Case.objects.filter(customer=_customer("open across")).delete()


WRITES = [_late_answer, _answer_deleted, _customers_merged, _answer_redated, _answer_moved_to_another_team,
          _case_reopened, _case_closed, _case_opened_in_the_past, _case_deleted]


@pytest.mark.parametrize("write", WRITES, ids=lambda write: write.__name__.strip("_"))
@pytest.mark.parametrize("policy", [{}, {"max_surveys": 2, "period_days": 10, "days_after_close": 5}])
def test_a_write_after_the_rows_were_stored_counts_at_once_and_after_the_fold(varied, write, policy):
    """Each way an answer or a case changes marks its customers stale (the triggers): the report
    computes them from the source rows at once, and the beat's fold stores what they give."""
    personas, now = varied
    ContactPolicy.objects.create(id=1, **policy)
    _policy_cache.changed()
    contact_breaches.rebuild()
    views = [_filters(personas, now, who, "no dates") for who in ("north", "everyone")]
    before = [breaches_found(filters) for filters in views]
    write(personas, now)
    assert BreachStale.objects.exists()
    for who in ("north", "everyone"):
        for window in ("90 days", "no dates"):
            _same_as_direct(_filters(personas, now, who, window))
    assert contact_breaches.fold_all() > 0
    assert not BreachStale.objects.exists()
    after = [breaches_found(filters) for filters in views]
    for who in ("north", "everyone"):
        for window in ("90 days", "no dates"):
            _same_as_direct(_filters(personas, now, who, window))
    stored = {row.response_id: tuple(key for key in ("open_case", "recently_closed", "frequency") if getattr(row, key))
              for row in AnswerBreach.objects.all()}
    assert stored == dict(after[1].newest)
    assert after != before  # every write here changes what the report finds


def test_a_policy_change_reads_the_source_rows_until_the_rows_are_rebuilt(varied):
    personas, now = varied
    filters = _filters(personas, now, "everyone", "no dates")
    ContactPolicy.objects.create(id=1)
    _policy_cache.changed()
    contact_breaches.rebuild()
    stored_before = AnswerBreach.objects.count()
    _same_as_direct(filters)
    ContactPolicy.objects.filter(id=1).update(max_surveys=1, period_days=60, days_after_close=30)
    _policy_cache.changed()
    changed = _same_as_direct(filters)  # the stored rows are of the old policy: not read
    assert changed.counts["any"] != stored_before
    assert contact_breaches.fold() == 0  # a fold does not mix policies
    assert contact_breaches.fold_all() == changed.counts["any"]  # the beat rebuilds every row
    assert AnswerBreach.objects.count() == changed.counts["any"]
    _same_as_direct(filters)


@pytest.mark.parametrize("stored", [False, True])
@pytest.mark.parametrize("cut", [1, 3])
def test_the_list_is_the_newest_and_the_counts_are_of_all(varied, monkeypatch, stored, cut):
    """The statement counts every breaching answer and returns only the newest MAX_LIST_ROWS."""
    from reporting.selectors import contact

    personas, now = varied
    ContactPolicy.objects.create(id=1)
    _policy_cache.changed()
    if stored:
        contact_breaches.rebuild()
    monkeypatch.setattr(contact, "MAX_LIST_ROWS", cut)
    for who in ("north", "everyone"):
        filters = _filters(personas, now, who, "no dates")
        total, counts, newest = direct(filters, ContactPolicy.load())
        found = breaches_found(filters)
        assert (found.total, found.counts, found.newest) == (total, counts, newest[:cut])
        assert counts["any"] > cut


@pytest.mark.parametrize("who", ["north", "everyone"])
def test_the_answers_counted_from_the_score_rollup_when_it_answers_the_filters(varied, who):
    """The share's denominator (the period's answers with a customer) is the daily score rollup's
    sum less the answers without a customer when the rollup answers the filters (whole local days):
    the breaches statement then counts no answer; a bound inside a day is counted by the statement.
    Both equal the direct computation (the data has answers without a customer)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    personas, now = varied
    _policy_cache.changed()
    midnight = timezone.localtime(now - 60 * DAY).replace(hour=0, minute=0, second=0, microsecond=0)
    teams = frozenset({personas.north.pk}) if who == "north" else None
    for filters, from_rollup in ((ReportFilters(team_ids=teams, start=midnight, now=now), True),
                                 (ReportFilters(team_ids=teams, start=midnight + US, now=now), False)):
        with CaptureQueriesContext(connection) as captured:
            found = breaches_found(filters)
        total, counts, newest = direct(filters, ContactPolicy.load())
        assert (found.total, found.counts, found.newest) == (total, counts, newest)
        assert total > 0 and SurveyResponse.objects.filter(customer=None, answered_at__gte=midnight).exists()
        counted_in_statement = any("SELECT COUNT(*) FROM (" in q["sql"] for q in captured.captured_queries)
        assert counted_in_statement is not from_rollup
