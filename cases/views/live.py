"""/cases/live/: what an open inbox, case page or overdue dashboard polls to learn that something
changed (static/js/live.js), answered from the change counters in Redis (cases.live).

The page carries a signed ticket (who, which teams or which case; made when the page was
rendered, valid for TICKET_MAX_AGE) in the X-Live-Ticket header, so an unchanged answer costs one
signature check and one Redis MGET, no database query and no session read: a 304 with the ETag
the browser sent. A changed answer is 200 with JSON the page compares with what it showed:

    {"token": "...", "list": "...", "new": 2, "unread": 3, "ticket": "..."}

`list` changes when the page's list (or the case) changed, `new` counts cases opened in the
user's teams since counting began (the page shows the difference as "N new"), `unread` is the
bell's count. An expired or missing ticket falls back to the session and hands a fresh ticket
back; a signed-out browser gets 401, a case of another team 404, Redis down 503 (the page offers
a manual refresh). Scopes: "teams" (inbox, dashboard) and "case" (?case=<reference>).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from accounts.selectors import visible_team_ids
from cases import inapp, live
from cases.models import Case
from cases.selectors import case_list_for_user

TICKET_SALT = "cases.live.ticket"
TICKET_MAX_AGE = 3600  # seconds; then one poll reads the session and renews it
SCOPES = ("teams", "case")


@dataclass(frozen=True)
class Ticket:
    user_id: int
    scope: str
    team_ids: tuple[int, ...] | None  # None: every team (admins)
    case_id: int | None = None

    def sign(self) -> str:
        return signing.dumps([self.user_id, self.scope, self.team_ids, self.case_id], salt=TICKET_SALT)

    @classmethod
    def load(cls, value: str) -> Ticket | None:
        try:
            user_id, scope, teams, case_id = signing.loads(value, salt=TICKET_SALT, max_age=TICKET_MAX_AGE)
        except (signing.BadSignature, TypeError, ValueError):
            return None
        return cls(int(user_id), scope, None if teams is None else tuple(teams), case_id)


@dataclass(frozen=True)
class LiveState:
    token: str  # the ETag: changes whenever anything below changes
    list: str   # the list's (or the case's) fingerprint
    new: int    # cases opened in the user's teams (a running count)
    counters: dict


def ticket_for(user, scope: str, case: Case | None = None) -> Ticket:
    teams = visible_team_ids(user)
    return Ticket(user.pk, scope, None if teams is None else tuple(sorted(teams)),
                  case.pk if case is not None else None)


def state(ticket: Ticket, case: Case | None = None) -> LiveState | None:
    """The counters behind a ticket, or None when Redis is unreachable. `case`: the ticket's case
    as the page loaded it (saves reading its overdue marks again)."""
    if ticket.scope == "case":
        list_keys, new_keys = [live.case_key(ticket.case_id)], []
    else:
        teams = (live.ALL,) if ticket.team_ids is None else ticket.team_ids
        list_keys, new_keys = [live.team_key(t) for t in teams], [live.new_key(t) for t in teams]
    counters = live.snapshot([*list_keys, *new_keys, live.user_key(ticket.user_id)])
    if counters is None:
        return None
    fingerprint = ".".join(str(counters[k]) for k in list_keys)
    if ticket.scope == "case":
        # The sweep marks a case overdue or escalated without bumping it: read those two here.
        row = ((case.overdue_at, case.escalation_level) if case is not None else
               Case.objects.filter(pk=ticket.case_id).values_list("overdue_at", "escalation_level").first())
        fingerprint += f".{row[0].timestamp() if row and row[0] else 0}.{row[1] if row else 0}"
    raw = f"{ticket.scope}:{fingerprint}:{'.'.join(str(counters[k]) for k in new_keys)}:" \
          f"{counters[live.user_key(ticket.user_id)]}"
    return LiveState(token='"' + hashlib.blake2b(raw.encode(), digest_size=10).hexdigest() + '"',
                     list=hashlib.blake2b(fingerprint.encode(), digest_size=8).hexdigest(),
                     new=sum(counters[k] for k in new_keys), counters=counters)


def _ticket_from_session(request: HttpRequest) -> Ticket:
    scope = request.GET.get("scope", "teams")
    if scope not in SCOPES:
        raise Http404("No such live scope.")
    case = None
    if scope == "case":
        case_id = (case_list_for_user(request.user).filter(reference=request.GET.get("case", ""))
                   .values_list("pk", flat=True).first())
        if case_id is None:
            raise Http404("No such case.")
        case = Case(pk=case_id)
    return ticket_for(request.user, scope, case)


@require_GET
def live_changes(request: HttpRequest) -> HttpResponse:
    ticket = Ticket.load(request.headers.get("X-Live-Ticket", ""))
    renewed = ticket is None
    if renewed:
        if not request.user.is_authenticated:
            return JsonResponse({"detail": "Sign in again to see live updates."}, status=401)
        ticket = _ticket_from_session(request)
    current = state(ticket)
    if current is None:
        response = JsonResponse({"detail": "Live updates are unavailable; refresh the page to see changes."},
                                status=503)
        response["Retry-After"] = "30"
        return response
    if not renewed and request.headers.get("If-None-Match") == current.token:
        response = HttpResponse(status=304)
    else:
        body = {"token": current.token, "list": current.list, "new": current.new,
                "unread": inapp.bell_count(ticket.user_id)}
        if renewed:
            body["ticket"] = ticket.sign()
        response = JsonResponse(body)
    response["ETag"] = current.token
    patch_cache_control(response, private=True, no_cache=True)
    return response


# page -> (the ticket's scope, how a click refreshes: "inbox" swaps the list in place, else reload)
MARKER_PAGES = {"inbox": ("teams", "inbox"), "dashboard": ("teams", "reload"), "case": ("case", "reload")}


def marker(user, page: str, case=None) -> dict | None:
    """What a page's live marker (templates/cases/_live_marker.html) holds: the signed ticket and
    the counters the page was rendered with; None for nobody signed in or an unknown page."""
    if user is None or not user.is_authenticated or page not in MARKER_PAGES:
        return None
    scope, refresh = MARKER_PAGES[page]
    ticket = ticket_for(user, scope, case)
    current = state(ticket, case)  # None (Redis down): the script starts from its first answer
    return {
        "scope": scope, "refresh": refresh, "case": case.reference if case is not None else "",
        "ticket": ticket.sign(), "token": current.token if current else "", "list": current.list if current else "",
        "new": current.new if current else "", "what": "case" if scope == "case" else "list",
    }
