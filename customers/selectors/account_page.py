"""The account page (and the API's account detail): the account with its children, its contacts'
latest answers, and the figures a key-account manager reads, over the account and every account
under it, from what the user's teams may see. A fixed number of queries whatever the number of
contacts: their latest answers and the trend's months come from one pass over their responses
(window functions), their cases from one grouped query, not one per contact. Whether the user may
see the account at all is judged from those same rows (account_page returns None when not)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Count, DateTimeField, ExpressionWrapper, F, Max, Q, Sum, Value, When, Window
from django.db.models.functions import FirstValue, RowNumber, TruncMonth
from django.utils import timezone

from accounts.selectors import visible_team_ids
from cases.models import Case as CaseRow
from core.lookups import AnyOf
from customers.models import ROLE_WEIGHTS, Account, ContactRole
from customers.models import Contact as ContactRow
from surveys.models import Customer
from customers.selectors.account_rules import account_rule_cases
from customers.selectors.trends import Trend, month_figures, trends_of
from customers.selectors.visibility import visible_cases, visible_responses

NPS_WINDOW_DAYS = 365
CONTACTS_SHOWN = 100
MAX_DEPTH = 6


@dataclass(frozen=True)
class ContactLine:
    customer_id: int
    name: str
    role: str
    role_label: str
    account_id: int
    last_nps: int | None
    last_answered_at: dt.datetime | None


@dataclass(frozen=True)
class Coverage:
    role: str
    label: str
    contacts: int
    answered: int


@dataclass
class AccountPage:
    account: Account
    children: list[Account]
    contacts_total: int
    contacts: list[ContactLine]  # the first CONTACTS_SHOWN: decision makers first, then by last answer
    respondents: int
    nps: float | None  # per respondent: each contact's latest NPS answer in the window counts once
    weighted_nps: float | None  # the same, each respondent weighted by role (ROLE_WEIGHTS)
    coverage: list[Coverage]
    last_answered_at: dt.datetime | None
    days_since_last_answer: int | None
    open_cases: int
    value_at_risk: Decimal
    trends: list[Trend]
    rule_cases: list  # customers.AccountCase: what account rules opened, visible to the user, open first


def account_tree_ids(account: Account) -> list[int]:
    """The account and every account under it (one query per level, at most MAX_DEPTH)."""
    ids, level = [account.pk], [account.pk]
    for _depth in range(MAX_DEPTH):
        level = [pk for pk in Account.objects.filter(parent_id__in=level).values_list("pk", flat=True) if pk not in ids]
        if not level:
            break
        ids += level
    return ids


def nps_of(answers: list[tuple[int, float]]) -> float | None:
    """NPS of (score, weight) pairs: weighted % promoters minus % detractors."""
    total = sum(w for _s, w in answers)
    if not total:
        return None
    promoters = sum(w for s, w in answers if s >= 9)
    detractors = sum(w for s, w in answers if s <= 6)
    return round(100.0 * (promoters - detractors) / total, 1)


# Up to this many contacts, their ids go to the responses' queries as a list: PostgreSQL then
# reads each contact's responses by the (customer, -answered_at) index (6 ms for 2,000 contacts
# among 1,000,000 responses) where a subquery let it scan the whole team's responses (400 ms).
IDS_AS_LIST = 10_000


def contact_ids(rows: list[tuple], contacts) -> list[int] | object:
    ids = sorted({row[0] for row in rows})
    return ids if len(ids) <= IDS_AS_LIST else contacts.values("customer_id")


def _contact_rows(contacts) -> list[tuple]:
    """(customer id, name, e-mail, role, account id) of every contact: the contacts, then their
    customers' names by id (one array parameter: an index lookup per contact, where a join let
    PostgreSQL hash the whole customer table)."""
    rows = list(contacts.order_by("account_id", "pk").values_list("customer_id", "role", "account_id"))
    # Unordered (the customers' default order, by name, sorted 2,000 names for nothing: 7 ms).
    names = {pk: (name, email) for pk, name, email in Customer.objects.filter(
        AnyOf(F("pk"), sorted({row[0] for row in rows}))).order_by().values_list("pk", "name", "email")}
    return [(customer_id, *names.get(customer_id, ("", "")), role, account_id)
            for customer_id, role, account_id in rows]


def _answers(responses, since: dt.datetime) -> tuple[dict, dict, list[dict]]:
    """In one pass over the contacts' responses (the (customer, -answered_at) index of every
    monthly partition, probed once per contact: a second pass for the trend probed them all
    again): each contact's newest visible answer ({customer: answered_at}), newest NPS answer
    since `since` ({customer: nps}), and the per-month figures of the trend (trends.month_figures,
    as window aggregates partitioned by month). One row per contact (its first by id) and per
    month (likewise): the NPS picked by a window ordered qualifying answers first."""
    qualifies = Q(nps__isnull=False, answered_at__gte=since)
    per_customer = {"partition_by": [F("customer_id")]}
    per_month = {"partition_by": [TruncMonth("answered_at")]}
    figures = month_figures()
    rows = (responses.order_by().annotate(
        # The month as the database gives it (the start of the month in the current time zone,
        # naive on PostgreSQL): TruncMonth's own conversion, made aware on each of the 2,000 rows
        # where only one per month is read, cost 20 ms of CPU. The trend reads its label only.
        month=ExpressionWrapper(TruncMonth("answered_at"), output_field=DateTimeField()),
        last=Window(Max("answered_at"), **per_customer),
        newest_nps=Window(FirstValue(Case(When(qualifies, then=F("nps")), default=None)), **per_customer,
                          order_by=[Case(When(qualifies, then=Value(0)), default=Value(1)).asc(),
                                    F("answered_at").desc(), F("pk").desc()]),
        row=Window(RowNumber(), **per_customer, order_by=[F("pk").asc()]),
        month_row=Window(RowNumber(), **per_month, order_by=[F("pk").asc()]),
        # Named apart: "csat" and "ces" are the responses' own columns.
        **{f"month_{key}": Window(aggregate, **per_month) for key, aggregate in figures.items()},
    ).filter(Q(row=1) | Q(month_row=1)).values("customer_id", "last", "newest_nps", "row", "month_row", "month",
                                               *(f"month_{key}" for key in figures)))
    last_at, last_nps, months = {}, {}, []
    for row in rows:
        if row["row"] == 1:
            last_at[row["customer_id"]] = row["last"]
            if row["newest_nps"] is not None:
                last_nps[row["customer_id"]] = row["newest_nps"]
        if row["month_row"] == 1:
            months.append({"month": row["month"], **{key: row[f"month_{key}"] for key in figures}})
    return last_at, last_nps, months


def _sees_every_contact(user, account: Account) -> bool:
    """Admins and the account's owner see the account and all its contacts; anyone else sees it
    when a contact of the account or of an account under it has a response or a case in their
    teams, and then only those contacts (account_visible_to, account_page)."""
    return visible_team_ids(user) is None or account.owner_id == user.pk


def account_visible_to(user, account: Account, tree: list[int]) -> bool:
    """The account page's rule (_sees_every_contact), asked alone."""
    if _sees_every_contact(user, account):
        return True
    contacts = ContactRow.objects.filter(account_id__in=tree).order_by()  # not joined to the accounts for their names' order
    ids = contact_ids(list(contacts.values_list("customer_id")), contacts)
    return visible_responses(user, ids).exists() or visible_cases(user, ids).exists()


