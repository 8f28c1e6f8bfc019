"""Every write to an action plan: the pages, the API and the CSV import call these.

    plan_create(by=user, data=PlanInput(...)) -> ActionPlan
    plan_update(plan_id=..., by=user, data=PlanInput(...)) -> ActionPlan   # notes what changed
    plan_note_add(plan_id=..., by=user, text="...") -> ActionPlanNote
    plan_cases_link(plan_id=..., by=user, references=["CL-..."]) -> int     # cases linked
    plan_case_unlink(plan_id=..., by=user, case_id=...) -> None

Who may: CX admins any plan; managers plans of their teams and organisation-wide ones; the owner
their own plan (notes, status, linked cases). `may_edit` says so, the views and API ask it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Team, User, visible_team_ids
from cases.models import Case, RootCause
from improvement.models import ActionPlan, ActionPlanNote
from surveys.models import Theme

NOTE_MAX = 5000


@dataclass(frozen=True)
class PlanInput:
    title: str
    owner_id: int
    due_date: dt.date
    description: str = ""
    team_id: int | None = None
    status: str = ActionPlan.Status.PLANNED
    change_date: dt.date | None = None
    root_cause_ids: tuple[int, ...] = ()
    theme_ids: tuple[int, ...] = ()
    touchpoints: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


def may_create(user) -> bool:
    return bool(user and user.is_authenticated and user.is_manager_role)


def may_see(user, plan: ActionPlan) -> bool:
    if not user or not user.is_authenticated:
        return False
    if plan.owner_id == user.pk:
        return True
    if not user.is_manager_role:
        return False
    teams = visible_team_ids(user)
    return teams is None or plan.team_id is None or plan.team_id in teams


def may_edit(user, plan: ActionPlan) -> bool:
    return may_see(user, plan)


def _validate(data: PlanInput, by) -> dict:
    errors: dict[str, list[str]] = {}
    title = " ".join((data.title or "").split())
    if not title:
        errors["title"] = [_("A plan needs a title.")]
    owner = User.objects.filter(pk=data.owner_id, is_active=True).first()
    if owner is None:
        errors["owner"] = [_("Choose an active user as the owner.")]
    team = None
    if data.team_id is not None:
        team = Team.objects.filter(pk=data.team_id).first()
        teams = visible_team_ids(by)
        if team is None or (teams is not None and team.pk not in teams):
            errors["team"] = [_("Choose one of your teams, or none for the whole organisation.")]
    if data.status not in ActionPlan.Status.values:
        errors["status"] = [_("Not a status of a plan.")]
    causes = list(RootCause.objects.filter(pk__in=data.root_cause_ids))
    if len(causes) != len(set(data.root_cause_ids)):
        errors["root_causes"] = [_("One of the root causes does not exist.")]
    themes = list(Theme.objects.filter(pk__in=data.theme_ids))
    if len(themes) != len(set(data.theme_ids)):
        errors["themes"] = [_("One of the themes does not exist.")]
    touchpoints = sorted({" ".join(t.split())[:120] for t in data.touchpoints if t and t.strip()})
    if errors:
        raise ValidationError(errors)
    return {"title": title[:200], "owner": owner, "team": team, "causes": causes, "themes": themes,
            "touchpoints": touchpoints}


def _note(plan: ActionPlan, by, text: str = "", at=None, said: dict | None = None) -> ActionPlanNote:
    """A person's note (`text`, kept as written), or what the service did (`said`: a code and its
    values, worded when read, in the reader's language: ActionPlanNote.shown)."""
    author = by if getattr(by, "is_authenticated", False) else None
    return ActionPlanNote.objects.create(plan=plan, author=author, text=text[:NOTE_MAX], data=said or {},
                                         created_at=at or timezone.now())


