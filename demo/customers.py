"""Customers and accounts for the demo: a few B2B accounts (a parent with two children, and one
on its own) whose contacts answered over the last months, a customer known under two ids, two
e-mails and one phone written two ways (merged by the admin, with the merge on record), a pair
left for review as suspected duplicates (the same e-mail under two ids), consent per channel, and
two account rules with the case one of them opened (Acme gone quiet). Recorded through surveys.services.response_record like any delivery, and written through
customers.services. docs/customers.md's examples read exactly these."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from accounts.models import Team, User
from cases import services as case_services
from cases.notifications import no_dispatch
from customers.models import Account, AccountRule, ContactRole
from customers.services import (
    account_create,
    account_rule_save,
    account_rules_sweep,
    contact_set,
    customer_consent_set,
    customer_merge,
)
from demo.answers import demo_source
from surveys.models import Customer
from surveys.normalized import CustomerIdentity, NormalizedResponse, Score
from surveys.services import response_record

PEOPLE = {
    # key: (external id, e-mail, name, phone, tier, [(days ago, NPS), ...]). A detractor's answer opens
    # a case that nobody in the demo works: recent ones only, so the overdue list stays a week or
    # two's backlog (tests/test_demo.py).
    "robin": ("crm-1001", "robin.ashdown@example.com", "Robin Ashdown", "+44 7700 900923", "Gold",
              [(120, 9), (12, 6)]),
    "priya": ("crm-1003", "priya.shah@example.com", "Priya Shah", "+44 7700 900924", "Gold", [(30, 10)]),
    "tom": ("crm-1004", "tom.berg@example.com", "Tom Berg", "", "Silver", [(15, 7)]),
    "lena": ("crm-1005", "lena.novak@example.com", "Lena Novak", "+44 7700 900926", "Gold", [(40, 9)]),
    "omar": ("crm-1006", "omar.haddad@example.com", "Omar Haddad", "", "Bronze", [(11, 2)]),
    "sam": ("crm-1002", "sam.okafor@example.com", "Sam Okafor", "", "Silver", [(50, 8)]),
}


def _answer(source, key: str, n: int, identity: CustomerIdentity, at: dt.datetime, nps: int) -> Customer:
    normalized = NormalizedResponse(
        response_id=f"demo-cx-{key}-{n}", survey_id="relationship", survey_name="Relationship NPS", answered_at=at,
        scores=(Score("nps", "nps", Decimal(nps), 0, 10),), customer=identity, touchpoint="account review",
        channel="email" if n % 2 == 0 else "phone", location="Head office", region="London",
        comment="" if nps >= 7 else "Invoices keep arriving late and nobody calls back.",
    )
    with case_services.replay_clock(at + dt.timedelta(minutes=3)):
        response, _created = response_record(source=source, normalized=normalized)
    return response.customer


def seed(context: dict) -> dict:
    if Account.objects.exists():
        return {}
    now = timezone.now()
    source = demo_source()
    manager = context.get("manager") or User.objects.filter(username="manager").first()
    admin = context.get("admin") or User.objects.filter(username="admin").first()
    agent = context.get("agent") or User.objects.filter(username="agent").first()
    customers: dict[str, Customer] = {}
    with no_dispatch():
        for key, (external_id, email, name, phone, tier, answers) in PEOPLE.items():
            identity = CustomerIdentity(external_id=external_id, email=email, name=name, phone=phone, tier=tier,
                                        segment="Business", account_value=Decimal("25000"))
            for n, (days, nps) in enumerate(answers):
                customers[key] = _answer(source, key, n, identity, now - dt.timedelta(days=days), nps)
        # Robin again, as the web shop knows them: another id, another e-mail, the phone written
        # another way. Recorded as a second customer; the admin merges it into Robin.
        shop_robin = _answer(source, "robin-shop", 0, CustomerIdentity(
            external_id="shop-77", email="robin.a@example.net", name="Robin A.", phone="0044 7700 900923",
            tier="Gold"), now - dt.timedelta(days=10), 4)
        # Sam again, under the shop's id with the same e-mail: left for review (suspected duplicate).
        _answer(source, "sam-shop", 0, CustomerIdentity(external_id="shop-78", email="sam.okafor@example.com",
                                                        name="Sam O."), now - dt.timedelta(days=45), 9)
        customer_merge(merged_id=shop_robin.pk, target_id=customers["robin"].pk, by=admin,
                       reason="Same phone +447700900923: the web shop's account of Robin Ashdown")
    group = account_create(name="Northwind Group", owner=manager, value=Decimal("480000"),
                           renewal_date=(now + dt.timedelta(days=75)).date(), external_id="acct-northwind")
    stores = account_create(name="Northwind Stores", parent=group, owner=manager, value=Decimal("300000"),
                            renewal_date=(now + dt.timedelta(days=75)).date(), external_id="acct-northwind-stores")
    online = account_create(name="Northwind Online", parent=group, owner=manager, value=Decimal("180000"),
                            renewal_date=(now + dt.timedelta(days=75)).date(), external_id="acct-northwind-online")
    acme = account_create(name="Acme Logistics", owner=manager, value=Decimal("120000"),
                          renewal_date=(now + dt.timedelta(days=30)).date(), external_id="acct-acme")
    for account, key, role in [(stores, "robin", ContactRole.DECISION_MAKER), (stores, "priya", ContactRole.INFLUENCER),
                               (stores, "tom", ContactRole.USER), (online, "lena", ContactRole.DECISION_MAKER),
                               (online, "omar", ContactRole.USER), (acme, "sam", ContactRole.DECISION_MAKER)]:
        contact_set(account_id=account.pk, customer_id=customers[key].pk, role=role)
    customer_consent_set(customer_id=customers["priya"].pk, channel="email", consent="refused", by=agent,
                         via="asked on the phone not to be e-mailed")
    customer_consent_set(customer_id=customers["priya"].pk, channel="phone", consent="granted", by=agent,
                         via="prefers a call")
    # Two account rules in North, where the owner (the manager) works: a decision maker's next
    # detractor answer opens a case, and an account nobody has answered for in 45 days. Acme's one
    # contact last answered 50 days ago, so the sweep (hourly under `make run`) opens its case now.
    north = (context.get("teams") or {}).get("north") or Team.objects.get(slug="north")
    account_rule_save(AccountRule(name="Key contact unhappy", kind=AccountRule.Kind.DECISION_MAKER_DETRACTOR,
                                  team=north, priority="high"))
    account_rule_save(AccountRule(name="Key account gone quiet", kind=AccountRule.Kind.SILENCE, team=north,
                                  priority="normal", window_days=45))
    with no_dispatch():
        opened = account_rules_sweep(now=now)
    return {"accounts": Account.objects.count(), "account cases": opened["silence"]}
