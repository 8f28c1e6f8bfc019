"""Identities for the customers recorded before identities were kept: each customer's e-mail,
phone (when it reads as a number, core.phones) and external id (with the source of its first
response). In chunks; ON CONFLICT DO NOTHING, so it can run on a database that records meanwhile."""

from django.db import migrations

CHUNK = 2000


def backfill(apps, schema_editor):
    from core.phones import to_e164

    Customer = apps.get_model("surveys", "Customer")
    SurveyResponse = apps.get_model("surveys", "SurveyResponse")
    Identity = apps.get_model("customers", "Identity")
    last = 0
    while True:
        chunk = list(Customer.objects.filter(pk__gt=last, erased_at__isnull=True).order_by("pk")
                     .values_list("pk", "external_id", "email", "phone")[:CHUNK])
        if not chunk:
            return
        last = chunk[-1][0]
        sources = {}
        for customer_id, source_id in (SurveyResponse.objects.filter(customer_id__in=[c[0] for c in chunk])
                                       .order_by("customer_id", "pk").values_list("customer_id", "source_id")):
            sources.setdefault(customer_id, source_id)
        rows = []
        for pk, external_id, email, phone in chunk:
            if external_id and pk in sources:
                rows.append(Identity(customer_id=pk, kind="external_id", source_id=sources[pk], value=external_id[:255]))
            if email:
                rows.append(Identity(customer_id=pk, kind="email", value=email.strip().lower()[:255]))
            if phone and (e164 := to_e164(phone)):
                rows.append(Identity(customer_id=pk, kind="phone", value=e164))
        Identity.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
