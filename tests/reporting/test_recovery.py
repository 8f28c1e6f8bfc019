"""Recovery: customers who answered again after their case closed."""

from __future__ import annotations

import datetime as dt

from reporting import selectors
from tests.reporting import builders as b
from tests.reporting.test_kpis import MON, TUE, scope


def test_score_change_and_recovery_rate(personas):
    north, late = personas.north, b.cause("Late")
    ann, ben, cat, dan = (b.customer(name) for name in ("Ann", "Ben", "Cat", "Dan"))

    def loop(who, before, after):
        resp = b.response(north, at=MON, nps=before, who=who)
        b.case(north, created=MON, resp=resp, closed=MON + dt.timedelta(hours=6), root_cause=late)
        if after is not None:
            b.response(north, at=TUE, nps=after, who=who)

    loop(ann, 2, 9)  # detractor -> promoter: recovered, +7
    loop(ben, 4, 6)  # still a detractor, +2
    loop(cat, 8, 10)  # passive before: not in the recovery rate's base, +2
    loop(dan, 1, None)  # never answered again: not counted
    row = selectors.recovery_by_team(scope(north)).rows[0]
    assert row["group"] == "North"
    assert row["answered_again"] == 3
    assert (row["avg_before"], row["avg_after"], row["avg_change"]) == (4.7, 8.3, 3.7)
    assert (row["detractors_before"], row["recovered"], row["recovery_pct"]) == (2, 1, 50.0)
    by_cause = selectors.recovery_by_root_cause(scope(north)).rows[0]
    assert (by_cause["group"], by_cause["recovery_pct"]) == ("T Delivery > Late", 50.0)
    customers = {r["customer"]: r["change"] for r in selectors.recovery_customers(scope(north)).rows}
    assert customers == {"Ann": 7, "Ben": 2, "Cat": 2}


def test_answer_before_closure_is_not_recovery(personas):
    who = b.customer("Eve")
    resp = b.response(personas.north, at=MON, nps=2, who=who)
    b.response(personas.north, at=MON + dt.timedelta(hours=1), nps=10, who=who)  # before the closure
    b.case(personas.north, created=MON, resp=resp, closed=MON + dt.timedelta(hours=6))
    assert selectors.recovery_by_team(scope(personas.north)).rows == []
