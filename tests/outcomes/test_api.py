"""/api/v1/outcomes/: bulk create (validation by item, idempotency, identity matching), the list
(filters, team scoping) and who may do what."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from customers.services import contact_set
from outcomes.models import OutcomeEvent
from tests.factories import AccountFactory, IdentityFactory, api_key_for
from tests.inbox.helpers import make_case, make_customer, make_response

pytestmark = pytest.mark.django_db
URL = "/api/v1/outcomes/"


def _as(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return api_client


@pytest.fixture
def world(personas):
    ann = make_customer("Ann Lee", email="ann@example.com", external_id="C-1")
    make_response(customer=ann, team=personas.north, nps=9)
    bo = make_customer("Bo Lane", email="bo@example.com", external_id="C-2")
    make_case(personas.south, customer=bo)
    IdentityFactory(customer=bo, kind="external_id", value="cus_BO", source=None)
    northwind = AccountFactory(name="Northwind", external_id="ACC-N")
    contact_set(account_id=northwind.pk, customer_id=ann.pk, role="decision_maker")
    return ann, bo, northwind


def _item(**fields):
    return {"kind": "renewal", "amount": "1200.00", "currency": "EUR", "occurred_on": "2026-03-01",
            "external_id": "inv-1", **fields}


def test_a_bulk_create_answers_each_item_by_index_and_stores_the_valid_ones(api_client, personas, world):
    ann, bo, northwind = world
    body = [
        _item(customer_external_id="C-1"),
        _item(external_id="inv-2", kind="churn", amount=0, customer_email="BO@example.com",
              occurred_at="2026-03-02T10:00:00Z"),
        _item(external_id="inv-3", customer_external_id="cus_BO", amount="5000", currency="jpy",
              account_external_id="ACC-N"),
        _item(external_id="inv-4", kind="gift", currency="XYZ", amount="12.345", customer_external_id="C-1"),
        _item(external_id="inv-5", customer_external_id="C-404"),
        _item(external_id="inv-6", currency="JPY", amount="10.5", customer_external_id="C-1"),
        _item(external_id="inv-7", amount="-3", customer=ann.pk),
        _item(external_id="inv-8", customer=ann.pk, colour="red"),
    ]
    response = _as(api_client, personas.adam).post(URL, body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["created"], data["updated"], data["unchanged"], data["errors"]) == (3, 0, 0, 5)
    results = data["results"]
    assert [r["status"] for r in results] == ["created", "created", "created", "error", "error", "error", "error",
                                              "error"]
    assert results[3]["errors"] == {
        "kind": ["'gift' is not a kind: choose one of renewal, churn, downgrade, expansion, purchase, refund."],
        "currency": ["'XYZ' is not an ISO 4217 currency code (EUR, USD, JPY)."],
    }
    assert results[4]["errors"] == {"customer_external_id": [
        "No customer matches external id 'C-404': record the customer first (a survey response, or an identity on "
        "the customer's page), then send the event again."]}
    assert results[5]["errors"] == {"amount": ["JPY has no decimal places: 10.5 is not an amount in it."]}
    assert results[6]["errors"] == {"amount": [
        "Not negative: the kind says which way the money went (refund, churn, downgrade)."]}
    assert results[7]["errors"]["non_field_errors"][0].startswith("Unknown field 'colour'")
    stored = {e.external_id: e for e in OutcomeEvent.objects.all()}
    assert sorted(stored) == ["inv-1", "inv-2", "inv-3"]
    assert (stored["inv-1"].customer_id, stored["inv-1"].amount, stored["inv-1"].source) == (ann.pk, Decimal("1200"),
                                                                                             "api")
    assert (stored["inv-2"].customer_id, stored["inv-2"].kind) == (bo.pk, "churn")
    assert stored["inv-2"].occurred_at == dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
    assert (stored["inv-3"].customer_id, stored["inv-3"].account_id, stored["inv-3"].currency,
            stored["inv-3"].amount) == (bo.pk, northwind.pk, "JPY", Decimal("5000"))
    assert results[0]["id"] == stored["inv-1"].pk


def test_sending_the_same_items_again_changes_nothing_and_a_change_updates(api_client, personas, world):
    client = _as(api_client, personas.adam)
    body = [_item(customer_external_id="C-1"), _item(external_id="inv-2", customer_external_id="C-2")]
    first = client.post(URL, body, format="json").json()
    again = client.post(URL, body, format="json").json()
    assert (again["created"], again["unchanged"]) == (0, 2)
    assert [r["id"] for r in again["results"]] == [r["id"] for r in first["results"]]
    body[1]["amount"] = "1500.50"
    changed = client.post(URL, body, format="json").json()
    assert [r["status"] for r in changed["results"]] == ["unchanged", "updated"]
    assert OutcomeEvent.objects.get(external_id="inv-2").amount == Decimal("1500.50")
    assert OutcomeEvent.objects.count() == 2
    # the same key twice in one request is refused for the second, which is not taken
    twice = client.post(URL, [_item(external_id="x", customer_external_id="C-1"),
                              _item(external_id="x", amount="9", customer_external_id="C-1")], format="json").json()
    assert [r["status"] for r in twice["results"]] == ["created", "error"]
    assert twice["results"][1]["errors"] == {"external_id": [
        "Item 0 has the same source and external_id: send each event once per request."]}


def test_a_merged_customer_is_followed_and_an_identity_matches(api_client, personas, world):
    ann, bo, _ = world
    old = make_customer("Ann (old)", email="ann.old@example.com", external_id="C-OLD", merged_into=ann)
    response = _as(api_client, personas.adam).post(URL, [_item(customer_external_id="C-OLD")], format="json")
    assert response.json()["results"][0]["status"] == "created"
    assert OutcomeEvent.objects.get().customer_id == ann.pk != old.pk


def test_the_body_must_be_a_non_empty_array_within_the_limit(api_client, personas, world):
    client = _as(api_client, personas.adam)
    assert client.post(URL, {"kind": "renewal"}, format="json").json() == {
        "non_field_errors": ["Send a JSON array of outcome events (at most 1000 per request)."]}
    assert client.post(URL, [], format="json").status_code == 400
    with override_settings(OUTCOMES_BULK_MAX_ITEMS=2):
        response = client.post(URL, [_item(external_id=str(i), customer_external_id="C-1") for i in range(3)],
                               format="json")
    assert (response.status_code, response.json()) == (400, {
        "non_field_errors": ["3 items: send at most 2 per request."]})
    all_bad = client.post(URL, [_item(kind="")], format="json")
    assert all_bad.status_code == 400
    assert all_bad.json()["results"][0]["errors"]["kind"] == [
        "Required: one of renewal, churn, downgrade, expansion, purchase, refund."]
    assert OutcomeEvent.objects.count() == 0


def test_only_cx_admins_create_and_managers_list_their_teams_events(api_client, personas, world):
    ann, bo, northwind = world
    _as(api_client, personas.adam).post(URL, [
        _item(customer_external_id="C-1"), _item(external_id="inv-2", customer_external_id="C-2"),
        _item(external_id="inv-3", account_external_id="ACC-N", kind="expansion")], format="json")
    assert _as(api_client, personas.mia).post(URL, [_item(customer_external_id="C-1")], format="json").status_code == 404
    assert _as(api_client, personas.alice).get(URL).status_code == 404
    api_client.credentials()
    assert api_client.get(URL).status_code == 401
    mia = _as(api_client, personas.mia).get(URL).json()
    assert sorted(r["external_id"] for r in mia["results"]) == ["inv-1", "inv-3"]  # North's Ann and her account
    adam = _as(api_client, personas.adam)
    assert len(adam.get(URL).json()["results"]) == 3
    assert [r["external_id"] for r in adam.get(f"{URL}?customer={bo.pk}").json()["results"]] == ["inv-2"]
    assert [r["external_id"] for r in adam.get(f"{URL}?account={northwind.pk}").json()["results"]] == ["inv-3"]
    assert [r["external_id"] for r in adam.get(f"{URL}?kind=expansion").json()["results"]] == ["inv-3"]
    assert adam.get(f"{URL}?occurred_from=2026-03-02").json()["results"] == []
    assert len(adam.get(f"{URL}?occurred_to=2026-03-01&currency=eur").json()["results"]) == 3
    assert adam.get(f"{URL}?kind=gift").status_code == 400
    detail = adam.get(f"{URL}{OutcomeEvent.objects.get(external_id='inv-1').pk}/").json()
    assert (detail["kind"], detail["amount"], detail["currency"], detail["customer"]) == (
        "renewal", "1200.000", "EUR", ann.pk)


def test_the_list_keeps_within_its_query_budget(api_client, personas, world, django_assert_max_num_queries):
    client = _as(api_client, personas.mia)
    _as(api_client, personas.adam).post(URL, [_item(external_id=str(i), customer_external_id="C-1") for i in range(30)],
                                        format="json")
    client = _as(api_client, personas.mia)
    # 6, plus the page's small work_mem (outcomes.selectors.probing_visibility): SET LOCAL inside a
    # savepoint here (inside the test's transaction), a transaction of its own in production.
    with django_assert_max_num_queries(9):
        assert len(client.get(URL).json()["results"]) == 30


def test_the_list_pages_by_cursor_newest_first_without_counting(api_client, personas, world):
    """120 events, 40 of them on one day (ties broken by id): pages of 50 walked by their next links
    give each event once, newest first, and no page counts the list."""
    items = [_item(external_id=f"d{i:03d}", customer_external_id="C-1",
                   occurred_on=(dt.date(2026, 1, 1) + dt.timedelta(days=i if i < 80 else 100)).isoformat())
             for i in range(120)]
    adam = _as(api_client, personas.adam)
    assert adam.post(URL, items, format="json").json()["created"] == 120
    expected = list(OutcomeEvent.objects.order_by("-occurred_at", "-id").values_list("external_id", flat=True))
    seen, url, pages = [], URL + "?page_size=50", 0
    while url:
        with CaptureQueriesContext(connection) as queries:
            page = adam.get(url)
        assert page.status_code == 200, page.content
        body = page.json()
        assert "count" not in body
        assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
        seen += [r["external_id"] for r in body["results"]]
        url, pages = body["next"], pages + 1
    assert pages == 3
    assert seen == expected and len(set(seen)) == 120
    assert seen[:3] == ["d119", "d118", "d117"]  # the 40 of one day come first, the newest id first


def test_a_bad_cursor_is_a_404_and_a_page_size_is_bounded(api_client, personas, world):
    adam = _as(api_client, personas.adam)
    adam.post(URL, [_item(external_id=f"x{i}", customer_external_id="C-1") for i in range(3)], format="json")
    assert adam.get(f"{URL}?cursor=not-a-cursor").status_code == 404
    assert len(adam.get(f"{URL}?page_size=2").json()["results"]) == 2
    assert len(adam.get(f"{URL}?page_size=100000").json()["results"]) == 3


@pytest.mark.parametrize("item, field, message", [
    (5, "non_field_errors", "Each item is a JSON object of field -> value."),
    (_item(amount="NaN", customer_external_id="C-1"), "amount", "A finite number, such as 1250.00."),
    (_item(amount="1e400", customer_external_id="C-1"), "amount", "Too large: at most 15 digits before the decimal point."),
    (_item(amount=True, customer_external_id="C-1"), "amount", "A number, such as 1250.00."),
    (_item(occurred_on="2026-13-45", customer_external_id="C-1"), "occurred_at",
     "'2026-13-45' is not a date: write 2026-03-01 or 2026-03-01T10:00:00Z."),
    (_item(occurred_on=None, customer_external_id="C-1"), "occurred_at",
     "Required: when it happened, as 2026-03-01 or 2026-03-01T10:00:00Z."),
    (_item(customer="abc"), "customer", "'abc' is not a Closeloop id (a whole number)."),
    (_item(customer=2**70), "customer", "A Closeloop id (a positive whole number)."),
    (_item(customer_email="not-an-address"), "customer_email", "'not-an-address' is not an e-mail address."),
    (_item(currency="eur\u0000", customer_external_id="C-1"), "currency",
     "'eur\ufffd' is not an ISO 4217 currency code (EUR, USD, JPY)."),
    (_item(external_id=["a"], customer_external_id="C-1"), "external_id", "Expected a text value, not a JSON list."),
    (_item(attributes=[1], customer_external_id="C-1"), "attributes", "A JSON object of name -> value."),
    (_item(external_id="x" * 256, customer_external_id="C-1"), "external_id", "At most 255 characters."),
    ({k: v for k, v in _item().items()}, "customer", "Name the customer (customer, customer_external_id or "
     "customer_email) or the account (account or account_external_id)."),
])
def test_hostile_items_are_refused_with_what_to_fix_never_a_500(api_client, personas, world, item, field, message):
    response = _as(api_client, personas.adam).post(URL, [item], format="json")
    assert response.status_code == 400
    assert response.json()["results"][0]["errors"][field] == [message]
    assert not OutcomeEvent.objects.exists()


def test_a_body_that_is_not_json_is_a_400(api_client, personas):
    response = _as(api_client, personas.adam).post(URL, data=b"[{", content_type="application/json")
    assert response.status_code == 400
