"""The default alert rules every installation starts with: one "low" threshold for every scale
the product accepts, so a low answer opens a case whichever scale the survey asked it on.

| scale                      | opens a case at          |
|----------------------------|--------------------------|
| NPS 0-10                   | 0-6 (detractors)         |
| CSAT 1-5                   | 1-2                      |
| CSAT 1-7                   | 1-3                      |
| CSAT 1-10                  | 1-4                      |
| CSAT binary 0-1            | 0 (thumbs down / "bad")  |
| CES 1-7 (7 = easiest)      | 1-2                      |
| CES 1-5 (5 = easiest)      | 1-2                      |

A rule's threshold is written on its own scale (alerts.rules: a CSAT 1-10 answer is never held
against the 1-5 rule). CES rules are written with the highest answer the easiest; a source whose
CES runs the other way (`ces_direction: low_is_easy`, 7 or 5 = most effort) is flipped before
comparing, so its 6-7 (or 4-5) answers match. docs/scales.md carries the same table and
tests/alerts/test_default_rules.py holds the two, and the migrations that seed these rows
(0003_seed_default_rules, 0005_default_rules_every_scale), to this list.

Admins can edit or disable them; the migrations only add a rule whose name is not taken.
"""

from decimal import Decimal

DEFAULT_RULES = [
    {"name": "Detractor (NPS 0–6)", "order": 10, "metric": "nps", "operator": "lte", "threshold": Decimal("6"),
     "action": "open_case", "case_priority": "normal"},
    {"name": "Unhappy (CSAT 1–2 of 5)", "order": 20, "metric": "csat", "operator": "lte", "threshold": Decimal("2"),
     "scale_min": 1, "scale_max": 5, "action": "open_case", "case_priority": "normal"},
    {"name": "High effort (CES)", "order": 30, "metric": "ces", "operator": "lte", "threshold": Decimal("2"),
     "scale_min": 1, "scale_max": 7, "ces_high_is_easy": True, "action": "open_case", "case_priority": "normal"},
    {"name": "Promoter praise (NPS 9–10 with a comment)", "order": 40, "metric": "nps", "operator": "gte",
     "threshold": Decimal("9"), "comment_presence": "with", "action": "praise", "case_priority": "normal"},
    {"name": "Unhappy (CSAT 1–3 of 7)", "order": 21, "metric": "csat", "operator": "lte", "threshold": Decimal("3"),
     "scale_min": 1, "scale_max": 7, "action": "open_case", "case_priority": "normal"},
    {"name": "Unhappy (CSAT 1–4 of 10)", "order": 22, "metric": "csat", "operator": "lte", "threshold": Decimal("4"),
     "scale_min": 1, "scale_max": 10, "action": "open_case", "case_priority": "normal"},
    {"name": "Unhappy (CSAT thumbs down: 0 of 0–1)", "order": 23, "metric": "csat", "operator": "lte",
     "threshold": Decimal("0"), "scale_min": 0, "scale_max": 1, "action": "open_case", "case_priority": "normal"},
    {"name": "High effort (CES 1–2 of 5)", "order": 31, "metric": "ces", "operator": "lte", "threshold": Decimal("2"),
     "scale_min": 1, "scale_max": 5, "ces_high_is_easy": True, "action": "open_case", "case_priority": "normal"},
]


def default_rules_ensure() -> int:
    """Create the default rules whose names are not taken (as the migrations do); the count made.
    For installations (and test databases) whose rows were flushed after migrating."""
    from alerts.models import AlertRule

    made = 0
    for values in DEFAULT_RULES:
        values = dict(values)
        _rule, created = AlertRule.objects.get_or_create(name=values.pop("name"), defaults=values)
        made += created
    return made
