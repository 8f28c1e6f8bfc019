"""`{% topbar %}`: every page's top bar (base.html), rendered by Jinja2 (jinja2/topbar.html).

Django's engine spent about a millisecond of every page on it (the navigation's links, the bell,
the person's name and the sign-out form: bench/page_cpu.py). The values come from the page's
context as base.html had them: `nav_items` (accounts.context_processors.navigation),
`notifications_unread` (the bell's count, cases.context_processors), `user` and `csrf_token`."""

from __future__ import annotations

from django import template
from django.template import engines
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

register = template.Library()


@register.simple_tag(takes_context=True)
def topbar(context) -> SafeString:
    user = context.get("user")
    values = {"signed_in": bool(user is not None and user.is_authenticated)}
    if values["signed_in"]:
        unread = context.get("notifications_unread") or 0
        token = context.get("csrf_token")
        values.update(
            nav_items=context.get("nav_items") or (), unread=unread, name=user.display_name, role=user.get_role_display(),
            bell_label=gettext("Notifications: %(unread)s unread") % {"unread": unread},
            # As {% csrf_token %} prints it (nothing without the CSRF context processor's token).
            csrf_html=format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)
            if token and token != "NOTPROVIDED" else "",
        )
    return mark_safe(engines["jinja2"].get_template("topbar.html").render(values))  # escaped by Jinja2
