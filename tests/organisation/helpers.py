"""Form data for the team editor and the Django admin's team form."""

from __future__ import annotations

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def team_form(name="Night desk", *, hours=None, **fields) -> dict:
    """POST data for /settings/teams/...: `hours` maps "mon-0" to (start, end[, overnight])."""
    data = {"name": name, "assignment": "manual", "timezone": "UTC", "holiday_country": "", "holiday_subdivision": "",
            "escalation": "ladder", "escalation_delay_minutes": "240", "escalation_email": "",
            "slack_webhook_url": "", "msteams_webhook_url": ""}
    for day in WEEKDAYS:
        for n in range(2):
            data[f"{day}-{n}-start"] = data[f"{day}-{n}-end"] = ""
    for key, row in (hours or {}).items():
        data[f"{key}-start"], data[f"{key}-end"] = row[0], row[1]
        if len(row) > 2 and row[2]:
            data[f"{key}-overnight"] = "on"
    data.update(fields)
    return data


def admin_team_form(team, **fields) -> dict:
    """POST data for /admin/accounts/team/<id>/change/ (no inline rows)."""
    import json

    data = {"name": team.name, "slug": team.slug, "assignment": team.assignment, "timezone": team.timezone,
            "opening_hours": json.dumps(team.opening_hours), "holiday_country": team.holiday_country,
            "holiday_subdivision": team.holiday_subdivision, "escalation": team.escalation,
            "escalation_delay_minutes": str(team.escalation_delay_minutes), "escalation_email": "",
            "slack_webhook_url": "", "msteams_webhook_url": "", "mail_reply_to_closed": team.mail_reply_to_closed,
            "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
            "closed_days-TOTAL_FORMS": "0", "closed_days-INITIAL_FORMS": "0"}
    if team.is_default:
        data["is_default"] = "on"
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}
