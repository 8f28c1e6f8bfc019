"""core.unit_of_work: rows kept with their ids and written together at the end of the block,
inside the caller's transaction; outside a block, a plain INSERT."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.unit_of_work import current, insert, insert_all, is_staged, unit_of_work
from surveys.models import Customer, Theme

pytestmark = pytest.mark.django_db


def test_outside_a_unit_of_work_insert_writes_at_once():
    customer = insert(Customer(external_id="U-1", name="Una"))
    assert current() is None and customer.pk is not None
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_rows_get_their_ids_at_once_and_are_written_when_the_block_ends():
    with transaction.atomic(), unit_of_work(size_hint=10) as uow:
        customers = [insert(Customer(external_id=f"U-{i}", name=f"N{i}")) for i in range(3)]
        assert all(c.pk is not None for c in customers) and len({c.pk for c in customers}) == 3
        assert all(is_staged(c) and uow.inserted(c) for c in customers)
        assert not Customer.objects.filter(pk__in=[c.pk for c in customers]).exists()  # not yet
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["U-0", "U-1", "U-2"]


def test_a_block_that_raises_writes_nothing():
    with pytest.raises(RuntimeError), transaction.atomic(), unit_of_work():
        insert(Customer(external_id="U-9", name="Gone"))
        raise RuntimeError("the batch failed")
    assert not Customer.objects.filter(external_id="U-9").exists()


def test_an_update_writes_only_its_fields_in_one_statement_for_rows_changing_the_same_ones():
    a = Customer.objects.create(external_id="A", name="Ann", tier="Silver", phone="1")
    b = Customer.objects.create(external_id="B", name="Bob", tier="Silver", phone="1")
    Customer.objects.filter(pk__in=[a.pk, b.pk]).update(phone="2")  # changed elsewhere meanwhile
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), unit_of_work() as uow:
        a.tier, b.tier = "Gold", "Platinum"
        uow.update(a, ["tier"])
        uow.update(b, ["tier"])
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.tier, a.phone, b.tier, b.phone) == ("Gold", "2", "Platinum", "2")
    assert len([q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]) == 1


def test_work_put_off_runs_after_the_rows_are_written_and_sees_them():
    seen = []
    with transaction.atomic(), unit_of_work() as uow:
        customer = insert(Customer(external_id="L-1", name="Lou"))
        uow.later(lambda: seen.append(Customer.objects.filter(pk=customer.pk).exists()))
    assert seen == [True]


def test_rows_without_ids_may_ignore_conflicts():
    Theme.objects.create(name="Delivery", slug="delivery", keywords=["late"])
    with transaction.atomic(), unit_of_work():
        insert_all([Theme(name="Delivery again", slug="delivery", keywords=["x"]),
                    Theme(name="Price", slug="price", keywords=["expensive"])], ignore_conflicts=True)
    assert sorted(Theme.objects.values_list("slug", flat=True)) == ["delivery", "price"]


def test_a_later_stage_keeps_one_state_object_per_batch_and_class():
    class Gathered:
        def __init__(self, batch):
            self.batch, self.items = batch, []

    class Other(Gathered):
        pass

    with transaction.atomic(), unit_of_work() as uow:
        uow.state(Gathered).items.append("a")
        uow.state(Gathered).items.append("b")
        assert uow.state(Gathered).items == ["a", "b"] and uow.state(Gathered).batch is uow
        assert uow.state(Other).items == []  # keyed by class: stages never share one by accident
    with transaction.atomic(), unit_of_work() as again:
        assert again.state(Gathered).items == []  # dropped with its batch
    assert not hasattr(uow, "memo")
