"""Default rules for the scales 0003 did not cover (issue #17: a CES answer on a 1-5 scale opened
no case): CSAT 1-7, 1-10 and binary 0-1, CES 1-5. With 0003 they are alerts.defaults.DEFAULT_RULES
(tests/alerts/test_default_rules.py keeps the three in step); the table is in docs/scales.md.

Only a rule whose name is not taken is added; reversing removes the ones that raised no alert."""

from decimal import Decimal

from django.db import migrations

NEW_RULES = [
    {"name": "Unhappy (CSAT 1–3 of 7)", "order": 21, "metric": "csat", "operator": "lte", "threshold": Decimal("3"),
     "scale_min": 1, "scale_max": 7, "action": "open_case", "case_priority": "normal"},
    {"name": "Unhappy (CSAT 1–4 of 10)", "order": 22, "metric": "csat", "operator": "lte", "threshold": Decimal("4"),
     "scale_min": 1, "scale_max": 10, "action": "open_case", "case_priority": "normal"},
    {"name": "Unhappy (CSAT thumbs down: 0 of 0–1)", "order": 23, "metric": "csat", "operator": "lte",
     "threshold": Decimal("0"), "scale_min": 0, "scale_max": 1, "action": "open_case", "case_priority": "normal"},
    {"name": "High effort (CES 1–2 of 5)", "order": 31, "metric": "ces", "operator": "lte", "threshold": Decimal("2"),
     "scale_min": 1, "scale_max": 5, "ces_high_is_easy": True, "action": "open_case", "case_priority": "normal"},
]


def seed(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    for values in NEW_RULES:
        values = dict(values)
        AlertRule.objects.get_or_create(name=values.pop("name"), defaults=values)


def unseed(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    AlertRule.objects.filter(name__in=[d["name"] for d in NEW_RULES], alerts__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("alerts", "0004_text_analytics")]

    operations = [migrations.RunPython(seed, unseed)]
