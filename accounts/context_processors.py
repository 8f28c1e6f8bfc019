from django.urls import NoReverseMatch, reverse


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


# (label, url name, who sees it). Entries whose page is not installed are left out.
NAVIGATION = [
    ("Inbox", "cases:inbox", "agent"),
    ("Customers", "customers:list", "agent"),
    ("Dashboard", "reporting:dashboard", "manager"),
    ("Reports", "reporting:reports", "manager"),
    ("Recognition", "followup:recognition", "agent"),
    ("Settings", "organisation:index", "admin"),
    ("Alert rules", "alerts:rule_list", "admin"),
    ("Themes", "surveys:theme_list", "admin"),
    ("Connect", "surveys:setup", "admin"),
    ("Deliveries", "surveys:console", "admin"),
    ("API", "api-docs", "agent"),
    ("API tokens", "accounts:tokens", "agent"),
    ("Admin", "admin:index", "admin"),
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
