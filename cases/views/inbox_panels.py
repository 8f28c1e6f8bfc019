"""The inbox's two panels' fields, filters and bulk actions (jinja2/cases/inbox_panels.html): the
page prints them when filters are in use or a bulk action was sent, and cases:inbox_filters and
cases:bulk_fields answer them alone when a panel is opened. In Jinja2 because through Django's
engine the filter panel's fields were about a tenth of a filtered inbox's CPU (bench/page_cpu.py);
each field is cases.templatetags.case_display.field_block's markup, as the case page's.

The filter panel's markup is kept per process (filter_panel_html), keyed on everything it prints
from: the language, the values the form was given, the options of each list (every visible team
and person, root cause, theme, segment and survey, read by statements compiled once per process,
names included), the journey stages when one is given, and the page size. A field's errors follow
from those (a value is refused when no option offers it). Tuning the form's widgets and
rendering its 24 fields was about a quarter of a saved view's CPU (3 of 12 ms); a person opening
the same saved view again gets the kept markup. At most PANEL_CACHE_SIZE panels, oldest dropped
first; no customer's data is in a panel."""

from __future__ import annotations

import threading

from django import forms as django_forms
from django.db import router
from django.template import engines
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from cases.filtersets import panel_choices
from cases.templatetags.case_display import field_block
from core.compiled import compiled_values
from core.scopes import response_scope_choices
from core.widgets import remember_choice_widget
from surveys.models import Survey

PANEL_CACHE_SIZE = 512
# Parameters of the inbox the filter form never reads (the list's view, columns, panel, cursor).
NOT_READ = {"view", "columns", "panel", "after", "before"}
FILTER_LABELS = {
    "team": _("Team"), "assignee": _("Assignee"), "unassigned": _("Assigned or not"), "status": _("Status"),
    "priority": _("Priority"), "touchpoint": _("Touchpoint"), "location": _("Location or region"), "survey": _("Survey"),
    "root_cause": _("Root cause"), "created": _("Opened between"), "closed": _("Closed between"),
    "theme": _("Theme"), "sentiment": _("Comment sentiment"), "segment": _("Customer segment"),
    "journey_stage": _("Journey stage"),
}
_kept: dict = {}
_lock = threading.Lock()


def _macro(name: str):
    return getattr(engines["jinja2"].env.get_template("cases/inbox_panels.html").module, name)


def filter_fields_html(filterset, page_sizes, size) -> SafeString:
    return mark_safe(_macro("filter_fields")(filterset, page_sizes, size, field_block))  # escaped by Jinja2


def bulk_fields_html(bulk_form) -> SafeString:
    return mark_safe(_macro("bulk_fields")(bulk_form, field_block))  # escaped by Jinja2


def filter_panel_html(filterset, user, page_sizes, size) -> SafeString:
    """The filter panel's fields for `filterset`'s form as `user` sees them (tune_filter_form,
    then filter_fields_html), the markup kept per process (see above)."""
    form = filterset.form
    _label_choice_fields(form)
    choices = panel_choices(form, user)
    surveys = _surveys() if "survey" in form.fields else ()
    stages = tuple(response_scope_choices("journey_stage")) if form.data.get("journey_stage") else None
    data = tuple(sorted((key, tuple(values)) for key, values in form.data.lists() if key not in NOT_READ))
    key = (get_language(), data, tuple((name, tuple((str(value), str(label)) for value, label in options))
                                       for name, options in choices.items()), surveys, stages, tuple(page_sizes), size)
    html = _kept.get(key)
    if html is None:
        tune_filter_form(form, choices, surveys, stages)
        html = filter_fields_html(filterset, page_sizes, size)
        with _lock:
            while len(_kept) >= PANEL_CACHE_SIZE:
                _kept.pop(next(iter(_kept)), None)
            _kept[key] = html
    return html


def _surveys() -> tuple:
    """Every survey (id, name) by name, from a statement compiled once per process."""
    rows = compiled_values(("inbox.panel", "survey"), lambda a: Survey.objects.order_by("name").values("id", "name"), {},
                           using=router.db_for_read(Survey))
    return tuple((row["id"], row["name"]) for row in rows)


def _label_choice_fields(form) -> None:
    """What the options' words depend on: the theme's empty choice, people by their names."""
    if "theme" in form.fields:
        form.fields["theme"].empty_label = _("Any theme")
    if "assignee" in form.fields:
        form.fields["assignee"].label_from_instance = lambda user: user.display_name


def tune_filter_form(form, choices: dict, surveys: tuple, stages: tuple | None) -> None:
    """Friendlier widgets for the shared FilterSet's form (the filters themselves stay the API's):
    labels people use, checkboxes for short lists, names instead of ids, date pickers; the lists'
    options as `choices` (cases.filtersets.panel_choices), `surveys` and `stages` give them."""
    for name, label in FILTER_LABELS.items():
        if name in form.fields:
            form.fields[name].label = label
    # A bound field takes its field's label when made, and validating the form (the list, the
    # sort) made them: made again with these labels. (A filtered list printed django-filter's
    # own, "Unassigned", "[invalid name]", where the panel opened alone printed these.)
    form._bound_fields_cache.clear()
    for name in ("status", "priority", "team", "sentiment"):
        if name in form.fields:
            form.fields[name].widget = django_forms.CheckboxSelectMultiple(choices=form.fields[name].choices)
    if "segment" in form.fields:
        form.fields["segment"].widget = django_forms.SelectMultiple(attrs={"size": 3})
    if "survey" in form.fields:
        form.fields["survey"].widget = django_forms.Select(choices=[("", _("Any survey")), *surveys])
    if "journey_stage" in form.fields and stages is not None:  # shown only when set (the template)
        form.fields["journey_stage"].widget = django_forms.Select(choices=[("", _("Any stage")), *stages])
    if "unassigned" in form.fields:
        form.fields["unassigned"].widget = django_forms.Select(
            choices=[("", _("Either")), ("true", _("Only unassigned")), ("false", _("Only assigned"))]
        )
    for name in ("created", "closed"):
        if name in form.fields:
            field = form.fields[name]
            for widget, end in zip(field.widget.widgets, ("from", "to"), strict=False):
                widget.input_type = "date"
                widget.attrs["aria-label"] = f"{field.label}: {end}"
    # Every team, person, root cause, theme and segment as options, read by statements compiled once
    # per process (panel_choices), their HTML remembered per process (core.widgets).
    for name, options in choices.items():
        form.fields[name].widget.choices = list(options)
    for field in form.fields.values():
        remember_choice_widget(field)
