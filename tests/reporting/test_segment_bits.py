"""The segment bits (reporting.segment_bits, PostgreSQL): every customer, response and case carries
a bit per built segment its customer is in, exactly the segment's conditions (segment_q, checked
here against the compiled predicate alert rules evaluate), whatever wrote the row: a new answer, a
customer's change through the ORM or raw SQL, a merge, a stale copy of a case saved again, a
segment's definition changed, a segment deleted and its slot given to another."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from cases.models import Case
from reporting.models import SegmentBit
from reporting.segment_bits import SLOTS, bit_of, segment_bits_sync
from segments.conditions import CustomerFacts, account_values_of
from segments.models import Segment
from segments.selectors import compiled
from segments.services import segment_delete, segment_save
from surveys.models import Customer, SurveyResponse
from tests.factories import CustomerFactory
from tests.reporting import builders as b

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the bits' triggers: PostgreSQL")]

GOLD = [{"field": "tier", "operator": "equals", "value": "gold"}]
BIG = [{"field": "account_value", "operator": "gte", "value": 1000}]
EMEA = [{"field": "region", "operator": "one_of", "value": ["EMEA", "Nordics"]}]
ACCOUNTS = [{"field": "account.value", "operator": "gte", "value": 50000}]


def _save(segment: Segment, django_capture_on_commit_callbacks) -> Segment:
    """As the settings page saves it: the bits brought in step after the commit (reporting.tasks)."""
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            segment_save(segment)
    return Segment.objects.select_related("bit").get(pk=segment.pk)


def _expected_bits(customer_id: int | None) -> int:
    """The bits a customer should carry: each built segment's compiled predicate over its facts."""
    if customer_id is None:
        return 0
    customer = Customer.objects.get(pk=customer_id)
    facts = CustomerFacts.of(customer, account_values_of(customer.pk))
    bits = 0
    for segment in Segment.objects.select_related("bit"):
        bit = bit_of(segment)
        if bit is not None and compiled(segment).matches(facts):
            bits |= bit
    return bits


def _assert_exact() -> None:
    """Every customer's, response's and case's bits are its customer's segments, read where they live."""
    for customer_id, bits in Customer.objects.values_list("pk", "segment_bits"):
        assert bits & _all_bits() == _expected_bits(customer_id), f"customer {customer_id}"
    for model in (SurveyResponse, Case):
        for pk, customer_id, bits in model.objects.values_list("pk", "customer_id", "segment_bits"):
            assert bits & _all_bits() == _expected_bits(customer_id), f"{model.__name__} {pk}"


def _all_bits() -> int:
    return sum(1 << slot for slot in SegmentBit.objects.exclude(built=None).values_list("slot", flat=True))


@pytest.fixture
def people(personas):
    now = timezone.now()
    gold = CustomerFactory(tier="Gold", attributes={"region": "emea"}, account_value=Decimal("50"))
    big = CustomerFactory(tier="silver", account_value=Decimal("5000"))
    nobody = CustomerFactory(tier="", attributes={})
    for i, who in enumerate([gold, big, nobody, None, gold]):
        resp = b.response(personas.north, at=now - dt.timedelta(days=i + 1), nps=i, who=who)
        b.case(personas.north, created=resp.answered_at + dt.timedelta(hours=1), resp=resp, who=who)
    return {"gold": gold, "big": big, "nobody": nobody}


def test_rows_carry_their_customers_segments(people, django_capture_on_commit_callbacks):
    gold = _save(Segment(name="Gold", conditions=GOLD), django_capture_on_commit_callbacks)
    big = _save(Segment(name="Big", conditions=BIG), django_capture_on_commit_callbacks)
    emea = _save(Segment(name="EMEA or big", match="any", conditions=EMEA + BIG), django_capture_on_commit_callbacks)
    assert (gold.bit.slot, big.bit.slot, emea.bit.slot) == (0, 1, 2)
    assert {bit_of(gold), bit_of(big), bit_of(emea)} == {1, 2, 4}
    assert Customer.objects.get(pk=people["gold"].pk).segment_bits == 1 | 4
    assert Customer.objects.get(pk=people["big"].pk).segment_bits == 2 | 4
    assert set(SurveyResponse.objects.filter(customer=people["gold"]).values_list("segment_bits", flat=True)) == {5}
    assert set(Case.objects.filter(customer=people["big"]).values_list("segment_bits", flat=True)) == {6}
    assert set(Case.objects.filter(customer=None).values_list("segment_bits", flat=True)) == {0}
    _assert_exact()


def test_a_customers_change_moves_their_rows(people, django_capture_on_commit_callbacks):
    _save(Segment(name="Gold", conditions=GOLD), django_capture_on_commit_callbacks)
    _save(Segment(name="EMEA", conditions=EMEA), django_capture_on_commit_callbacks)
    nobody = people["nobody"]
    nobody.tier, nobody.attributes = "GOLD", {"region": "Nordics"}
    nobody.save()  # through the ORM
    assert set(SurveyResponse.objects.filter(customer=nobody).values_list("segment_bits", flat=True)) == {3}
    with connection.cursor() as cursor:  # and behind its back
        cursor.execute("UPDATE surveys_customer SET tier = 'bronze' WHERE id = %s", [people["gold"].pk])
    assert set(Case.objects.filter(customer=people["gold"]).values_list("segment_bits", flat=True)) == {2}
    _assert_exact()


