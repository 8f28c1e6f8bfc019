"""The Contact report's over-contacted list (reporting.selectors.contact.over_contacted) equals a
direct computation: every customer's contacts in the policy period ending at the report's end,
counted in Python as docs/contact-policy.md says (recorded contacts, and answers but those that
followed an invitation the same tool reported), whether the list reads the stored peaks
(reporting.ContactPeak, under the current policy), the source rows (no peaks stored, or stored
under another policy) or both (customers a write made stale).

The data is varied on purpose: contacts exactly at the start of the period (outside it) and a
microsecond after it, several at the same moment, an answer that followed its own invitation (one
contact, two rows: a candidate that is not over the limit), answers of other teams (they count on a
manager's report), invitations alone to a customer a team heard from long ago, customers over the
limit only long before the end, and random customers mixing everything over 150 days."""

import datetime as dt
import random

import pytest
from django.utils import timezone

from contactpolicy.models import ContactEvent, ContactPolicy
from contactpolicy.services import _policy_cache
from reporting import contact_breaches
from reporting.filters import ReportFilters
from reporting.models import BreachStale, ContactPeak
from reporting.selectors import contact
from reporting.selectors.contact import _over_limit_candidates, over_contacted
from surveys.models import Customer, SurveyResponse
from tests.factories import CustomerFactory, SurveyFactory, SurveyResponseFactory, WebhookSourceFactory

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)
US = dt.timedelta(microseconds=1)


def _events():
    return list(ContactEvent.objects.values("customer_id", "at", "source_id"))


def _answers():
    return list(SurveyResponse.objects.exclude(customer=None).values("customer_id", "team_id", "answered_at",
                                                                       "source_id"))


def direct(filters: ReportFilters, policy: ContactPolicy) -> list[tuple[str, int, dt.date]]:
    """Obviously correct and slow: each customer's contacts in (end - period, end], in Python."""
    if not policy.max_surveys:
        return []
    end = filters.end or filters.now
    period = dt.timedelta(days=policy.period_days)
    start = end - period
    answers, events = _answers(), _events()
    found = []
    for customer in Customer.objects.order_by("pk"):
        invited = [e for e in events if e["customer_id"] == customer.pk]
        answered = [a for a in answers if a["customer_id"] == customer.pk]
        times = [e["at"] for e in invited if start < e["at"] <= end]
        times += [a["answered_at"] for a in answered if start < a["answered_at"] <= end and not any(
            e["source_id"] == a["source_id"] and a["answered_at"] - period <= e["at"] <= a["answered_at"]
            for e in invited)]
        heard = filters.team_ids is None or any(a["team_id"] in filters.team_ids for a in answered)
        if len(times) > policy.max_surveys and heard:
            found.append((customer.pk, customer.name, len(times), timezone.localtime(max(times)).date()))
    found.sort(key=lambda row: (-row[2], row[0]))
    return [(name, count, last) for _pk, name, count, last in found[:contact.MAX_LIST_ROWS]]


def listed(filters: ReportFilters) -> list[tuple[str, int, dt.date]]:
    return [(row["customer"], row["contacts"], row["last_contact"]) for row in over_contacted(filters).rows]


def peaks_by_definition(policy: ContactPolicy) -> set[tuple[int, dt.datetime]]:
    """The moments of a contact (counted raw: every answer and every recorded contact) at which the
    customer had more than the limit in [moment - period, moment]."""
    period = dt.timedelta(days=policy.period_days)
    contacts = [(a["customer_id"], a["answered_at"]) for a in _answers()] + [(e["customer_id"], e["at"]) for e in _events()]
    return {(customer, at) for customer, at in contacts
            if sum(c == customer and at - period <= t <= at for c, t in contacts) > policy.max_surveys}


