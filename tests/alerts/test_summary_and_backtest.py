"""The plain-language summary and the backtest (counts checked against hand-computed data)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import SlaPolicy
from alerts.backtest import backtest
from alerts.summary import rule_summary
from tests.alerts.helpers import customer, draft, response, rule, survey

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)  # a Friday, ISO week 12


def test_summary_reads_like_the_issue(personas):
    SlaPolicy.objects.create(name="High", priority="high", first_contact_hours=4, resolution_hours=16)
    SlaPolicy.objects.create(name="Tier I", customer_tier="Tier I", first_contact_hours=2, resolution_hours=16)
    saved = rule(name="VIP store", touchpoints=["Store visit"], customer_tiers=["Tier I"], case_priority="high",
                 case_team=personas.north)
    assert rule_summary(saved) == ("When NPS is 6 or less on Store visit for Tier I customers, open a High case for "
                                   "North, first contact due in 4 business hours.")


def test_summary_of_other_actions(personas):
    praise = draft(metric="nps", operator="gte", threshold=Decimal("9"), comment_presence="with", action="praise")
    assert rule_summary(praise, survey_names=[]) == (
        "When NPS is 9 or more with a comment, send the praise to the staff member the response names, otherwise to "
        "the response's team, and record it for recognition.")
    notify = draft(metric="ces", threshold=Decimal("2"), action="notify", keywords=["rude", "refund"],
                   stop_processing=True)
    assert rule_summary(notify, survey_names=["Store"], notify_user_names=["Adam"]) == (
        "When CES is 2 or less (1–7, 7 = easiest: high effort) in Store with a comment mentioning “rude” or "
        "“refund”, e-mail Adam; later rules are skipped.")


def at(days_ago: float, hour: int = 0):
    return NOW - dt.timedelta(days=days_ago, hours=hour)


@pytest.fixture
def history(personas):
    """Eleven responses over 40 days; the hand count is in the test below."""
    ann, ben, cat = customer(name="Ann"), customer(name="Ben"), customer(name="Cat")
    rows = [
        # (days ago, nps, customer, touchpoint, team)
        (1, 2, ann, "Store visit", personas.north),
        (3, 4, ann, "Store visit", personas.north),
        (9, 6, ann, "Delivery", personas.south),
        (2, 9, ben, "Store visit", personas.north),      # promoter: no match
        (5, 0, ben, "Delivery", None),                   # not routed
        (20, 5, ben, "Delivery", personas.south),
        (12, 7, cat, "Store visit", personas.north),     # passive: no match
        (13, 3, cat, "Store visit", personas.north),
        (35, 1, cat, "Store visit", personas.north),     # outside the 30 days
        (4, None, None, "Store visit", personas.north),  # no NPS
        (6, 1, None, "", personas.north),                # no customer, no touchpoint
    ]
    for days, nps, who, touchpoint, team in rows:
        response(nps=nps, cust=who, touchpoint=touchpoint, team=team, answered_at=at(days))


def test_backtest_counts_match_the_hand_count(history):
    """A 7-day repeat window, in time order (dN = N days before NOW, a Friday in ISO week 12)."""
    result = backtest(draft(repeat_window_days=7), days=30, now=NOW)
    # Matches (answered, customer): d20 Ben, d13 Cat, d9 Ann, d6 anon, d5 Ben, d3 Ann, d1 Ann.
    assert result.scanned == 9  # d35 is outside the window; the NPS-less response is not read
    assert result.alerts == 7
    # Cases: Ben d20, Cat d13, Ann d9, anon d6, Ben d5 (15 days after his last), Ann d1 (8 days after d9);
    # attached: Ann d3 (6 days after d9).
    assert (result.cases, result.attached) == (6, 1)
    assert {b.name: (b.alerts, b.cases) for b in result.by_team} == {
        "North": (4, 3), "South": (2, 2), "Not routed": (1, 1)}
    assert {b.name: (b.alerts, b.cases) for b in result.by_touchpoint} == {
        "Store visit": (3, 2), "Delivery": (3, 3), "(none)": (1, 1)}
    # ISO weeks: d1 Thu 19 Mar and d3 Tue 17 Mar are W12; d5 Sun 15, d6 Sat 14 and d9 Wed 11 Mar
    # are W11; d13 Sat 7 Mar is W10; d20 Sat 28 Feb is W09.
    assert {b.name: (b.alerts, b.cases) for b in result.by_week} == {
        "2026-W09": (1, 1), "2026-W10": (1, 1), "2026-W11": (3, 3), "2026-W12": (2, 1)}
    assert [s["outcome"] for s in result.samples][:2] == ["new case", "attached to the customer's case"]
    assert result.samples[0]["reasons"] == ["NPS 2 is at most 6"]


def test_backtest_uses_the_rule_team_and_survey_filter(history, personas):
    only_tp = draft(touchpoints=["Store visit"], case_team=personas.south, repeat_window_days=0)
    result = backtest(only_tp, days=30, now=NOW)
    assert (result.alerts, result.cases) == (3, 3)
    assert [b.name for b in result.by_team] == ["South"]
    other_survey = survey("Other")
    assert backtest(draft(), days=30, now=NOW, survey_ids=[other_survey.pk]).alerts == 0


def test_praise_backtest_counts_alerts_not_cases(history):
    result = backtest(draft(operator="gte", threshold=Decimal("9"), action="praise"), days=30, now=NOW)
    assert (result.alerts, result.cases, result.attached) == (1, 0, 0)
