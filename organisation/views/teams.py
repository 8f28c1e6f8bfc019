"""Settings pages for teams (CX admins only; anyone else gets a 404, accounts.permissions): the team
list, the team editor (business hours, time zone, holidays, notification channels), members and
the team's own closed days. Saving goes through accounts.teams."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _
from django.utils.formats import date_format

from accounts import teams as team_services
from accounts.models import ClosedDay, Membership, Team
from accounts.permissions import admin_required
from cases.calendar import public_holidays
from organisation.forms import ClosedDayForm, MembershipForm, TeamForm, holiday_countries, timezone_names
from organisation.hours import editor_rows


def apply_errors(form, exc: ValidationError) -> None:
    """A service's ValidationError onto the form, by field where the form has it."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


def hours_summary(team: Team) -> list[str]:
    """'Mon 09:00–12:00, 13:00–17:00' lines, overnight rows as '22:00–06:00 (next day)'."""
    lines = []
    for day, rows in editor_rows(team.opening_hours).items():
        if rows:
            spans = ", ".join(f"{r.start}–{r.end}{' (next day)' if r.overnight else ''}" for r in rows)
            lines.append(f"{day.capitalize()} {spans}")
    return lines or ["Always open (no hours set)"]


def upcoming_holidays(team: Team, days: int = 366) -> list[tuple[dt.date, str]]:
    """The team's closed days ahead: public holidays of its calendar and its own closed days."""
    today = timezone.localdate()
    names: dict[dt.date, str] = {}
    if team.holiday_country:
        import holidays as holidays_lib

        for year in (today.year, today.year + 1):
            if not public_holidays(team.holiday_country, team.holiday_subdivision, year):
                continue
            try:
                calendar = holidays_lib.country_holidays(team.holiday_country, subdiv=team.holiday_subdivision or None,
                                                         years=year)
            except NotImplementedError:
                continue
            names.update({day: f"{name} (public holiday)" for day, name in calendar.items()})
    for closed in team.closed_days.all():
        names[closed.date] = closed.name or "Closed"
    return sorted((d, n) for d, n in names.items() if today <= d <= today + dt.timedelta(days=days))


@admin_required
def team_list(request: HttpRequest) -> HttpResponse:
    teams = Team.objects.annotate(member_count=Count("memberships")).order_by("name")
    rows = [{"team": team, "hours": hours_summary(team)} for team in teams]
    return render(request, "organisation/team_list.html", {"rows": rows})


def _team_editor(request: HttpRequest, team: Team | None) -> HttpResponse:
    form = TeamForm(request.POST or None, instance=team)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = team_services.team_save(form.instance)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Saved “%(name)s”.") % {"name": saved.name})
                return redirect("organisation:team_edit", pk=saved.pk)
        status = 422
    context = {"form": form, "team": team, "timezones": timezone_names(), "countries": holiday_countries()}
    if team is not None:
        context.update({
            "memberships": team.memberships.select_related("user").order_by("user__username"),
            "member_form": MembershipForm(),
            # Its own ids: the team form above has a "name" field too.
            "closed_form": ClosedDayForm(auto_id="id_closed_%s"),
            "upcoming": upcoming_holidays(team)[:12],
        })
    return render(request, "organisation/team_form.html", context, status=status)


@admin_required
def team_create(request: HttpRequest) -> HttpResponse:
    return _team_editor(request, None)


@admin_required
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _team_editor(request, get_object_or_404(Team, pk=pk))


@admin_required
@require_POST
def team_delete(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    try:
        team_services.team_delete(team)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("organisation:team_edit", pk=team.pk)
    messages.success(request, _("Deleted “%(team)s”.") % {"team": team.name})
    return redirect("organisation:team_list")


@admin_required
@require_POST
def member_add(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    form = MembershipForm(request.POST)
    if form.is_valid():
        user = form.cleaned_data["user"]
        team_services.membership_set(team, user, is_manager=form.cleaned_data["is_manager"])
        messages.success(request, _("%(user)s is in %(team)s.") % {"user": user.display_name, "team": team.name})
    else:
        messages.error(request, _("Choose a person to add."))
    return redirect("organisation:team_edit", pk=team.pk)


@admin_required
@require_POST
def member_remove(request: HttpRequest, pk: int, membership_pk: int) -> HttpResponse:
    membership = get_object_or_404(Membership, pk=membership_pk, team_id=pk)
    membership.delete()
    messages.success(request, _("%(user)s left %(team)s.") % {"user": membership.user.display_name, "team": membership.team.name})
    return redirect("organisation:team_edit", pk=pk)


@admin_required
@require_POST
def closed_day_add(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    form = ClosedDayForm(request.POST)
    if form.is_valid():
        try:
            day = team_services.closed_day_add(team, form.cleaned_data["date"], form.cleaned_data["name"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("%(team)s is closed on %(date)s.") % {"team": team.name, "date": date_format(day.date)})
    else:
        messages.error(request, _("Give the date the team is closed, e.g. 2026-12-24."))
    return redirect("organisation:team_edit", pk=team.pk)


@admin_required
@require_POST
def closed_day_delete(request: HttpRequest, pk: int, day_pk: int) -> HttpResponse:
    get_object_or_404(ClosedDay, pk=day_pk, team_id=pk).delete()
    return redirect("organisation:team_edit", pk=pk)
