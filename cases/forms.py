"""Forms for the inbox and the case page. They only parse and validate input; every change is
made by cases.services, whose ValidationError messages land next to the fields named here.

Every case form carries the case `version` the person was looking at, so a stale edit becomes
a CaseConflict instead of silently overwriting someone else's change."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils.functional import cached_property
from django.db import router
from django.utils.translation import gettext_lazy as _
from django.forms.renderers import Jinja2 as Jinja2Renderer

from accounts.models import Membership, Priority, Team
from core.compiled import compiled_values
from core.lean import lean_instances
from core.widgets import RememberedHiddenInput, RememberedSelect, RememberedTextarea, RememberedTextInput
from cases.models import Case, ContactChannel, ContactOutcome, EmailTemplate, RootCause


def root_cause_choices(causes=None) -> list:
    """Active root causes grouped by category (rendered as <optgroup>s), in taxonomy order.
    `causes` (cases.suggest.active_root_causes()) saves the query when the caller has them."""
    groups: dict[str, list] = {}
    if causes is None:
        causes = RootCause.objects.filter(active=True, category__active=True).select_related("category")
        causes = causes.order_by("category__order", "category__name", "name")
    else:
        causes = causes.values()
    for cause in causes:
        groups.setdefault(cause.category.name, []).append((cause.pk, cause.name))
    return [("", _("Choose a root cause…")), *groups.items()]


SUGGESTIONS_SALT = "cases.close.suggestions"


def sign_offered(offered: list[dict]) -> str:
    """The suggestions the close form showed, signed, so the acceptance rate counts what the
    server offered rather than what a browser claims it was offered."""
    return signing.dumps(offered, salt=SUGGESTIONS_SALT, compress=True) if offered else ""


def read_offered(value: str) -> list[dict]:
    """The signed suggestions back; a missing or tampered value means "nothing was offered"."""
    return verify_offered(value) or []


def verify_offered(value: str) -> list[dict] | None:
    """The signed suggestions back; [] for none, None when the value is not one this server signed."""
    if not value:
        return []
    try:
        offered = signing.loads(value, salt=SUGGESTIONS_SALT)
    except signing.BadSignature:
        return None
    return offered if isinstance(offered, list) else None


def assignee_choices(team_ids) -> list:
    """Members of the given teams, grouped by team; the value is "<team id>:<user id>" so one
    choice says both who and which inbox."""
    groups: dict[str, list] = {}
    # Read as values and built by core.lean (each membership with its user and team as
    # select_related would give them): a team's people cost a model instance of three tables each.
    # The statement compiled once per process for a number of teams (core.compiled).
    teams = tuple(team_ids)
    using = router.db_for_read(Membership)
    rows = compiled_values(("cases.assignee_choices", len(teams)), _assignee_query, {"teams": teams}, using=using)
    for m in lean_instances(Membership, rows, _ASSIGNEE_FIELDS, using=using):
        label = m.user.display_name + (" " + str(_("(away)")) if m.user.is_away else "")
        groups.setdefault(m.team.name, []).append((f"{m.team_id}:{m.user_id}", label))
    return [("", _("Choose a person…")), *groups.items()]


_ASSIGNEE_FIELDS = ("team_id", "user_id", "team__name", "user__first_name", "user__last_name", "user__username",
                    "user__is_away")


def _assignee_query(args: dict):
    return (Membership.objects.filter(team_id__in=args["teams"], user__is_active=True)
            .order_by("team__name", "user__first_name", "user__username").values(*_ASSIGNEE_FIELDS))


def _teams_query(args: dict):
    return Team.objects.filter(pk__in=args["teams"]).values("id", "name")


def parse_assignee(value: str) -> tuple[int, int]:
    team_id, user_id = value.split(":", 1)
    return int(team_id), int(user_id)


class WidgetRenderer(Jinja2Renderer):
    """Django's Jinja2 form renderer (Django's own widget templates), also finding the project's
    jinja2/ directory: django-filter's range widget has a template for Django's engine only
    (jinja2/django_filters/widgets/multiwidget.html is its Jinja2 copy)."""

    @cached_property
    def engine(self):
        return self.backend({"APP_DIRS": True, "NAME": "djangoforms", "OPTIONS": {},
                             "DIRS": [Path(forms.__file__).parent / "jinja2", settings.BASE_DIR / "jinja2"]})


# One renderer (and so one Jinja2 environment with its compiled templates) for every case form
# and the inbox's filter form (cases.filtersets.FilterForm).
WIDGET_RENDERER = WidgetRenderer()


class CaseForm(forms.Form):
    """Base for every action on one case: the version the page showed, and no HTML `required`
    (the server's message, next to the field, is the one people see).

    The widgets render through Django's own Jinja2 widget templates (django/forms/jinja2/): the
    case page shows about twenty of them (selects of root causes, people, channels, outcomes),
    and through Django's template engine their options were a fifth of the page's Python calls
    (docs/benchmarks_inbox.md, "Case page CPU"). Same HTML; labels, help and errors are
    cases.templatetags.case_display.field_block's."""

    default_renderer = WIDGET_RENDERER
    use_required_attribute = False
    version = forms.IntegerField(widget=RememberedHiddenInput, min_value=1)

    def __init__(self, *args, form_id: str, **kwargs):
        kwargs.setdefault("auto_id", f"{form_id}-%s")
        super().__init__(*args, **kwargs)

    def add_service_error(self, error: ValidationError, aliases: dict[str, str] | None = None) -> None:
        """Put a service's ValidationError next to the fields it names (the rest on top)."""
        aliases = aliases or {}
        if hasattr(error, "error_dict"):
            for field, messages in error.message_dict.items():
                field = aliases.get(field, field)
                self.add_error(field if field in self.fields and field != "version" else None, messages)
        else:
            self.add_error(None, error.messages)

    def full_clean(self):
        super().full_clean()
        self.describe_errors()

    def add_error(self, field, error):
        super().add_error(field, error)
        self.describe_errors()

    def describe_errors(self) -> None:
        """Tie each error to its input for screen readers (aria-invalid + aria-describedby)."""
        for name in getattr(self, "_errors", None) or {}:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"{self[name].auto_id}-error"


class EmptyCaseForm(CaseForm):
    """Claim and start: nothing to fill in but the version."""


class ContactForm(CaseForm):
    """A contact attempt. Nothing is chosen in advance: a pre-set "Phone / Reached" got logged
    unread and stopped the first-contact clock for calls nobody answered."""

    channel = forms.ChoiceField(
        label=_("Channel"), widget=RememberedSelect,
        choices=[("", _("Choose a channel…")), *ContactChannel.choices],
        error_messages={"required": _("Choose how you tried to reach the customer.")},
    )
    outcome = forms.ChoiceField(
        choices=[("", _("Choose what happened…")), *ContactOutcome.choices], label=_("What happened"),
        widget=RememberedSelect,
        error_messages={"required": _("Choose what happened (reached, voicemail, no answer…).")},
    )
    note = forms.CharField(widget=RememberedTextarea(attrs={"rows": 2}), required=False, label=_("Note (optional)"))


class NoteForm(CaseForm):
    note = forms.CharField(
        label=_("Note"),
        widget=RememberedTextarea(attrs={"rows": 3}), error_messages={"required": _("Write the note first.")}
    )


class PriorityForm(CaseForm):
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, widget=RememberedSelect)


