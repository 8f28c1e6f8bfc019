"""How a case reads: the timeline's sentences, the conflict message and the customer e-mail
filled in from a template. Scores in words are surveys.vocabulary's.

Presentation only: text built from rows (conflict_message reads the events it describes). The
services use it for their messages and the template tags (cases.templatetags.case_display) for
the pages; it imports neither."""

from __future__ import annotations

import datetime as dt
import re

from django.template import Context, Template
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy, ngettext, pgettext

from accounts.models import Priority
from accounts.preferences import customer_language
from alerts.reasons import describe_reasons
from cases.models import Case, CaseEvent, ContactChannel, ContactOutcome
from core.l10n import when
from surveys.vocabulary import entry_text, primary_score

Kind = CaseEvent.Kind


# --- the timeline and conflicts -------------------------------------------------------------
def _name(user) -> str:
    return user.display_name if user is not None else gettext("The system")


def team_time(case: Case, instant: dt.datetime) -> str:
    """`instant` in the viewer's zone (the active one), in their language's format, the zone
    named: "Fri 4 Dec, 14:05 CET" (core.l10n.when)."""
    return when(instant)


def _choice_label(choices, value: str) -> str:
    """A choice's label inside a sentence: lower case, except in German (nouns keep their capital)."""
    try:
        label = str(choices(value).label)
    except ValueError:
        return value
    return label if (translation.get_language() or "").startswith("de") else label.lower()


def describe_event(event: CaseEvent) -> str:
    """One line a person can read: "Bob Smith claimed this case", "Sam changed priority from normal to high"."""
    who = _name(event.actor)
    k = event.kind
    if k == Kind.CLAIMED:
        return gettext("%(who)s claimed this case") % {"who": who}
    if k == Kind.ASSIGNED:
        target = event.data.get("assignee_name") or event.to_value
        if target:
            return gettext("%(who)s assigned this case to %(target)s") % {"who": who, "target": target}
        return gettext("%(who)s returned this case to the team queue") % {"who": who}
    if k == Kind.TEAM:
        return gettext("%(who)s moved this case from %(old)s to %(new)s") % {
            "who": who, "old": event.from_value, "new": event.to_value}
    if k == Kind.STATUS:
        return gettext("%(who)s changed status from %(old)s to %(new)s") % {
            "who": who, "old": _choice_label(Case.Status, event.from_value),
            "new": _choice_label(Case.Status, event.to_value)}
    if k == Kind.PRIORITY:
        return gettext("%(who)s changed priority from %(old)s to %(new)s") % {
            "who": who, "old": _choice_label(Priority, event.from_value), "new": _choice_label(Priority, event.to_value)}
    if k == Kind.CONTACT:
        channel = _choice_label(ContactChannel, event.data.get("channel", "other"))
        if event.data.get("channel") == ContactChannel.EMAIL and not event.data.get("outcome"):
            return gettext("%(who)s e-mailed the customer") % {"who": who}
        outcome = event.data.get("outcome")
        if outcome in ContactOutcome.values:
            return gettext("%(who)s logged a %(channel)s contact attempt (%(outcome)s)") % {
                "who": who, "channel": channel, "outcome": _choice_label(ContactOutcome, outcome)}
        return gettext("%(who)s logged a %(channel)s contact attempt") % {"who": who, "channel": channel}
    if k == Kind.NOTE:
        return gettext("%(who)s added a note") % {"who": who}
    if k == Kind.CLOSED:
        return gettext("%(who)s closed this case") % {"who": who}
    if k == Kind.REOPENED:
        return gettext("%(who)s reopened this case") % {"who": who}
    if k == Kind.RESPONSE_ATTACHED:
        return gettext("%(who)s attached another response from the customer") % {"who": who}
    if k == Kind.PLAYBOOK_STEP:
        values = {"who": who, "step": event.note, "playbook": event.data.get("playbook") or gettext("playbook")}
        if event.data.get("done", True):
            return gettext("%(who)s ticked “%(step)s” (%(playbook)s)") % values
        return gettext("%(who)s unticked “%(step)s” (%(playbook)s)") % values
    if k == Kind.OVERDUE:
        return overdue_sentence(event)
    if k == Kind.ESCALATED:
        return gettext("Escalated: still overdue after the team’s escalation delay")
    if k == Kind.DUE_SOON:
        return gettext("A clock runs out soon")
    if k == Kind.VERIFICATION_SENT:
        return gettext("The customer was asked whether we put it right")
    if k == Kind.VERIFICATION_ANSWER:
        if event.data.get("recovered"):
            return gettext("The customer answered the recovery check: yes, it was put right (%(answer)s)") % {
                "answer": answer_words(event.to_value)}
        return gettext("The customer answered the recovery check: no, it was not put right (%(answer)s)") % {
            "answer": answer_words(event.to_value)}
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
    return f"{who}: {str(event.get_kind_display()).lower()}"


