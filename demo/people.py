"""Demo people and teams: the three demo logins and the teams they work in."""

from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.contrib.auth.hashers import make_password

from accounts.models import Membership, Role, SlaPolicy, Team, User

TEAMS = [
    # name, slug, time zone, holiday country, subdivision, default?
    ("North", "north", "Europe/London", "GB", "ENG", True),
    ("South", "south", "Europe/Madrid", "ES", "MD", False),
    ("Online", "online", "America/New_York", "US", "NY", False),
]


def _user(username: str, role: str, first: str, last: str, password: Callable[[], str], **extra) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"role": role, "first_name": first, "last_name": last, "email": f"{username}@closeloop.example", **extra},
    )
    if created:
        user.password = password()  # what set_password(DEMO_PASSWORD) stores, hashed once for all
        user.save()
    return user


def seed(context: dict) -> dict:
    teams = {}
    for name, slug, tz, country, subdivision, default in TEAMS:
        teams[slug], _ = Team.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name, "timezone": tz, "holiday_country": country, "holiday_subdivision": subdivision,
                "is_default": default, "assignment": Team.Assignment.ROUND_ROBIN if slug == "online" else Team.Assignment.MANUAL,
                "escalation_email": f"escalations-{slug}@closeloop.example",
            },
        )
    # DEMO_PASSWORD hashed once, for the logins created now: the hasher is slow on purpose (a
    # quarter of a second a hash here), and every demo login has the one published password.
    password = cache(lambda: make_password(settings.DEMO_PASSWORD))
    agent = _user("agent", Role.AGENT, "Alex", "Agent", password)
    manager = _user("manager", Role.MANAGER, "Morgan", "Manager", password)
    admin = _user("admin", Role.ADMIN, "Ada", "Admin", password, is_staff=True, is_superuser=True)
    colleagues = [
        _user("sam", Role.AGENT, "Sam", "Shore", password),
        _user("priya", Role.AGENT, "Priya", "Patel", password),
        _user("lucia", Role.AGENT, "Lucía", "García", password),
        _user("omar", Role.AGENT, "Omar", "Haddad", password),
    ]
    memberships = [
        (agent, "north", False), (colleagues[0], "north", False), (colleagues[1], "online", False),
        (colleagues[2], "south", False), (colleagues[3], "online", False), (agent, "online", False),
        (manager, "north", True), (manager, "online", True),
    ]
    for user, slug, is_manager in memberships:
        Membership.objects.get_or_create(user=user, team=teams[slug], defaults={"is_manager": is_manager})
    for name, priority, tier, first, resolve in [
        ("Urgent", "urgent", "", 1, 8),
        ("High", "high", "", 4, 16),
        ("Standard", "", "", 8, 40),
        ("Tier I customers", "", "Tier I", 2, 16),
        ("Low", "low", "", 16, 80),
    ]:
        SlaPolicy.objects.get_or_create(
            name=name,
            defaults={"priority": priority, "customer_tier": tier, "first_contact_hours": first, "resolution_hours": resolve},
        )
    return {"teams": teams, "agent": agent, "manager": manager, "admin": admin, "colleagues": colleagues}
