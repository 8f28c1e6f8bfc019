"""A worker's batch recorded in one transaction (core.unit_of_work), the one recording path: the
same responses, alerts, cases, assignments, timelines and notifications as the same deliveries
processed one at a time (batches of one), in a fraction of the statements; a batch that meets an
error is recorded again as batches of one."""

from __future__ import annotations

import datetime as dt
import json
from functools import partial

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Membership, Team
from alerts.models import Alert
from cases.models import Case, CaseEvent, Notification, RoutingRule
from cases.services import case_close
from surveys.models import Customer, SurveyResponse, WebhookDelivery
from surveys.services import deliveries_process
from surveys.signals import response_recording
from tests.cases.conftest import root_cause
from tests.concurrency import run_concurrently
from tests.factories import make_user
from tests.surveys.payloads import closeloop_body, make_source

pytestmark = pytest.mark.django_db


def _stored(source, body, delivery_id):
    # Stored without being enqueued (tasks are eager in tests): the batch is their first processing.
    return WebhookDelivery.objects.create(source=source, delivery_id=delivery_id, content_type="application/json",
                                          headers={}, body=body).pk


def _teams():
    north = Team.objects.create(name="North", slug="north", is_default=True, assignment="round_robin")
    south = Team.objects.create(name="South", slug="south", assignment="fewest_open")
    people = {}
    for team, names in ((north, ("ann", "ben")), (south, ("sue", "sam"))):
        for name in names:
            people[name] = make_user(name)
            Membership.objects.create(user=people[name], team=team)
    RoutingRule.objects.create(name="Madrid", order=1, team=south, locations=["Madrid"])
    return north, south, people


def _detractor(response_id, customer, location="Leeds"):
    return closeloop_body(response_id=response_id, nps=2, comment="Late again", external_id=customer,
                          email=f"{customer.lower()}@example.com", location=location)


def _process(pks, together: bool) -> dict[int, str]:
    """The deliveries as one batch, or each as a batch of its own (as messages one at a time)."""
    if together:
        return deliveries_process(delivery_pks=pks)
    outcomes = {}
    for pk in pks:
        outcomes.update(deliveries_process(delivery_pks=[pk]))
    return outcomes


@pytest.fixture(params=[True, False], ids=["one-batch", "batches-of-one"])
def together(request):
    return request.param


