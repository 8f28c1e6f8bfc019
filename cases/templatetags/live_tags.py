"""The live marker an inbox, case page or dashboard includes: `{% load live_tags %}{% live_marker "inbox" %}`
(or `{% live_marker "case" case %}`, `{% live_marker "dashboard" %}`). It renders the ticket and
the counters the page was rendered with; static/js/live.js polls /cases/live/ and shows "N new" or
"Updated" there. One Redis MGET per page (no database query for the inbox and the dashboard)."""

from __future__ import annotations

from django import template

from cases.views.live import state, ticket_for

register = template.Library()

# page -> (the ticket's scope, how a click refreshes: "inbox" swaps the list in place, else reload)
PAGES = {"inbox": ("teams", "inbox"), "dashboard": ("teams", "reload"), "case": ("case", "reload")}


@register.inclusion_tag("cases/_live_marker.html", takes_context=True)
def live_marker(context, page: str, case=None) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or page not in PAGES:
        return {"live": None}
    scope, refresh = PAGES[page]
    ticket = ticket_for(user, scope, case)
    current = state(ticket, case)  # None (Redis down): the script starts from its first answer
    return {"live": {
        "scope": scope, "refresh": refresh, "case": case.reference if case is not None else "",
        "ticket": ticket.sign(), "token": current.token if current else "", "list": current.list if current else "",
        "new": current.new if current else "", "what": "case" if scope == "case" else "list",
    }}