@pytest.fixture
def varied(personas):
    now = timezone.now().replace(microsecond=500_000)
    rng = random.Random(17)
    surveys = [SurveyFactory(source=WebhookSourceFactory(slug=f"tool-{n}"), external_id=f"s-{n}") for n in "ab"]
    serial = iter(range(10_000))

    def answer(customer, at, team=None, survey=None):
        survey = survey or surveys[0]
        return SurveyResponseFactory(source=survey.source, survey=survey, customer=customer,
                                     team=team or personas.north, answered_at=at, external_id=f"o{next(serial)}")

    def invite(customer, at, survey=None):
        return ContactEvent.objects.create(customer=customer, kind=ContactEvent.Kind.INVITATION, at=at,
                                           source=(survey or surveys[1]).source, sender="tool",
                                           external_id=f"i{next(serial)}")

    start = now - 30 * DAY  # the default policy's period, ending now
    edge = {name: CustomerFactory(name=name) for name in (
        "at the start", "just after the start", "same moment", "invited then answered", "invited, answered, 3",
        "other teams count", "south only", "heard long ago", "long before")}
    answer(edge["at the start"], start)  # outside (start, end]: three contacts
    for days in (20, 10, 1):
        answer(edge["at the start"], now - days * DAY)
    answer(edge["just after the start"], start + US)
    for days in (20, 10, 1):
        invite(edge["just after the start"], now - days * DAY)
    for _ in range(4):
        answer(edge["same moment"], now - 5 * DAY)
    invite(edge["invited then answered"], now - 9 * DAY, surveys[0])
    answer(edge["invited then answered"], now - 8 * DAY)  # counted once, with its invitation
    for days in (7, 6, 5):
        invite(edge["invited then answered"], now - days * DAY)
    invite(edge["invited, answered, 3"], now - 9 * DAY, surveys[0])
    answer(edge["invited, answered, 3"], now - 8 * DAY)  # four rows, three contacts
    for days in (7, 6):
        invite(edge["invited, answered, 3"], now - days * DAY)
    for team, days in ((personas.north, 12), (personas.north, 11), (personas.south, 10), (personas.south, 9)):
        answer(edge["other teams count"], now - days * DAY, team)
    for days in (4, 3, 2, 1):
        answer(edge["south only"], now - days * DAY, personas.south)
    answer(edge["heard long ago"], now - 200 * DAY)
    for days in (4, 3, 2, 1):
        invite(edge["heard long ago"], now - days * DAY)
    for days in (100, 99, 98, 97, 96):
        answer(edge["long before"], now - days * DAY, personas.south)
    for c in range(30):
        customer = CustomerFactory(name=f"R{c:02d}")
        for _ in range(rng.randint(0, 8)):
            answer(customer, now - rng.uniform(0, 150) * DAY, rng.choice([personas.north, personas.south]),
                   rng.choice(surveys))
        for _ in range(rng.randint(0, 4)):
            invite(customer, now - rng.uniform(0, 150) * DAY, rng.choice(surveys))
    answer(None, now - 2 * DAY)
    return personas, now


POLICIES = [{}, {"max_surveys": 2, "period_days": 10}, {"max_surveys": 1, "period_days": 60}, {"max_surveys": 0}]


def _policy(values):
    ContactPolicy.objects.update_or_create(id=1, defaults={"max_surveys": 3, "period_days": 30, **values})
    _policy_cache.changed()
    return ContactPolicy.load()


def _views(personas, now):
    return [ReportFilters(team_ids=team_ids, end=end, now=now)
            for team_ids in (frozenset({personas.north.pk}), None) for end in (None, now - 90 * DAY)]


@pytest.mark.parametrize("stored", [False, True], ids=["source rows", "stored peaks"])
@pytest.mark.parametrize("policy", POLICIES)
def test_the_over_contacted_equal_a_direct_computation(varied, policy, stored):
    personas, now = varied
    policy = _policy(policy)
    if stored:
        contact_breaches.rebuild()
        assert not BreachStale.objects.exists()
        assert {(p.customer_id, p.at) for p in ContactPeak.objects.all()} == (
            peaks_by_definition(policy) if policy.max_surveys else set())
    for filters in _views(personas, now):
        assert listed(filters) == direct(filters, policy)


def test_the_varied_data_puts_the_edges_where_the_rules_say(varied):
    """The comparisons are not vacuous: the edge customers land as named, and a candidate (raw
    contacts over the limit) can be under it once counted as the decision counts."""
    personas, now = varied
    policy = _policy({})
    contact_breaches.rebuild()
    north, _north_before, everyone, everyone_before = _views(personas, now)
    names = {row[0] for row in listed(north)}
    assert {"just after the start", "same moment", "invited then answered", "other teams count",
            "heard long ago"} <= names
    assert not names & {"at the start", "invited, answered, 3", "south only", "long before"}
    assert {"south only"} <= {row[0] for row in listed(everyone)} - names
    assert ("long before", 5) in [row[:2] for row in listed(everyone_before)]
    three = Customer.objects.get(name="invited, answered, 3").pk
    assert three in _over_limit_candidates(north, policy, now - 30 * DAY, now)
    assert dict((row[0], row[1]) for row in direct(everyone, policy))["invited then answered"] == 4