class AssignForm(CaseForm):
    """Reassign to a person (in their team) or hand the case to another team's unassigned queue."""

    assignee = forms.ChoiceField(required=False, label=_("Person"), widget=RememberedSelect)
    team = forms.TypedChoiceField(coerce=int, required=False, label=_("Or another team's queue"), empty_value=None,
                                  widget=RememberedSelect)

    def __init__(self, *args, team_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = assignee_choices(team_ids)
        teams = tuple(team_ids)
        rows = compiled_values(("cases.assign_teams", len(teams)), _teams_query, {"teams": teams},
                               using=router.db_for_read(Team))
        self.fields["team"].choices = [("", _("Keep the current team")), *((row["id"], row["name"]) for row in rows)]

    def clean(self):
        data = super().clean()
        if not data.get("assignee") and not data.get("team"):
            raise ValidationError(_("Choose a person or a team."))
        return data

    def service_kwargs(self) -> dict:
        if self.cleaned_data.get("assignee"):
            team_id, user_id = parse_assignee(self.cleaned_data["assignee"])
            return {"assignee": user_id, "team": team_id}
        return {"assignee": None, "team": self.cleaned_data["team"]}


class EmailForm(CaseForm):
    """An e-mail to the customer, optionally started from an admin-written template (the
    "Fill in" button, or choosing one with JavaScript on, fills subject and body to edit)."""

    template = forms.ModelChoiceField(
        queryset=EmailTemplate.objects.filter(active=True), required=False, empty_label=_("Write from scratch"),
        label=_("Start from a template"),
    )
    customer_language = ""  # the customer's, when known: templates in it and in none
    subject = forms.CharField(label=_("Subject"), max_length=255, error_messages={"required": _("Write a subject.")},
                              widget=RememberedTextInput)
    body = forms.CharField(widget=RememberedTextarea(attrs={"rows": 8}), label=_("Message"),
                           error_messages={"required": _("Write the message.")})

    def __init__(self, *args, language: str = "", **kwargs):
        """`language`: the customer's (accounts.preferences.customer_language); the templates
        offered are those written in it and those for every customer."""
        super().__init__(*args, **kwargs)
        if language:
            self.customer_language = language
            self.fields["template"].queryset = _email_templates(language)

    def template_options(self) -> list[tuple]:
        """The template select's options, (value, label), in one query: the page's loop over the
        field's own choices counted them first (a COUNT) and then read them through a
        server-side cursor (ModelChoiceIterator). The field's own queryset, read by a statement
        compiled once per process (core.compiled) for the names only."""
        field = self.fields["template"]
        empty = [("", field.empty_label)] if field.empty_label is not None else []
        using = router.db_for_read(EmailTemplate)
        args = {"language": self.customer_language} if self.customer_language else {}
        rows = compiled_values(("cases.email_templates", bool(self.customer_language)), _email_templates_query, args, using=using)
        templates = lean_instances(EmailTemplate, rows, ("id", "name"), using=using)
        return [*empty, *((t.pk, field.label_from_instance(t)) for t in templates)]


def _email_templates(language: str = ""):
    """The active templates offered for a customer in `language` (every one without a language)."""
    templates = EmailTemplate.objects.filter(active=True)
    return templates.filter(language__in=[language, ""]) if language else templates


def _email_templates_query(args: dict):
    return _email_templates(args.get("language", "")).values("id", "name")


class CloseForm(CaseForm):
    """Closure, with the root causes the classifier suggests (cases.suggest) shown above the select
    as one-tap choices; `suggested` carries what was offered so the service records whether the
    person took one."""

    ERROR_ALIASES = {"root_cause_id": "root_cause"}
    root_cause = forms.TypedChoiceField(
        label=_("Root cause"), widget=RememberedSelect,
        coerce=int, empty_value=None, error_messages={"required": _("Choose a root cause.")}
    )
    suggested = forms.CharField(widget=forms.HiddenInput, required=False)
    resolution = forms.CharField(
        widget=RememberedTextarea(attrs={"rows": 3}),
        label=_("Resolution: what was done"),
        error_messages={"required": _("Say what was done for the customer.")},
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), widget=RememberedSelect,
        choices=[("", _("Choose an outcome…")), *Case.Outcome.choices],
        error_messages={"required": _("Choose an outcome.")},
    )
    prevention = forms.CharField(
        widget=RememberedTextarea(attrs={"rows": 2}),
        required=False,
        label=_("How could this be prevented? (optional)"),
    )

    def __init__(self, *args, causes=None, suggestions=(), playbooks_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.causes = causes
        self.fields["root_cause"].choices = root_cause_choices(causes)
        if suggestions:
            self.initial["suggested"] = sign_offered([s.as_offered() for s in suggestions])
        if playbooks_url:  # choosing a cause shows its playbook (HTMX), before closing
            self.fields["root_cause"].widget.attrs.update({
                "hx-get": playbooks_url, "hx-trigger": "change", "hx-target": "#case-playbooks",
                "hx-swap": "outerHTML", "hx-sync": "this:replace",
            })

    def offered(self) -> list[dict]:
        """What the form offered ([{"root_cause_id", "confidence"}], best first)."""
        value = self.data.get("suggested", "") if self.is_bound else self.initial.get("suggested", "")
        return read_offered(value)

    def suggestion_choices(self) -> list[dict]:
        """The offered causes that can still be chosen, for the one-tap buttons."""
        causes = self.causes
        if causes is None:
            ids = [item.get("root_cause_id") for item in self.offered()]
            causes = RootCause.objects.filter(pk__in=ids, active=True, category__active=True).select_related(
                "category").in_bulk()
        choices = []
        for item in self.offered():
            cause = causes.get(item.get("root_cause_id"))
            if cause is not None:
                choices.append({"root_cause": cause, "percent": round(float(item.get("confidence", 0)) * 100)})
        return choices


class ReopenForm(CaseForm):
    reason = forms.CharField(
        widget=RememberedTextarea(attrs={"rows": 2}),
        label=_("Why reopen?"),
        error_messages={"required": _("Say why the case is reopened.")},
    )


class SelectedRowsField(forms.MultipleChoiceField):
    """The checked rows. Any value parses here: the view re-scopes the ids through the
    visibility selector, so a forged id is reported as "not found", never acted on."""

    def valid_value(self, value) -> bool:
        return True


class BulkForm(forms.Form):
    """One action over the selected rows. Each selected value is "<case id>:<version>" so a row
    changed since the list was shown is reported as a conflict, not overwritten."""

    use_required_attribute = False
    ACTIONS = [("assign", _("Assign")), ("priority", _("Change priority")), ("close", _("Close"))]

    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    cases = SelectedRowsField(error_messages={"required": _("Select at least one case.")})
    assignee = forms.ChoiceField(required=False, label=_("Assign to"))
    priority = forms.ChoiceField(label=_("Priority"), choices=[("", _("Choose a priority…")), *Priority.choices], required=False)
    root_cause = forms.TypedChoiceField(label=_("Root cause"), coerce=int, empty_value=None, required=False)
    resolution = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Resolution"))
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", _("Choose an outcome…")), *Case.Outcome.choices], required=False)
    prevention = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Prevention (optional)"))
    # The team the person agreed to move the selected cases to (asked when an assignment would).
    confirm_team_move = forms.IntegerField(required=False, widget=forms.HiddenInput)

    REQUIRED = {
        "assign": {"assignee": _("Choose who gets the cases.")},
        "priority": {"priority": _("Choose a priority.")},
        "close": {
            "root_cause": _("Choose a root cause."),
            "resolution": _("Say what was done for the customers."),
            "outcome": _("Choose an outcome."),
        },
    }

    def __init__(self, *args, team_ids=(), **kwargs):
        kwargs.setdefault("auto_id", "bulk-%s")
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = assignee_choices(team_ids)
        self.fields["root_cause"].choices = root_cause_choices()

    def clean_cases(self) -> list[tuple[int, int]]:
        selected = []
        for value in self.cleaned_data["cases"]:
            try:
                case_id, version = (int(part) for part in value.split(":", 1))
            except ValueError:
                raise ValidationError(_("A selected row could not be read; reload the list.")) from None
            selected.append((case_id, version))
        return selected

    def clean(self):
        data = super().clean()
        for field, message in self.REQUIRED.get(data.get("action"), {}).items():
            if not data.get(field):
                self.add_error(field, message)
        return data

