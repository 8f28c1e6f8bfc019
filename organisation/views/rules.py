"""Settings pages for SLA policies, routing rules (with the "which team would this response go
to?" tester) and the root-cause taxonomy. CX admins only; saving goes through accounts.teams and
organisation.services, which run the same validation as the API and the Django admin."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _

from accounts import teams as team_services
from accounts.models import SlaPolicy, Team, User
from accounts.permissions import admin_required
from cases.models import NotificationPreference, RootCause, RootCauseCategory, RoutingRule
from organisation import services
from organisation.forms import CategoryForm, CauseForm, RouteTestForm, RoutingRuleForm, SlaPolicyForm
from organisation.views.teams import apply_errors


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


@admin_required
def index(request: HttpRequest) -> HttpResponse:
    sections = [
        (_("Teams"), reverse("organisation:team_list"),
         _("Members, business hours, holidays and notification channels per team; the default team.")),
        (_("SLA policies"), reverse("organisation:sla_list"), _("First-contact and resolution targets in business hours.")),
        (_("Routing rules"), reverse("organisation:routing_list"), _("Which team gets a response, with a tester.")),
        (_("Segments"), reverse("segments:list"),
         _("Named groups of customers (tier, value, region, any attribute) for rules, routing, the inbox and reports.")),
        (_("Root causes"), reverse("organisation:taxonomy"), _("The categories and causes agents close cases with.")),
        (_("Notifications"), reverse("organisation:notifications"),
         _("Who gets which e-mail; each team's Slack and Teams channels.")),
        (_("Users"), _url("accounts:users"), _("Invite people, set roles, deactivate.")),
        (_("Two-factor sign-in"), _url("accounts:two_factor_policy"),
         _("Which roles must sign in with an authenticator app.")),
        (_("Alert rules"), _url("alerts:rule_list"), _("Which responses open a case or send an e-mail.")),
        (_("Audit trail"), _url("audit:log"), _("Who changed which setting, rule, user, token or source, and from "
                                                "where; sign-ins; personal-data requests. Export as CSV.")),
    ]
    return render(request, "organisation/index.html", {
        "sections": [s for s in sections if s[1]], "default_team": Team.objects.filter(is_default=True).first(),
    })


def _edit(request, *, form, save, template_name: str, title: str, back: str, delete_url: str | None = None,
          extra: dict | None = None):
    """One editor page: validate, save through `save(form)` (a service), errors on the fields."""
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = save(form)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Saved “%(saved)s”.") % {"saved": saved})
                return redirect(back)
        status = 422
    else:
        status = 200
    return render(request, template_name, {"form": form, "title": title, "back": back, "delete_url": delete_url,
                                           **(extra or {})}, status=status)


@admin_required
def sla_list(request: HttpRequest) -> HttpResponse:
    return render(request, "organisation/sla_list.html", {"policies": SlaPolicy.objects.order_by("name")})


@admin_required
def sla_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    policy = get_object_or_404(SlaPolicy, pk=pk) if pk else None
    form = SlaPolicyForm(request.POST or None, instance=policy)
    return _edit(request, form=form, save=lambda f: team_services.sla_policy_save(f.instance),
                 template_name="organisation/form.html", title=_("SLA policy “%(name)s”") % {"name": policy} if policy else _("New SLA policy"),
                 back=reverse("organisation:sla_list"))


@admin_required
def routing_list(request: HttpRequest) -> HttpResponse:
    rules = RoutingRule.objects.select_related("team", "sla_policy").prefetch_related("surveys", "segments")
    tester = RouteTestForm(request.GET or None)
    answer = services.route_test(**tester.cleaned_data) if tester.is_bound and tester.is_valid() else None
    return render(request, "organisation/routing_list.html", {
        "rules": rules, "tester": tester, "answer": answer,
        "default_team": Team.objects.filter(is_default=True).first(),
    })


@admin_required
def routing_test(request: HttpRequest) -> HttpResponse:
    """HTMX: the tester's answer alone (the full page answers the same GET without HTMX)."""
    tester = RouteTestForm(request.GET or None)
    answer = services.route_test(**tester.cleaned_data) if tester.is_valid() else None
    return render(request, "organisation/_route_answer.html", {"tester": tester, "answer": answer})


@admin_required
def routing_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rule = get_object_or_404(RoutingRule, pk=pk) if pk else None
    form = RoutingRuleForm(request.POST or None, instance=rule)
    return _edit(request, form=form,
                 save=lambda f: services.routing_rule_save(f.instance, f.cleaned_data.get("surveys"),
                                                           f.cleaned_data.get("segments")),
                 template_name="organisation/form.html", title=_("Routing rule “%(name)s”") % {"name": rule} if rule else _("New routing rule"),
                 back=reverse("organisation:routing_list"),
                 delete_url=reverse("organisation:routing_delete", args=[rule.pk]) if rule else None)


@admin_required
@require_POST
def routing_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(RoutingRule, pk=pk)
    services.routing_rule_delete(rule)
    messages.success(request, _("Deleted “%(rule)s”.") % {"rule": rule.name})
    return redirect("organisation:routing_list")


@admin_required
def taxonomy(request: HttpRequest) -> HttpResponse:
    categories = RootCauseCategory.objects.prefetch_related("causes")
    category_form = CategoryForm(request.POST if "add_category" in request.POST else None, prefix="category")
    cause_form = CauseForm(request.POST if "add_cause" in request.POST else None, prefix="cause")
    status = 200
    for form, save in ((category_form, services.category_save), (cause_form, services.cause_save)):
        if form.is_bound:
            if form.is_valid():
                try:
                    saved = save(form.instance)
                except ValidationError as exc:
                    apply_errors(form, exc)
                else:
                    messages.success(request, _("Added “%(saved)s”.") % {"saved": saved})
                    return redirect("organisation:taxonomy")
            status = 422
    return render(request, "organisation/taxonomy.html", {
        "categories": categories, "category_form": category_form, "cause_form": cause_form,
    }, status=status)


@admin_required
@require_POST
def taxonomy_toggle(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    model = RootCauseCategory if kind == "category" else RootCause
    item = get_object_or_404(model, pk=pk)
    item.active = not item.active
    item.save(update_fields=["active"])
    messages.success(request, (_("“%(item)s” is in use.") if item.active else _("“%(item)s” is retired.")) % {"item": item})
    return redirect("organisation:taxonomy")


@admin_required
def notifications(request: HttpRequest) -> HttpResponse:
    """Who gets which notification: a switch per person and kind (teams' Slack and Microsoft Teams
    channels are on each team's page)."""
    users = list(User.objects.filter(is_active=True).order_by("username"))
    off = set(NotificationPreference.objects.filter(enabled=False).values_list("user_id", "kind"))
    if request.method == "POST":
        shown = set(request.POST.getlist("shown"))  # only the people the page showed (not someone added since)
        for user in (u for u in users if str(u.pk) in shown):
            services.preferences_set(user, {kind.value: f"pref-{user.pk}-{kind.value}" in request.POST
                                            for kind in services.USER_KINDS})
        messages.success(request, _("Saved the notification switches."))
        return redirect("organisation:notifications")
    rows = [{"user": user, "switches": [{"kind": kind, "name": f"pref-{user.pk}-{kind.value}",
                                         "on": (user.pk, kind.value) not in off} for kind in services.USER_KINDS]}
            for user in users]
    teams = Team.objects.order_by("name")
    return render(request, "organisation/notifications.html",
                  {"rows": rows, "kinds": services.USER_KINDS, "teams": teams})
