"""/cases/<reference>/playbooks/ and playbook-step/: the playbooks shown beside a case and their ticks."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.utils.translation import gettext

from cases import selectors, services
from cases.models import Playbook
from cases.views.case_page import action_names, checklists, load_case
from cases.views.common import vary_on_htmx, wants_fragment
from core.ids import parse_id

# --- playbooks ------------------------------------------------------------------------------


def _picked_root_cause(value) -> int | None:
    """The root cause chosen in the close form (not saved yet), to show its playbook."""
    return parse_id(value)


@login_required
@require_GET
def case_playbooks(request: HttpRequest, reference: str) -> HttpResponse:
    """The playbooks panel, for the root cause being chosen in the close form (?root_cause=<id>)."""
    case = load_case(request.user, reference)
    root_cause_id = _picked_root_cause(request.GET.get("root_cause"))
    events = selectors.case_events(case)
    context = {"case": case, "checklists": checklists(case, events, root_cause_id),
               "playbook_root_cause": root_cause_id or ""}
    return vary_on_htmx(render(request, "cases/_case_playbooks.html", context))


@login_required
@require_POST
def playbook_step(request: HttpRequest, reference: str) -> HttpResponse:
    """Tick or untick one step of a playbook (case_playbook_step: on the timeline). With HTMX: the
    playbooks panel again, plus the timeline, the header and every form's version out of band
    (the forms themselves keep what the person typed). Without: back to the case page."""
    case = load_case(request.user, reference)
    root_cause_id = _picked_root_cause(request.POST.get("root_cause"))
    playbook_id, step = request.POST.get("playbook", ""), request.POST.get("step", "")
    playbook = Playbook.objects.filter(pk=playbook_id, active=True).first() if playbook_id.isdigit() else None
    error, done_text = "", ""
    if playbook is None:
        error = gettext("That playbook is not in use any more; reload the case.")
    elif not step.isdigit():
        error = gettext("Say which step to tick.")
    else:
        done = request.POST.get("done", "1") not in ("0", "false", "")
        try:
            case = services.case_playbook_step(case_id=case.pk, by=request.user, playbook=playbook, step=int(step),
                                               done=done)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            done_text = (gettext("Ticked “%(step)s”.") if done else gettext("Unticked “%(step)s”.")) % {
                "step": playbook.steps[int(step)]}
    if not wants_fragment(request):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done_text)
        return redirect("cases:detail", reference=case.reference)
    fresh = load_case(request.user, reference)
    events = selectors.case_events(fresh)
    context = {
        "case": fresh, "events": events, "checklists": checklists(fresh, events, root_cause_id),
        "playbook_root_cause": root_cause_id or "", "playbook_error": error, "playbook_done": done_text,
        "form_ids": action_names(request.user, fresh), "now": timezone.now(),
    }
    return vary_on_htmx(render(request, "cases/_playbook_step_response.html", context, status=422 if error else 200))
