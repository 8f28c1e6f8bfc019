"""A small history whose churns follow the NPS, worked out by hand (horizon 90 days, today NOW):

- group A, 60 customers, answered 200 days ago: 30 with NPS 1 (each churned 150 days ago),
  30 with NPS 9. Training period: features as of NOW-180, churn in (NOW-180, NOW-90]:
  60 customers, 30 churns.
- group B, 60 customers, answered 100 days ago: 30 with NPS 2 (each churned 50 days ago), 30 with
  NPS 10. Held-out period: features as of NOW-90, churn in (NOW-90, NOW]: group B (60) and A's
  promoters (30; A's detractors churned after their last answer: gone) = 90 customers, 30 churns.
- scored today: A's and B's promoters (60), plus `unhappy` (NPS 0 five days ago, one overdue case
  with root cause "Late invoice") and `happy` (NPS 10 five days ago): 62 customers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from django.utils import timezone

from cases.models import Case
from outcomes.models import OutcomeEvent
from surveys.models import Customer, SurveyResponse
from tests.factories import (
    AccountFactory,
    CaseFactory,
    ContactFactory,
    RootCauseFactory,
    SurveyFactory,
    SurveyResponseFactory,
)

NOW = timezone.now().replace(microsecond=0)


def _customers(prefix: str, n: int) -> list[Customer]:
    return Customer.objects.bulk_create(
        [
            Customer(
                name=f"{prefix} {i}",
                email=f"{prefix.lower()}{i}@example.com",
                external_id=f"{prefix}{i}",
            )
            for i in range(n)
        ]
    )


def _answers(customers, *, nps: int, days_ago: int) -> None:
    survey = SurveyFactory()
    SurveyResponse.objects.bulk_create(
        [
            SurveyResponse(
                source=survey.source,
                survey=survey,
                customer=c,
                external_id=f"r-{c.external_id}-{days_ago}",
                answered_at=NOW - dt.timedelta(days=days_ago),
                nps=nps,
            )
            for c in customers
        ]
    )


def _churns(customers, *, days_ago: int) -> None:
    OutcomeEvent.objects.bulk_create(
        [
            OutcomeEvent(
                customer=c,
                kind=OutcomeEvent.Kind.CHURN,
                amount=Decimal(100),
                currency="EUR",
                occurred_at=NOW - dt.timedelta(days=days_ago),
                source="test",
                external_id=f"churn-{c.pk}",
            )
            for c in customers
        ]
    )


def churn_history() -> SimpleNamespace:
    a = _customers("A", 60)
    _answers(a[:30], nps=1, days_ago=200)
    _answers(a[30:], nps=9, days_ago=200)
    _churns(a[:30], days_ago=150)
    b = _customers("B", 60)
    _answers(b[:30], nps=2, days_ago=100)
    _answers(b[30:], nps=10, days_ago=100)
    _churns(b[:30], days_ago=50)
    unhappy, happy = _customers("Now", 2)
    response = SurveyResponseFactory(customer=unhappy, nps=0, answered_at=NOW - dt.timedelta(days=5))
    SurveyResponseFactory(customer=happy, nps=10, answered_at=NOW - dt.timedelta(days=5))
    cause = RootCauseFactory(name="Late invoice")
    CaseFactory(
        response=response,
        customer=unhappy,
        status=Case.Status.NEW,
        created_at=NOW - dt.timedelta(days=5),
        resolution_due=NOW - dt.timedelta(days=2),
        root_cause=cause,
    )
    account = AccountFactory(name="Acme")
    ContactFactory(account=account, customer=unhappy)
    ContactFactory(account=account, customer=happy)
    return SimpleNamespace(a=a, b=b, unhappy=unhappy, happy=happy, account=account, cause=cause)


def account_churn_history() -> SimpleNamespace:
    """churn_history, with every A and B customer the one contact of an account of their own and
    each of their churn events naming that account too, so the accounts' model learns the same
    pattern: training (as of NOW-180) 60 accounts, 30 churns; held out (NOW-90) 90 accounts,
    30 churns. Acme keeps `unhappy` only; `happy` is Initech's one contact. Scored today: the
    promoters' 60 accounts, Acme and Initech: 62 accounts."""
    from customers.models import Account, Contact

    world = churn_history()
    people = world.a + world.b
    accounts = Account.objects.bulk_create([Account(name=f"Company of {c.name}") for c in people])
    Contact.objects.bulk_create([Contact(account=a, customer=c) for a, c in zip(accounts, people, strict=True)])
    for account, customer in zip(accounts, people, strict=True):
        OutcomeEvent.objects.filter(customer=customer).update(account=account)
    Contact.objects.filter(account=world.account, customer=world.happy).delete()
    initech = AccountFactory(name="Initech")
    ContactFactory(account=initech, customer=world.happy)
    world.accounts = accounts
    world.initech = initech
    return world
