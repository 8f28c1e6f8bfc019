"""One action over many cases, shared by the inbox's bulk form and POST /api/v1/cases/bulk/.

Each case goes through its own service call (cases.services) in its own transaction, so one
failure (a stale version, a case closed meanwhile) is reported for that case and does not stop
the others. Assigning to a person of another team moves the case to that team: `team_moves`
lists those moves first, and callers refuse to run them until the person confirms."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext, ngettext

from accounts.models import Team, User
from cases import selectors, services
from cases.services import CaseConflict


@dataclass
class BulkResult:
    reference: str
    ok: bool
    message: str
    url: str = ""


@dataclass(frozen=True)
class TeamMove:
    case_id: int
    reference: str
    from_team: str
    to_team: str

    def __str__(self) -> str:
        return gettext("%(reference)s from %(old)s to %(new)s") % {
            "reference": self.reference, "old": self.from_team, "new": self.to_team}


def team_moves(user: User, case_ids, team: Team) -> list[TeamMove]:
    """The selected cases (those `user` may see) that assigning into `team` would move there."""
    rows = (
        selectors.case_list_for_user(user).select_related(None).filter(pk__in=list(case_ids))
        .exclude(team=team).order_by("reference").values_list("pk", "reference", "team__name")
    )
    return [TeamMove(pk, reference, from_team, team.name) for pk, reference, from_team in rows]


def describe_moves(moves: list[TeamMove]) -> str:
    """"This moves 2 cases to another team: CL-1 from North to South; CL-2 from East to South.\""""
    return ngettext("This moves %(count)s case to another team: %(moves)s.",
                    "This moves %(count)s cases to another team: %(moves)s.", len(moves)) % {
        "count": len(moves), "moves": "; ".join(str(m) for m in moves)}


def bulk_apply(user: User, *, action: str, selected: dict[int, int | None], assignee: User | None = None,
               team: Team | None = None, priority: str = "", root_cause: int | None = None, resolution: str = "",
               outcome: str = "", prevention: str = "") -> list[BulkResult]:
    """Run `action` ("assign", "priority" or "close") on each selected case ({case id: the version
    the person saw, or None}); a case the user cannot see is "not found"."""
    references = dict(
        selectors.case_list_for_user(user).select_related(None).filter(pk__in=list(selected))
        .values_list("pk", "reference")
    )
    if action == "assign":
        def perform(case_id, version):
            return services.case_assign(case_id=case_id, by=user, assignee=assignee, team=team,
                                        expected_version=version)

        done = (gettext("assigned to %(name)s") % {"name": assignee.display_name} if assignee else
                gettext("moved to %(team)s") % {"team": team.name})
    elif action == "priority":
        def perform(case_id, version):
            return services.case_change_priority(case_id=case_id, by=user, priority=priority,
                                                 expected_version=version)

        done = gettext("priority set to %(priority)s") % {"priority": priority}
    elif action == "close":
        def perform(case_id, version):
            return services.case_close(case_id=case_id, by=user, root_cause_id=root_cause, resolution=resolution,
                                       outcome=outcome, prevention=prevention, expected_version=version)

        done = gettext("closed")
    else:
        raise ValueError(f"No bulk action {action!r}.")
    results = []
    for case_id, version in selected.items():
        reference = references.get(case_id)
        if reference is None:
            results.append(BulkResult(f"#{case_id}", False, gettext("not found (or not yours to see)")))
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
