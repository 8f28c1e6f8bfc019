"""Demo alert rules, on top of the seeded defaults (alerts/migrations/0003_seed_default_rules.py):
a keyword rule for rude staff or refund requests, and a Tier I store-visit rule that opens a
high-priority case for North and stops evaluation."""

from decimal import Decimal

from alerts import services
from alerts.models import AlertRule


def _ensure(name: str, **data) -> AlertRule:
    existing = AlertRule.objects.filter(name=name).first()
    if existing is not None:
        return existing
    return services.rule_create(data={"name": name, **data})


def seed(context: dict) -> dict:
    teams = context.get("teams", {})
    north = teams.get("north")
    rules = [
        _ensure(
            "Tier I store visit", order=5, metric="nps", operator="lte", threshold=Decimal("6"),
            touchpoints=["Store visit"], customer_tiers=["Tier I"], case_priority="high", case_team=north,
            stop_processing=True,
        ),
        _ensure(
            "Rude staff or refund", order=15, metric="nps", operator="lte", threshold=Decimal("8"),
            keywords=["rude", "refund"], keyword_mode="any", case_priority="high",
        ),
    ]
    return {"alert_rules": rules}
