# Notes the product wrote on timeline events were English sentences: the reasons an alert rule
# matched (the OPENED event's note, and the reasons copied into OPENED and RESPONSE_ATTACHED data),
# why a case reopened on its own or its priority rose, an erasure, a follow-up case. They are now
# codes in the event's data ("said", "said_with"; cases/timeline.py) and alert reasons are codes
# (alerts/reasons.py), put into words in the reader's language. This rewrites the sentences it
# recognises; a note it cannot read (a different form, a person's own words) stays as it was.

import re

from django.db import migrations

from alerts.legacy_reasons import parse_reasons

CHUNK = 2000
SCORE = re.compile(r"^(?P<metric>NPS|CSAT) (?P<value>-?\d+(?:\.\d+)?) of (?P<min>\d+)–(?P<max>\d+): .+$")
LOW_SCORE = re.compile(
    r"^Reopened automatically: .* sent another low score \((?P<score>.*)\) (?:the same day|(?P<days>\d+) days? after) "
    r"closure \(rule “(?P<rule>.*)”, window (?P<window>\d+) days\)\.$", re.S)
CHECK = re.compile(r"^The customer answered the recovery check: (?P<answer>.*)\.$", re.S)
FOLLOW_UP = re.compile(r"^Follow-up of (?P<reference>\S+): the customer replied by e-mail after it was closed\.$")
FIXED = {
    ("reopened", "The customer replied by e-mail."): "reopened_by_reply",
    ("priority", "A later response from the customer asked for a higher priority."): "later_response_priority",
    ("priority", "Escalated: still overdue after the team's escalation delay."): "escalated_priority",
    ("note", "The customer's personal data was erased."): "erased",
}
REPEATS = {("overdue", "First contact is overdue."), ("overdue", "Resolution is overdue."),
           ("escalated", "Escalated: still overdue after the team's escalation delay.")}


def _score(text: str):
    m = SCORE.match(text)
    if m is None:
        return None
    value = float(m["value"])
    entry = {"metric": m["metric"].lower(), "value": str(int(value)) if value.is_integer() else m["value"]}
    if entry["metric"] == "csat":
        entry.update(min=int(m["min"]), max=int(m["max"]))
    return entry


def _said(kind: str, note: str):
    """(code, values) for a note the product wrote, or None."""
    if (kind, note) in FIXED:
        return FIXED[(kind, note)], {}
    if kind == "reopened" and (m := CHECK.match(note)):
        return "reopened_by_check", {"answer": m["answer"]}
    if kind == "reopened" and (m := LOW_SCORE.match(note)) and (score := _score(m["score"])):
        return "reopened_by_score", {"score": score, "days": int(m["days"] or 0), "rule": m["rule"],
                                     "window": int(m["window"])}
    if kind == "opened" and (m := FOLLOW_UP.match(note)):
        return "follow_up_of", {"reference": m["reference"]}
    return None


def rewrite(event) -> bool:
    data = dict(event.data) if isinstance(event.data, dict) else {}
    changed = False
    if event.kind in ("opened", "response_attached") and data.get("reasons"):
        old = data["reasons"]
        data["reasons"], parsed = parse_reasons(old)
        changed |= parsed
        if event.kind == "opened" and isinstance(old, list) and event.note == "; ".join(map(str, old)):
            event.note = ""  # the reasons, put into words from data when shown
            changed = True
    if (event.kind, event.note) in REPEATS:
        event.note = ""  # repeated the event's own sentence
        changed = True
    elif event.note and (found := _said(event.kind, event.note)):
        code, values = found
        data["said"] = code
        if values:
            data["said_with"] = values
        event.note = ""
        changed = True
    event.data = data
    return changed


def forwards(apps, schema_editor):
    CaseEvent = apps.get_model("cases", "CaseEvent")
    rows = (CaseEvent.objects.filter(kind__in=["opened", "response_attached", "reopened", "priority", "note",
                                               "overdue", "escalated"])
            .only("id", "kind", "note", "data").order_by("id"))
    batch = []
    for event in rows.iterator(chunk_size=CHUNK):
        if (event.kind == "note" and event.note != "The customer's personal data was erased.") or (
                not event.note and event.kind not in ("opened", "response_attached")):
            continue
        if rewrite(event):
            batch.append(event)
        if len(batch) >= CHUNK:
            CaseEvent.objects.bulk_update(batch, ["note", "data"])
            batch = []
    if batch:
        CaseEvent.objects.bulk_update(batch, ["note", "data"])


class Migration(migrations.Migration):
    dependencies = [("cases", "0018_routingrule_segments"), ("alerts", "0007_reasons_as_codes")]

    # Backwards leaves the codes: the product reads both forms.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
