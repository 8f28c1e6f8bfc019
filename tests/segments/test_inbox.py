"""The inbox and /api/v1/cases/ filtered by named segments: an IN subquery over customers, so the
query count does not grow with the rows; an unknown slug is a 400 naming where to look."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import transaction

from segments.models import Segment
from segments.services import segment_save
from tests.factories import PASSWORD, AccountFactory, ContactFactory
from tests.inbox.helpers import make_case, make_customer

pytestmark = pytest.mark.django_db

# The inbox with its filter panel open (tests/cases/test_case_text_filters.py: 18) and one more:
# the chosen segments' definitions, read once to build the subquery.
SEGMENT_INBOX_QUERY_CEILING = 19


def refs(html: str) -> list[str]:
    return re.findall(r'href="/cases/([^/"]+)/"><strong>', html)


@pytest.fixture
def alice_client(client, personas):
    client.login(username="alice", password=PASSWORD)
    return client


@pytest.fixture
def segments(db):
    with transaction.atomic():
        gold = segment_save(Segment(name="Gold", conditions=[{"field": "tier", "operator": "equals", "value": "gold"}]))
        key = segment_save(Segment(name="Key accounts", conditions=[
            {"field": "account.value", "operator": "gte", "value": 100000}]))
    return {"gold": gold, "key": key}


def test_the_inbox_keeps_the_cases_of_the_segments_customers(alice_client, personas, segments):
    gold_case = make_case(personas.north, customer=make_customer("Gita Gold", tier="Gold"))
    key_customer = make_customer("Kai Key", tier="Silver")
    ContactFactory(customer=key_customer, account=AccountFactory(value=Decimal("150000")))
    key_case = make_case(personas.north, customer=key_customer)
    other = make_case(personas.north, customer=make_customer("Olly Other", tier="Silver"))
    page = alice_client.get("/cases/", {"view": "team", "segment": "gold"}).content.decode()
    assert refs(page) == [gold_case.reference]
    both = alice_client.get("/cases/", {"view": "team", "segment": ["gold", "key-accounts"]}).content.decode()
    assert sorted(refs(both)) == sorted([gold_case.reference, key_case.reference])
    assert other.reference not in both
    assert 'name="segment"' in page and ">Customer segment<" in page


def test_the_api_filters_by_segment_and_refuses_an_unknown_one(api_client, personas, segments):
    gold_case = make_case(personas.north, customer=make_customer("Gita Gold", tier="gold"))
    make_case(personas.north, customer=make_customer("Olly Other", tier="Silver"))
    api_client.force_authenticate(personas.alice)
    answer = api_client.get("/api/v1/cases/", {"segment": "gold"})
    assert answer.status_code == 200
    assert [c["reference"] for c in answer.json()["results"]] == [gold_case.reference]
    refused = api_client.get("/api/v1/cases/", {"segment": "platinum"})
    assert refused.status_code == 400
    assert refused.json() == {"segment": ["No segment with the slug platinum (see /api/v1/segments/)."]}


@pytest.mark.parametrize("n_cases", [1, 60])
def test_the_segment_filtered_inbox_has_a_fixed_query_count(alice_client, personas, segments, n_cases,
                                                            django_assert_max_num_queries):
    for i in range(n_cases):
        make_case(personas.north, customer=make_customer(f"Customer {i}", tier="Gold" if i % 2 == 0 else "Silver"))
    with django_assert_max_num_queries(SEGMENT_INBOX_QUERY_CEILING):
        response = alice_client.get("/cases/", {"view": "team", "size": 100, "segment": "gold"})
    assert len(refs(response.content.decode())) == (n_cases + 1) // 2


def test_the_unfiltered_inbox_keeps_its_budget(alice_client, personas, segments, django_assert_max_num_queries):
    for i in range(5):
        make_case(personas.north, customer=make_customer(f"Customer {i}"))
    with django_assert_max_num_queries(10):
        response = alice_client.get("/cases/", {"view": "team"})
    assert len(refs(response.content.decode())) == 5


def test_the_customers_api_lists_a_segments_members(api_client, personas, segments):
    gold = make_customer("Gita Gold", tier="gold")
    make_case(personas.north, customer=gold)
    make_case(personas.north, customer=make_customer("Olly Other", tier="Silver"))
    api_client.force_authenticate(personas.alice)
    answer = api_client.get("/api/v1/customers/", {"in_segment": "gold"})
    assert answer.status_code == 200
    assert [c["name"] for c in answer.json()["results"]] == ["Gita Gold"]
    refused = api_client.get("/api/v1/customers/", {"in_segment": "platinum"})
    assert refused.status_code == 400
    assert refused.json() == {"in_segment": ["No segment with the slug platinum (see /api/v1/segments/)."]}
