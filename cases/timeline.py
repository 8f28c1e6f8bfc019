"""How a case reads: the timeline's sentences, the conflict message and the customer e-mail
filled in from a template. Scores in words are surveys.vocabulary's.

Presentation only: text built from rows (conflict_message reads the events it describes). The
services use it for their messages and the template tags (cases.templatetags.case_display) for
the pages; it imports neither."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.template import Context, Template
from django.utils import timezone
from django.utils.translation import gettext

from cases.models import Case, CaseEvent, ContactChannel, ContactOutcome
from surveys.vocabulary import primary_score

Kind = CaseEvent.Kind


# --- the timeline and conflicts -------------------------------------------------------------
def _name(user) -> str:
    return user.display_name if user is not None else "The system"


def team_time(case: Case, instant: dt.datetime) -> str:
    """`instant` in the case team's time zone: "14:05" today, "03 Mar 14:05" another day."""
    try:
        tz = ZoneInfo(case.team.timezone)
    except Exception:  # noqa: BLE001 - a broken time zone still gets a readable message
        tz = dt.timezone.utc
    local = instant.astimezone(tz)
    today = timezone.now().astimezone(tz).date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%d %b %H:%M")


def describe_event(event: CaseEvent) -> str:
    """One line a person can read: "Bob Smith claimed this case", "Sam changed priority from normal to high"."""
    who = _name(event.actor)
    k = event.kind
    if k == Kind.CLAIMED:
        return f"{who} claimed this case"
    if k == Kind.ASSIGNED:
        target = event.data.get("assignee_name") or event.to_value
        return f"{who} assigned this case to {target}" if target else f"{who} returned this case to the team queue"
    if k == Kind.TEAM:
        return f"{who} moved this case from {event.from_value} to {event.to_value}"
    if k == Kind.STATUS:
        return f"{who} changed status from {event.from_value} to {event.to_value}"
    if k == Kind.PRIORITY:
        return f"{who} changed priority from {event.from_value} to {event.to_value}"
    if k == Kind.CONTACT:
        channel = ContactChannel(event.data.get("channel", "other")).label.lower()
        if event.data.get("channel") == ContactChannel.EMAIL and not event.data.get("outcome"):
            return f"{who} e-mailed the customer"
        outcome = event.data.get("outcome")
        outcome_text = f" ({ContactOutcome(outcome).label.lower()})" if outcome in ContactOutcome.values else ""
        return f"{who} logged a {channel} contact attempt{outcome_text}"
    if k == Kind.NOTE:
        return f"{who} added a note"
    if k == Kind.CLOSED:
        return f"{who} closed this case"
    if k == Kind.REOPENED:
        return f"{who} reopened this case"
    if k == Kind.RESPONSE_ATTACHED:
        return f"{who} attached another response from the customer"
    if k == Kind.PLAYBOOK_STEP:
        verb = "ticked" if event.data.get("done", True) else "unticked"
        return f"{who} {verb} “{event.note}” ({event.data.get('playbook', 'playbook')})"
    if k == Kind.OVERDUE:
        return overdue_sentence(event)
    if k == Kind.ESCALATED:
        return "Escalated: still overdue after the team’s escalation delay"
    if k == Kind.DUE_SOON:
        return "A clock runs out soon"
    if k == Kind.VERIFICATION_SENT:
        return "The customer was asked whether we put it right"
    if k == Kind.VERIFICATION_ANSWER:
        said = "yes, it was put right" if event.data.get("recovered") else "no, it was not put right"
        return f"The customer answered the recovery check: {said} ({event.to_value})"
    if k == Kind.CUSTOMER_REPLIED:
        if event.data.get("follow_up"):
            return gettext("The customer replied by e-mail; follow-up case %(reference)s opened for it") % {
                "reference": event.data["follow_up"]}
        return gettext("The customer replied by e-mail")
    if k == Kind.EMAIL_BOUNCED:
        if event.to_value:
            return gettext("The e-mail to the customer bounced (%(status)s)") % {"status": event.to_value}
        return gettext("The e-mail to the customer bounced")
    if k == Kind.EMAIL_AUTO_REPLY:
        return gettext("An automatic reply came back (not counted as the customer answering)")
    return f"{who}: {event.get_kind_display().lower()}"


OVERDUE_CLOCKS = {"first contact": "First contact is overdue", "resolution": "Resolution is overdue"}


def overdue_sentence(event: CaseEvent) -> str:
    """Which clock ran out, as the SLA sweep recorded it (to_value "first contact" or "resolution")."""
    return OVERDUE_CLOCKS.get(event.to_value, "A clock ran out: the case is overdue")


def conflict_message(case: Case, expected_version: int) -> str:
    changes = list(
        CaseEvent.objects.filter(case=case, version__gt=expected_version)
        .select_related("actor")
        .order_by("-version", "-id")[:3]
    )
    if not changes:
        return "This case was changed by someone else; reload to see it."
    latest = changes[0]
    text = f"{describe_event(latest)} at {team_time(case, latest.created_at)}"
    more = len({e.version for e in changes}) - 1
    if more > 0:
        text += f" (and {more} other change{'s' if more > 1 else ''})"
    return f"{text}; reload to see it."


# --- customer e-mail templates ---------------------------------------------------------------
def render_customer_template(template, *, case: Case, agent) -> tuple[str, str]:
    """An EmailTemplate filled in for this case: (subject, body), for staff to edit before sending."""
    response = case.response
    rule = case.alert.rule if case.alert_id else None
    score = primary_score(response, getattr(rule, "metric", None), getattr(rule, "metric_key", ""))
    context = Context({
        "customer": {"name": (case.customer.name if case.customer else "") or "there",
                     "email": case.customer.email if case.customer else ""},
        "score": score.text if score else "",
        "comment": response.comment,
        "case": {"reference": case.reference},
        "agent": {"name": agent.display_name if agent else "The customer team"},
    }, autoescape=False)
    return Template(template.subject).render(context).strip(), Template(template.body).render(context)
