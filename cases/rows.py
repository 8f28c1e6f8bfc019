"""What an inbox row shows, worked out once per row in Python.

The fifty rows were most of the inbox page's template time: each resolved the same attribute
chains, reversed a URL and ran two template tags. `inbox_rows` computes a row's words and links
in one pass over the page (no queries: every value comes from the page's one select_related
query), and jinja2/cases/inbox_rows.html only prints them. The case page and the API keep
reading the case itself.

    inbox_rows(cases, now, columns) -> [InboxRow]
    render_rows(rows, columns) -> SafeString   # the table rows, jinja2/cases/inbox_rows.html

`columns` (cases.columns.ColumnChoice) says which optional columns the table shows: a column
nobody chose costs no formatting (dates, money), and none costs a query.

The rows are rendered with Jinja2 (the project's only Jinja2 template): Django's engine spent about
5.6 ms of CPU on fifty rows, Jinja2 1.2 ms, measured with the same rows (docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

from django.template import engines
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from cases.columns import DEFAULT_COLUMNS, ColumnChoice
from cases.models import Case
from cases.sla import PageWords, SlaState, humanize_duration, sla_state
from core.l10n import iso, when
from surveys.vocabulary import ScoreDisplay, primary_score

SLA_ICONS = {"overdue": "⚠", "due_soon": "◔", "ok": "✓", "closed": "■"}
PRIORITY_ICONS = {"urgent": "⇈", "high": "↑", "normal": "–", "low": "↓"}
_PRIORITY_LABELS = dict(Case._meta.get_field("priority").flatchoices)
_STATUS_LABELS = dict(Case._meta.get_field("status").flatchoices)
_DEFAULT = ColumnChoice(DEFAULT_COLUMNS, explicit=False)
_REFERENCE = "__reference__"


def first_line(text: str, limit: int = 140) -> str:
    """The first non-blank line of a comment, cut at `limit` characters (escaped by the template)."""
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return ""


def money(value) -> str:
    """An amount in the viewer's language: 12,500 (en), 12.500 (es, de), 12 500 (fr); "—" for none."""
    if value in (None, ""):
        return "—"
    value = Decimal(str(value))
    return number_format(value, 0 if value == value.to_integral_value() else 2, force_grouping=True)


@dataclass(frozen=True, slots=True)
class InboxRow:
    case: Case
    url: str
    priority_label: str
    priority_icon: str
    score: ScoreDisplay | None
    comment: str  # the comment's first line, "" without one
    customer: str  # "" for an unknown customer
    tier: str
    team: str
    owner: str  # "" while unassigned
    sla: SlaState
    sla_icon: str
    # Optional columns: "" unless chosen (cases.columns).
    status: str = ""
    touchpoint: str = ""  # "Checkout · Leeds"
    value: str = ""  # value at risk, in the viewer's number format
    age: str = ""  # "3 days" since the case was opened
    opened_iso: str = ""  # when, for machines (<time datetime>)
    due: str = ""  # when the clock the SLA state is about runs out, in the viewer's zone
    due_iso: str = ""


def _extras(case: Case, state: SlaState, now: dt.datetime, columns: ColumnChoice, statuses: dict[str, str],
            words: PageWords) -> dict:
    """The optional columns' words, only for the columns shown."""
    extras = {}
    if "status" in columns:
        extras["status"] = statuses.get(case.status, case.status)
    if "touchpoint" in columns and case.response_id:
        extras["touchpoint"] = " · ".join(part for part in (case.response.touchpoint, case.response.location) if part)
    if "value" in columns:
        extras["value"] = money(case.value_at_risk)
    if "age" in columns:
        extras.update(age=humanize_duration(now - case.created_at, words), opened_iso=iso(case.created_at))
    if "due" in columns and state.due is not None:
        extras.update(due=when(state.due), due_iso=iso(state.due))
    return extras


def inbox_rows(cases, now: dt.datetime, columns: ColumnChoice = _DEFAULT) -> list[InboxRow]:
    """The rows of one inbox page, in the page's order. Needs response, customer, team,
    assignee and alert__rule loaded with the cases (cases.views.inbox.row_queryset)."""
    # One reverse() for the page: the case URL with the reference as its only variable part.
    url = reverse("cases:detail", args=[_REFERENCE])
    extra_columns = any(column not in DEFAULT_COLUMNS for column in columns.shown)
    # The status names in the active language, once for the page (each lazy name costs a lookup).
    statuses = {key: str(label) for key, label in _STATUS_LABELS.items()} if "status" in columns else {}
    # The same for the priorities, and the SLA's words ("due in %(duration)s", "%(hours)s h"):
    # once per page, not once per row.
    priorities = {key: str(label) for key, label in _PRIORITY_LABELS.items()}
    words = PageWords()
    rows = []
    for case in cases:
        rule = case.alert.rule if case.alert_id and case.alert else None
        state = sla_state(case, now=now, words=words)
        customer = case.customer
        rows.append(InboxRow(
            case=case,
            url=url.replace(_REFERENCE, quote(case.reference, safe="")),
            priority_label=priorities.get(case.priority, case.priority),
            priority_icon=PRIORITY_ICONS.get(case.priority, ""),
            score=primary_score(case.response, getattr(rule, "metric", None), getattr(rule, "metric_key", "")),
            comment=first_line(case.response.comment if case.response_id else ""),
            customer=str(customer) if customer else "",
            tier=customer.tier if customer else "",
            team=case.team.name,
            owner=case.assignee.display_name if case.assignee_id else "",
            sla=state,
            sla_icon=SLA_ICONS.get(state.level, "•"),
            **(_extras(case, state, now, columns, statuses, words) if extra_columns else {}),
        ))
    return rows


def render_rows(rows: list[InboxRow], columns: ColumnChoice = _DEFAULT) -> SafeString:
    """The <tr> of each row (Jinja2 escapes every value: autoescape is on). A card column not
    chosen is still rendered, marked `col-off` (hidden on a desktop, part of the phone's card)."""
    template = engines["jinja2"].get_template("cases/inbox_rows.html")
    return mark_safe(template.render({"rows": rows, "cols": columns.shown, "words": _row_words()}))


def _row_words() -> dict[str, str]:
    """The words every row repeats, in the active language: translated once for the page, where
    `_()` in the template cost a gettext call (and a derived Jinja2 context) per row each."""
    return {"select": gettext("Select"), "no_score": gettext("no score"), "no_comment": gettext("No comment"),
            "unknown_customer": gettext("Unknown customer"), "unassigned": gettext("Unassigned")}
