"""Each segment's members as a partial index of customers (segments.indexes, PostgreSQL): built
after a save, replaced when the conditions change, dropped with the segment, none for conditions
on accounts; and usable by the segment filter's subquery, whose conditions are the index's."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from segments.indexes import PREFIX, segment_indexes_sync
from segments.models import Segment
from segments.selectors import customers_in_q
from segments.services import segment_delete, segment_save
from surveys.models import SurveyResponse

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
