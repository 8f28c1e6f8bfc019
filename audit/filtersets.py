"""AuditEntryFilterSet: the filters of the audit page (/settings/audit/), its CSV export and
/api/v1/audit/: actor (user name, or `system` / `command <name>`), actor_id, object type
(`app_label.model`, e.g. alerts.alertrule), action (create, update, delete, sign_in, ...),
date_from / date_to (inclusive, in UTC)."""

from __future__ import annotations

import django_filters
from auditlog.registry import auditlog
from django import forms
from django.apps import apps
from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEntry

# The API's enum (settings ENUM_NAME_OVERRIDES "AuditActionEnum"): the names, the same in every language.
ACTIONS = [(name, name) for name in AuditEntry.Action.names.values()]


def action_choices() -> list[tuple[str, str]]:
    """The actions by name, labelled in the reader's language (called per form, not at import)."""
    labels = dict(AuditEntry.Action.choices)
    return [(name, str(labels[value])) for value, name in AuditEntry.Action.names.items()]
BIGINT_MAX = 2**63 - 1


def object_type_choices() -> list[tuple[str, str]]:
    """Every kind of object an entry can be about: the tracked models and the models events name."""
    found = set(auditlog.get_models())
    for label in getattr(settings, "AUDIT_EVENT_MODELS", ()):
        found.add(apps.get_model(label))
    # Model names read through the catalogue where it has them ("SLA policy"); the models' own
    # verbose names are not marked (marking them rewrites every app's migrations).
    choices = {f"{m._meta.app_label}.{m._meta.model_name}": gettext(str(m._meta.verbose_name)) for m in found}
    return sorted(choices.items(), key=lambda item: item[1])


class ActorIdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=BIGINT_MAX, **kwargs)


class AuditEntryFilterSet(django_filters.FilterSet):
    actor = django_filters.CharFilter(method="filter_actor", max_length=150, label=_("Actor"))
    actor_id = ActorIdFilter(field_name="actor_id", label=_("Actor's user id"))
    object_type = django_filters.ChoiceFilter(choices=object_type_choices, method="filter_object_type",
                                              label=_("Object type"), empty_label=_("Any type"))
    action = django_filters.ChoiceFilter(choices=action_choices, method="filter_action", label=_("Action"),
                                         empty_label=_("Any action"))
    date_from = django_filters.DateFilter(field_name="timestamp", lookup_expr="date__gte", label=_("From"),
                                          widget=forms.DateInput(attrs={"type": "date"}))
    date_to = django_filters.DateFilter(field_name="timestamp", lookup_expr="date__lte", label=_("To"),
                                        widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = AuditEntry
        fields = ["actor", "actor_id", "object_type", "action", "date_from", "date_to"]

    def filter_actor(self, queryset, name, value: str):
        value = value.strip()
        return queryset.filter(Q(actor_username__iexact=value) | Q(actor_username="", via__iexact=value))

    def filter_object_type(self, queryset, name, value: str):
        app_label, _, model = value.partition(".")
        return queryset.filter(content_type__app_label=app_label, content_type__model=model)

    def filter_action(self, queryset, name, value: str):
        number = {v: k for k, v in AuditEntry.Action.names.items()}[value]
        return queryset.filter(action=number)
