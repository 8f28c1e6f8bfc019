"""Action plan pages: the list (open first, overdue marked), a plan with its before and after,
its notes and linked cases, and the CSV export. Views parse, call services and render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.db.models import F, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.csv_export import csv_text
from core.ids import parse_id
from improvement import selectors, services
from improvement.forms import LinkCasesForm, NoteForm, PlanForm
from improvement.models import ActionPlan, OuterLoopAlert
from improvement.outer_loop import BASELINE_WEEKS, MIN_ANSWERS, MIN_COUNT

CSV_COLUMNS = ["id", "title", "status", "owner", "team", "due_date", "change_date", "overdue", "root_causes", "themes",
               "touchpoints", "linked_cases", "created_at", "done_at"]


def _plan(request, pk: int) -> ActionPlan:
    plan = selectors.plans_for_user(request.user).filter(pk=pk).first()
    if plan is None:
        raise Http404("No such plan.")
    return plan


def _errors_to_form(form, exc: ValidationError) -> None:
    names = {"root_causes", "themes", "owner", "team", "title", "status"}
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in names and name in form.fields else None, errors)


@login_required
def plan_list(request):
    status = request.GET.get("status", "open")
    plans = selectors.plans_for_user(request.user).prefetch_related("root_causes__category", "themes")
    if status == "open":
        plans = plans.filter(status__in=ActionPlan.OPEN_STATUSES)
    elif status in ActionPlan.Status.values:
        plans = plans.filter(status=status)
    else:
        status = "all"
    today = timezone.localdate()
    return render(request, "improvement/plan_list.html", {
        "plans": plans.order_by("due_date", "pk")[:500], "status": status, "today": today,
        "statuses": [("open", _("Open")), *ActionPlan.Status.choices, ("all", _("All"))],
        "may_create": services.may_create(request.user),
    })


@login_required
def plan_create(request):
    if not services.may_create(request.user):
        raise Http404("No such page.")
    initial = {"owner": request.user.pk, "title": request.GET.get("title", "")[:200],
               "root_causes": [v for v in request.GET.getlist("root_cause") if parse_id(v)],
               "themes": [v for v in request.GET.getlist("theme") if parse_id(v)],
               "touchpoints": ", ".join(t[:120] for t in request.GET.getlist("touchpoint"))}
    form = PlanForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_create(by=request.user, data=form.to_input())
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("Plan created."))
            return redirect("improvement:detail", pk=plan.pk)
    return render(request, "improvement/plan_form.html", {"form": form, "plan": None},
                  status=422 if form.errors else 200)


@login_required
def plan_detail(request, pk: int):
    plan = _plan(request, pk)
    form = PlanForm(request.POST if request.method == "POST" else None, user=request.user,
                    initial=PlanForm.initial_for(plan))
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_update(plan_id=plan.pk, by=request.user, data=form.to_input())
        except ValidationError as exc:
            _errors_to_form(form, exc)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            return redirect("improvement:detail", pk=plan.pk)
        else:
            messages.success(request, _("Saved."))
            return redirect("improvement:detail", pk=plan.pk)
    today = timezone.localdate()
    impact = selectors.plan_impact(plan, today=today)
    return render(request, "improvement/plan_detail.html", {
        "plan": plan, "form": form, "note_form": NoteForm(), "link_form": LinkCasesForm(),
        "impact": impact, "sides": [(_("Before"), impact.before), (_("After"), impact.after)],
        "overdue": plan.is_overdue_on(today),
        "notes": plan.notes.select_related("author")[:200],
        "cases": plan.cases.select_related("team", "root_cause__category").order_by("-created_at")[:200],
        "window_days": selectors.WINDOW_DAYS,
    }, status=422 if form.errors else 200)


@login_required
@require_POST
def plan_note(request, pk: int):
    plan = _plan(request, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.plan_note_add(plan_id=plan.pk, by=request.user, text=form.cleaned_data["text"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Note added."))
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("improvement:detail", pk=plan.pk)


@login_required
@require_POST
def plan_link(request, pk: int):
    plan = _plan(request, pk)
    form = LinkCasesForm(request.POST)
    if form.is_valid():
        try:
            linked = services.plan_cases_link(plan_id=plan.pk, by=request.user,
                                              references=form.cleaned_data["references"].split(","))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Linked %(n)s case(s).") % {"n": linked})
    else:
        messages.error(request, _("Give at least one case reference."))
    return redirect("improvement:detail", pk=plan.pk)


@login_required
@require_POST
def plan_unlink(request, pk: int, case_id: int):
    plan = _plan(request, pk)
    services.plan_case_unlink(plan_id=plan.pk, by=request.user, case_id=case_id)
    messages.success(request, _("Case unlinked."))
    return redirect("improvement:detail", pk=plan.pk)


def plan_rows(plans, today):
    for plan in plans:
        yield [plan.pk, plan.title, plan.status, plan.owner.display_name, plan.team.name if plan.team else "",
               plan.due_date.isoformat(), plan.change_date.isoformat() if plan.change_date else "",
               "yes" if plan.is_overdue_on(today) else "no",
               "; ".join(f"{c.category.name} > {c.name}" for c in plan.root_causes.all()),
               "; ".join(t.name for t in plan.themes.all()), "; ".join(plan.touchpoints),
               "; ".join(c.reference for c in plan.cases.all()),
               plan.created_at.isoformat(), plan.done_at.isoformat() if plan.done_at else ""]


@login_required
def plan_export(request):
    plans = selectors.plans_with_links(request.user).order_by("due_date", "pk")
    response = HttpResponse(csv_text(CSV_COLUMNS, plan_rows(plans, timezone.localdate())),
                            content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="action-plans.csv"'
    return response


def _plan_link(alert: OuterLoopAlert) -> str:
    from urllib.parse import urlencode

    params = {"title": alert.label}
    params[{"root_cause": "root_cause", "theme": "theme", "touchpoint": "touchpoint"}[alert.kind]] = alert.key
    return f"{reverse('improvement:create')}?{urlencode(params)}"


@login_required
def alert_list(request):
    """Outer-loop alerts: ongoing episodes first, then the closed ones of the last year."""
    if not request.user.is_manager_role:
        raise Http404("No such page.")
    since = timezone.localdate() - dt.timedelta(days=365)
    alerts = list(OuterLoopAlert.objects.filter(Q(closed_week__isnull=True) | Q(last_week__gte=since))
                  .select_related("owner").order_by(F("closed_week").desc(nulls_first=True), "-last_week", "-pk")[:300])
    for alert in alerts:
        alert.plan_url = _plan_link(alert)
    return render(request, "improvement/alert_list.html", {
        "alerts": alerts, "baseline_weeks": BASELINE_WEEKS, "min_count": MIN_COUNT, "min_answers": MIN_ANSWERS,
        "may_create": services.may_create(request.user)})
