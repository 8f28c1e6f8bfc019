"""Account rules racing on real PostgreSQL, with threads (tests/concurrency.py): two workers that
judge the same account at the same moment open one case between them (docs/customers.md, "One
case per episode": the account's row is locked while it is decided)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from cases.models import Case
from customers.models import AccountCase, AccountRule
from customers.services import account_rule_save, account_rules_on_answers, account_rules_sweep
from tests.concurrency import run_concurrently
from tests.factories import AccountFactory, ContactFactory
from tests.inbox.helpers import make_customer, make_response

pytestmark = pytest.mark.django_db(transaction=True)


def ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def test_two_workers_sweeping_at_once_open_one_case_for_a_silent_account(personas):
    assert connection.vendor == "postgresql"
    acme = AccountFactory(name="Acme Freight", owner=personas.bob)
    quiet = make_customer("Quiet contact")
    ContactFactory(account=acme, customer=quiet, role="user")
    make_response(customer=quiet, team=personas.north, nps=8, answered_at=ago(100))
    account_rule_save(AccountRule(name="Gone quiet", kind="silence", team=personas.north, window_days=90))
    now = timezone.now()

    results = run_concurrently(lambda: account_rules_sweep(now=now), lambda: account_rules_sweep(now=now))

    assert sorted(r["silence"] for r in results) == [0, 1]
    assert list(Case.objects.filter(account_case__account=acme).values_list("assignee__username", flat=True)) == [
        "bob"]
    assert AccountCase.objects.count() == 1


def test_two_workers_judging_two_unhappy_decision_makers_at_once_open_one_case(personas):
    acme = AccountFactory(name="Acme Freight", owner=personas.bob)
    answers = []
    for name, nps in (("Ana Ruiz", 2), ("Ben Ode", 4)):
        person = make_customer(name)
        ContactFactory(account=acme, customer=person, role="decision_maker")
        answers.append(make_response(customer=person, team=personas.north, nps=nps, answered_at=ago(1)))
    # The rule after the answers, so recording them opened nothing: the two workers below judge them.
    account_rule_save(AccountRule(name="Decision maker unhappy", kind="decision_maker_detractor",
                                  team=personas.north, window_days=30))

    results = run_concurrently(*[lambda r=r: account_rules_on_answers(responses=[r]) for r in answers])

    assert sorted(len(opened) for opened in results) == [0, 1]
    case = Case.objects.get(account_case__account=acme)
    assert case.response_id in {answers[0].pk, answers[1].pk}
    assert AccountCase.objects.count() == 1
