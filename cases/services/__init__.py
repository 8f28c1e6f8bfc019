"""Every write to a case. The inbox, bulk actions, the API, receivers and tasks all call these.

Each action:
- runs in one transaction and locks the case row (select_for_update);
- refuses a stale edit when `expected_version` is given and the case moved on (CaseConflict,
  saying who changed what);
- checks the action against the flow table (ACTIONS / TRANSITIONS: the flow is data, and this
  is the only place it is enforced);
- writes CaseEvent rows (the timeline) stamped with the new version, bumps Case.version;
- queues notifications in the outbox, delivered after commit.

`by` is the acting user, None for the system. `at` (keyword-only, default now) lets the demo
loader replay history with past timestamps; nothing else passes it.
How cases read (timeline sentences, conflict messages, scores in words) is cases.timeline.

The modules, one subject each (callers import from here):
    flow.py     the transition table, locking, the guard, events, the save, conflicts
    actions.py  claim, assign, start, contact, note, priority, close, reopen, playbook, e-mail, recovery check
    opening.py  pick_assignee and case opening from alerts, one at a time or a batch; a case for
                an account (customers' account rules), without an alert
    sweep.py    the SLA sweep and the escalation ladder's priority raise
    customer_move.py  cases moved to another customer (a merge or unmerge in customers)
    erasure.py  the case side of a personal-data erasure
    replies.py  e-mail that came back to a case: a reply, a bounce, an automatic reply (cases/mail)
    churn.py    the customer's churn risk copied onto their open cases (the inbox's sort key)
    report_fields.py  what reporting reads per case, kept when it happens (business hours, answered again)
"""

from cases.services.actions import (
    case_add_note,
    case_assign,
    case_change_priority,
    case_claim,
    case_close,
    case_email_customer,
    case_log_contact,
    case_playbook_step,
    case_reopen,
    case_start,
    case_verification_answer,
    case_verification_sent,
    closure_errors,
    not_a_member,
)
from cases.services.churn import open_cases_churn_risk_refresh
from cases.services.customer_move import cases_move_customer
from cases.services.erasure import ERASED, FREE_TEXT_KEYS, cases_erase_free_text
from cases.services.flow import (
    ACTION_WORDS,
    ACTIONS,
    ANY,
    OPEN,
    TRANSITIONS,
    CaseConflict,
    InvalidTransition,
    replay_clock,
)
from cases.services.opening import (
    case_open_for_account,
    case_open_from_alert,
    cases_open_from_alerts,
    pick_assignee,
)
from cases.services.replies import case_mail_received
from cases.services.report_fields import (
    cases_fill_report_fields,
    cases_link_answer,
    cases_link_answers,
    cases_relink_answers,
)
from cases.services.sweep import (
    BATCH_LIST,
    SweepResult,
    cases_raise_priority,
    cases_sweep_sla,
)

# Presentation, re-exported for callers that imported it from here before it moved.
from cases.timeline import conflict_message, describe_event, render_customer_template

__all__ = [
    "open_cases_churn_risk_refresh",
    "ACTIONS", "ACTION_WORDS", "ANY", "BATCH_LIST", "ERASED", "FREE_TEXT_KEYS", "OPEN", "TRANSITIONS",
    "CaseConflict", "InvalidTransition", "SweepResult",
    "case_add_note", "case_assign", "case_change_priority", "case_claim", "case_close", "case_email_customer",
    "case_log_contact", "case_mail_received", "case_open_for_account", "case_open_from_alert", "case_playbook_step", "case_reopen", "case_start",
    "case_verification_answer", "case_verification_sent", "cases_erase_free_text", "cases_move_customer",
    "cases_fill_report_fields", "cases_link_answer", "cases_link_answers", "cases_open_from_alerts",
    "cases_relink_answers",
    "cases_raise_priority", "cases_sweep_sla", "closure_errors",
    "not_a_member", "conflict_message", "describe_event",
    "pick_assignee", "render_customer_template", "replay_clock",
]
