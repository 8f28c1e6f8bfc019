"""What a timeline entry shows on the case page, worked out once per event in Python.

The timeline was the case page's one loop through Django's template engine: per event a sentence
(case_display.describe), two date filters, the kind's label and three conditions, a fifth of the
page's Python calls with 30 events. `timeline_items` computes each entry's words and dates in one
pass (no queries: the events come with their actors) and jinja2/cases/timeline_items.html only
prints them, as cases.rows does for the inbox's rows. Words are built here with gettext, so the
Jinja2 template holds no text of its own to translate.

    timeline_items(events) -> [TimelineItem]
    render_timeline(events) -> SafeString        # the <li> of each event, newest first as given

An entry's markup is kept per process (render_timeline): it is a function of the event's own
columns, its actor's names, the viewer's language and zone, and nothing else (no clock: "Thu 3
Dec, 14:05", never "2 h ago"), and all of them are its key, whatever they are: a renamed actor
or an event rewritten by an erasure reads other values, so another key. At most
TIMELINE_CACHE_SIZE entries a process, the oldest dropped first; an erasure empties every
process's entries (forget_entries, privacy.services.customer_erase) within TIMELINE_CACHE_CHECK
seconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.db.models import JSONField
from django.template import engines
from django.utils import timezone, translation
from django.template.defaultfilters import filesizeformat, linebreaksbr
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from cases.models import Case, CaseEvent
from cases.timeline import describe_event, event_note
from core.l10n import iso, when
from core.process_cache import ProcessCache

# The kinds' labels by value (get_kind_display() flattens and hashes the choices on every call).
KIND_LABELS = dict(CaseEvent.Kind.choices)


@dataclass(frozen=True, slots=True)
class TimelineItem:
    kind: str
    head: str  # "Bob Smith claimed this case"
    iso: str  # the <time datetime=...>, in the current time zone as the date filter gives it
    when: str  # "Thu 3 Dec, 14:05"
    kind_label: str
    details: tuple[str, ...]  # "Root cause: ...", "Subject: ..."
    note_html: SafeString | None  # the note, escaped, line breaks as <br>
    attachments: tuple[str, ...] = ()  # an e-mail reply's attachments, listed, not stored: "a.pdf (application/pdf, 2.0 KB)"


def event_sentence(event) -> str:
    """A timeline line a person can read: "Bob Smith claimed this case" (the `describe` filter)."""
    if event.kind == CaseEvent.Kind.OPENED:
        if event.to_value:
            return gettext("Case opened for %(team)s") % {"team": event.to_value}
        return gettext("Case opened")
    if event.kind == CaseEvent.Kind.STATUS:
        who = event.actor.display_name if event.actor_id and event.actor else "Closeloop"
        labels = dict(Case.Status.choices)
        old, new = labels.get(event.from_value, event.from_value), labels.get(event.to_value, event.to_value)
        return gettext("%(who)s moved it from %(old)s to %(new)s") % {
            "who": who, "old": str(old).lower(), "new": str(new).lower()}
    return describe_event(event)


def timeline_items(events) -> list[TimelineItem]:
    items = []
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        details = []
        if event.kind == CaseEvent.Kind.CLOSED and data.get("root_cause"):
            details.append(gettext("Root cause: %(cause)s") % {"cause": data["root_cause"]})
        if data.get("subject"):
            details.append(gettext("Subject: %(subject)s") % {"subject": data["subject"]})
        note = event_note(event)
        items.append(TimelineItem(
            kind=event.kind,
            head=event_sentence(event),
            iso=iso(event.created_at),
            when=when(event.created_at),
            kind_label=str(KIND_LABELS.get(event.kind, event.kind)),
            details=tuple(details),
            note_html=linebreaksbr(note, autoescape=True) if note else None,
            attachments=tuple(
                f"{a.get('name', '')} ({a.get('type', '')}, {filesizeformat(a.get('size', 0))})"
                for a in data.get("attachment_names") or () if isinstance(a, dict)
            ),
        ))
    return items


def _render(events) -> SafeString:
    template = engines["jinja2"].get_template("cases/timeline_items.html")
    return mark_safe(template.render({"items": timeline_items(events)}))


TIMELINE_CACHE_SIZE = 8192
TIMELINE_CACHE_CHECK = 2.0
_kept = ProcessCache("cases:timeline_entries:version", dict, check_seconds=lambda: TIMELINE_CACHE_CHECK,
                     what="timeline entries")
_lock = threading.Lock()
# The event's columns, JSON ones (data) by their repr; then the actor's names (case_events reads them).
_ATTNAMES = tuple(field.attname for field in CaseEvent._meta.concrete_fields if not isinstance(field, JSONField))
_JSON_ATTNAMES = tuple(field.attname for field in CaseEvent._meta.concrete_fields if isinstance(field, JSONField))


def forget_entries() -> None:
    """Every process drops its kept entries (this one now, the others on their next check)."""
    _kept.changed()


def _key(context: tuple, event) -> tuple:
    values = event.__dict__
    actor = event.actor if event.actor_id else None
    return (context, tuple(values[name] for name in _ATTNAMES), tuple(repr(values[name]) for name in _JSON_ATTNAMES),
            (actor.first_name, actor.last_name, actor.username) if actor is not None else None)


def render_timeline(events) -> SafeString:
    """The <li> of each event (Jinja2 escapes every value: autoescape is on), each entry's
    markup kept per process (above)."""
    kept = _kept.get()
    context = (translation.get_language(), timezone.get_current_timezone_name())
    out = []
    for event in events:
        try:
            key = _key(context, event)
            html = kept.get(key)
        except (KeyError, TypeError):  # a column not loaded, or a value that does not hash: rendered as before
            out.append(_render([event]))
            continue
        if html is None:
            html = str(_render([event]))
            with _lock:
                if len(kept) >= TIMELINE_CACHE_SIZE:
                    kept.pop(next(iter(kept)), None)
                kept[key] = html
        out.append(html)
    return mark_safe("".join(out))
