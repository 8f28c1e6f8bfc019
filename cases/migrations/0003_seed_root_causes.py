"""Seed the root-cause taxonomy (category > cause) and a first customer e-mail template.

Admins retire causes (active=False) instead of deleting them, so closed cases keep theirs."""

from django.db import migrations

TAXONOMY = [
    ("Product", ["Defect", "Missing feature", "Quality below expectation", "Out of stock"]),
    ("Delivery", ["Late", "Damaged", "Wrong item", "Lost"]),
    ("Staff", ["Attitude", "Knowledge", "Availability"]),
    ("Billing", ["Wrong charge", "Refund delay", "Unclear invoice"]),
    ("Policy", ["Returns", "Warranty", "Pricing"]),
    ("Store", ["Cleanliness", "Waiting time", "Opening hours"]),
    ("Communication", ["No follow-up", "Unclear information", "Hard to reach"]),
    ("Digital", ["Website or app error", "Checkout problem"]),
    ("Other", ["Customer expectation", "Not reproducible"]),
]

TEMPLATES = [
    (
        "Apology and call-back offer",
        "About your recent feedback, {{ customer.name }}",
        "Dear {{ customer.name }},\n\n"
        "Thank you for telling us how we did. You gave us {{ score }}, and you wrote:\n\n"
        "\"{{ comment }}\"\n\n"
        "I am sorry we let you down. I would like to understand what happened and put it right. "
        "When would be a good time to call you?\n\n"
        "Kind regards,\n{{ agent.name }}\n(reference {{ case.reference }})",
    ),
    (
        "Could not reach you",
        "We tried to reach you, {{ customer.name }}",
        "Dear {{ customer.name }},\n\n"
        "We tried to call you about your feedback ({{ score }}) but could not reach you. "
        "Please reply to this e-mail with a time that suits you, and we will call back.\n\n"
        "Kind regards,\n{{ agent.name }}\n(reference {{ case.reference }})",
    ),
]


def seed(apps, schema_editor):
    Category = apps.get_model("cases", "RootCauseCategory")
    Cause = apps.get_model("cases", "RootCause")
    EmailTemplate = apps.get_model("cases", "EmailTemplate")
    for order, (category_name, causes) in enumerate(TAXONOMY, start=1):
        category, _ = Category.objects.get_or_create(name=category_name, defaults={"order": order * 10})
        for cause in causes:
            Cause.objects.get_or_create(category=category, name=cause)
    for order, (name, subject, body) in enumerate(TEMPLATES, start=1):
        EmailTemplate.objects.get_or_create(name=name, defaults={"subject": subject, "body": body, "order": order})


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_outbox_preferences_templates")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
