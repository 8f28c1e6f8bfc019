"""Group commit on the WSGI door (surveys.group_commit, surveys.ingest._write_group): concurrent
requests of one process share one INSERT and one commit, and each still gets its own answer,
only after its row is committed."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import override_settings

from surveys import ingest
from surveys.group_commit import GroupCommit
from surveys.ingest import delivery_row
from surveys.models import WebhookDelivery
from tests.surveys.doors import signed_deliveries, wsgi_call
from tests.surveys.payloads import make_source


def test_rows_that_arrive_during_a_write_go_together_in_the_next():
    batches = []
    first_started = threading.Event()

    def write(slots):
        batches.append([slot.row for slot in slots])
        first_started.set()
        time.sleep(0.05)  # a commit in flight: the others queue up behind it
        for slot in slots:
            slot.succeed(slot.row * 10)

    group = GroupCommit(write, max_rows=8)
    with ThreadPoolExecutor(max_workers=21) as pool:
        first = pool.submit(group.submit, 0)
        first_started.wait(5)
        others = [pool.submit(group.submit, n) for n in range(1, 21)]
        results = [first.result(5)] + [f.result(5) for f in others]
    assert results == [n * 10 for n in range(21)]  # each caller gets its own row's outcome
    assert batches[0] == [0]  # the first row did not wait for company
    assert sorted(row for batch in batches for row in batch) == list(range(21))
    assert len(batches) <= 5 and max(len(batch) for batch in batches) <= 8


def test_a_failed_write_fails_its_batch_and_the_next_write_goes_on():
    calls = []

    def write(slots):
        calls.append(len(slots))
        if len(calls) == 1:
            raise ConnectionError("database gone")
        for slot in slots:
            slot.succeed("stored")

    group = GroupCommit(write)
    with pytest.raises(ConnectionError):
        group.submit("a")
    assert group.submit("b") == "stored"


def test_a_row_the_writer_forgot_is_failed_not_left_waiting():
    release = threading.Event()

    def write(slots):
        if slots[0].row == "warm":
            release.wait(5)  # hold the lead until both rows below are queued
            slots[0].succeed("stored")
            return
        slots[0].succeed("stored")  # the second slot of this batch is forgotten

    group = GroupCommit(write)
    with ThreadPoolExecutor(max_workers=3) as pool:
        warm = pool.submit(group.submit, "warm")
        time.sleep(0.05)
        first, second = pool.submit(group.submit, "a"), pool.submit(group.submit, "b")
        while len(group._waiting) < 2:
            time.sleep(0.01)
        release.set()
        assert warm.result(5) == "stored"
        outcomes = []
        for future in (first, second):  # which of the two queued first is up to the scheduler
            try:
                outcomes.append(future.result(5))
            except RuntimeError as exc:
                outcomes.append(str(exc))
    assert sorted(outcomes) == ["group commit: the write gave this row no outcome", "stored"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_webhook_requests_each_get_their_own_answer():
    """40 requests from 20 threads through the WSGI door, five of them the same delivery."""
    source = make_source("standard")
    requests = signed_deliveries(source, unique=35, repeats=5)

    def send(item):
        body, headers = item
        try:
            return wsgi_call("POST", f"/webhooks/{source.slug}/", body, headers)
        finally:
            connections.close_all()  # this pool thread's connection

    with ThreadPoolExecutor(max_workers=20) as pool, override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        answers = list(pool.map(send, requests))  # stored and queued, not processed inline
    statuses = [status for status, _h, _c in answers]
    assert statuses[:35] == [202] * 35
    assert sorted(statuses[35:]) == [200, 200, 200, 200, 202]
    stored = dict(WebhookDelivery.objects.values_list("delivery_id", "id"))
    assert len(stored) == 36
    for status, _headers, content in answers:
        answer = json.loads(content)
        assert stored[answer["delivery_id"]] == answer["id"]


@pytest.mark.django_db(transaction=True)
def test_a_row_that_cannot_be_stored_fails_alone():
    """A source deleted between the check and the INSERT fails only its own row's request."""
    source = make_source("standard")
    gone = make_source("standard", slug="gone")
    rows = [delivery_row(source, f"ok-{i}", "application/json", {}, b"{}") for i in range(4)]
    orphan = delivery_row(gone, "orphan", "application/json", {}, b"{}")
    gone.delete()
    outcomes = {}

    def write_all():
        from surveys.group_commit import Slot

        slots = [Slot(row) for row in rows[:2] + [orphan] + rows[2:]]
        ingest._write_group(slots)
        for slot in slots:
            outcomes[slot.row[1]] = slot.error if slot.error is not None else slot.result

    write_all()
    assert isinstance(outcomes.pop("orphan"), Exception)
    assert all(created for _pk, created in outcomes.values())
    assert sorted(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == [f"ok-{i}" for i in range(4)]


@pytest.mark.django_db(transaction=True)
def test_a_nul_character_in_a_delivery_id_is_dropped_and_the_delivery_stored():
    source = make_source("standard")
    row = delivery_row(source, "abc\x00def", "application/json", {"webhook-id": "abc\x00def"}, b"{}")
    pk, delivery_id, created = ingest.store_delivery(source, "abc\x00def", "application/json",
                                                     {"webhook-id": "abc\x00def"}, b"{}")
    assert (delivery_id, created) == ("abcdef", True) == (row[1], True)
    assert WebhookDelivery.objects.get(pk=pk).headers == {"webhook-id": "abcdef"}
    # A lone surrogate (from a JSON body's "\\ud800") cannot be stored as such: replaced.
    pk, delivery_id, created = ingest.store_delivery(source, "x\ud800y", "application/json", {}, b"{}")
    assert (delivery_id, created) == ("x?y", True)
