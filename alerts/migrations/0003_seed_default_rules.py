"""The default alert rules every installation starts with (production too, hence a migration).

- NPS 0-6 (detractors) opens a case;
- CSAT 1-2 on a 1-5 scale opens a case;
- CES showing high effort opens a case: 1-2 on a 1-7 scale where 7 is easiest. A source whose
  CES runs the other way (7 = most effort) is flipped before comparing (alerts.rules), so its
  6-7 answers match too;
- NPS 9-10 with a comment raises a praise alert (no case).

Admins can edit or disable them; this migration only adds a rule whose name is not taken."""

from decimal import Decimal

from django.db import migrations

DEFAULTS = [
    {"name": "Detractor (NPS 0–6)", "order": 10, "metric": "nps", "operator": "lte", "threshold": Decimal("6"),
     "action": "open_case", "case_priority": "normal"},
    {"name": "Unhappy (CSAT 1–2 of 5)", "order": 20, "metric": "csat", "operator": "lte", "threshold": Decimal("2"),
     "scale_min": 1, "scale_max": 5, "action": "open_case", "case_priority": "normal"},
    {"name": "High effort (CES)", "order": 30, "metric": "ces", "operator": "lte", "threshold": Decimal("2"),
     "scale_min": 1, "scale_max": 7, "ces_high_is_easy": True, "action": "open_case", "case_priority": "normal"},
    {"name": "Promoter praise (NPS 9–10 with a comment)", "order": 40, "metric": "nps", "operator": "gte",
     "threshold": Decimal("9"), "comment_presence": "with", "action": "praise", "case_priority": "normal"},
]


def seed(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    for values in DEFAULTS:
        values = dict(values)
        AlertRule.objects.get_or_create(name=values.pop("name"), defaults=values)


def unseed(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    AlertRule.objects.filter(name__in=[d["name"] for d in DEFAULTS], alerts__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("alerts", "0002_rule_scale_alert_email")]

    operations = [migrations.RunPython(seed, unseed)]
