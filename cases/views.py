"""The frontline inbox and the case page.

Server-rendered pages; HTMX swaps fragments in place when it is there, and every form and link
also works as a plain GET/POST without JavaScript. Reads go through cases.selectors (so a case of
another team is a 404), writes through cases.services (so the inbox, the bulk actions and the API
behave the same); these views only parse input, call them and render."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django import forms as django_forms
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Team, User
from accounts.selectors import scope_by_team, visible_team_ids
from cases import keyset, selectors, services
from cases.suggest import active_root_causes, suggest_root_causes
from cases.filtersets import CaseFilterSet
from cases.forms import (
    AssignForm,
    BulkForm,
    CaseForm,
    CloseForm,
    ContactForm,
    EmailForm,
    EmptyCaseForm,
    NoteForm,
    PriorityForm,
    ReopenForm,
    parse_assignee,
)
from cases.models import Case, Playbook
from cases.services import CaseConflict
from cases.timeline import render_customer_template
from surveys.models import Survey, SurveyResponse

INBOX_VIEWS = [
    ("mine", "My open"),
    ("unassigned", "Team unassigned"),
    ("team", "Team all"),
    ("overdue", "Overdue"),
    ("due_soon", "Due soon"),
    ("recently_closed", "Recently closed"),
]
DEFAULT_VIEW = "mine"
PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
NOT_FILTERS = {"view", "q", "after", "before", "size"}
# What a row shows, fetched in the page's one query (no per-row queries).
ROW_RELATED = ("response", "customer", "team", "assignee", "alert__rule")
CASE_RELATED = (
    "response__survey",
    "customer",
    "team",
    "assignee",
    "alert__rule",
    "root_cause__category",
    "closed_by",
)
EARLIER_LIMIT = 50


def _team_ids(user) -> list[int]:
    ids = visible_team_ids(user)
    return list(Team.objects.values_list("id", flat=True)) if ids is None else sorted(ids)


def _fragment(request: HttpRequest) -> bool:
    """An HTMX request that wants a fragment (a history restore wants the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _vary(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ("HX-Request",))
    return response


# --- inbox ----------------------------------------------------------------------------------


def _inbox_context(request: HttpRequest, params: QueryDict) -> dict:
    views = dict(INBOX_VIEWS)
    view = params.get("view") if params.get("view") in views else DEFAULT_VIEW
    try:
        size = int(params.get("size", DEFAULT_PAGE_SIZE))
    except ValueError:
        size = DEFAULT_PAGE_SIZE
    size = size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE
    # Only the joins a row shows (the selector's default also loads root causes for the API).
    # An explicit closure date range (a report's drill-down) replaces "the last 7 days".
    closed_window = not (params.get("closed_after") or params.get("closed_before"))
    queryset = (
        selectors.inbox_queryset(request.user, view, closed_window=closed_window)
        .select_related(None)
        .select_related(*ROW_RELATED)
    )
    filterset = CaseFilterSet(params, queryset=queryset, request=request)
    _tune_filter_form(filterset.form)
    page = keyset.paginate(filterset.qs, after=params.get("after"), before=params.get("before"), size=size)
    counts = selectors.inbox_counts(request.user)
    filters_active = any(value for name, value in params.items() if name not in NOT_FILTERS)
    return {
        "view": view,
        "view_label": views[view],
        "tabs": [{"key": key, "label": label, "count": counts.get(key, 0)} for key, label in INBOX_VIEWS],
        "filterset": filterset,
        "filters_active": filters_active,
        "page": page,
        "size": size,
        "page_sizes": PAGE_SIZES,
        "now": timezone.now(),
        "return_query": params.urlencode(),
        "params": params,
        "inbox_url": reverse("cases:inbox"),
        "fragment": _fragment(request),
    }


FILTER_LABELS = {
    "team": "Team", "assignee": "Assignee", "unassigned": "Assigned or not", "status": "Status",
    "priority": "Priority", "touchpoint": "Touchpoint", "location": "Location or region", "survey": "Survey",
    "root_cause": "Root cause", "created": "Opened between", "closed": "Closed between",
    "theme": "Theme", "sentiment": "Comment sentiment",
}


def _tune_filter_form(form) -> None:
    """Friendlier widgets for the shared FilterSet's form (the filters themselves stay the API's):
    labels people use, checkboxes for short lists, names instead of ids, date pickers."""
    for name, label in FILTER_LABELS.items():
        if name in form.fields:
            form.fields[name].label = label
    for name in ("status", "priority", "team", "sentiment"):
        if name in form.fields:
            form.fields[name].widget = django_forms.CheckboxSelectMultiple(choices=form.fields[name].choices)
    if "theme" in form.fields:
        form.fields["theme"].empty_label = "Any theme"
        form.fields["theme"].widget.choices = form.fields["theme"].choices
    if "assignee" in form.fields:
        form.fields["assignee"].label_from_instance = lambda user: user.display_name
        form.fields["assignee"].widget.choices = form.fields["assignee"].choices
    if "survey" in form.fields:
        surveys = [("", "Any survey"), *Survey.objects.order_by("name").values_list("id", "name")]
        form.fields["survey"].widget = django_forms.Select(choices=surveys)
    if "unassigned" in form.fields:
        form.fields["unassigned"].widget = django_forms.Select(
            choices=[("", "Either"), ("true", "Only unassigned"), ("false", "Only assigned")]
        )
    for name in ("created", "closed"):
        if name in form.fields:
            field = form.fields[name]
            for widget, end in zip(field.widget.widgets, ("from", "to"), strict=False):
                widget.input_type = "date"
                widget.attrs["aria-label"] = f"{field.label}: {end}"


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    context = _inbox_context(request, request.GET)
    context["bulk_form"] = BulkForm(team_ids=_team_ids(request.user))
    template = "cases/_inbox_results.html" if _fragment(request) else "cases/inbox.html"
    return _vary(render(request, template, context))


@dataclass
class BulkResult:
    reference: str
    ok: bool
    message: str
    url: str = ""


def _bulk_apply(user: User, data: dict) -> list[BulkResult]:
    """Run one service per selected case, each in its own transaction: one failure (a conflict,
    a case closed meanwhile) is reported for that case and does not stop the others."""
    selected = dict(data["cases"])
    references = dict(
        selectors.case_list_for_user(user).filter(pk__in=list(selected)).values_list("pk", "reference")
    )
    action = data["action"]
    if action == "assign":
        team_id, user_id = parse_assignee(data["assignee"])
        assignee, team = User.objects.get(pk=user_id), Team.objects.get(pk=team_id)

        def perform(case_id, version):
            return services.case_assign(case_id=case_id, by=user, assignee=assignee, team=team, expected_version=version)

        done = f"assigned to {assignee.display_name}"
    elif action == "priority":

        def perform(case_id, version):
            return services.case_change_priority(
                case_id=case_id, by=user, priority=data["priority"], expected_version=version
            )

        done = f"priority set to {data['priority']}"
    else:

        def perform(case_id, version):
            return services.case_close(
                case_id=case_id,
                by=user,
                root_cause_id=data["root_cause"],
                resolution=data["resolution"],
                outcome=data["outcome"],
                prevention=data["prevention"],
                expected_version=version,
            )

        done = "closed"
    results = []
    for case_id, version in selected.items():
        reference = references.get(case_id)
        if reference is None:
            results.append(BulkResult(f"#{case_id}", False, "not found (or not yours to see)"))
            continue
        url = reverse("cases:detail", args=[reference])
        try:
            perform(case_id, version)
        except CaseConflict as exc:
            results.append(BulkResult(reference, False, exc.message, url))
        except ValidationError as exc:
            results.append(BulkResult(reference, False, " ".join(exc.messages), url))
        else:
            results.append(BulkResult(reference, True, done, url))
    return results


@login_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Assign, re-prioritise or close the selected rows, then show the same list again with a
    line per case saying what happened."""
    return_query = QueryDict(request.POST.get("return_query", ""))
    form = BulkForm(request.POST, team_ids=_team_ids(request.user))
    results: list[BulkResult] = []
    if form.is_valid():
        results = _bulk_apply(request.user, form.cleaned_data)
        form = BulkForm(team_ids=_team_ids(request.user))
        if not _fragment(request):
            for result in results:
                level = messages.SUCCESS if result.ok else messages.ERROR
                messages.add_message(request, level, f"{result.reference}: {result.message}")
            url = reverse("cases:inbox")
            return redirect(f"{url}?{return_query.urlencode()}" if return_query else url)
    context = _inbox_context(request, return_query)
    context.update(bulk_form=form, bulk_results=results)
    status = 200 if form.is_bound is False or form.is_valid() else 422
    template = "cases/_inbox_results.html" if _fragment(request) else "cases/inbox.html"
    return _vary(render(request, template, context, status=status))


# --- case page ------------------------------------------------------------------------------


def _load_case(user: User, reference: str) -> Case:
    """The case if this user may see it, with what the page shows; otherwise 404 (not 403: the
    page does not confirm that a case of another team exists)."""
    case = selectors.case_list_for_user(user).select_related(*CASE_RELATED).filter(reference=reference).first()
    if case is None:
        raise Http404("No such case.")
    return case


@dataclass(frozen=True)
class Action:
    form_class: type[CaseForm]
    perform: Callable[[Case, User, dict], Case]
    done: str  # what the person is told afterwards; {ref} is the case reference


def _assign(case: Case, user: User, form: AssignForm) -> Case:
    kwargs = form.service_kwargs()
    assignee = User.objects.get(pk=kwargs["assignee"]) if kwargs["assignee"] else None
    team = Team.objects.get(pk=kwargs["team"]) if kwargs["team"] else None
    return services.case_assign(
        case_id=case.pk, by=user, assignee=assignee, team=team, expected_version=form.cleaned_data["version"]
    )


def _take(case: Case, user: User, form: CaseForm) -> Case:
    """Take over a case another person holds: an assignment to yourself (claim refuses it)."""
    return services.case_assign(
        case_id=case.pk, by=user, assignee=user, team=None, expected_version=form.cleaned_data["version"]
    )


def _email(case: Case, user: User, form: EmailForm) -> Case:
    return services.case_email_customer(
        case_id=case.pk,
        by=user,
        subject=form.cleaned_data["subject"],
        body=form.cleaned_data["body"],
        expected_version=form.cleaned_data["version"],
    )


ACTIONS: dict[str, Action] = {
    "claim": Action(
        EmptyCaseForm,
        lambda case, user, form: services.case_claim(
            case_id=case.pk, by=user, expected_version=form.cleaned_data["version"]
        ),
        "You claimed {ref}.",
    ),
    "take": Action(EmptyCaseForm, _take, "{ref} is yours now."),
    "email": Action(EmailForm, _email, "E-mail to the customer of {ref} queued for sending."),
    "start": Action(
        EmptyCaseForm,
        lambda case, user, form: services.case_start(
            case_id=case.pk, by=user, expected_version=form.cleaned_data["version"]
        ),
        "{ref} is in progress.",
    ),
    "contact": Action(
        ContactForm,
        lambda case, user, form: services.case_log_contact(
            case_id=case.pk,
            by=user,
            channel=form.cleaned_data["channel"],
            outcome=form.cleaned_data["outcome"],
            note=form.cleaned_data["note"],
            expected_version=form.cleaned_data["version"],
        ),
        "Contact attempt logged on {ref}.",
    ),
    "note": Action(
        NoteForm,
        lambda case, user, form: services.case_add_note(
            case_id=case.pk, by=user, note=form.cleaned_data["note"], expected_version=form.cleaned_data["version"]
        ),
        "Note added to {ref}.",
    ),
    "priority": Action(
        PriorityForm,
        lambda case, user, form: services.case_change_priority(
            case_id=case.pk,
            by=user,
            priority=form.cleaned_data["priority"],
            expected_version=form.cleaned_data["version"],
        ),
        "Priority of {ref} changed.",
    ),
    "assign": Action(AssignForm, _assign, "{ref} reassigned."),
    "close": Action(
        CloseForm,
        lambda case, user, form: services.case_close(
            case_id=case.pk,
            by=user,
            root_cause_id=form.cleaned_data["root_cause"],
            resolution=form.cleaned_data["resolution"],
            outcome=form.cleaned_data["outcome"],
            prevention=form.cleaned_data["prevention"],
            suggestions=form.offered(),
            expected_version=form.cleaned_data["version"],
        ),
        "{ref} is closed.",
    ),
    "reopen": Action(
        ReopenForm,
        lambda case, user, form: services.case_reopen(
            case_id=case.pk, by=user, reason=form.cleaned_data["reason"], expected_version=form.cleaned_data["version"]
        ),
        "{ref} is reopened.",
    ),
}


def _form_kwargs(name: str, user: User, case: Case) -> dict:
    kwargs = {"form_id": name}
    if name == "assign":
        kwargs["team_ids"] = sorted(set(_team_ids(user)) | {case.team_id})
    if name == "close":
        kwargs["causes"] = active_root_causes()
        kwargs["playbooks_url"] = reverse("cases:playbooks", args=[case.reference])
    return kwargs


def _action_names(user: User, case: Case) -> list[str]:
    """The actions that make sense in the case's state, for this person, in the panel's order."""
    if case.status == Case.Status.CLOSED:
        names = ["reopen", "note"]
    else:
        names = []
        if case.assignee_id is None:
            names.append("claim")
        elif case.assignee_id != user.pk:
            names.append("take")
        if case.status == Case.Status.NEW:
            names.append("start")
        names.append("contact")
        customer = case.customer
        if customer is not None and customer.email and not customer.contact_opt_out and not customer.erased_at:
            names.append("email")
        names += ["note", "priority", "assign", "close"]
    return names


def _action_forms(user: User, case: Case, bound: CaseForm | None = None, bound_name: str = "",
                  themes: list[str] | None = None) -> dict:
    """One form per action that makes sense in the case's state; `bound` (with its errors)
    replaces the fresh one of the same name. `themes` (the opening response's theme slugs, when
    the caller has them) saves the suggestion a query."""
    names = _action_names(user, case)
    forms = {}
    for name in names:
        if name == bound_name and bound is not None:
            forms[name] = bound
            continue
        initial = {"version": case.version}
        if name == "priority":
            initial["priority"] = case.priority
        kwargs = _form_kwargs(name, user, case)
        if name == "close":
            kwargs["suggestions"] = suggest_root_causes(case, causes=kwargs["causes"], themes=themes)
        forms[name] = ACTIONS[name].form_class(initial=initial, **kwargs)
    return forms


def _checklists(case: Case, events: list, root_cause_id: int | None = None, theme_links=None) -> list:
    """The case's playbooks with their ticked steps (from the events already loaded)."""
    playbooks = selectors.playbooks_for_case(case, root_cause_id=root_cause_id, theme_links=theme_links)
    return selectors.playbook_checklists(playbooks, events)


def _case_context(request: HttpRequest, case: Case, **extra) -> dict:
    """The parts an action changes: actions, header, clocks, timeline and playbooks."""
    user = request.user
    events = list(case.events.select_related("actor").order_by("-created_at", "-id"))
    root_cause_id = extra.pop("playbook_root_cause", None)
    theme_links = selectors.case_theme_links(case)
    themes = [link.theme.slug for link in theme_links if link.response_id == case.response_id]
    context = {
        "case": case,
        "now": timezone.now(),
        "forms": _action_forms(user, case, extra.pop("bound", None), extra.pop("bound_name", ""), themes),
        "events": events,
        "checklists": _checklists(case, events, root_cause_id, theme_links),
        "playbook_root_cause": root_cause_id or "",
        # What the opening comment is about (the suggestion reads the same themes).
        "theme_links": [link for link in theme_links if link.response_id == case.response_id],
    }
    context.update(extra)
    return context


def _page_context(request: HttpRequest, case: Case, **extra) -> dict:
    """Everything on the full page: the live parts plus what does not change with an action."""
    context = _case_context(request, case, **extra)
    context["theme_matches"] = [word for link in context["theme_links"] for word in link.matches or ()]
    customer = case.customer
    earlier_responses, earlier_cases = [], []
    if customer is not None:
        linked = Q(pk__in=case.case_responses.values("response_id"))
        responses = SurveyResponse.objects.filter(customer=customer).exclude(pk=case.response_id)
        responses = responses.filter(linked | Q(pk__in=scope_by_team(responses, request.user).values("pk")))
        earlier_responses = list(responses.select_related("survey").order_by("-answered_at")[: EARLIER_LIMIT + 1])
        earlier_cases = list(
            selectors.case_list_for_user(request.user)
            .filter(customer=customer)
            .exclude(pk=case.pk)
            .select_related("root_cause", "team")
            .order_by("-created_at")[: EARLIER_LIMIT + 1]
        )
    context.update(
        earlier_responses=earlier_responses[:EARLIER_LIMIT],
        more_responses=len(earlier_responses) > EARLIER_LIMIT,
        earlier_cases=earlier_cases[:EARLIER_LIMIT],
        more_cases=len(earlier_cases) > EARLIER_LIMIT,
    )
    return context


@login_required
@require_GET
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    case = _load_case(request.user, reference)
    return _vary(render(request, "cases/case_detail.html", _page_context(request, case)))


@login_required
@require_POST
def case_action(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    """Run one action on one case. With HTMX: re-render the action panel in place (and the
    header, clocks and timeline out of band). Without: redirect back to the case page, or show
    it again with the errors next to the fields."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404("No such action.")
    case = _load_case(request.user, reference)
    if action == "email" and request.POST.get("fill"):
        return _render_case(request, case, bound=_filled_email_form(request, case), bound_name="email",
                            open_action="email")
    form = spec.form_class(request.POST, **_form_kwargs(action, request.user, case))
    if form.is_valid():
        try:
            spec.perform(case, request.user, form)
        except CaseConflict as exc:
            return _render_case(request, exc.case if exc.case is not None else case, status=409, conflict=exc.message)
        except ValidationError as exc:
            form.add_service_error(exc, getattr(form, "ERROR_ALIASES", None))
        else:
            done = spec.done.format(ref=case.reference)
            if not _fragment(request):
                messages.success(request, done)
                return redirect("cases:detail", reference=case.reference)
            fresh = _load_case(request.user, reference)
            return _render_case(request, fresh, done=done)
    return _render_case(request, case, status=422, bound=form, bound_name=action)


def _filled_email_form(request: HttpRequest, case: Case) -> EmailForm:
    """The e-mail form with the chosen template filled in for this case, ready to edit."""
    initial = {"version": request.POST.get("version") or case.version}
    chosen = request.POST.get("template", "")
    template = EmailForm.base_fields["template"].queryset.filter(pk=chosen).first() if chosen.isdigit() else None
    if template is not None:
        subject, body = render_customer_template(template, case=case, agent=request.user)
        initial.update(template=template.pk, subject=subject, body=body)
    return EmailForm(initial=initial, form_id="email")


def _render_case(request: HttpRequest, case: Case, status: int = 200, **extra) -> HttpResponse:
    if _fragment(request):
        context = _case_context(request, case, **extra)
        response = render(request, "cases/_case_action_response.html", context, status=status)
    else:
        response = render(request, "cases/case_detail.html", _page_context(request, case, **extra), status=status)
    return _vary(response)


# --- playbooks ------------------------------------------------------------------------------


def _picked_root_cause(value) -> int | None:
    """The root cause chosen in the close form (not saved yet), to show its playbook."""
    return int(value) if str(value or "").isdigit() else None


@login_required
@require_GET
def case_playbooks(request: HttpRequest, reference: str) -> HttpResponse:
    """The playbooks panel, for the root cause being chosen in the close form (?root_cause=<id>)."""
    case = _load_case(request.user, reference)
    root_cause_id = _picked_root_cause(request.GET.get("root_cause"))
    events = list(case.events.select_related("actor").order_by("-created_at", "-id"))
    context = {"case": case, "checklists": _checklists(case, events, root_cause_id),
               "playbook_root_cause": root_cause_id or ""}
    return _vary(render(request, "cases/_case_playbooks.html", context))


@login_required
@require_POST
def playbook_step(request: HttpRequest, reference: str) -> HttpResponse:
    """Tick or untick one step of a playbook (case_playbook_step: on the timeline). With HTMX: the
    playbooks panel again, plus the timeline, the header and every form's version out of band
    (the forms themselves keep what the person typed). Without: back to the case page."""
    case = _load_case(request.user, reference)
    root_cause_id = _picked_root_cause(request.POST.get("root_cause"))
    playbook_id, step = request.POST.get("playbook", ""), request.POST.get("step", "")
    playbook = Playbook.objects.filter(pk=playbook_id, active=True).first() if playbook_id.isdigit() else None
    error, done_text = "", ""
    if playbook is None:
        error = "That playbook is not in use any more; reload the case."
    elif not step.isdigit():
        error = "Say which step to tick."
    else:
        done = request.POST.get("done", "1") not in ("0", "false", "")
        try:
            case = services.case_playbook_step(case_id=case.pk, by=request.user, playbook=playbook, step=int(step),
                                               done=done)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            done_text = f"{'Ticked' if done else 'Unticked'} “{playbook.steps[int(step)]}”."
    if not _fragment(request):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done_text)
        return redirect("cases:detail", reference=case.reference)
    fresh = _load_case(request.user, reference)
    events = list(fresh.events.select_related("actor").order_by("-created_at", "-id"))
    context = {
        "case": fresh, "events": events, "checklists": _checklists(fresh, events, root_cause_id),
        "playbook_root_cause": root_cause_id or "", "playbook_error": error, "playbook_done": done_text,
        "form_ids": _action_names(request.user, fresh), "now": timezone.now(),
    }
    return _vary(render(request, "cases/_playbook_step_response.html", context, status=422 if error else 200))