def test_the_list_is_the_most_contacted_first_and_cut(varied, monkeypatch):
    personas, now = varied
    policy = _policy({"max_surveys": 1, "period_days": 60})
    contact_breaches.rebuild()
    monkeypatch.setattr(contact, "MAX_LIST_ROWS", 3)
    everyone = ReportFilters(team_ids=None, now=now)
    rows = listed(everyone)
    assert len(rows) == 3 and rows == direct(everyone, policy)
    assert [count for _name, count, _last in rows] == sorted((count for _n, count, _l in rows), reverse=True)


def _customer(name):
    return Customer.objects.get(name=name)


def _invitation_inserted(personas, now):  # a fourth contact in the period
    ContactEvent.objects.create(customer=_customer("at the start"), kind=ContactEvent.Kind.RECOVERY_CHECK,
                                at=now - 3 * DAY, sender="closeloop", external_id="new")


def _invitation_deleted(personas, now):
    ContactEvent.objects.filter(customer=_customer("heard long ago")).order_by("at").first().delete()


def _invitation_redated(personas, now):  # out of the period
    ContactEvent.objects.filter(customer=_customer("just after the start")).update(at=now - 45 * DAY)


def _invitations_merged(personas, now):  # what customers.services.merging does with the contacts
    ContactEvent.objects.filter(customer=_customer("invited, answered, 3")).update(customer=_customer("at the start"))


def _answer_inserted(personas, now):
    # through another tool than the customer's invitations (one of theirs would not count)
    survey = SurveyFactory(source=WebhookSourceFactory(slug="tool-c"), external_id="s-c")
    SurveyResponseFactory(source=survey.source, survey=survey, customer=_customer("invited, answered, 3"),
                          team=personas.south, answered_at=now - DAY, external_id="late")


def _answer_deleted(personas, now):
    SurveyResponse.objects.filter(customer=_customer("same moment")).first().delete()


def _answers_merged(personas, now):
    SurveyResponse.objects.filter(customer=_customer("south only")).update(customer=_customer("at the start"))


WRITES = [_invitation_inserted, _invitation_deleted, _invitation_redated, _invitations_merged, _answer_inserted,
          _answer_deleted, _answers_merged]


@pytest.mark.parametrize("write", WRITES, ids=lambda write: write.__name__.strip("_"))
def test_a_write_after_the_peaks_were_stored_counts_at_once_and_after_the_fold(varied, write):
    """Each way an answer or a recorded contact changes marks its customers stale (the triggers):
    the list counts them from the source rows at once, and the beat's fold stores their peaks."""
    personas, now = varied
    policy = _policy({})
    contact_breaches.rebuild()
    views = _views(personas, now)
    before = [listed(filters) for filters in views]
    write(personas, now)
    assert BreachStale.objects.exists()
    for filters in views:
        assert listed(filters) == direct(filters, policy)
    assert contact_breaches.fold_all() > 0
    assert not BreachStale.objects.exists()
    assert {(p.customer_id, p.at) for p in ContactPeak.objects.all()} == peaks_by_definition(policy)
    after = [listed(filters) for filters in views]
    assert after == [direct(filters, policy) for filters in views]
    assert after != before  # every write here changes the list


def test_a_policy_change_reads_the_source_rows_until_the_peaks_are_rebuilt(varied):
    personas, now = varied
    _policy({})
    contact_breaches.rebuild()
    peaks_before = ContactPeak.objects.count()
    changed = _policy({"max_surveys": 1, "period_days": 60})
    for filters in _views(personas, now):  # the stored peaks are of the old policy: not read
        assert listed(filters) == direct(filters, changed)
    assert contact_breaches.fold() == 0  # a fold does not mix policies
    contact_breaches.fold_all()  # the beat rebuilds every row
    assert {(p.customer_id, p.at) for p in ContactPeak.objects.all()} == peaks_by_definition(changed)
    assert ContactPeak.objects.count() != peaks_before
    for filters in _views(personas, now):
        assert listed(filters) == direct(filters, changed)