ANSWER_OF_TEN = re.compile(r"^(\d+) of 10$")


def answer_words(answer: str) -> str:
    """A recovery check's answer, stored in English ("9 of 10", "yes", "no": followup keeps it in one
    language), in the reader's."""
    if answer == "yes":
        return gettext("yes")
    if answer == "no":
        return gettext("no")
    if m := ANSWER_OF_TEN.match(answer or ""):
        return gettext("%(value)s of 10") % {"value": m[1]}
    return answer


# --- notes the product writes -----------------------------------------------------------------
# An event's note is what a person typed. What the product itself has to say on an event (why a
# case reopened on its own, why its priority rose) is stored as a code in data["said"] and its
# values in data["said_with"], and put into words here, in the reader's language.
SAID_ERASED = "erased"
SAID_LATER_RESPONSE = "later_response_priority"
SAID_ESCALATED = "escalated_priority"
SAID_REPLIED = "reopened_by_reply"
SAID_CHECK = "reopened_by_check"
SAID_LOW_SCORE = "reopened_by_score"
SAID_FOLLOW_UP = "follow_up_of"
# Opened by one of customers' account rules; "why" is the rule's kind: "decision_maker_detractor"
# (with the score), "nps_drop" (NPS before and after, respondents of each, the window), "silence"
# (days without an answer). The person is left out: the case's customer is the one who answered.
SAID_ACCOUNT_RULE = "opened_by_account_rule"


def said(code: str, **values) -> dict:
    """What an event's `data` carries for a note the product writes: said("reopened_by_check", answer="no")."""
    return {"said": code, "said_with": values} if values else {"said": code}


def _said_text(code: str, values: dict) -> str:
    if code == SAID_ERASED:
        return gettext("The customer’s personal data was erased.")
    if code == SAID_LATER_RESPONSE:
        return gettext("A later response from the customer asked for a higher priority.")
    if code == SAID_ESCALATED:
        return gettext("Escalated: still overdue after the team’s escalation delay.")
    if code == SAID_REPLIED:
        return gettext("The customer replied by e-mail.")
    if code == SAID_CHECK:
        return gettext("The customer answered the recovery check: %(answer)s.") % {
            "answer": answer_words(values.get("answer", ""))}
    if code == SAID_FOLLOW_UP:
        return gettext("Follow-up of %(reference)s: the customer replied by e-mail after it was closed.") % {
            "reference": values.get("reference", "")}
    if code == SAID_ACCOUNT_RULE:
        return _account_rule_text(values)
    if code == SAID_LOW_SCORE:
        days = int(values.get("days") or 0)
        window = int(values.get("window") or 0)
        words = {"score": entry_text(values.get("score")), "rule": values.get("rule", ""), "days": days,
                 "window": ngettext("%(count)s day", "%(count)s days", window) % {"count": window}}
        if days == 0:
            return gettext("Reopened automatically: the customer sent another low score (%(score)s) the same day "
                           "as the closure (rule “%(rule)s”, window %(window)s).") % words
        return ngettext(
            "Reopened automatically: the customer sent another low score (%(score)s) %(days)s day after the "
            "closure (rule “%(rule)s”, window %(window)s).",
            "Reopened automatically: the customer sent another low score (%(score)s) %(days)s days after the "
            "closure (rule “%(rule)s”, window %(window)s).", days) % words
    return ""


