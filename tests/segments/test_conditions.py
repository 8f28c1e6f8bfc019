"""A segment's conditions: what is refused and why, and the two compilations (a Q over customers,
a predicate over a CustomerFacts snapshot) agreeing customer by customer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from segments.conditions import (
    AccountFacts, CustomerFacts, account_values_of, clean_conditions, compile_segment, condition_problems, members,
)
from tests.factories import AccountFactory, ContactFactory, CustomerFactory


@pytest.mark.parametrize("conditions, problem", [
    ([], "Add at least one condition."),
    ("tier", "Conditions must be a list."),
    ([{"field": "colour", "operator": "equals", "value": "red"}],
     "Condition 1: unknown field “colour”; use one of tier, segment, account_value, churn_risk, account.value, account.churn_risk, "
     "region, lifecycle_stage, industry or attributes.<key>."),
    ([{"field": "tier", "operator": "gte", "value": 3}],
     "Condition 1: “gte” does not apply to tier; use one of equals, one_of, contains, is_set."),
    ([{"field": "tier", "operator": "equals", "value": "gold"}, {"field": "account_value", "operator": "gte",
                                                                  "value": "lots"}],
     "Condition 2: “lots” is not a number."),
    ([{"field": "tier", "operator": "one_of", "value": "gold"}], "Condition 1: “is one of” needs a list of values."),
    ([{"field": "tier", "operator": "equals", "value": "  "}], "Condition 1: give a value to compare with."),
    ([{"field": "tier", "operator": "is_set", "value": "gold"}], "Condition 1: “is set” takes no value."),
    ([{"field": "tier", "operator": "equals", "value": "gold", "negate": True}],
     "Condition 1: unknown key(s) negate; a condition has field, operator and value."),
    ([["tier", "equals", "gold"]], "Condition 1: write it as an object with a field, an operator and a value."),
    ([{"field": "attributes.seats", "operator": "lte", "value": True}], "Condition 1: “True” is not a number."),
])
def test_it_refuses_unusable_conditions_in_words(conditions, problem):
    assert condition_problems(conditions) == [problem]


def test_it_accepts_any_attribute_key_and_normalizes_values():
    raw = [
        {"field": "region", "operator": "one_of", "value": [" EMEA ", "APAC", "EMEA"]},
        {"field": "attributes.plan-name", "operator": "contains", "value": " pro "},
        {"field": "account.value", "operator": "gte", "value": "50000"},
        {"field": "attributes.seats", "operator": "is_set"},
    ]
    assert condition_problems(raw) == []
    assert clean_conditions(raw) == [
        {"field": "attributes.region", "operator": "one_of", "value": ["EMEA", "APAC"]},
        {"field": "attributes.plan-name", "operator": "contains", "value": "pro"},
        {"field": "account.value", "operator": "gte", "value": 50000},
        {"field": "attributes.seats", "operator": "is_set", "value": None},
    ]


CASES = [
    # (conditions, match, names of the customers in the segment)
    ([{"field": "tier", "operator": "equals", "value": "GOLD"}], "all", {"ana", "bo"}),
    ([{"field": "tier", "operator": "one_of", "value": ["silver", "bronze"]}], "all", {"cy"}),
    ([{"field": "segment", "operator": "contains", "value": "retail"}], "all", {"bo"}),
    ([{"field": "tier", "operator": "is_set"}], "all", {"ana", "bo", "cy"}),
    ([{"field": "account_value", "operator": "gte", "value": 1000}], "all", {"ana"}),
    ([{"field": "account_value", "operator": "lte", "value": 999.99}], "all", {"bo"}),
    ([{"field": "account_value", "operator": "gte", "value": 100},
      {"field": "account_value", "operator": "lte", "value": 2000}], "all", {"ana", "bo"}),
    ([{"field": "account.value", "operator": "gte", "value": 100000}], "all", {"cy"}),
    ([{"field": "account.value", "operator": "is_set"}], "all", {"cy", "dee"}),
    ([{"field": "region", "operator": "equals", "value": "emea"}], "all", {"ana", "dee"}),
    ([{"field": "attributes.seats", "operator": "gte", "value": 10}], "all", {"ana", "bo"}),
    ([{"field": "attributes.seats", "operator": "lte", "value": 10}], "all", {"bo", "cy"}),
    ([{"field": "attributes.seats", "operator": "equals", "value": "12"}], "all", {"ana"}),
    ([{"field": "attributes.beta", "operator": "equals", "value": "true"}], "all", {"bo"}),
    ([{"field": "industry", "operator": "is_set"}], "all", {"ana"}),
    ([{"field": "tier", "operator": "equals", "value": "gold"}, {"field": "region", "operator": "equals",
                                                                  "value": "EMEA"}], "all", {"ana"}),
    ([{"field": "tier", "operator": "equals", "value": "silver"}, {"field": "region", "operator": "equals",
                                                                    "value": "EMEA"}], "any", {"ana", "cy", "dee"}),
]


@pytest.fixture
def customers(db):
    ana = CustomerFactory(name="ana", tier="Gold", segment="Enterprise", account_value=Decimal("1500.00"),
                          attributes={"region": "EMEA", "seats": 12, "industry": "Banking"})
    bo = CustomerFactory(name="bo", tier="gold", segment="Retail SMB", account_value=Decimal("999.99"),
                         attributes={"region": "APAC", "seats": "10", "beta": True})
    cy = CustomerFactory(name="cy", tier="Silver", attributes={"seats": 3, "industry": ""})
    dee = CustomerFactory(name="dee", attributes={"region": "emea", "seats": "many"})
    CustomerFactory(name="merged", tier="Gold", merged_into=ana)
    big, small = AccountFactory(value=Decimal("250000")), AccountFactory(value=Decimal("5000"))
    ContactFactory(customer=cy, account=big)
    ContactFactory(customer=cy, account=small)
    ContactFactory(customer=dee, account=small)
    ContactFactory(customer=dee, account=AccountFactory(value=None))
    return [ana, bo, cy, dee]


@pytest.mark.parametrize("conditions, match, expected", CASES)
def test_the_query_and_the_predicate_pick_the_same_customers(customers, conditions, match, expected):
    assert condition_problems(conditions) == []
    clean = clean_conditions(conditions)
    in_query = set(members(clean, match).values_list("name", flat=True))
    predicate = compile_segment(conditions=clean, match=match)
    by_predicate = {c.name for c in customers if predicate.matches(CustomerFacts.of(c, account_values_of(c.pk)))}
    assert in_query == expected
    assert by_predicate == expected


def test_a_predicate_without_account_values_never_matches_an_account_condition():
    predicate = compile_segment(conditions=[{"field": "account.value", "operator": "gte", "value": 0}])
    assert predicate.needs_accounts is True
    assert predicate.matches(CustomerFacts(tier="gold")) is False
    assert predicate.matches(CustomerFacts(account_values=(AccountFacts(Decimal("10")),))) is True
