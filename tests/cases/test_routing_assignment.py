"""Routing rules choose the team; the team's mode picks the person; repeats attach or reopen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Membership, SlaPolicy, Team
from cases.models import CaseEvent, RoutingRule
from cases.routing import route
from cases.services import case_close
from tests.cases.conftest import make_customer, make_response, make_rule, open_case, root_cause
from tests.factories import make_user
from cases.timeline import event_note

pytestmark = pytest.mark.django_db


def test_the_first_matching_rule_wins_and_the_default_catches_the_rest(personas):
    RoutingRule.objects.create(name="Leeds deliveries", order=1, team=personas.south, touchpoints=["Delivery"],
                               locations=["leeds"])
    RoutingRule.objects.create(name="All deliveries", order=2, team=personas.north, touchpoints=["delivery"])
    RoutingRule.objects.create(name="Gold", order=3, team=personas.south, customer_tiers=["Gold"], active=False)
    assert route(make_response(make_customer(), touchpoint="delivery", location="Leeds")) == personas.south
    assert route(make_response(make_customer(), touchpoint="delivery", location="York")) == personas.north
    assert route(make_response(make_customer(tier="Gold"), touchpoint="store")) == personas.north  # inactive rule


def test_rules_match_region_tier_channel_and_metric(personas):
    RoutingRule.objects.create(name="Gold CSAT by e-mail in the North East", team=personas.south,
                               locations=["north east"], customer_tiers=["gold"], channels=["email"], metrics=["csat"])
    customer = make_customer(tier="Gold")
    matching = make_response(customer, nps=None, csat=Decimal("2"), channel="email", location="Newcastle",
                             region="North East")
    assert route(matching) == personas.south
    assert route(make_response(customer, nps=3, channel="email", region="North East")) == personas.north


def test_a_case_opens_in_the_routed_team_with_due_times_from_its_policy(personas):
    RoutingRule.objects.create(name="Store", team=personas.south, touchpoints=["store"])
    SlaPolicy.objects.create(name="Std", first_contact_hours=2, resolution_hours=8)
    Team.objects.filter(pk=personas.south.pk).update(opening_hours={d: [["00:00", "24:00"]] for d in
                                                     ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]})
    at = timezone.now()
    case = open_case(make_response(make_customer(account_value=Decimal("880")), touchpoint="store"), at=at)
    assert case.team == personas.south
    assert case.first_contact_due == at + dt.timedelta(hours=2)
    assert case.resolution_due == at + dt.timedelta(hours=8)
    assert case.value_at_risk == Decimal("880")
    case.response.refresh_from_db()
    assert case.response.team == personas.south


def test_an_alert_rules_policy_overrides_the_chosen_one(personas):
    SlaPolicy.objects.create(name="Std", first_contact_hours=8, resolution_hours=40)
    vip = SlaPolicy.objects.create(name="VIP", first_contact_hours=1, resolution_hours=4)
    case = open_case(rule=make_rule(name="VIP detractor", sla_policy=vip))
    assert case.sla_policy == vip


def test_round_robin_skips_away_members_and_managers(personas):
    Team.objects.filter(pk=personas.north.pk).update(assignment="round_robin")
    dora = make_user("dora", is_away=True)
    Membership.objects.create(user=dora, team=personas.north)
    assignees = [open_case().assignee for _ in range(4)]
    assert assignees == [personas.alice, personas.bob, personas.alice, personas.bob]
    personas.north.refresh_from_db()
    assert personas.north.last_assigned == personas.bob


def test_fewest_open_picks_the_least_loaded_member(personas):
    Team.objects.filter(pk=personas.north.pk).update(assignment="fewest_open")
    first = open_case()
    assert first.assignee == personas.alice  # tie: lowest id
    assert open_case().assignee == personas.bob
    case_close(case_id=first.pk, by=personas.alice, root_cause_id=root_cause().pk, resolution="Done",
               outcome="resolved")
    assert open_case().assignee == personas.alice


def test_manual_teams_leave_cases_in_the_queue_and_assignment_is_notified(personas):
    assert open_case().assignee is None
    Team.objects.filter(pk=personas.north.pk).update(assignment="round_robin")
    case = open_case()
    assert sorted(case.notifications.filter(kind="assigned", recipient=case.assignee)
                  .values_list("channel", flat=True)) == ["email", "in_app"]


def test_a_repeat_response_is_attached_to_the_open_case_and_raises_priority(personas):
    customer = make_customer()
    case = open_case(customer=customer)
    again = open_case(make_response(customer, nps=0, comment="Still no refund!"),
                      rule=make_rule(name="Angry", case_priority="urgent"))
    assert again.pk == case.pk
    again.refresh_from_db()
    assert again.priority == "urgent" and again.responses.count() == 2
    assert list(again.events.values_list("kind", flat=True)) == ["opened", "response_attached", "priority"]


def test_a_low_score_within_the_window_after_closure_reopens_the_case(personas):
    customer = make_customer(name="Ana Lima")
    case = open_case(customer=customer)
    case_close(case_id=case.pk, by=personas.alice, root_cause_id=root_cause().pk, resolution="Refund", outcome="resolved")
    reopened = open_case(make_response(customer, nps=2))
    assert reopened.pk == case.pk and reopened.status == "in_progress" and reopened.reopen_count == 1
    event = reopened.events.get(kind="reopened")
    assert event.actor is None and event.note == ""  # the product's words, stored as a code
    assert event_note(event) == ("Reopened automatically: the customer sent another low score (NPS 2 of 0–10: "
                                 "detractor) the same day as the closure (rule “Test detractor”, window 14 days).")


def test_after_the_window_a_new_case_is_opened(personas):
    customer = make_customer()
    long_ago = timezone.now() - dt.timedelta(days=30)
    case = open_case(customer=customer, at=long_ago)
    case_close(case_id=case.pk, by=personas.alice, root_cause_id=root_cause().pk, resolution="Refund",
               outcome="resolved", at=long_ago + dt.timedelta(hours=2))
    fresh = open_case(make_response(customer, nps=2))
    assert fresh.pk != case.pk
    assert CaseEvent.objects.filter(case=case, kind="reopened").count() == 0


def test_the_same_alert_never_opens_two_cases(personas):
    from cases.services import case_open_from_alert
    from tests.cases.conftest import make_alert

    alert = make_alert()
    assert case_open_from_alert(alert=alert).pk == case_open_from_alert(alert=alert).pk


def test_a_new_default_team_takes_unrouted_responses_at_once(settings):
    """Routing is cached per process; changing which team is the default is honoured at once."""
    from accounts.models import Team
    from cases.routing import route_team_id

    settings.ALERT_RULES_CHECK_SECONDS = 3600  # only the change signal can refresh the cache
    old = Team.objects.create(name="Old default", slug="old-default", is_default=True)
    unrouted = make_response(make_customer(), touchpoint="nowhere-special")
    assert route_team_id(unrouted) == old.pk
    Team.objects.filter(pk=old.pk).update(is_default=False)  # no signal: the save below announces the change
    new = Team.objects.create(name="New default", slug="new-default", is_default=True)
    assert route_team_id(unrouted) == new.pk


def test_a_changed_calendar_closed_day_or_sla_policy_applies_to_the_next_case_at_once(personas, settings):
    """Teams (with their calendars) and SLA policies are cached per process; a change to any of
    them is honoured by the very next case, even with a long cache check interval."""
    from accounts.models import ClosedDay

    settings.ALERT_RULES_CHECK_SECONDS = 3600  # only the change signals can refresh the cache
    north = personas.north
    north.timezone, north.opening_hours = "UTC", {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    north.is_default = True
    north.save()
    SlaPolicy.objects.all().delete()
    policy = SlaPolicy.objects.create(name="Standard", first_contact_hours=2, resolution_hours=8)
    monday = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    first = open_case(at=monday)
    assert first.team == north and first.first_contact_due == monday + dt.timedelta(hours=2)

    policy.first_contact_hours = 4
    policy.save()
    assert open_case(at=monday).first_contact_due == monday + dt.timedelta(hours=4)

    north.opening_hours = {d: [["10:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    north.save()
    assert open_case(at=monday).first_contact_due == monday + dt.timedelta(hours=5)  # opens at 10, +4 h

    ClosedDay.objects.create(team=north, date=monday.date(), name="Stock-take")
    tuesday_10 = monday + dt.timedelta(days=1, hours=1)
    assert open_case(at=monday).first_contact_due == tuesday_10 + dt.timedelta(hours=4)
