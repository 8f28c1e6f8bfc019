"""The rules a routing rule and the root-cause taxonomy must follow, shared by the models' clean()
(every ModelForm, the Django admin's included), the settings pages and the API serializers.
Each returns {field: [message, ...]} (empty when sound)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

CONDITION_FIELDS = {
    "touchpoints": "touchpoint names, e.g. delivery, store",
    "locations": "locations or regions, e.g. Leeds, North",
    "channels": "channels, e.g. email, web",
    "customer_tiers": "customer tiers, e.g. Gold",
    "metrics": "nps, csat, ces or question keys",
}

Problems = dict[str, list[str]]


def refuse(problems: Problems) -> None:
    """Raise the problems as a ValidationError keyed by field (models' clean() call this)."""
    if problems:
        raise ValidationError(problems)


def condition_list_problems(field: str, value) -> list[str]:
    """A condition is a list of non-empty names (empty: any)."""
    what = CONDITION_FIELDS[field]
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        return [f"Give a list of {what} (or leave it empty for any)."]
    for item in value:
        if not isinstance(item, str) or not item.strip():
            return [f"Each entry is a name ({what}); {item!r} is not."]
        if len(item) > 120:
            return [f"“{item[:30]}…” is longer than 120 characters."]
    return []


def routing_rule_problems(values: dict) -> Problems:
    """Keys read: name, team, sla_policy (objects or None) and the condition lists."""
    problems: Problems = {}
    if "name" in values and not (values.get("name") or "").strip():
        problems["name"] = ["Give the rule a name people will recognise, e.g. “Gold customers to Key accounts”."]
    for field in CONDITION_FIELDS:
        if field in values and (messages := condition_list_problems(field, values[field])):
            problems[field] = messages
    policy = values.get("sla_policy")
    if policy is not None and not policy.active:
        problems["sla_policy"] = [f"“{policy.name}” is switched off: switch it on first, or choose another policy."]
    return problems


def taxonomy_name_problems(name: str) -> Problems:
    if not (name or "").strip():
        return {"name": ["Give a name, e.g. “Late delivery”."]}
    if ">" in name:
        return {"name": ["Names cannot contain “>” (it separates category and cause in labels)."]}
    return {}
