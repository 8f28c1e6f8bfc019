"""Plain helpers that build test data. Personas follow healthchecks' alice/bob/charlie:
Bob is on Alice's team and sees her cases; Charlie is on another team and sees none of them."""

from __future__ import annotations

from types import SimpleNamespace

from accounts.models import Membership, Role, Team, User

PASSWORD = "correct horse battery staple"


def make_user(username: str, role: str = Role.AGENT, **extra) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, role=role, email=f"{username}@example.com", **extra)
    return user


def make_team(name: str, **extra) -> Team:
    return Team.objects.create(name=name, slug=name.lower(), **extra)


def make_personas() -> SimpleNamespace:
    north = make_team("North", is_default=True)
    south = make_team("South")
    alice = make_user("alice")
    bob = make_user("bob")
    charlie = make_user("charlie")
    mia = make_user("mia", role=Role.MANAGER)
    adam = make_user("adam", role=Role.ADMIN, is_staff=True)
    Membership.objects.create(user=alice, team=north)
    Membership.objects.create(user=bob, team=north)
    Membership.objects.create(user=charlie, team=south)
    Membership.objects.create(user=mia, team=north, is_manager=True)
    return SimpleNamespace(north=north, south=south, alice=alice, bob=bob, charlie=charlie, mia=mia, adam=adam)
