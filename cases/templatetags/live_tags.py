"""The live marker an inbox, case page or dashboard includes: `{% load live_tags %}{% live_marker "inbox" %}`
(or `{% live_marker "case" case %}`, `{% live_marker "dashboard" %}`). It renders the ticket and
the counters the page was rendered with; static/js/live.js polls /cases/live/ and shows "N new" or
"Updated" there. One Redis MGET per page (no database query for the inbox and the dashboard)."""

from __future__ import annotations

from django import template

from cases.views.live import marker

register = template.Library()


@register.inclusion_tag("cases/_live_marker.html", takes_context=True)
def live_marker(context, page: str, case=None) -> dict:
    request = context.get("request")
    return {"live": marker(getattr(request, "user", None), page, case)}
