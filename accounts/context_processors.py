from django.urls import NoReverseMatch
from django.utils.translation import gettext_lazy as _

from core.l10n import url


def _url(name: str) -> str | None:
    """The address of a page without arguments (reversed once per URL configuration and script
    prefix by core.l10n.url: every signed-in page reversed the fifteen entries again), or None
    for a page that is not installed."""
    try:
        return url(name)
    except NoReverseMatch:
        return None


# (label, url name, who sees it). Entries whose page is not installed are left out.
NAVIGATION = [
    (_("Inbox"), "cases:inbox", "agent"),
    (_("Customers"), "customers:list", "agent"),
    (_("Dashboard"), "reporting:dashboard", "manager"),
    (_("Reports"), "reporting:reports", "manager"),
    (_("Action plans"), "improvement:list", "manager"),
    (_("Recognition"), "followup:recognition", "agent"),
    (_("Settings"), "organisation:index", "admin"),
    (_("Alert rules"), "alerts:rule_list", "admin"),
    (_("Themes"), "surveys:theme_list", "admin"),
    (_("Connect"), "surveys:setup", "admin"),
    (_("Deliveries"), "surveys:console", "admin"),
    (_("API"), "api-docs", "agent"),
    (_("API tokens"), "accounts:tokens", "agent"),
    (_("Two-factor"), "accounts:two_factor", "agent"),
    (_("Admin"), "admin:index", "admin"),
]


def navigation(request):
    """The navigation bar for the signed-in user's role."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    allowed = {"agent"}
    if user.is_manager_role:
        allowed.add("manager")
    if user.is_admin_role:
        allowed.add("admin")
    items = []
    for label, name, who in NAVIGATION:
        if who in allowed and (url := _url(name)):
            items.append({"label": label, "url": url, "active": request.path.startswith(url) and url != "/"})
    return {"nav_items": items}