def account_page(user, account: Account, *, tree: list[int] | None = None,
                 now: dt.datetime | None = None) -> AccountPage | None:
    """The page as `user` may see it, or None when the account is not theirs to see
    (account_visible_to's rule, judged from the contacts' visible answers and cases the page reads
    anyway: no query of its own over the contacts' responses)."""
    now = now or timezone.now()
    tree = tree or account_tree_ids(account)
    contacts = ContactRow.objects.filter(account_id__in=tree)
    rows = _contact_rows(contacts)
    customer_ids = contact_ids(rows, contacts)
    responses = visible_responses(user, customer_ids)
    last_at, last_nps, months = _answers(responses, now - dt.timedelta(days=NPS_WINDOW_DAYS))
    # The contacts' visible cases, per contact: whether they have any (what makes a contact seen) and
    # their open cases and value at risk; one pass over the customer index of cases, which holds
    # the team, the status and the value at risk (index-only).
    open_now = Q(status__in=[CaseRow.Status.NEW, CaseRow.Status.IN_PROGRESS])
    per_contact = list(visible_cases(user, customer_ids).order_by().values("customer_id").annotate(
        n=Count("status", filter=open_now), risk=Sum("value_at_risk", filter=open_now)).values_list("customer_id", "n", "risk"))
    if not _sees_every_contact(user, account):
        # Not the key-account manager: only the contacts they may see count (and are listed), and
        # with none of them the account is not theirs to see.
        seen = set(last_at) | {customer_id for customer_id, _n, _risk in per_contact}
        if not seen:
            return None
        rows = [row for row in rows if row[0] in seen]
    rows = [(*row, last_nps.get(row[0]), last_at.get(row[0])) for row in rows]
    labels = {value: str(label) for value, label in ContactRole.choices}  # translated once, not per contact
    by_customer: dict[int, ContactLine] = {}
    for customer_id, name, email, role, account_id, nps, answered_at in rows:
        line = ContactLine(customer_id, name or email or f"#{customer_id}", role, labels.get(role, role),
                           account_id, nps, answered_at)
        known = by_customer.get(customer_id)  # a person in two accounts of the tree counts once, in their weightiest role
        if known is None or ROLE_WEIGHTS.get(role, 1) > ROLE_WEIGHTS.get(known.role, 1):
            by_customer[customer_id] = line
    lines = list(by_customer.values())
    answered = [line for line in lines if line.last_nps is not None]
    coverage = [Coverage(role, str(label), sum(1 for x in lines if x.role == role),
                         sum(1 for x in answered if x.role == role)) for role, label in ContactRole.choices]
    last = max((x.last_answered_at for x in lines if x.last_answered_at), default=None)
    order = list(ContactRole.values)
    lines.sort(key=lambda x: (order.index(x.role) if x.role in order else 99,
                              -(x.last_answered_at.timestamp() if x.last_answered_at else 0), x.name))
    return AccountPage(
        account=account,
        children=list(Account.objects.filter(parent_id=account.pk).order_by("name")),
        contacts_total=len(lines), contacts=lines[:CONTACTS_SHOWN], respondents=len(answered),
        nps=nps_of([(x.last_nps, 1) for x in answered]),
        weighted_nps=nps_of([(x.last_nps, ROLE_WEIGHTS.get(x.role, 1)) for x in answered]),
        coverage=[c for c in coverage if c.contacts], last_answered_at=last,
        days_since_last_answer=(now - last).days if last else None,
        open_cases=sum(n for _c, n, _r in per_contact),
        value_at_risk=sum((risk for _c, _n, risk in per_contact if risk is not None), Decimal("0")),
        trends=trends_of(months),
        rule_cases=account_rule_cases(user, tree),
    )
