"""/cases/<reference>/: the case page and the actions on it (claim, assign, contact, note,
priority, close, reopen, e-mail the customer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import router
from django.db.models import Q
from django.forms import Textarea
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import engines
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Team, User
from accounts.preferences import customer_language
from accounts.selectors import scope_by_team
from cases import selectors, services
from core import csrf
from core.compiled import compiled_values
from core.lean import lean_instances, select_related_names
from core.panels import page_panels
from core.ids import parse_id
from cases.forms import (
    AssignForm,
    CaseForm,
    CloseForm,
    ContactForm,
    EmailForm,
    EmptyCaseForm,
    NoteForm,
    PriorityForm,
    ReopenForm,
)
from cases.models import Case, CaseResponse
from cases.services import CaseConflict
from cases.suggest import active_root_causes, suggest_root_causes
from cases.templatetags.case_display import field_block, form_errors
from cases.timeline import event_note, render_customer_template
from cases.timeline_rows import event_sentence
from cases.views.common import team_ids, vary_on_htmx, wants_fragment
from surveys.consent import ContactChannel as ConsentChannel
from surveys.consent import contact_refusal
from surveys.models import SurveyResponse

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
_ACTION = "--action--"  # a slug no action has: the action's place in its address
EARLIER_CASE_FIELDS = ("reference", "status", "created_at", "team__name", "root_cause__name")


# --- case page ------------------------------------------------------------------------------


def load_case(user: User, reference: str) -> Case:
    """The case if this user may see it, with what the page shows; otherwise 404 (not 403: the
    page does not confirm that a case of another team exists).

    The ORM's `case_list_for_user(user).select_related(*CASE_RELATED).filter(reference=...)
    .first()`, read as values from its statement compiled once per process (core.compiled: it
    joins ten tables, and compiling it cost more than the rest of the page's queries) and built
    into the same instances by core.lean (tests/inbox/test_case_page_load.py)."""
    seen = selectors.seen_teams(user)
    if seen.get("teams") == ():
        raise Http404(_("No such case."))
    args = {"reference": reference, **seen}
    key = ("case_page.load_case", *selectors.seen_teams_key(seen))
    using = router.db_for_read(Case)
    rows = compiled_values(key, _case_query, args, using=using)
    if not rows:
        raise Http404(_("No such case."))
    return lean_instances(Case, rows, _CASE_NAMES, using=using)[0]


_CASE_NAMES = select_related_names(Case, ("team", "assignee", "customer", "response__survey", "alert__rule",
                                          "root_cause__category", "closed_by"))


def _case_query(args: dict):
    """load_case's statement for `args` (a reference, and the teams seen unless every one)."""
    queryset = selectors.case_list_for_user(selectors.stand_in(args)).select_related(*CASE_RELATED).filter(reference=args["reference"])
    return queryset.order_by("pk").values(*_CASE_NAMES)[:1]


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
        _("You claimed %(ref)s."),
    ),
    "take": Action(EmptyCaseForm, _take, _("%(ref)s is yours now.")),
    "email": Action(EmailForm, _email, _("E-mail to the customer of %(ref)s queued for sending.")),
    "start": Action(
        EmptyCaseForm,
        lambda case, user, form: services.case_start(
            case_id=case.pk, by=user, expected_version=form.cleaned_data["version"]
        ),
        _("%(ref)s is in progress."),
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
        _("Contact attempt logged on %(ref)s."),
    ),
    "note": Action(
        NoteForm,
        lambda case, user, form: services.case_add_note(
            case_id=case.pk, by=user, note=form.cleaned_data["note"], expected_version=form.cleaned_data["version"]
        ),
        _("Note added to %(ref)s."),
    ),
    "priority": Action(
        PriorityForm,
        lambda case, user, form: services.case_change_priority(
            case_id=case.pk,
            by=user,
            priority=form.cleaned_data["priority"],
            expected_version=form.cleaned_data["version"],
        ),
        _("Priority of %(ref)s changed."),
    ),
    "assign": Action(AssignForm, _assign, _("%(ref)s reassigned.")),
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
        _("%(ref)s is closed."),
    ),
    "reopen": Action(
        ReopenForm,
        lambda case, user, form: services.case_reopen(
            case_id=case.pk, by=user, reason=form.cleaned_data["reason"], expected_version=form.cleaned_data["version"]
        ),
        _("%(ref)s is reopened."),
    ),
}


def _form_kwargs(name: str, user: User, case: Case) -> dict:
    kwargs = {"form_id": name}
    if name == "assign":
        kwargs["team_ids"] = sorted(set(team_ids(user)) | {case.team_id})
    if name == "email":
        kwargs["language"] = customer_language(case.response.language if case.response_id else "", case.team.language)
    if name == "close":
        kwargs["causes"] = active_root_causes()
        kwargs["playbooks_url"] = reverse("cases:playbooks", args=[case.reference])
    return kwargs


def action_names(user: User, case: Case) -> list[str]:
    """The actions that make sense in the case's state, for this person, in the panel's order."""
    if case.status == Case.Status.CLOSED:
        names = ["reopen", "note"]
    else:
        names = []
        if case.assignee_id is None:
            # A new, unassigned case: one "Claim and start" (case_start claims it too).
            names.append("start" if case.status == Case.Status.NEW else "claim")
        else:
            if case.assignee_id != user.pk:
                names.append("take")
            if case.status == Case.Status.NEW:
                names.append("start")
        names.append("contact")
        customer = case.customer
        if customer is not None and customer.email and not contact_refusal(customer, ConsentChannel.EMAIL):
            names.append("email")
        names += ["note", "priority", "assign", "close"]
    return names


def _action_forms(user: User, case: Case, bound: CaseForm | None = None, bound_name: str = "",
                  themes: list[str] | None = None) -> dict:
    """One form per action that makes sense in the case's state; `bound` (with its errors)
    replaces the fresh one of the same name. `themes` (the opening response's theme slugs, when
    the caller has them) saves the suggestion a query."""
    names = action_names(user, case)
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


def checklists(case: Case, events: list, root_cause_id: int | None = None, theme_links=None) -> list:
    """The case's playbooks with their ticked steps (from the events already loaded)."""
    playbooks = selectors.playbooks_for_case(case, root_cause_id=root_cause_id, theme_links=theme_links)
    return selectors.playbook_checklists(playbooks, events)


def _case_context(request: HttpRequest, case: Case, **extra) -> dict:
    """The parts an action changes: actions, header, clocks, timeline and playbooks."""
    user = request.user
    events = selectors.case_events(case)
    root_cause_id = extra.pop("playbook_root_cause", None)
    theme_links = selectors.case_theme_links(case)
    themes = [link.theme.slug for link in theme_links if link.response_id == case.response_id]
    # One reverse() for the panel's twenty-odd action addresses (each {% url %} cost one).
    action_url = reverse("cases:action", args=[case.reference, _ACTION])
    context = {
        "case": case,
        "now": timezone.now(),
        "action_urls": {name: action_url.replace(_ACTION, name) for name in ACTIONS},
        "forms": _action_forms(user, case, extra.pop("bound", None), extra.pop("bound_name", ""), themes),
        "events": events,
        "checklists": checklists(case, events, root_cause_id, theme_links),
        "playbook_root_cause": root_cause_id or "",
        # What the opening comment is about (the suggestion reads the same themes).
        "theme_links": [link for link in theme_links if link.response_id == case.response_id],
    }
    context.update(extra)
    context["actions_html"] = render_actions(request, context)
    return context


def render_actions(request: HttpRequest, context: dict) -> SafeString:
    """The action panel (jinja2/cases/case_actions.html): the page prints it and an HTMX action's
    answer swaps it in. In Jinja2 because it was half of the case page's template CPU in Django's
    engine (nine forms, bench/page_cpu.py). Words with values in them are put together here
    (core.l10n.jinja2_environment); the forms' token is made once for the panel's ten forms."""
    case = context["case"]
    words = {"claim_and_start": mark_safe(gettext("Claim &amp; start"))}  # the msgid is markup, as it was
    if case.closed_by_id:
        words["closed_by"] = gettext("by %(name)s") % {"name": case.closed_by.display_name}
    if "take" in context["forms"]:
        words["take_over"] = gettext("Take over from %(name)s") % {"name": case.assignee.display_name}
    if "email" in context["forms"]:
        words["email_to"] = gettext("To %(email)s. Replies come back to you.") % {"email": case.customer.email}
    html = engines["jinja2"].get_template("cases/case_actions.html").render({
        **context, "words": words, "csrf_html": csrf.input_html(request), "field_block": field_block,
        "form_errors": form_errors, "describe": event_sentence, "event_note": event_note}, request)
    return mark_safe(html)  # escaped by Jinja2


def _page_context(request: HttpRequest, case: Case, **extra) -> dict:
    """Everything on the full page: the live parts plus what does not change with an action."""
    context = _case_context(request, case, **extra)
    context["theme_matches"] = [word for link in context["theme_links"] for word in link.matches or ()]
    customer = case.customer
    earlier_responses, earlier_cases = [], []
    if customer is not None:
        earlier_responses, earlier_cases = _earlier(request.user, case)
    context.update(
        earlier_responses=earlier_responses[:EARLIER_LIMIT],
        more_responses=len(earlier_responses) > EARLIER_LIMIT,
        earlier_cases=earlier_cases[:EARLIER_LIMIT],
        more_cases=len(earlier_cases) > EARLIER_LIMIT,
        panels=page_panels("case", request, case),  # lent by apps above cases (the account a rule opened it for)
    )
    return context


def _earlier(user: User, case: Case) -> tuple[list, list]:
    """The customer card's earlier responses (each with its survey) and earlier cases (only what
    the card prints: reference, status, date, team, root cause), up to EARLIER_LIMIT + 1 each.
    Both statements compiled once per process (core.compiled) and built by core.lean; a case
    without an opening response is read by the ORM (`exclude(pk=None)` is another statement)."""
    args = {"customer": case.customer_id, "case": case.pk, **selectors.seen_teams(user)}
    if args.get("teams") == ():
        args["teams"] = (0,)  # no team: `IN (0)` matches none, as `IN ()` would
    if case.response_id is None:
        responses = list(_earlier_responses_query({**args, "response": None}))
    else:
        using = router.db_for_read(SurveyResponse)
        key = ("case_page.earlier_responses", *selectors.seen_teams_key(args))
        rows = compiled_values(key, lambda a: _earlier_responses_query(a).values(*_EARLIER_RESPONSE_NAMES),
                               {**args, "response": case.response_id}, using=using)
        responses = lean_instances(SurveyResponse, rows, _EARLIER_RESPONSE_NAMES, using=using)
    using = router.db_for_read(Case)
    key = ("case_page.earlier_cases", *selectors.seen_teams_key(args))
    rows = compiled_values(key, lambda a: _earlier_cases_query(a).values(*_EARLIER_CASE_NAMES), args, using=using)
    return responses, lean_instances(Case, rows, _EARLIER_CASE_NAMES, using=using)


_EARLIER_RESPONSE_NAMES = select_related_names(SurveyResponse, ("survey",))
# Only what the customer card prints of each (reference, status, date, team, root cause): the
# selector's default joins (response, alert, rule, assignee) cost more Python than the whole card.
_EARLIER_CASE_NAMES = ("id", "team_id", "root_cause_id", *EARLIER_CASE_FIELDS)


def _earlier_responses_query(args: dict):
    linked = Q(pk__in=CaseResponse.objects.filter(case_id=args["case"]).values("response_id"))
    responses = SurveyResponse.objects.filter(customer_id=args["customer"]).exclude(pk=args["response"])
    responses = responses.filter(linked | Q(pk__in=scope_by_team(responses, selectors.stand_in(args)).values("pk")))
    return responses.select_related("survey").order_by("-answered_at")[: EARLIER_LIMIT + 1]


def _earlier_cases_query(args: dict):
    return (selectors.case_list_for_user(selectors.stand_in(args)).filter(customer_id=args["customer"]).exclude(pk=args["case"])
            .select_related(None).order_by("-created_at")[: EARLIER_LIMIT + 1])


@login_required
@require_GET
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    case = load_case(request.user, reference)
    return vary_on_htmx(render(request, "cases/case_detail.html", _page_context(request, case)))


@login_required
@require_POST
def case_action(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    """Run one action on one case. With HTMX: re-render the action panel in place (and the
    header, clocks and timeline out of band). Without: redirect back to the case page, or show
    it again with the errors next to the fields."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404("No such action.")
    case = load_case(request.user, reference)
    if action == "email" and request.POST.get("fill"):
        return _render_case(request, case, bound=_filled_email_form(request, case), bound_name="email",
                            open_action="email")
    form = spec.form_class(request.POST, **_form_kwargs(action, request.user, case))
    if form.is_valid():
        try:
            spec.perform(case, request.user, form)
        except CaseConflict as exc:
            return _render_conflict(request, reference, action, form, exc)
        except ValidationError as exc:
            form.add_service_error(exc, getattr(form, "ERROR_ALIASES", None))
        else:
            done = spec.done % {"ref": case.reference}
            if action == "start" and case.assignee_id is None:
                done = f"{case.reference} is yours and in progress."
            if not wants_fragment(request):
                messages.success(request, done)
                return redirect("cases:detail", reference=case.reference)
            fresh = load_case(request.user, reference)
            return _render_case(request, fresh, done=done)
    return _render_case(request, case, status=422, bound=form, bound_name=action)


def _render_conflict(request: HttpRequest, reference: str, action: str, form: CaseForm,
                     exc: CaseConflict) -> HttpResponse:
    """409 for a stale edit, without losing what the person typed: the case as it is now, the
    changes made since the version they loaded (newest first), and their form filled in again
    with the current version, ready to check and send again. When the action no longer makes
    sense (the case was closed meanwhile), the text is shown to copy instead."""
    fresh = load_case(request.user, reference)
    expected = form.cleaned_data["version"]
    changes = list(fresh.events.filter(version__gt=expected).select_related("actor").order_by("-version", "-id"))
    data = form.data.copy()
    data["version"] = str(fresh.version)
    extra = {"status": 409, "conflict": exc.message, "conflict_changes": changes}
    if action in action_names(request.user, fresh) and ACTIONS[action].form_class is not EmptyCaseForm:
        kept = ACTIONS[action].form_class(data, **_form_kwargs(action, request.user, fresh))
        kept.is_valid()
        extra.update(bound=kept, bound_name=action, open_action=action)
    else:
        extra["kept_text"] = [(form.fields[name].label or name.capitalize(), str(form.data.get(name, "")))
                              for name, field in form.fields.items()
                              if isinstance(field.widget, Textarea) and str(form.data.get(name, "")).strip()]
    return _render_case(request, fresh, **extra)


def _filled_email_form(request: HttpRequest, case: Case) -> EmailForm:
    """The e-mail form with the chosen template filled in for this case, ready to edit."""
    initial = {"version": request.POST.get("version") or case.version}
    chosen = request.POST.get("template", "")
    pk = parse_id(chosen)
    template = EmailForm.base_fields["template"].queryset.filter(pk=pk).first() if pk else None
    if template is not None:
        subject, body = render_customer_template(template, case=case, agent=request.user)
        initial.update(template=template.pk, subject=subject, body=body)
    return EmailForm(initial=initial, **_form_kwargs("email", request.user, case))


def _render_case(request: HttpRequest, case: Case, status: int = 200, **extra) -> HttpResponse:
    if wants_fragment(request):
        context = _case_context(request, case, **extra)
        response = render(request, "cases/_case_action_response.html", context, status=status)
    else:
        response = render(request, "cases/case_detail.html", _page_context(request, case, **extra), status=status)
    return vary_on_htmx(response)