def test_a_mixed_batch_ends_as_one_delivery_at_a_time_would(together):
    """Round-robin and fewest-open assignment across the batch, a customer's second low score in
    the same batch joining the case its first one opened, a customer's open case from before
    joined, an invalid delivery failing alone, references made from ids."""
    north, south, people = _teams()
    source = make_source("standard")
    earlier = _stored(source, _detractor("old", "E"), "d-old")
    assert deliveries_process(delivery_pks=[earlier]) == {earlier: "processed"}  # E's case, ann (first in turn)
    old_case = Case.objects.get()
    closed = _stored(source, _detractor("r-old", "R"), "d-r-old")
    assert deliveries_process(delivery_pks=[closed]) == {closed: "processed"}  # R's case, ben
    r_case = Case.objects.get(customer__external_id="R")
    case_close(case_id=r_case.pk, by=people["ben"], root_cause_id=root_cause().pk, resolution="Refunded",
               outcome="resolved", at=timezone.now() - dt.timedelta(days=1))
    bodies = [
        closeloop_body(response_id="p0", nps=10, comment="Lovely", external_id="P", email="p@example.com"),
        _detractor("x1", "X"),                      # North: ann (after ben)
        _detractor("y1", "Y"),                      # North: ben
        _detractor("x2", "X"),                      # X's case from this batch: joined
        _detractor("z1", "Z", location="Madrid"),   # South, both at 0 open: sue (lower id)
        _detractor("w1", "W", location="Madrid"),   # South: sam (0 open against sue's 1)
        json.dumps({"data": {"response_id": "bad", "scores": {"nps": 14}}}).encode(),
        _detractor("e2", "E"),                      # E's open case from before: joined
        _detractor("v1", "V"),                      # North: ann
        _detractor("r2", "R"),                      # R's case closed yesterday: reopened
    ]
    pks = [_stored(source, body, f"d-{i}") for i, body in enumerate(bodies)]
    outcomes = _process(pks, together)

    assert [outcomes[pk] for pk in pks] == ["processed"] * 6 + ["failed"] + ["processed"] * 3
    cases = {c.customer.external_id: c for c in Case.objects.select_related("customer", "assignee")}
    reopened = cases.pop("R")
    assert reopened.pk == r_case.pk and reopened.status != "closed" and reopened.reopen_count == 1
    assert reopened.events.filter(kind="reopened", data__said="reopened_by_score").count() == 1
    assert {k: c.assignee.username for k, c in cases.items()} == {
        "E": "ann", "X": "ann", "Y": "ben", "Z": "sue", "W": "sam", "V": "ann"}
    assert {k: c.team.slug for k, c in cases.items()} == {
        "E": "north", "X": "north", "Y": "north", "Z": "south", "W": "south", "V": "north"}
    assert cases["E"].pk == old_case.pk
    assert sorted(cases["X"].case_responses.values_list("response__external_id", flat=True)) == ["x1", "x2"]
    assert sorted(cases["E"].case_responses.values_list("response__external_id", flat=True)) == ["e2", "old"]
    assert all(c.reference == f"CL-{c.pk:06d}" for c in cases.values())
    north.refresh_from_db()
    assert north.last_assigned.username == "ann"
    for key, case in cases.items():
        kinds = list(case.events.order_by("id").values_list("kind", flat=True))
        joined = 1 if key in ("X", "E") else 0
        assert kinds == ["opened", "assigned"] + ["response_attached"] * joined, (key, kinds)
        assert Notification.objects.filter(case=case, kind="assigned", recipient=case.assignee, channel="email").count() == 1
    for pk, delivery in WebhookDelivery.objects.in_bulk(pks).items():
        if delivery.status == "processed":
            assert delivery.response.external_id == json.loads(bytes(delivery.body))["data"]["response_id"]
        else:
            assert "outside its 0–10 scale" in delivery.error
    # The response of each case belongs to the case's team.
    assert set(SurveyResponse.objects.filter(location="Madrid").values_list("team__slug", flat=True)) == {"south"}
    assert Alert.objects.filter(action="praise", response__external_id="p0").count() == 1


def test_rows_written_together_hold_exactly_what_rows_written_one_by_one_hold(settings):
    """The batch writes its rows with COPY (PostgreSQL): every column (text with quotes, tabs,
    backslashes and emoji, JSON, decimals, several scores, time stamps) reads back the same
    whether the rows went in one batch or in batches of one, and as sent."""
    from django.forms.models import model_to_dict

    _teams()
    source = make_source("standard")

    def body(run, i):
        return json.dumps({"type": "response.completed", "data": {
            "response_id": f"{run}-{i}", "survey": {"id": "s", "name": "Onboarding"},
            "answered_at": "2025-03-01T10:00:00Z", "scores": {"nps": 2 + i, "csat": {"value": 2, "min": 1, "max": 5}},
            "comment": 'Line one\tand "two"\n\\N back\\slash, naïve 😡 {"json": [1]}', "touchpoint": "delivery",
            "location": "Leeds", "attributes": {"order": f"A-{i}", "nested": {"n": [1, None, "x"]}},
            "customer": {"external_id": f"{run}-C{i}", "email": f"{run}{i}@example.com", "name": "Zoë O'Brien",
                         "tier": "Gold", "account_value": "1234.50", "attributes": {"plan": "pro\tplus"}},
        }}).encode()

    def record(run, together):
        pks = [_stored(source, body(run, i), f"d-{run}-{i}") for i in range(3)]
        assert set(_process(pks, together).values()) == {"processed"}
        return SurveyResponse.objects.filter(external_id__startswith=f"{run}-").order_by("external_id")

    ignore = {"id", "external_id", "customer", "received_at", "email"}
    together, alone = record("t", True), record("a", False)
    for t, a in zip(together, alone, strict=True):
        assert {k: v for k, v in model_to_dict(t).items() if k not in ignore} == {
            k: v for k, v in model_to_dict(a).items() if k not in ignore}
        assert model_to_dict(t.customer, exclude=["id", "external_id", "email"]) == model_to_dict(
            a.customer, exclude=["id", "external_id", "email"])
        assert t.comment.endswith('😡 {"json": [1]}') and t.customer.attributes == {"plan": "pro\tplus"}
        alerts = [sorted((x.rule_id, x.action, tuple(x.reasons), x.email_status) for x in r.alerts.all())
                  for r in (t, a)]
        assert alerts[0] == alerts[1] and alerts[0]
        cases = [Case.objects.filter(response=r).values("priority", "status", "team", "version", "value_at_risk",
                                                         "sla_policy").get() for r in (t, a)]
        assert cases[0] == cases[1]


