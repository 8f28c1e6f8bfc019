"""What an inbox row shows, worked out once per row in Python.

The fifty rows were most of the inbox page's template time: each resolved the same attribute
chains, reversed a URL and ran two template tags. `inbox_rows` computes a row's words and links
in one pass over the page (no queries: every value comes from the page's one select_related
query), and jinja2/cases/inbox_rows.html only prints them. The case page and the API keep
reading the case itself.

    inbox_rows(cases, now, columns) -> [InboxRow]
    render_rows(rows, columns) -> SafeString   # the table rows, jinja2/cases/inbox_rows.html
    page_rows_html(values, names, now, columns, using) -> SafeString   # the same, rows remembered

`page_rows_html` is what the inbox page uses: each row's markup is kept per process, keyed on
everything it prints from (the row's values as the list query read them, the language, the
zone, the columns, the case page's address), with the parts that change with the clock alone
(the SLA level, icon and words, the age, the due moment) left as holes filled in on every view.

`columns` (cases.columns.ColumnChoice) says which optional columns the table shows: a column
nobody chose costs no formatting (dates, money), and none costs a query.

The rows are rendered with Jinja2 (as the rest of the inbox's content): Django's engine spent about
5.6 ms of CPU on fifty rows, Jinja2 1.2 ms, measured with the same rows (docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter
from urllib.parse import quote

from markupsafe import escape  # as Jinja2 escapes (Django's escape writes ' differently)

from django.db import connections
from django.db.models import JSONField
from django.template import engines
from django.urls import get_script_prefix, reverse
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from cases.columns import DEFAULT_COLUMNS, ColumnChoice
from cases.models import Case
from cases.sla import PageWords, SlaState, humanize_duration, sla_state
from core.compiled import Raw
from core.l10n import iso, when
from core.lean import lean_instances
from core.process_cache import ProcessCache
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
    assignee and alert__rule loaded with the cases (cases.views.inbox_lists.row_queryset)."""
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


# --- rows remembered per process -----------------------------------------------------------------
#
# A row's markup is a function of the values the list query read for it (the case's own columns,
# its response, customer, team, assignee and alert rule: cases.views.inbox_lists.row_fields), the
# viewer's language and zone, the columns shown, the address prefix, and the clock. The key holds
# all of them but the clock, whatever they are (no version to forget to bump: a renamed customer
# or an erased one reads other values, so another key). What the clock alone changes is a hole in
# the kept markup, worked out on every view: the SLA level (the row's class and the SLA cell), its
# icon and words, the age, and the due moment (the clock that runs out next depends on the time).
# Whether there is a due moment at all does not: only a closed case has none, and the status is
# in the key.
#
# Memory: at most ROW_CACHE_SIZE rows per process, the oldest dropped first; an erasure
# (privacy.services.customer_erase) empties every process's rows (forget_rows), so erased words
# are never kept past the next check of the shared version (ROW_CACHE_CHECK seconds) even in
# memory; they are never shown in any case, the key being the current values.

ROW_CACHE_SIZE = 4096
ROW_CACHE_CHECK = 2.0
_HOLE = "\x00"
_HOLES = {"level": f"{_HOLE}L{_HOLE}", "icon": f"{_HOLE}I{_HOLE}", "label": f"{_HOLE}S{_HOLE}",
          "age": f"{_HOLE}A{_HOLE}", "due": f"{_HOLE}D{_HOLE}", "due_iso": f"{_HOLE}O{_HOLE}"}
_SPLIT = re.compile(f"{_HOLE}([LISADO]){_HOLE}")
_HASHABLE = (str, int, float, Decimal, dt.datetime, dt.date, type(None), bool)
_store = ProcessCache("cases:inbox_rows:version", dict, check_seconds=lambda: ROW_CACHE_CHECK,
                      what="inbox rows")
_lock = threading.Lock()
_MISSING = object()


def forget_rows() -> None:
    """Every process drops its kept rows (this one now, the others on their next check)."""
    _store.changed()


class _Clock:
    """What sla_state reads of a case, from the row's values."""

    __slots__ = ("status", "first_contacted_at", "first_contact_due", "resolution_due")

    def __init__(self, row: dict):
        self.status = row["status"]
        self.first_contacted_at = row["first_contacted_at"]
        self.first_contact_due = row["first_contact_due"]
        self.resolution_due = row["resolution_due"]


def _frozen(value):
    return value if isinstance(value, _HASHABLE) else repr(value)


@lru_cache(maxsize=16)
def _json_fields(names: tuple[str, ...]) -> dict:
    """The names among `names` whose fields read JSON, with their fields."""
    fields = {}
    for name in names:
        model, *path, last = (Case, *name.split("__"))
        for part in path:
            model = model._meta.get_field(part).related_model
        field = next((f for f in model._meta.concrete_fields if last in (f.name, f.attname)), None)
        if isinstance(field, JSONField):
            fields[name] = field
    return fields


