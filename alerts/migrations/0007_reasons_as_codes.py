# Alert reasons were English sentences ("NPS 2 is at most 6") written by the worker that evaluated
# the rule; they are now codes and values put into words in the reader's language
# (alerts/reasons.py). This turns every stored sentence the rules engine wrote into its code form;
# a sentence it cannot read stays as it was and is shown as stored. Backwards: the sentences are
# written again in English.

from django.db import migrations

from alerts.legacy_reasons import parse_reasons

CHUNK = 2000


def to_codes(apps, schema_editor):
    Alert = apps.get_model("alerts", "Alert")
    batch = []
    for alert in Alert.objects.only("id", "reasons").order_by("id").iterator(chunk_size=CHUNK):
        reasons, changed = parse_reasons(alert.reasons)
        if changed:
            alert.reasons = reasons
            batch.append(alert)
        if len(batch) >= CHUNK:
            Alert.objects.bulk_update(batch, ["reasons"])
            batch = []
    if batch:
        Alert.objects.bulk_update(batch, ["reasons"])


def to_sentences(apps, schema_editor):
    from django.utils import translation

    from alerts.reasons import describe_reason

    Alert = apps.get_model("alerts", "Alert")
    batch = []
    with translation.override("en"):
        for alert in Alert.objects.only("id", "reasons").order_by("id").iterator(chunk_size=CHUNK):
            if any(isinstance(r, dict) for r in alert.reasons or ()):
                alert.reasons = [describe_reason(r) for r in alert.reasons]
                batch.append(alert)
            if len(batch) >= CHUNK:
                Alert.objects.bulk_update(batch, ["reasons"])
                batch = []
    if batch:
        Alert.objects.bulk_update(batch, ["reasons"])


class Migration(migrations.Migration):
    dependencies = [("alerts", "0006_alertrule_segments")]

    operations = [migrations.RunPython(to_codes, to_sentences, elidable=True)]