def test_what_a_batch_learns_about_known_customers_is_written_and_nothing_else(settings, monkeypatch):
    """Known customers' new names, tiers and values are written together at the end of the
    batch; a field the batch did not change keeps what someone else wrote meanwhile."""
    from surveys import services

    _teams()
    source = make_source("standard")
    ann = Customer.objects.create(external_id="K1", email="k1@example.com", name="Ann", tier="Silver")
    bob = Customer.objects.create(external_id="K2", email="k2@example.com", name="Bob", tier="Gold", phone="1")

    def body(rid, external_id, **customer):
        return json.dumps({"data": {"response_id": rid, "scores": {"nps": 9}, "comment": "Fine", "customer": {
            "external_id": external_id, "email": f"{external_id.lower()}@example.com", **customer}}}).encode()

    pks = [_stored(source, body("k-1", "K1", name="Ann Lee", tier="Gold", account_value="99.90"), "d-k1"),
           _stored(source, body("k-2", "K2", tier="Platinum"), "d-k2"),
           _stored(source, body("k-3", "K1", name="Ann Lee-Smith"), "d-k3")]
    real_load = services.RecordLookups.load

    def load_then_edit(items):
        lookups = real_load(items)
        Customer.objects.filter(pk=bob.pk).update(phone="2")  # someone edits Bob meanwhile
        return lookups

    monkeypatch.setattr(services.RecordLookups, "load", load_then_edit)
    with CaptureQueriesContext(connection) as queries:
        assert deliveries_process(delivery_pks=pks) == dict.fromkeys(pks, "processed")
    ann.refresh_from_db()
    bob.refresh_from_db()
    assert (ann.name, ann.tier, str(ann.account_value)) == ("Ann Lee-Smith", "Gold", "99.90")
    assert (bob.name, bob.tier, bob.phone) == ("Bob", "Platinum", "2")
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "surveys_customer" AS t')]
    assert len(updates) == 2  # one per set of changed fields, not one per customer


def test_a_batch_in_one_transaction_costs_a_few_statements_whatever_its_size(settings):
    """20 deliveries (15 promoters, 5 detractors each opening a case): what one delivery at a
    time did in about 9 statements each is a fixed handful of multi-row statements plus a few
    per case."""
    _teams()
    source = make_source("standard")
    pks = [_stored(source, _detractor(f"q-{i}", f"Q{i}") if i % 4 == 0 else closeloop_body(
        response_id=f"q-{i}", nps=10, comment="Lovely", external_id=f"Q{i}", email=f"q{i}@example.com"), f"d-q-{i}")
        for i in range(22)]
    deliveries_process(delivery_pks=pks[:2])  # warms the per-process caches (rules, routing, themes, staff)
    with CaptureQueriesContext(connection) as queries:
        outcomes = deliveries_process(delivery_pks=pks[2:])
    assert set(outcomes.values()) == {"processed"}
    assert Case.objects.count() == 6 and CaseEvent.objects.filter(kind="opened").count() == 6
    # Shared reads (claim, load, responses, surveys, customers by id and by e-mail) 6; the
    # transaction (a savepoint in the test's) 2; ids for customers, responses and alerts 3; the
    # deliveries' UPDATE 1; the teams' lock, a team's members, preferences 3; a case id each 5;
    # the round-robin UPDATE 1; INSERTs of customers, responses, alerts, cases, case responses,
    # events, notifications 7. One at a time it was about 9 per delivery: 180.
    assert len(queries.captured_queries) <= 28, "\n".join(q["sql"][:120] for q in queries.captured_queries)


