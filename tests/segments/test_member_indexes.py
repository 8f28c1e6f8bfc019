"""Each segment's members as a partial index of customers (segments.indexes, PostgreSQL): built
after a save, replaced when the conditions change, dropped with the segment, none for conditions
on accounts; and usable by the segment filter's subquery, whose conditions are the index's."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from segments.conditions import segment_q
from segments.indexes import PREFIX, STATS_PREFIX, segment_indexes_sync
from segments.models import Segment
from segments.selectors import customers_in_q
from segments.services import segment_delete, segment_save
from surveys.models import Customer, SurveyResponse

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif("connection.vendor != 'postgresql'", reason="partial indexes: PostgreSQL")]

GOLD = [{"field": "tier", "operator": "equals", "value": "gold"}]
EMEA = [{"field": "region", "operator": "one_of", "value": ["EMEA", "Nordics"]},
        {"field": "account_value", "operator": "gte", "value": 1000}]


def _indexes() -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'surveys_customer' AND indexname LIKE %s",
                       [PREFIX.replace("_", r"\_") + "%"])
        names = [name for (name,) in cursor.fetchall()]
    return {int(name[len(PREFIX):].split("_")[0]): name for name in names}


def _save(segment: Segment, django_capture_on_commit_callbacks) -> Segment:
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            segment_save(segment)
    return segment


def test_a_saved_segment_gets_its_index_and_a_changed_one_a_new_one(django_capture_on_commit_callbacks):
    gold = _save(Segment(name="Gold", conditions=GOLD), django_capture_on_commit_callbacks)
    emea = _save(Segment(name="EMEA", match="any", conditions=EMEA), django_capture_on_commit_callbacks)
    first = _indexes()
    assert set(first) == {gold.pk, emea.pk}
    gold.conditions = [{"field": "tier", "operator": "one_of", "value": ["gold", "platinum"]}]
    _save(gold, django_capture_on_commit_callbacks)
    second = _indexes()
    assert set(second) == {gold.pk, emea.pk}
    assert second[gold.pk] != first[gold.pk] and second[emea.pk] == first[emea.pk]
    with django_capture_on_commit_callbacks(execute=True):
        segment_delete(emea)
    assert set(_indexes()) == {gold.pk}
    assert segment_indexes_sync() == []  # in step: nothing to build


def test_a_segment_on_accounts_has_no_index(django_capture_on_commit_callbacks):
    _save(Segment(name="Big accounts", conditions=[{"field": "account.value", "operator": "gte", "value": 5}]),
          django_capture_on_commit_callbacks)
    assert _indexes() == {}


@pytest.mark.parametrize("conditions", [GOLD, EMEA, [{"field": "attributes.score", "operator": "gte", "value": 10}],
                                        [{"field": "segment", "operator": "is_set", "value": None}]])
def test_the_segment_filter_can_read_the_index(conditions, django_capture_on_commit_callbacks):
    segment = _save(Segment(name="S", match="any", conditions=conditions), django_capture_on_commit_callbacks)
    name = _indexes()[segment.pk]
    sql, params = SurveyResponse.objects.filter(customers_in_q([segment])).values("pk").query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: show the index is usable, not chosen
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row for (row,) in cursor.fetchall())
    assert name in plan, plan


def _statistics() -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT stxname FROM pg_statistic_ext WHERE stxrelid = 'surveys_customer'::regclass "
                       "AND stxname LIKE %s", [STATS_PREFIX.replace("_", r"\_") + "%"])
        names = [name for (name,) in cursor.fetchall()]
    return {int(name[len(STATS_PREFIX):].split("_")[0]): name for name in names}


def test_a_segment_gets_statistics_on_what_it_compares(django_capture_on_commit_callbacks):
    """Text compared case-insensitively (UPPER(...)) and attributes are expressions PostgreSQL has no
    statistics on until asked; plain columns have theirs, accounts none."""
    gold = _save(Segment(name="Gold", conditions=GOLD), django_capture_on_commit_callbacks)
    emea = _save(Segment(name="EMEA", match="any", conditions=EMEA), django_capture_on_commit_callbacks)
    _save(Segment(name="Valuable", conditions=[{"field": "account_value", "operator": "gte", "value": 5}]),
          django_capture_on_commit_callbacks)
    _save(Segment(name="Big accounts", conditions=[{"field": "account.value", "operator": "gte", "value": 5}]),
          django_capture_on_commit_callbacks)
    first = _statistics()
    assert set(first) == {gold.pk, emea.pk}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_statisticsobjdef(oid) FROM pg_statistic_ext WHERE stxname = %s", [first[gold.pk]])
        assert "ON upper(tier::text) FROM" in cursor.fetchone()[0]
    gold.conditions = [{"field": "tier", "operator": "one_of", "value": ["gold", "platinum"]},
                       {"field": "segment", "operator": "equals", "value": "smb"}]
    _save(gold, django_capture_on_commit_callbacks)
    second = _statistics()
    assert second[gold.pk] != first[gold.pk] and second[emea.pk] == first[emea.pk]
    with django_capture_on_commit_callbacks(execute=True):
        segment_delete(emea)
    assert set(_statistics()) == {gold.pk}
    assert segment_indexes_sync() == []  # in step: nothing to build


def _estimate(segment: Segment) -> int:
    sql, params = Customer.objects.filter(segment_q(segment.conditions, segment.match)).values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        return cursor.fetchone()[0][0]["Plan"]["Plan Rows"]


def test_with_the_statistics_the_planner_expects_the_segments_size(django_capture_on_commit_callbacks):
    """1,000 customers, 250 of them Gold or Platinum SMB: without statistics PostgreSQL guesses a
    default 0.5 % per condition (1 customer); with them, about 250."""
    tiers, kinds = ["Gold", "Platinum", "Silver", "Bronze"], ["SMB", "Enterprise"]
    Customer.objects.bulk_create([Customer(external_id=f"c{i}", tier=tiers[i % 4], segment=kinds[(i // 4) % 2])
                                  for i in range(1000)])
    premium = Segment(name="Premium SMB", conditions=[
        {"field": "tier", "operator": "one_of", "value": ["gold", "platinum"]},
        {"field": "segment", "operator": "equals", "value": "smb"}])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE surveys_customer")
    assert _estimate(premium) < 20
    _save(premium, django_capture_on_commit_callbacks)
    assert Customer.objects.filter(segment_q(premium.conditions)).count() == 250
    # About 250 (the planner scales the estimate by the table's pages, which the segment bits' rewrite
    # of the 250 members grew after the ANALYZE: reporting.segment_bits).
    assert 200 <= _estimate(premium) <= 330
