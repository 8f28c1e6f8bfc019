"""A customer merge moves the merged customer's outcome events to the target (the results reports
count them for the one person), records their ids in the merge and its audit signal, and the
undo moves exactly those back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from customers.models import CustomerMerge
from customers.services import customer_merge, customer_unmerge
from customers.signals import customer_merged, customer_unmerged
from outcomes.models import OutcomeEvent
from tests.factories import AccountFactory
from tests.inbox.helpers import make_customer

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)


def _event(external_id: str, *, customer=None, account=None, kind: str = "renewal") -> OutcomeEvent:
    return OutcomeEvent.objects.create(customer=customer, account=account, kind=kind, amount=Decimal(120),
                                       currency="EUR", occurred_at=AT, source="api", external_id=external_id)


def _owners() -> dict[str, int | None]:
    return dict(OutcomeEvent.objects.order_by("external_id").values_list("external_id", "customer_id"))


def test_a_merge_moves_outcome_events_and_the_undo_moves_exactly_those_back(personas):
    ann = make_customer("Ann Lee", email="ann@example.com")
    shop = make_customer("Ann L.", email="ann@shop.example")
    _event("o-ann", customer=ann)
    renewal = _event("o-shop-1", customer=shop)
    churn = _event("o-shop-2", customer=shop, kind="churn")
    account_only = _event("o-account", account=AccountFactory(name="Acme"))  # names no customer: not moved
    sent = []
    customer_merged.connect(lambda sender, change, **kw: sent.append(("merged", change.moved.get("outcomes"))),
                            weak=False, dispatch_uid="test-outcomes-merged")
    customer_unmerged.connect(lambda sender, change, **kw: sent.append(("unmerged", change.moved.get("outcomes"))),
                              weak=False, dispatch_uid="test-outcomes-unmerged")
    try:
        merge = customer_merge(merged_id=shop.pk, target_id=ann.pk, by=personas.adam, reason="Same phone")
        assert _owners() == {"o-account": None, "o-ann": ann.pk, "o-shop-1": ann.pk, "o-shop-2": ann.pk}
        assert sorted(CustomerMerge.objects.get(pk=merge.pk).moved["outcomes"]) == sorted([renewal.pk, churn.pk])
        later = _event("o-after", customer=ann)  # arrived for the target after the merge: stays with her
        customer_unmerge(merge_id=merge.pk, by=personas.adam)
    finally:
        customer_merged.disconnect(dispatch_uid="test-outcomes-merged")
        customer_unmerged.disconnect(dispatch_uid="test-outcomes-unmerged")
    assert _owners() == {"o-account": None, "o-after": ann.pk, "o-ann": ann.pk, "o-shop-1": shop.pk,
                         "o-shop-2": shop.pk}
    assert [(kind, sorted(ids)) for kind, ids in sent] == [("merged", sorted([renewal.pk, churn.pk])),
                                                          ("unmerged", sorted([renewal.pk, churn.pk]))]
    assert OutcomeEvent.objects.get(pk=account_only.pk).account.name == "Acme"
    assert later.pk not in CustomerMerge.objects.get(pk=merge.pk).moved["outcomes"]


def test_a_merge_without_outcome_events_records_an_empty_list(personas):
    ann = make_customer("Ann Lee", email="ann@example.com")
    shop = make_customer("Ann L.", email="ann@shop.example")
    merge = customer_merge(merged_id=shop.pk, target_id=ann.pk, by=personas.adam)
    assert CustomerMerge.objects.get(pk=merge.pk).moved["outcomes"] == []