def json_names(names) -> frozenset[str]:
    """The row's JSON columns: a compiled list query may hand them over undecoded
    (core.compiled's `raw`), and page_rows_html decodes them only for a row it has not kept."""
    return frozenset(_json_fields(tuple(names)))


@lru_cache(maxsize=16)
def _getters(names: tuple[str, ...]):
    """Two getters of a row's values: the names whose fields read hashable values, and those
    whose fields read JSON (dicts, lists: kept in the key by their repr; as sent, by their text)."""
    json = _json_fields(names)
    return _tuple_getter([name for name in names if name not in json]), _tuple_getter(list(json))


def _tuple_getter(names: list[str]):
    if not names:
        return lambda row: ()
    getter = itemgetter(*names)
    return getter if len(names) > 1 else (lambda row: (getter(row),))


def _json_key(value) -> tuple:
    return ("sent", str(value)) if type(value) is Raw else ("read", repr(value))


def _key(context: tuple, row: dict, getters) -> tuple:
    """The row's key: its values as read (JSON by its text as sent, or by its repr once decoded;
    any other unhashable value by its repr)."""
    plain, json = getters
    key = (context, plain(row), tuple(map(_json_key, json(row))))
    try:
        hash(key)
    except TypeError:
        key = (context, tuple(map(_frozen, plain(row))), key[2])
    return key


def _decoded(row: dict, names: tuple[str, ...], using: str) -> dict:
    """The row with its JSON as Django converts it (a value still as sent: core.compiled.Raw)."""
    sent = {name: field for name, field in _json_fields(names).items() if type(row[name]) is Raw}
    if not sent:
        return row
    connection = connections[using]
    return {**row, **{name: field.from_db_value(str(row[name]), None, connection) for name, field in sent.items()}}


def _parts(row: dict, names: tuple[str, ...], now: dt.datetime, columns: ColumnChoice, using: str) -> tuple | None:
    """The row's markup split at its holes: static text at even places, hole letters at odd.
    None for a row whose own text holds the holes' mark (NUL: not in PostgreSQL's text, possible
    in SQLite's), which is then rendered whole on every view."""
    row = _decoded(row, names, using)
    if any(isinstance(value, str) and _HOLE in value for value in row.values()):
        return None
    case = lean_instances(Case, [row], names, using=using)[0]
    line = inbox_rows([case], now, columns)[0]
    holes = {"sla": SlaState(_HOLES["label"], _HOLES["level"], line.sla.due), "sla_icon": _HOLES["icon"]}
    if line.age:
        holes["age"] = _HOLES["age"]
    if line.due:
        holes.update(due=_HOLES["due"], due_iso=_HOLES["due_iso"])
    return tuple(_SPLIT.split(str(render_rows([replace(line, **holes)], columns))))


def _whole(row: dict, names: tuple[str, ...], now: dt.datetime, columns: ColumnChoice, using: str) -> str:
    row = _decoded(row, names, using)
    return str(render_rows(inbox_rows(lean_instances(Case, [row], names, using=using), now, columns), columns))


def page_rows_html(rows: list[dict], names, now: dt.datetime, columns: ColumnChoice = _DEFAULT,
                   using: str = "default") -> SafeString:
    """The page's <tr> rows, as render_rows(inbox_rows(...)) writes them for these values at
    `now`, each row's markup kept per process (see above) and its clock holes filled in. A JSON
    value may be as the database sent it (core.compiled.Raw): decoded only for a row not kept."""
    names = tuple(names)
    getters = _getters(names)
    kept = _store.get()
    context = (translation.get_language(), timezone.get_current_timezone_name(), columns.shown, get_script_prefix())
    words = PageWords()
    age, due = "age" in columns, "due" in columns
    out = []
    for row in rows:
        key = _key(context, row, getters)
        parts = kept.get(key, _MISSING)
        if parts is _MISSING:
            parts = _parts(row, names, now, columns, using)
            with _lock:
                if len(kept) >= ROW_CACHE_SIZE:
                    kept.pop(next(iter(kept)), None)
                kept[key] = parts
        if parts is None:
            out.append(_whole(row, names, now, columns, using))
            continue
        state = sla_state(_Clock(row), now=now, words=words)
        live = {"L": state.level, "I": SLA_ICONS.get(state.level, "•"), "S": escape(state.label)}
        if age:
            live["A"] = escape(humanize_duration(now - row["created_at"], words))
        if due and state.due is not None:
            live.update(D=escape(when(state.due)), O=escape(iso(state.due)))
        out.append("".join(part if index % 2 == 0 else live[part] for index, part in enumerate(parts)))
    return mark_safe("".join(out))