def test_a_large_update_of_customers_moves_only_the_rows_of_those_whose_bits_changed(
        people, personas, django_capture_on_commit_callbacks):
    """Over 100 customers in one statement (the trigger plans its lookup for the size): the rows of
    the customers who changed follow, the others' are not rewritten."""
    _save(Segment(name="Gold", conditions=GOLD), django_capture_on_commit_callbacks)
    many = Customer.objects.bulk_create([Customer(external_id=f"m{i}", tier="silver") for i in range(150)])
    for customer in many[:3]:
        b.response(personas.north, at=timezone.now(), nps=5, who=customer)
    untouched = SurveyResponse.objects.filter(customer=people["gold"]).first()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE surveys_customer SET tier = 'GOLD', churn_risk = 0.5 WHERE external_id LIKE 'm%%'")
        cursor.execute("UPDATE surveys_customer SET name = 'renamed' WHERE external_id LIKE 'm%%'")  # bits kept
    assert set(SurveyResponse.objects.filter(customer__in=many[:3]).values_list("segment_bits", flat=True)) == {1}
    assert SurveyResponse.objects.get(pk=untouched.pk).segment_bits == 1
    assert set(Customer.objects.filter(external_id__startswith="m").values_list("segment_bits", flat=True)) == {1}
    _assert_exact()


def test_a_new_answer_and_a_merge_take_the_customers_bits(people, personas, django_capture_on_commit_callbacks):
    _save(Segment(name="Gold", conditions=GOLD), django_capture_on_commit_callbacks)
    resp = b.response(personas.south, at=timezone.now(), nps=3, who=people["gold"])
    assert SurveyResponse.objects.get(pk=resp.pk).segment_bits == 1
    SurveyResponse.objects.filter(pk=resp.pk).update(customer=people["nobody"])  # moved to another customer
    assert SurveyResponse.objects.get(pk=resp.pk).segment_bits == 0
    _assert_exact()


def test_a_stale_copy_of_a_case_saved_again_keeps_the_bits(people, django_capture_on_commit_callbacks):
    _save(Segment(name="Gold", conditions=GOLD), django_capture_on_commit_callbacks)
    case = Case.objects.filter(customer=people["nobody"]).get()
    assert case.segment_bits == 0
    Customer.objects.filter(pk=people["nobody"].pk).update(tier="gold")
    case.priority = "high"
    case.save()  # writes every column, segment_bits 0 from memory
    assert Case.objects.get(pk=case.pk).segment_bits == 1


def test_a_changed_definition_is_read_by_conditions_until_rebuilt(people, django_capture_on_commit_callbacks):
    segment = _save(Segment(name="Gold", conditions=GOLD), django_capture_on_commit_callbacks)
    segment.conditions = BIG
    with transaction.atomic():
        segment_save(segment)  # its task has not run yet
    segment = Segment.objects.select_related("bit").get(pk=segment.pk)
    assert bit_of(segment) is None  # the stored bits still hold "gold": not read
    assert segment_bits_sync() == 2  # gold out, big in
    segment = Segment.objects.select_related("bit").get(pk=segment.pk)
    assert bit_of(segment) == 1
    assert Customer.objects.get(pk=people["big"].pk).segment_bits == 1
    assert Customer.objects.get(pk=people["gold"].pk).segment_bits == 0
    _assert_exact()
    assert segment_bits_sync() == 0  # nothing left to do


def test_slots_are_freed_and_given_again(people, django_capture_on_commit_callbacks):
    gold = _save(Segment(name="Gold", conditions=GOLD), django_capture_on_commit_callbacks)
    on_accounts = _save(Segment(name="Accounts", conditions=ACCOUNTS), django_capture_on_commit_callbacks)
    assert not SegmentBit.objects.filter(segment=on_accounts).exists()  # tested by its conditions
    with django_capture_on_commit_callbacks(execute=True):
        segment_delete(gold)
    big = _save(Segment(name="Big", conditions=BIG), django_capture_on_commit_callbacks)
    assert big.bit.slot == 0 and bit_of(big) == 1  # gold's slot, rebuilt for big
    assert Customer.objects.get(pk=people["gold"].pk).segment_bits == 0
    assert Customer.objects.get(pk=people["big"].pk).segment_bits == 1
    _assert_exact()
    # A segment changed to read accounts gives its slot up, in the same run as another takes it.
    big.conditions = ACCOUNTS
    with transaction.atomic():
        segment_save(big)
    Segment.objects.bulk_create([Segment(name="EMEA", slug="emea", conditions=EMEA)])
    segment_bits_sync()
    assert list(SegmentBit.objects.values_list("segment__name", "slot")) == [("EMEA", 0)]
    assert Customer.objects.get(pk=people["gold"].pk).segment_bits == 1  # region emea
    _assert_exact()


def test_a_64th_segment_has_no_bit(django_capture_on_commit_callbacks):
    Segment.objects.bulk_create([Segment(name=f"S{i}", slug=f"s{i}", conditions=GOLD) for i in range(SLOTS + 1)])
    segment_bits_sync()
    assert SegmentBit.objects.count() == SLOTS
    assert SegmentBit.objects.exclude(built=None).count() == SLOTS
    last = Segment.objects.select_related("bit").get(name=f"S{SLOTS}")
    assert bit_of(last) is None
