from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from journeys import services
from tests.factories import SurveyResponseFactory, WebhookSourceFactory
from tests.reporting import builders as b


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def journey_with_stages():
    """Subscriber: Buy, Receive, Get help. Checkout -> Buy and Delivery -> Receive (touchpoints),
    the Support survey -> Get help, the helpdesk source -> Buy."""
    journey = services.journey_create(name="Subscriber", stage_names=["Buy", "Receive", "Get help"])
    buy, receive, get_help = journey.stages.order_by("position")
    helpdesk = WebhookSourceFactory(slug="helpdesk", name="Helpdesk", vendor="standard")
    services.mapping_set(stage=buy, touchpoint="Checkout")
    services.mapping_set(stage=receive, touchpoint="Delivery")
    services.mapping_set(stage=get_help, survey=b.survey("Support"))
    services.mapping_set(stage=buy, source=helpdesk)
    return journey, (buy, receive, get_help), helpdesk


@pytest.fixture
def mapped(personas):
    """Ten days ago, North:
    Buy      Checkout nps 10, 9, 3 (3 -> a case closed after 24 h, cause Late); through the helpdesk
             source (touchpoint Phone, Relationship survey) nps 0 (-> an open case)
    Receive  Delivery on the Support survey (touchpoint first): csat 5 and 1 of 1-5 (1 -> a case
             closed after 48 h, cause Defect)
    Get help Phone on the Support survey: ces 7 and 1 of 1-7
    no stage Store on the Relationship survey: nps 8
    South: Checkout nps 1 (admins only).
    Both teams are always open (no opening hours), so business hours to close are the calendar's
    whatever the day the test runs."""
    now = timezone.now()
    north, south = personas.north, personas.south
    for team in (north, south):
        team.opening_hours = {}
        team.save(update_fields=["opening_hours"])
    journey, stages, helpdesk = journey_with_stages()
    at = now - dt.timedelta(days=10)
    buy = [b.response(north, at=at, nps=n, touchpoint="Checkout") for n in (10, 9, 3)]
    by_source = SurveyResponseFactory(source=helpdesk, survey=b.survey("Relationship"), answered_at=at, nps=0,
                                      touchpoint="Phone", team=north)
    support = b.survey("Support")
    receive = [b.response(north, at=at, csat=c, touchpoint="Delivery", on_survey=support) for c in (5, 1)]
    for ces in (7, 1):
        b.response(north, at=at, ces=ces, touchpoint="Phone", on_survey=support)
    b.response(north, at=at, nps=8, touchpoint="Store")
    b.response(south, at=at, nps=1, touchpoint="Checkout")
    opened = now - dt.timedelta(days=9)
    b.case(north, created=opened, resp=buy[2], contacted=opened, closed=opened + dt.timedelta(hours=24),
           root_cause=b.cause("Late"))
    b.case(north, created=opened, resp=by_source)
    b.case(north, created=opened, resp=receive[1], contacted=opened, closed=opened + dt.timedelta(hours=48),
           root_cause=b.cause("Defect", "Product"))
    personas.journey, personas.stages = journey, stages
    return personas