def test_a_batch_that_loses_a_race_is_recorded_again_one_by_one(settings, monkeypatch):
    """Another worker creates a customer of the batch after the batch read them: the batch's
    INSERT fails, nothing of it is kept, and each delivery is recorded on its own."""
    from surveys import services

    _teams()
    source = make_source("standard")
    pks = [_stored(source, _detractor(f"r-{i}", f"R{i}"), f"d-r-{i}") for i in range(3)]
    real_load = services.RecordLookups.load
    loads = []

    def load_then_lose_the_race(items):
        lookups = real_load(items)
        if not loads:
            Customer.objects.create(external_id="R1", email="r1@example.com", name="Made meanwhile")
        loads.append(1)
        return lookups

    monkeypatch.setattr(services.RecordLookups, "load", load_then_lose_the_race)
    assert deliveries_process(delivery_pks=pks) == dict.fromkeys(pks, "processed")
    assert len(loads) == 2  # the batch's read, and the read for recording one by one
    assert Customer.objects.filter(external_id="R1").count() == 1
    assert Case.objects.count() == 3 and SurveyResponse.objects.count() == 3
    assert sorted(Case.objects.values_list("customer__external_id", flat=True)) == ["R0", "R1", "R2"]


def test_a_delivery_the_redrive_took_back_meanwhile_is_left_to_it(settings):
    """The re-drive returns a delivery to pending while the batch works: the batch is recorded
    again one by one, and that delivery is left for its newer run."""
    _teams()
    source = make_source("standard")
    pks = [_stored(source, _detractor(f"t-{i}", f"T{i}"), f"d-t-{i}") for i in range(3)]

    def take_back(sender, response, **kwargs):
        if response.external_id == "t-1":
            WebhookDelivery.objects.filter(pk=pks[1]).update(status="pending")

    response_recording.connect(take_back, dispatch_uid="test.take_back")
    try:
        outcomes = deliveries_process(delivery_pks=pks)
    finally:
        response_recording.disconnect(dispatch_uid="test.take_back")
    assert outcomes == {pks[0]: "processed", pks[1]: "skipped", pks[2]: "processed"}
    assert sorted(SurveyResponse.objects.values_list("external_id", flat=True)) == ["t-0", "t-2"]


@pytest.mark.django_db(transaction=True)
def test_two_workers_recording_batches_for_the_same_teams_at_once_both_finish(settings, monkeypatch):
    """Both batches open cases in both teams. The first opening of a batch locks every team in
    id order, so neither waits on the other in a circle (no deadlock, no batch redone), and the
    round-robin turn moves through every case of both."""
    from alerts.models import AlertRule

    AlertRule.objects.all().delete()  # an earlier transactional test may have flushed the seeded ones
    AlertRule.objects.create(name="Detractor", metric="nps", operator="lte", threshold=6, action="open_case")
    north, _south, _people = _teams()
    source = make_source("standard")
    batches = [[_stored(source, _detractor(f"c{w}-{i}", f"C{w}-{i}", location=("Madrid" if i % 2 else "Leeds")),
                        f"d-c{w}-{i}") for i in range(20)] for w in range(2)]
    redone = []

    from surveys import services

    real = services.RecordLookups.load
    monkeypatch.setattr(services.RecordLookups, "load", lambda items: (redone.append(1), real(items))[1])
    results = run_concurrently(*[partial(deliveries_process, delivery_pks=pks) for pks in batches])
    assert all(set(r.values()) == {"processed"} for r in results)
    assert len(redone) == 2, "a batch was recorded again one by one"
    assert Case.objects.count() == 40
    north_cases = Case.objects.filter(team=north).values_list("assignee__username", flat=True)
    assert sorted(north_cases) == ["ann"] * 10 + ["ben"] * 10  # the turn alternated across both batches
    south_counts = sorted(Case.objects.filter(team__slug="south").values("assignee").annotate(
        n=Count("id")).values_list("n", flat=True))
    assert south_counts == [10, 10]