def _account_rule_text(values: dict) -> str:
    words = {"rule": values.get("rule", ""), "account": values.get("account", "")}
    why = values.get("why")
    if why == "decision_maker_detractor":
        return gettext("Opened by account rule “%(rule)s” for %(account)s: a decision maker answered %(score)s.") % {
            **words, "score": entry_text(values.get("score"))}
    if why == "nps_drop":
        window = int(values.get("window") or 0)
        return gettext("Opened by account rule “%(rule)s” for %(account)s: the account’s NPS fell from %(before)s "
                       "(%(n_before)s respondents) to %(after)s (%(n_after)s respondents) over the last %(window)s.") % {
            **words, "before": values.get("before"), "after": values.get("after"),
            "n_before": values.get("respondents_before"), "n_after": values.get("respondents_after"),
            "window": ngettext("%(count)s day", "%(count)s days", window) % {"count": window}}
    if why == "silence":
        days = int(values.get("days") or 0)
        return ngettext("Opened by account rule “%(rule)s” for %(account)s: no contact has answered for %(days)s day.",
                        "Opened by account rule “%(rule)s” for %(account)s: no contact has answered for %(days)s days.",
                        days) % {**words, "days": days}
    return gettext("Opened by account rule “%(rule)s” for %(account)s.") % words


def event_note(event: CaseEvent) -> str:
    """The note shown under an event: what the person typed, else what the product said, in the
    reader's language (the reasons an alert rule matched for the event that opened the case)."""
    if event.kind in (Kind.OVERDUE, Kind.ESCALATED):  # rows written before these were blank repeat the sentence
        return ""
    if event.note:
        return event.note
    data = event.data if isinstance(event.data, dict) else {}
    if data.get("said"):
        return _said_text(data["said"], data.get("said_with") or {})
    if event.kind == Kind.OPENED and data.get("reasons"):
        return "; ".join(describe_reasons(data["reasons"]))
    return ""


OVERDUE_CLOCKS = {"first contact": gettext_lazy("First contact is overdue"),
                  "resolution": gettext_lazy("Resolution is overdue")}


def overdue_sentence(event: CaseEvent) -> str:
    """Which clock ran out, as the SLA sweep recorded it (to_value "first contact" or "resolution")."""
    return str(OVERDUE_CLOCKS.get(event.to_value, gettext_lazy("A clock ran out: the case is overdue")))


def conflict_message(case: Case, expected_version: int) -> str:
    changes = list(
        CaseEvent.objects.filter(case=case, version__gt=expected_version)
        .select_related("actor")
        .order_by("-version", "-id")[:3]
    )
    if not changes:
        return gettext("This case was changed by someone else; reload to see it.")
    latest = changes[0]
    text = gettext("%(change)s at %(time)s") % {"change": describe_event(latest),
                                                "time": team_time(case, latest.created_at)}
    more = len({e.version for e in changes}) - 1
    if more > 0:
        text += " " + ngettext("(and %(count)s other change)", "(and %(count)s other changes)", more) % {"count": more}
    return gettext("%(text)s; reload to see it.") % {"text": text}


# --- customer e-mail templates ---------------------------------------------------------------
def render_customer_template(template, *, case: Case, agent) -> tuple[str, str]:
    """An EmailTemplate filled in for this case: (subject, body), for staff to edit before sending."""
    response = case.response
    rule = case.alert.rule if case.alert_id else None
    score = primary_score(response, getattr(rule, "metric", None), getattr(rule, "metric_key", ""))
    # Words the template does not choose ("there", "The customer team") in the customer's language.
    language = customer_language(response.language, case.team.language)
    with translation.override(language):
        context = Context({
            "customer": {"name": (case.customer.name if case.customer else "") or pgettext(
                             "a customer whose name is unknown, after Dear or Hello", "there"),
                         "email": case.customer.email if case.customer else ""},
            "score": score.text if score else "",
            "comment": response.comment,
            "case": {"reference": case.reference},
            "agent": {"name": agent.display_name if agent else gettext("The customer team")},
        }, autoescape=False)
        return Template(template.subject).render(context).strip(), Template(template.body).render(context)
