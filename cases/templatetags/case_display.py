"""How a case reads at a glance: the score in words, the comment's first line, the SLA state.

Presentation only (no queries): every value comes from rows the view already loaded."""

from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from cases.rows import PRIORITY_ICONS, SLA_ICONS, first_line, money
from surveys.vocabulary import ScoreDisplay, response_scores

register = template.Library()


@register.simple_tag
def all_scores(response) -> list[ScoreDisplay]:
    return response_scores(response)


first_line = register.filter("first_line", first_line)


@register.simple_tag(takes_context=True)
def sla(context, case):
    """`{% sla case as state %}`: cases.sla.sla_state at the page's single `now`."""
    from cases.sla import sla_state

    now = context.get("now") or timezone.now()
    return sla_state(case, now=now)


@register.filter
def reason_texts(reasons) -> list[str]:
    """An alert's reasons (stored as codes) in the reader's language: "NPS 2 is at most 6"."""
    from alerts.reasons import describe_reasons

    return describe_reasons(reasons)


@register.filter
def event_note(event) -> str:
    """The note under a timeline line: typed by a person, or said by the product in the reader's language."""
    from cases.timeline import event_note as note

    return note(event)


@register.filter
def describe(event) -> str:
    """A timeline line a person can read: "Bob Smith claimed this case"."""
    from cases.timeline_rows import event_sentence

    return event_sentence(event)


@register.simple_tag
def timeline_items(events):
    """`{% timeline_items events %}`: the timeline's entries (cases.timeline_rows, Jinja2)."""
    from cases.timeline_rows import render_timeline

    return render_timeline(events)


@register.filter
def sla_icon(level: str) -> str:
    return SLA_ICONS.get(level, "•")


@register.filter
def priority_icon(priority: str) -> str:
    return PRIORITY_ICONS.get(priority, "")


register.filter("money", money)


@dataclass(frozen=True)
class ClockDisplay:
    label: str  # "due in 2 hours, 10 minutes", "met, 40 minutes early", "missed by 1 hour"
    level: str  # "ok", "due_soon", "overdue" or "closed" (the same colours and icons as the SLA badge)


@register.simple_tag(takes_context=True)
def clock(context, due, done_at=None, stopped_at=None):
    """`{% clock case.first_contact_due case.first_contacted_at case.closed_at as first %}`: one SLA
    clock in words. `done_at` met it; `stopped_at` (the case closed) stops it without meeting it."""
    from cases.sla import DUE_SOON, humanize_duration

    now = context.get("now") or timezone.now()
    if due is None:
        return ClockDisplay(gettext("no target"), "ok")
    if done_at is not None:
        if done_at <= due:
            return ClockDisplay(gettext("met, %(duration)s early") % {"duration": humanize_duration(due - done_at)}, "ok")
        return ClockDisplay(gettext("missed by %(duration)s") % {"duration": humanize_duration(done_at - due)},
                            "overdue")
    if stopped_at is not None:
        return ClockDisplay(gettext("stopped: the case was closed"), "closed")
    if due <= now:
        return ClockDisplay(gettext("overdue by %(duration)s") % {"duration": humanize_duration(now - due)}, "overdue")
    return ClockDisplay(gettext("due in %(duration)s") % {"duration": humanize_duration(due - now)},
                        "due_soon" if due - now <= DUE_SOON else "ok")


# The case page's action forms print about fifteen fields, the inbox's filter and bulk panels a
# dozen more; through an included field template each cost a template context, an include and a
# dozen variable lookups. These write the markup in Python (the Jinja2 templates call them too).

_ERROR_ITEM = '<span aria-hidden="true">✖ </span>{} '


@register.simple_tag
def field_block(field) -> SafeString:
    """`{% field_block form.note %}`: one form field: label (a legend for a group), help, input,
    and its errors right after it (tied by aria-describedby)."""
    errors = field.errors
    help_html = (format_html('<p class="help" id="{}-help">{}</p>', field.auto_id, field.help_text)
                 if field.help_text else "")
    errors_html = (format_html('<p class="field-error" id="{}-error">{}</p>', field.auto_id,
                               format_html_join("", _ERROR_ITEM, ((error,) for error in errors)))
                   if errors else "")
    css = " has-error" if errors else ""
    if field.use_fieldset:
        return format_html('<fieldset class="field field-group{}">\n  <legend>{}</legend>\n  {}\n  {}\n  {}\n</fieldset>',
                           css, field.label, help_html, field, errors_html)
    return format_html('<div class="field{}">\n  <label for="{}">{}</label>\n  {}\n  {}\n  {}\n</div>',
                       css, field.id_for_label, field.label, help_html, field, errors_html)


@register.simple_tag
def form_errors(form) -> SafeString:
    """`{% form_errors form %}`: the form's own errors (not a field's); the inbox's bulk form's too
    (cases.views.inbox, for its Jinja2 template)."""
    errors = form.non_field_errors() if form is not None else ()
    if not errors:
        return ""
    return format_html('<div class="form-error" role="alert">{}</div>', format_html_join(
        "", '<p><span aria-hidden="true">✖ </span>{}</p>', ((error,) for error in errors)))
