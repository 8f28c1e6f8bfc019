"""The closed-loop results and impact figures, grouped in SQL, against a direct computation in
Python over every row, written apart from the reports' own code, on a seeded random world (run on
PostgreSQL here and on SQLite by tests/test_sqlite.py): several answers per customer, cases of
every fate (a second case on one answer), recovery checks, events in two currencies, a merged customer, an account's churn,
windows passed and not, two teams and themes."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from django.utils import timezone

from cases.models import Case
from customers.services import contact_set
from followup.models import Verification
from outcomes.models import OutcomeEvent
from reporting.filters import ReportFilters
from reporting.selectors import (
    closed_loop_results,
    closed_loop_results_by,
    closed_loop_value,
    impact_tables,
    result_cells,
)
from reporting.selectors.outcomes import GROUP_LABELS, GROUPS, MONEY_IN, SMALL_GROUP, WINDOWS, feedback_group, wilson
from surveys.models import Customer, ResponseTheme, SurveyResponse
from tests.factories import AccountFactory, ResponseThemeFactory, ThemeFactory, opened_case
from tests.inbox.helpers import make_alert, make_customer, make_response, root_causes

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)
BASE = NOW - dt.timedelta(days=400)  # answers over 60 days from here: the 365-day window passed for some
START, END = BASE - dt.timedelta(days=1), BASE + dt.timedelta(days=61)


@pytest.fixture
def random_world(personas):
    rng = random.Random(23)
    causes = list(root_causes().values())  # a closed case has one
    themes = [ThemeFactory(name="Queues"), ThemeFactory(name="Prices")]
    people = [make_customer(f"Customer {i}", email=f"c{i}@example.com", external_id=f"c{i}",
                            account_value=Decimal(rng.choice([0, 100, 2500])) if i % 7 else None) for i in range(40)]
    for i, customer in enumerate(people):
        for _n in range(rng.randint(1, 3)):
            team = personas.north if rng.random() < 0.7 else personas.south
            at = BASE + dt.timedelta(days=rng.uniform(-20, 70))  # some before or after the period
            nps = rng.randint(0, 10)
            response = make_response(customer=customer, team=team, nps=nps, answered_at=at)
            if rng.random() < 0.3:
                ResponseThemeFactory(response=response, theme=rng.choice(themes))
            if nps > 6 and rng.random() < 0.9:
                continue
            fate = rng.choice(["verified", "resolved", "other outcome", "contacted", "overdue", "new", "none"])
            if fate == "none":
                continue
            closed = fate in ("verified", "resolved", "other outcome")
            case = opened_case(
                reference=f"RS-{response.pk}", customer=customer, response=response, alert=make_alert(response),
                team=team, status=Case.Status.CLOSED if closed else Case.Status.IN_PROGRESS,
                outcome=Case.Outcome.RESOLVED if fate in ("verified", "resolved") else (
                    Case.Outcome.NOT_RESOLVED if closed else ""),
                root_cause=rng.choice(causes) if closed else None, resolution="Done." if closed else "",
                closed_at=at + dt.timedelta(days=rng.uniform(1, 30)) if closed else None,
                first_contacted_at=at + dt.timedelta(hours=2) if fate != "new" else None,
                overdue_at=at + dt.timedelta(hours=4) if fate == "overdue" else None,
                first_contact_due=at + dt.timedelta(hours=4), resolution_due=at + dt.timedelta(days=2),
                created_at=at + dt.timedelta(minutes=5))
            Case.objects.filter(pk=case.pk).update(created_at=at + dt.timedelta(minutes=5))
            if fate in ("verified", "resolved"):
                Verification.objects.create(case=case, round=0, team=team, status=Verification.Status.ANSWERED,
                                            answered_at=at + dt.timedelta(days=3), answer_value=9 if fate == "verified"
                                            else 3, recovered=fate == "verified")
            if i == 3:  # a second, later case on the same answer: the first one decides the group
                later = opened_case(reference=f"RS2-{response.pk}", customer=customer, response=response,
                                    alert=None, team=team, status=Case.Status.CLOSED,
                                    outcome=Case.Outcome.RESOLVED, resolution="Done.", closed_at=at,
                                    root_cause=causes[0],
                                    first_contact_due=at, resolution_due=at)
                Case.objects.filter(pk=later.pk).update(created_at=at + dt.timedelta(hours=1))
    merged = make_customer("Old record", email="old@example.com", external_id="old", merged_into=people[0])
    account = AccountFactory(name="Employer")
    for customer in people[5:9]:
        contact_set(account_id=account.pk, customer_id=customer.pk, role="user")
    n = 0
    for customer in [*people, merged]:
        for _e in range(rng.randint(0, 5)):
            n += 1
            OutcomeEvent.objects.create(
                customer=customer, kind=rng.choice(list(OutcomeEvent.Kind.values)),
                amount=Decimal(rng.randint(0, 900)) + Decimal("0.25") * rng.randint(0, 3),
                currency="EUR" if rng.random() < 0.85 else "USD",
                occurred_at=BASE + dt.timedelta(days=rng.uniform(-30, 480)), source="test", external_id=f"e{n}")
    for days in (50, 200, 420):
        OutcomeEvent.objects.create(account=account, kind="churn", amount=Decimal(0), currency="EUR",
                                    occurred_at=BASE + dt.timedelta(days=days), source="test", external_id=f"a{days}")
    OutcomeEvent.objects.create(account=account, customer=people[6], kind="churn", amount=Decimal(0), currency="EUR",
                                occurred_at=BASE + dt.timedelta(days=30), source="test", external_id="a-named")
    return people


# --- the direct computation ----------------------------------------------------------------------


def _events_of(customer_ids):
    """customer -> [(at, kind, amount, currency)]: own, merged customers', their accounts' churn."""
    found = defaultdict(list)
    merged = dict(Customer.objects.filter(merged_into_id__in=customer_ids).values_list("pk", "merged_into_id"))
    for cid, at, kind, amount, cur in OutcomeEvent.objects.filter(customer_id__in=[*customer_ids, *merged]).values_list(
            "customer_id", "occurred_at", "kind", "amount", "currency"):
        found[merged.get(cid, cid)].append((at, kind, amount, cur))
    from customers.models import Contact

    for cid, account_id in Contact.objects.filter(customer_id__in=customer_ids).values_list("customer_id", "account_id"):
        for at, amount, cur in OutcomeEvent.objects.filter(account_id=account_id, customer__isnull=True,
                                                           kind="churn").values_list("occurred_at", "amount", "currency"):
            found[cid].append((at, "churn", amount, cur))
    return found


def _reference_people(team_ids):
    answers = SurveyResponse.objects.filter(nps__isnull=False, customer__isnull=False, answered_at__gte=START,
                                            answered_at__lt=END)
    if team_ids is not None:
        answers = answers.filter(team_id__in=team_ids)
    latest = {}
    for r in answers.order_by("customer_id", "-answered_at", "-id"):
        latest.setdefault(r.customer_id, r)
    verified = set(Verification.objects.filter(recovered=True).values_list("case_id", flat=True))
    events = _events_of(list(latest))
    people = []
    for cid, r in latest.items():
        case = (Case.objects.filter(response=r).order_by("created_at", "id")
                .values("id", "status", "outcome", "first_contacted_at", "overdue_at", "root_cause_id").first()
                if r.nps <= 6 else None)
        people.append({"group": feedback_group(r.nps, case, verified), "team": r.team_id, "at": r.answered_at,
                       "cause": case["root_cause_id"] if case else None, "events": events[cid]})
    return people


def _reference_row(people, days):
    matured = [p for p in people if p["at"] + dt.timedelta(days=days) <= NOW]
    churned = sum(1 for p in matured if any(k == "churn" and p["at"] < at <= p["at"] + dt.timedelta(days=days)
                                            for at, k, _a, _c in p["events"]))
    revenues = [float(sum((MONEY_IN[k] * a for at, k, a, c in p["events"]
                           if k in MONEY_IN and c == "EUR" and p["at"] < at <= p["at"] + dt.timedelta(days=days)),
                          Decimal(0))) for p in matured]
    n = len(matured)
    mean = low = high = None
    if n:
        m = sum(revenues) / n
        mean = round(m, 2)
        if n > 1:
            half = 1.96 * math.sqrt(sum((v - m) ** 2 for v in revenues) / (n - 1)) / math.sqrt(n)
            low, high = round(m - half, 2), round(m + half, 2)
    pct = round(100 * churned / n, 1) if n else None
    return {"days": days, "customers": n, "churned": churned, "churn_pct": pct, "churn_low": wilson(churned, n)[0],
            "churn_high": wilson(churned, n)[1], "retention_pct": None if pct is None else round(100 - pct, 1),
            "revenue": mean, "revenue_low": low, "revenue_high": high, "small": n < SMALL_GROUP}


@pytest.mark.parametrize("who", ["mia", "adam"])
def test_results_equal_a_direct_computation(personas, random_world, who):
    team_ids = frozenset({personas.north.pk}) if who == "mia" else None
    filters = ReportFilters(team_ids=team_ids, start=START, end=END, now=NOW)
    people = _reference_people(team_ids)
    assert len({g for p in people for g in [p["group"]]}) == 6, "the world has every group"
    assert any(p["at"] + dt.timedelta(days=365) > NOW for p in people), "and windows not yet passed"
    expected = [{"group": str(label), **_reference_row([p for p in people if p["group"] == key], days)}
                for key, label in GROUPS for days in WINDOWS]
    cells = result_cells(filters)
    assert closed_loop_results(filters, cells).rows == expected
    assert closed_loop_results(filters).rows == expected  # the same from a fresh reading

    by_team = closed_loop_results_by(filters, by="team", cells=cells).rows
    names = {personas.north.pk: "North", personas.south.pk: "South"}
    order = [g for g, _l in GROUPS]
    expected_by_team = [
        {"slice": names[team], "group": str(GROUP_LABELS[group]),
         **_reference_row([p for p in people if p["team"] == team and p["group"] == group], 180)}
        for team, group in sorted({(p["team"], p["group"]) for p in people},
                                  key=lambda tg: (names[tg[0]], order.index(tg[1])))]
    assert by_team == expected_by_team

    value = closed_loop_value(filters, cells).rows
    for row in value:
        a = _reference_row([p for p in people if p["group"] in ("resolved_verified", "resolved_unverified")],
                           row["days"])
        b = _reference_row([p for p in people if p["group"] == "not_contacted"], row["days"])
        assert (row["resolved"], row["not_contacted"]) == (a["customers"], b["customers"])
        if a["revenue"] is not None and b["revenue"] is not None:
            assert row["revenue_gap"] == round(a["revenue"] - b["revenue"], 2)

    by_cause = closed_loop_results_by(filters, by="root-cause", cells=cells).rows
    assert sum(r["customers"] for r in by_cause) == sum(
        1 for p in people if p["group"] not in ("passive", "promoter") and p["at"] + dt.timedelta(days=180) <= NOW)


def _reference_impact(filters):
    """name -> (cases, detractors, revenue at risk, customers, churned) as the impact page computed it."""
    touches = defaultdict(list)  # key -> [(response, customer, nps, answered_at)]
    cases = defaultdict(int)
    closed = Case.objects.filter(status=Case.Status.CLOSED, root_cause__isnull=False, closed_at__gte=filters.start,
                                 closed_at__lt=filters.end)
    if filters.team_ids is not None:
        closed = closed.filter(team_id__in=filters.team_ids)
    for c in closed.select_related("response", "root_cause__category"):
        touches[str(c.root_cause)].append((c.response_id, c.customer_id, c.response.nps, c.response.answered_at))
        cases[str(c.root_cause)] += 1
    tags = ResponseTheme.objects.filter(response__answered_at__gte=filters.start, response__answered_at__lt=filters.end)
    if filters.team_ids is not None:
        tags = tags.filter(response__team_id__in=filters.team_ids)
    for t in tags.select_related("response", "theme"):
        touches[t.theme.name].append((t.response_id, t.response.customer_id, t.response.nps, t.answered_at))
    churns = _events_of(list(Customer.objects.values_list("pk", flat=True)))
    values = dict(Customer.objects.values_list("pk", "account_value"))
    found = {}
    for name, rows in touches.items():
        detractors = [(r, c) for r, c, nps, at in rows if nps is not None and nps <= 6 and filters.start <= at < filters.end]
        first = {}
        for _r, c, _n, at in rows:
            if c and (c not in first or at < first[c]):
                first[c] = at
        churned = sum(1 for c, at in first.items() if any(
            k == "churn" and at < e <= at + dt.timedelta(days=365) for e, k, _a, _c in churns[c]))
        at_risk = sum((values[c] or Decimal(0) for c in {c for _r, c in detractors if c}), Decimal(0))
        found[name] = (cases[name], len({r for r, _c in detractors}), at_risk, len(first), churned)
    return found


@pytest.mark.parametrize("who", ["mia", "adam"])
def test_impact_equals_a_direct_computation(personas, random_world, who):
    team_ids = frozenset({personas.north.pk}) if who == "mia" else None
    filters = ReportFilters(team_ids=team_ids, start=START, end=END, now=NOW)
    expected = _reference_impact(filters)
    tables = impact_tables(filters)
    got = {r["name"]: (r["cases"] if r["kind"] == "Root cause" else 0, r["detractors"], r["revenue_at_risk"],
                       r["customers"], r["churned"]) for r in tables.root_causes.rows + tables.themes.rows}
    assert got == expected
    assert len(got) >= 4 and any(v[4] for v in got.values()), "causes and themes, some with churn"
