"""Test data for root-cause suggestion, playbooks and the theme and sentiment filters: closed cases
with a known cause (plain ORM, fast), themes tagged on responses, and separable comments per cause."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

from django.utils import timezone

from cases.models import Case, RootCause
from surveys.models import ResponseTheme, Theme
from tests.factories import ResponseThemeFactory, ThemeFactory, opened_case
from tests.inbox.helpers import make_alert, make_customer, make_response

_n = itertools.count(1)

# Three causes customers describe in clearly different words (with some shared filler).
PHRASES = {
    "Late": ["parcel arrived three days late", "delivery was late again", "courier came a day late",
             "still waiting for my delivery", "order took two weeks to arrive"],
    "Attitude": ["the cashier was rude", "staff were unfriendly and rude", "assistant ignored me",
                 "manager was dismissive", "rude staff at the till"],
    "Wrong charge": ["charged twice on my card", "overcharged for my shopping", "wrong amount taken from my card",
                     "double payment on my card", "charged for something I returned"],
}
FILLER = ["very disappointed", "not happy", "again", "today", "please sort it out"]
TOUCHPOINT = {"Late": "delivery", "Attitude": "store visit", "Wrong charge": "billing"}


def cause(name: str) -> RootCause:
    return RootCause.objects.select_related("category").get(name=name)


def comment_for(name: str, rng: random.Random) -> str:
    return f"{rng.choice(PHRASES[name])}, {rng.choice(FILLER)}"


def make_theme(name: str, keywords=(), status=Theme.Status.ACTIVE) -> Theme:
    return ThemeFactory(name=name, slug=name.lower().replace(" ", "-"), keywords=list(keywords), status=status)


def tag(response, theme: Theme, *matches: str) -> ResponseTheme:
    return ResponseThemeFactory(response=response, theme=theme, matches=list(matches) or [theme.name.lower()])


def make_open_case(team, *, comment="", touchpoint="", sentiment=None, assignee=None, **extra) -> Case:
    """An open case (with its OPENED event), clocks a day ahead."""
    customer = make_customer()
    response = make_response(customer=customer, team=team, comment=comment, sentiment=sentiment,
                             touchpoint=touchpoint or "Checkout")
    return opened_case(reference=f"CL-T{next(_n):05d}", customer=customer, response=response,
                       alert=make_alert(response), team=team, assignee=assignee, **extra)


def make_closed_case(team, root_cause: RootCause, *, comment: str, touchpoint: str = "", days_ago: int = 1) -> Case:
    closed_at = timezone.now() - timedelta(days=days_ago)
    return make_open_case(
        team, comment=comment, touchpoint=touchpoint, status=Case.Status.CLOSED, root_cause=root_cause,
        resolution="Called and put it right.", outcome=Case.Outcome.RESOLVED, closed_at=closed_at,
    )


def closed_history(team, per_cause: int = 12, causes=("Late", "Attitude", "Wrong charge"), seed: int = 3) -> None:
    """per_cause closed cases for each cause, with that cause's words and usual touchpoint."""
    rng = random.Random(seed)
    for i in range(per_cause):
        for name in causes:
            make_closed_case(team, cause(name), comment=comment_for(name, rng), touchpoint=TOUCHPOINT[name],
                             days_ago=1 + i)
