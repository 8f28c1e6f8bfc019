"""Identity resolution: phones in E.164, every identifier a delivery named kept (one INSERT per
batch), a merged customer followed, suspected duplicates listed."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.phones import to_e164
from customers.models import Identity
from customers.selectors import suspected_duplicates
from customers.services import customer_merge
from surveys.models import Customer, SurveyResponse
from surveys.services import deliveries_process
from tests.customers.conftest import body, stored
from tests.surveys.payloads import make_source

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("raw, region, expected", [
    ("+44 7700 900123", "", "+447700900123"),
    ("0044 7700 900123", "", "+447700900123"),
    ("+44 (0)7700-900123", "", "+447700900123"),
    ("07700 900123", "", None),  # national, and no region to read it in
    ("07700 900123", "GB", "+447700900123"),
    ("(415) 555-2671", "US", "+14155552671"),
    ("12", "GB", None),
    ("call me", "GB", None),
    ("", "GB", None),
])
def test_phone_numbers_are_put_in_e164(settings, raw, region, expected):
    settings.CUSTOMER_PHONE_REGION = region
    assert to_e164(raw) == expected


def test_a_delivery_keeps_every_identifier_it_named(personas):
    source = make_source("standard")
    pk = stored(source, body("r-1", external_id="C-1", email="Ann@Example.com", phone="+44 7700 900123"), "d-1")
    assert deliveries_process(delivery_pks=[pk]) == {pk: "processed"}
    customer = Customer.objects.get(external_id="C-1")
    assert customer.phone == "+447700900123"  # stored in E.164
    assert sorted(Identity.objects.filter(customer=customer).values_list("kind", "source__slug", "value")) == [
        ("email", None, "ann@example.com"), ("external_id", "standard-test", "C-1"), ("phone", None, "+447700900123")]


def test_the_same_person_under_a_second_email_keeps_both(personas):
    source = make_source("standard")
    first = stored(source, body("r-1", external_id="C-1", email="ann@example.com"), "d-1")
    second = stored(source, body("r-2", external_id="C-1", email="ann.lee@work.example"), "d-2")
    deliveries_process(delivery_pks=[first])
    deliveries_process(delivery_pks=[second])
    customer = Customer.objects.get(external_id="C-1")
    assert customer.email == "ann@example.com"  # the row keeps its first address...
    assert sorted(Identity.objects.filter(customer=customer, kind="email").values_list("value", flat=True)) == [
        "ann.lee@work.example", "ann@example.com"]  # ...and both are its identities


def test_a_batch_writes_its_identities_in_one_insert(personas):
    source = make_source("standard")
    pks = [stored(source, body(f"r-{i}", external_id=f"C-{i % 5}", email=f"c{i % 5}@example.com",
                               phone=f"+44 7700 90{i % 5:04d}"), f"d-{i}") for i in range(20)]
    with CaptureQueriesContext(connection) as queries:
        assert set(deliveries_process(delivery_pks=pks).values()) == {"processed"}
    inserts = [q["sql"] for q in queries.captured_queries  # INSERT ... ON CONFLICT, or SQLite's INSERT OR IGNORE
               if q["sql"].startswith("INSERT") and 'INTO "customers_identity"' in q["sql"]]
    assert len(inserts) == 1
    assert Identity.objects.count() == 15  # 5 customers x (id, e-mail, phone), each once


def test_a_delivery_naming_a_merged_customer_is_recorded_for_the_customer_it_was_merged_into(personas):
    source = make_source("standard")
    deliveries_process(delivery_pks=[stored(source, body("r-1", external_id="C-1", email="ann@example.com"), "d-1")])
    deliveries_process(delivery_pks=[stored(source, body("r-2", external_id="SHOP-9", email="ann@shop.example"), "d-2")])
    ann, shop = Customer.objects.get(external_id="C-1"), Customer.objects.get(external_id="SHOP-9")
    customer_merge(merged_id=shop.pk, target_id=ann.pk, by=personas.adam)
    for n, ids in enumerate([{"external_id": "SHOP-9"}, {"email": "ANN@shop.example"}]):
        deliveries_process(delivery_pks=[stored(source, body(f"r-late-{n}", **ids), f"d-late-{n}")])
        assert SurveyResponse.objects.get(external_id=f"r-late-{n}").customer_id == ann.pk
    assert Customer.objects.count() == 2


def test_customers_sharing_a_phone_or_an_email_are_suspected_duplicates(personas):
    source = make_source("standard")
    for n, (external_id, email, phone) in enumerate([
        ("C-1", "ann@example.com", "+44 7700 900123"), ("SHOP-1", "ann@shop.example", "0044 7700 900123"),
        ("C-2", "bo@example.com", ""), ("SHOP-2", "bo@example.com", ""), ("C-3", "cy@example.com", "+44 7700 900999"),
    ]):
        deliveries_process(delivery_pks=[stored(source, body(f"r-{n}", external_id=external_id, email=email,
                                                             phone=phone), f"d-{n}")])
    found = [(s.kind, s.value, sorted(c.external_id for c in s.customers)) for s in suspected_duplicates()]
    assert found == [("email", "bo@example.com", ["C-2", "SHOP-2"]), ("phone", "+447700900123", ["C-1", "SHOP-1"])]
    customer_merge(merged_id=Customer.objects.get(external_id="SHOP-1").pk,
                   target_id=Customer.objects.get(external_id="C-1").pk, by=personas.adam)
    assert [(s.kind, s.value) for s in suspected_duplicates()] == [("email", "bo@example.com")]


def test_the_identity_settings_page_lists_the_rules_and_the_suspects(personas, client):
    source = make_source("standard")
    for n, (external_id, phone) in enumerate([("C-1", "+44 7700 900123"), ("SHOP-1", "0044 7700 900123")]):
        deliveries_process(delivery_pks=[stored(source, body(f"r-{n}", external_id=external_id, phone=phone,
                                                             email=f"{external_id.lower()}@example.com"), f"d-{n}")])
    client.force_login(personas.adam)
    html = client.get("/customers/identity/").content.decode()
    assert "<li><strong>Phone</strong>: Else, for a delivery with neither an id nor an e-mail, the phone number in " \
           "E.164 equals that of a customer who has neither.</li>" in html
    assert '<h3 class="list-title">Phone: +447700900123</h3>' in html
    assert "Merge into Ann Lee" in html


def test_customers_recorded_before_identities_get_theirs_from_the_migration(personas):
    import importlib

    from django.apps import apps

    from tests.inbox.helpers import make_customer, make_response

    ann = make_customer("Ann Lee", email="Ann@Example.com", external_id="C-1", phone="+44 7700 900123")
    response = make_response(customer=ann)
    make_customer("Bo Lane", email="", external_id="C-2", phone="not a number")  # no response: no source for C-2
    importlib.import_module("customers.migrations.0002_identities_from_existing_customers").backfill(apps, None)
    assert sorted(Identity.objects.values_list("customer__name", "kind", "source_id", "value")) == [
        ("Ann Lee", "email", None, "ann@example.com"), ("Ann Lee", "external_id", response.source_id, "C-1"),
        ("Ann Lee", "phone", None, "+447700900123")]
