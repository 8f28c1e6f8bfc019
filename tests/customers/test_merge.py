"""Merge and undo: what moves, what the record keeps, what the undo puts back, the audit signal,
and the refusals a person can act on."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from cases.models import Case, CaseEvent
from customers.models import Contact, CustomerMerge, Identity
from customers.services import customer_consent_set, customer_merge, customer_unmerge
from customers.signals import customer_merged, customer_unmerged
from surveys.models import Customer, SurveyResponse
from tests.factories import ContactFactory, IdentityFactory
from tests.inbox.helpers import make_case, make_customer, make_response

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(personas):
    ann = make_customer("Ann Lee", email="ann@example.com", external_id="C-1")
    shop = make_customer("Ann L.", email="ann@shop.example", external_id="SHOP-1")
    kept = make_response(customer=ann, team=personas.north, external_id="r-ann")
    moving = [make_response(customer=shop, team=personas.north, external_id=f"r-shop-{i}") for i in range(2)]
    case = make_case(personas.north, customer=shop)
    IdentityFactory(customer=ann, kind="email", value="ann@example.com")
    IdentityFactory(customer=shop, kind="email", value="ann@shop.example")
    IdentityFactory(customer=shop, kind="phone", value="+447700900123")
    same_phone = IdentityFactory(customer=ann, kind="phone", value="+447700900123")
    contact = ContactFactory(customer=shop, role="decision_maker")
    return ann, shop, kept, moving, case, contact, same_phone


def test_a_merge_moves_everything_and_an_undo_puts_exactly_that_back(personas, pair):
    ann, shop, kept, moving, case, contact, same_phone = pair
    shop_case_response = case.response
    sent = []
    customer_merged.connect(lambda sender, change, **kw: sent.append(("merged", change)), weak=False,
                            dispatch_uid="test-merged")
    customer_unmerged.connect(lambda sender, change, **kw: sent.append(("unmerged", change)), weak=False,
                              dispatch_uid="test-unmerged")
    try:
        merge = customer_merge(merged_id=shop.pk, target_id=ann.pk, by=personas.adam, reason="Same phone")
        assert set(SurveyResponse.objects.filter(customer=ann).values_list("external_id", flat=True)) == {
            "r-ann", "r-shop-0", "r-shop-1", shop_case_response.external_id}
        assert Case.objects.get(pk=case.pk).customer_id == ann.pk
        note = CaseEvent.objects.get(case=case, kind="note", data__action="customer_moved")
        assert (note.note, note.actor, note.data["merge_id"]) == ("Customer Ann L. merged into Ann Lee.", personas.adam,
                                                                  merge.pk)
        assert Contact.objects.get(pk=contact.pk).customer_id == ann.pk
        assert sorted(Identity.objects.filter(customer=ann).values_list("kind", "value")) == [
            ("email", "ann@example.com"), ("email", "ann@shop.example"), ("phone", "+447700900123")]
        assert Customer.objects.get(pk=shop.pk).merged_into_id == ann.pk
        assert sent[0][0] == "merged" and (sent[0][1].merged_id, sent[0][1].target_id, sent[0][1].by_id) == (
            shop.pk, ann.pk, personas.adam.pk)
        assert sorted(sent[0][1].moved["responses"]) == sorted([r.pk for r in moving] + [shop_case_response.pk])

        later = make_response(customer=ann, team=personas.north, external_id="r-after-merge")
        customer_unmerge(merge_id=merge.pk, by=personas.adam)
    finally:
        customer_merged.disconnect(dispatch_uid="test-merged")
        customer_unmerged.disconnect(dispatch_uid="test-unmerged")

    assert set(SurveyResponse.objects.filter(customer=shop).values_list("external_id", flat=True)) == {
        "r-shop-0", "r-shop-1", shop_case_response.external_id}
    assert set(SurveyResponse.objects.filter(customer=ann).values_list("external_id", flat=True)) == {
        "r-ann", later.external_id}  # what came after the merge stays with Ann
    assert Case.objects.get(pk=case.pk).customer_id == shop.pk
    assert Contact.objects.get(pk=contact.pk).customer_id == shop.pk
    assert sorted(Identity.objects.filter(customer=shop).values_list("kind", "value")) == [
        ("email", "ann@shop.example"), ("phone", "+447700900123")]
    assert Identity.objects.get(pk=same_phone.pk).customer_id == ann.pk
    assert Customer.objects.get(pk=shop.pk).merged_into_id is None
    merge.refresh_from_db()
    assert (merge.undone_by, merge.undone_at is not None, merge.reason) == (personas.adam, True, "Same phone")
    assert [kind for kind, _change in sent] == ["merged", "unmerged"]
    assert CaseEvent.objects.filter(case=case, data__action="customer_moved").count() == 2


def test_a_refusal_on_either_side_wins_and_the_undo_restores_the_target(personas, pair):
    ann, shop, *_ = pair
    customer_consent_set(customer_id=shop.pk, channel="email", consent="refused", by=personas.alice)
    customer_consent_set(customer_id=ann.pk, channel="sms", consent="granted", by=personas.alice)
    merge = customer_merge(merged_id=shop.pk, target_id=ann.pk, by=personas.adam)
    ann.refresh_from_db()
    assert ann.contact_consent == {"sms": "granted", "email": "refused"}
    customer_unmerge(merge_id=merge.pk, by=personas.adam)
    ann.refresh_from_db()
    assert ann.contact_consent == {"sms": "granted"}


@pytest.mark.parametrize("case, message", [
    ("self", "Choose two different customers."),
    ("merged_already", "was merged into another customer already"),
    ("erased", "an erased customer cannot be merged"),
])
def test_merges_that_make_no_sense_are_refused_with_a_reason(personas, pair, case, message):
    ann, shop, *_ = pair
    if case == "merged_already":
        customer_merge(merged_id=shop.pk, target_id=ann.pk, by=personas.adam)
        third = make_customer("Third", email="third@example.com")
        merged_id, target_id = shop.pk, third.pk
    elif case == "erased":
        Customer.objects.filter(pk=shop.pk).update(erased_at="2026-01-01T00:00:00Z")
        merged_id, target_id = shop.pk, ann.pk
    else:
        merged_id, target_id = ann.pk, ann.pk
    with pytest.raises(ValidationError) as raised:
        customer_merge(merged_id=merged_id, target_id=target_id, by=personas.adam)
    assert message in " ".join(raised.value.messages)


def test_an_undone_merge_cannot_be_undone_twice(personas, pair):
    ann, shop, *_ = pair
    merge = customer_merge(merged_id=shop.pk, target_id=ann.pk, by=personas.adam)
    customer_unmerge(merge_id=merge.pk, by=personas.adam)
    with pytest.raises(ValidationError, match="undone already"):
        customer_unmerge(merge_id=merge.pk, by=personas.adam)


def test_the_merge_pages_answer_4xx_a_person_can_act_on(personas, pair):
    ann, shop, *_ = pair
    client = Client()
    client.force_login(personas.adam)
    response = client.post("/customers/identity/merge/", {"merged": ann.pk, "target": ann.pk})
    assert response.status_code == 400 and "Choose two different customers." in response.content.decode()
    response = client.post("/customers/identity/merge/", {"merged": 999999, "target": ann.pk})
    assert response.status_code == 400 and "There is no customer with that id." in response.content.decode()
    response = client.post("/customers/identity/merge/", {"merged": "x", "target": ann.pk})
    assert response.status_code == 400 and "Enter a whole number." in response.content.decode()
    assert client.post("/customers/identity/merge/", {"merged": shop.pk, "target": ann.pk}).status_code == 302
    merge = CustomerMerge.objects.get()
    assert client.post(f"/customers/identity/merges/{merge.pk}/undo/").status_code == 302
    again = client.post(f"/customers/identity/merges/{merge.pk}/undo/")
    assert again.status_code == 400 and "This merge was undone already." in again.content.decode()
    assert client.post("/customers/identity/merges/999999/undo/").status_code == 404
    alice = Client()
    alice.force_login(personas.alice)
    assert alice.post("/customers/identity/merge/", {"merged": shop.pk, "target": ann.pk}).status_code == 404
    assert alice.get("/customers/identity/").status_code == 404