def plan_create(*, by, data: PlanInput) -> ActionPlan:
    if not may_create(by):
        raise PermissionDenied(_("Managers and CX admins create action plans."))
    clean = _validate(data, by)
    with transaction.atomic():
        plan = ActionPlan.objects.create(
            title=clean["title"], description=data.description, owner=clean["owner"], team=clean["team"],
            status=data.status, due_date=data.due_date, change_date=data.change_date,
            touchpoints=clean["touchpoints"], created_by=by if getattr(by, "is_authenticated", False) else None,
            done_at=timezone.now() if data.status == ActionPlan.Status.DONE else None,
        )
        plan.root_causes.set(clean["causes"])
        plan.themes.set(clean["themes"])
        _note(plan, by, said={"said": "created", "owner": clean["owner"].display_name, "due": data.due_date.isoformat()})
    return plan


def plan_update(*, plan_id: int, by, data: PlanInput) -> ActionPlan:
    with transaction.atomic():
        plan = ActionPlan.objects.select_for_update().get(pk=plan_id)
        if not may_edit(by, plan):
            raise PermissionDenied(_("This plan is not yours to change."))
        clean = _validate(data, by)
        changes = []
        if plan.status != data.status:
            changes.append({"what": "status", "old": plan.status, "new": data.status})
            plan.done_at = timezone.now() if data.status == ActionPlan.Status.DONE else None
        if plan.owner_id != clean["owner"].pk:
            changes.append({"what": "owner", "name": clean["owner"].display_name})
        if plan.due_date != data.due_date:
            changes.append({"what": "due", "old": plan.due_date.isoformat(), "new": data.due_date.isoformat()})
        if plan.change_date != data.change_date:
            changes.append({"what": "change_date", "day": data.change_date.isoformat() if data.change_date else ""})
        plan.title, plan.description, plan.owner, plan.team = clean["title"], data.description, clean["owner"], clean["team"]
        plan.status, plan.due_date, plan.change_date = data.status, data.due_date, data.change_date
        plan.touchpoints = clean["touchpoints"]
        plan.save()
        plan.root_causes.set(clean["causes"])
        plan.themes.set(clean["themes"])
        if changes:
            _note(plan, by, said={"said": "changed", "changes": changes})
    return plan


def plan_note_add(*, plan_id: int, by, text: str) -> ActionPlanNote:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": [_("Write the note first.")]})
    if len(text) > NOTE_MAX:
        raise ValidationError({"text": [_("A note holds at most %(n)s characters.") % {"n": NOTE_MAX}]})
    plan = ActionPlan.objects.get(pk=plan_id)
    if not may_edit(by, plan):
        raise PermissionDenied(_("This plan is not yours to change."))
    return _note(plan, by, text)


def plan_cases_link(*, plan_id: int, by, references: list[str]) -> int:
    """Link cases by reference (the ones `by` may see); unknown references are a ValidationError
    naming them, and nothing is linked."""
    plan = ActionPlan.objects.get(pk=plan_id)
    if not may_edit(by, plan):
        raise PermissionDenied(_("This plan is not yours to change."))
    wanted = {r.strip().upper() for r in references if r and r.strip()}
    if not wanted:
        raise ValidationError({"references": [_("Give at least one case reference.")]})
    cases = Case.objects.filter(reference__in=wanted)
    teams = visible_team_ids(by)
    if teams is not None:
        cases = cases.filter(team_id__in=teams)
    found = {c.reference: c for c in cases}
    missing = sorted(wanted - set(found))
    if missing:
        raise ValidationError({"references": [_("No case you may see has the reference %(refs)s.")
                                              % {"refs": ", ".join(missing)}]})
    with transaction.atomic():
        before = set(plan.cases.values_list("pk", flat=True))
        new = [c for c in found.values() if c.pk not in before]
        plan.cases.add(*new)
        if new:
            _note(plan, by, said={"said": "linked", "refs": sorted(c.reference for c in new)})
    return len(new)


def plan_case_unlink(*, plan_id: int, by, case_id: int) -> None:
    plan = ActionPlan.objects.get(pk=plan_id)
    if not may_edit(by, plan):
        raise PermissionDenied(_("This plan is not yours to change."))
    case = plan.cases.filter(pk=case_id).first()
    if case is not None:
        plan.cases.remove(case)
        _note(plan, by, said={"said": "unlinked", "ref": case.reference})
