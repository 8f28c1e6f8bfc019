"""Fault scripts: break one piece of the production-like stack under load and check that nothing
is lost or doubled. Run with `make faults` (each test bounded; ~2-4 minutes in all)."""

from __future__ import annotations

import importlib.util
import os
import random
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests

from bench.faults.harness import REDRIVE_INTERVAL, response_body, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CASES_BUILT = importlib.util.find_spec("alerts.services") is not None


def _send_all(stack, items, threads: int = 8, retry_until_2xx: bool = False, deadline: float = 120,
              pause: float = 0.0):
    """POST every (msg_id, body); returns {msg_id: final status} (None when never answered).
    `pause` spaces each sender's deliveries, so a run lasts long enough for a fault to hit it."""
    results: dict = {}
    stop_at = time.monotonic() + deadline

    def send(item):
        msg_id, body = item
        session = requests.Session()
        status = None
        while time.monotonic() < stop_at:
            try:
                status = stack.post(body, msg_id, session=session, timeout=10).status_code
            except requests.RequestException:
                status = None
            if not retry_until_2xx or (status is not None and 200 <= status < 300):
                break
            time.sleep(0.1)
        results[msg_id] = status
        session.close()
        if pause:
            time.sleep(pause)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(send, items))
    return results


def _batch(prefix: str, n: int):
    return [(f"{prefix}-{i}", response_body(f"{prefix}-{i}", nps=i % 11)) for i in range(n)]


def _counts(stack) -> dict:
    rows = stack.sql("SELECT status, count(*) FROM surveys_webhookdelivery GROUP BY status")
    return {status: n for status, n in rows}


def _assert_exactly_once(stack, prefix: str, n: int):
    """Every response stored once, every detractor (NPS <= 6) with exactly one case."""
    assert stack.scalar("SELECT count(*) FROM surveys_surveyresponse WHERE external_id LIKE %s", f"{prefix}-%") == n
    assert stack.scalar(
        "SELECT count(*) FROM (SELECT external_id FROM surveys_surveyresponse GROUP BY source_id, external_id "
        "HAVING count(*) > 1) d"
    ) == 0
    assert _counts(stack).get("processing", 0) == 0 and _counts(stack).get("pending", 0) == 0
    if CASES_BUILT and stack.scalar("SELECT count(*) FROM alerts_alertrule"):
        low = stack.scalar(
            "SELECT count(*) FROM surveys_surveyresponse WHERE external_id LIKE %s AND nps <= 6", f"{prefix}-%"
        )
        per_response = stack.sql(
            "SELECT r.id, count(DISTINCT c.id) FROM surveys_surveyresponse r "
            "LEFT JOIN cases_caseresponse cr ON cr.response_id = r.id LEFT JOIN cases_case c ON c.id = cr.case_id "
            "OR c.response_id = r.id WHERE r.nps <= 6 AND r.external_id LIKE %s GROUP BY r.id", f"{prefix}-%"
        )
        assert len(per_response) == low
        assert all(n == 1 for _, n in per_response), "a detractor with no case or two cases"


def _all_processed(stack, n):
    counts = _counts(stack)
    return counts.get("processed", 0) + counts.get("failed", 0) >= n and not counts.get("processing")


def test_worker_killed_with_1000_deliveries_in_flight(stack, figures):
    stack.start_web(workers=2)
    items = _batch("kill", 1000)
    started = time.monotonic()
    results = _send_all(stack, items)
    figures["post_seconds"] = round(time.monotonic() - started, 1)
    assert sorted(set(results.values())) == [202]
    stack.start_beat()
    worker = stack.start_worker(concurrency=4)
    wait_for(lambda: _counts(stack).get("processed", 0) >= 150, 90, what="150 processed")
    in_flight = 1000 - _counts(stack).get("processed", 0)
    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its pool children, no goodbye
    worker.wait(10)
    figures["in_flight_at_kill"] = in_flight
    killed_at = time.monotonic()
    stack.start_worker(concurrency=4)
    wait_for(lambda: _all_processed(stack, 1000), 180, 0.5, "all 1000 processed after the restart")
    figures["recovery_seconds"] = round(time.monotonic() - killed_at, 1)
    figures["failed"] = _counts(stack).get("failed", 0)
    assert figures["failed"] == 0
    _assert_exactly_once(stack, "kill", 1000)
    figures["cases_checked"] = CASES_BUILT


@pytest.mark.parametrize("queued_tasks_lost", [False, True], ids=["redis-down", "redis-back-empty"])
def test_redis_outage_loses_no_delivery(stack, figures, queued_tasks_lost):
    stack.start_web(workers=2)
    items = _batch("redis", 100)
    if queued_tasks_lost:
        # Tasks are queued in Redis while no worker runs; then Redis restarts with nothing.
        results = _send_all(stack, items)
        # Batched: several deliveries per message, published by the server's background thread a
        # moment after the 202; wait until it has published them all (the depth stays put), or a
        # late one would reach the restarted Redis.
        depths: list[int] = []
        wait_for(lambda: depths.append(stack.queue_depth()) or depths[-3:] == [depths[-1]] * 3 and depths[-1] >= 1,
                 30, 0.5, "every delivery published")
        stack.stop_redis()
        stack.start_redis()
        assert stack.queue_depth() == 0
    else:
        stack.start_worker(concurrency=4)
        stack.start_beat()
        stack.stop_redis()
        started = time.monotonic()
        results = _send_all(stack, items)
        figures["seconds_to_answer_100_while_redis_down"] = round(time.monotonic() - started, 1)
        figures["statuses_during_outage"] = _counts(stack)
        stack.start_redis()
    assert set(results.values()) == {202}, "every delivery acknowledged while Redis was down"
    assert stack.scalar("SELECT count(*) FROM surveys_webhookdelivery") == 100
    returned = time.monotonic()
    if queued_tasks_lost:
        stack.start_worker(concurrency=4)
        stack.start_beat()
    wait_for(lambda: _all_processed(stack, 100), 120, 0.25, "all processed after Redis returned")
    elapsed = time.monotonic() - returned
    figures["processed_after_redis_returned_seconds"] = round(elapsed, 1)
    figures["redrive_interval_seconds"] = REDRIVE_INTERVAL
    _assert_exactly_once(stack, "redis", 100)
    # Two re-drive intervals, plus the time the worker needs to be consuming again: a fresh
    # worker and beat boot in a few seconds; a running worker reconnects on Celery's backoff
    # (2 s, 4 s, 6 s... between attempts).
    allowance = 15
    figures["allowed_seconds"] = 2 * REDRIVE_INTERVAL + allowance
    assert elapsed <= 2 * REDRIVE_INTERVAL + allowance


@pytest.mark.parametrize("server", ["web", "ingest"])
def test_database_unreachable_answers_503_and_the_retry_is_stored_once(stack, figures, server):
    """PostgreSQL cut off behind PgBouncer while deliveries arrive, under processes that have
    worked and hold connections (the worker's are cut under it too), then restored: every
    delivery during the outage answered 503 and not stored; retried after it, each stored and
    processed once by the same worker."""
    stack.start_web(workers=2, server=server)
    stack.start_worker(concurrency=2, ready=True)
    before = _send_all(stack, _batch("pg-before", 20))
    assert set(before.values()) == {202}
    wait_for(lambda: _all_processed(stack, 20), 60, 0.25, "the first 20 processed")
    stack.proxy.cut()
    during_items = _batch("pg-during", 50)
    started = time.monotonic()
    during = _send_all(stack, during_items)
    figures["seconds_to_answer_50_while_down"] = round(time.monotonic() - started, 1)
    figures["statuses_while_down"] = sorted({str(s) for s in during.values()})
    assert set(during.values()) == {503}, "never a 2xx (or a 500) while PostgreSQL is unreachable"
    assert stack.scalar("SELECT count(*) FROM surveys_webhookdelivery WHERE delivery_id LIKE 'pg-during-%'") == 0
    health = requests.get(f"{stack.url}/readyz", timeout=10)
    assert health.status_code == 503
    stack.proxy.restore()
    retried = _send_all(stack, during_items, retry_until_2xx=True, deadline=60)
    assert set(retried.values()) == {202}
    again = _send_all(stack, during_items)
    assert set(again.values()) == {200}, "a second retry is a duplicate, not a new delivery"
    wait_for(lambda: _all_processed(stack, 70), 90, 0.25, "all processed")
    _assert_exactly_once(stack, "pg-during", 50)
    assert stack.scalar("SELECT count(*) FROM surveys_webhookdelivery WHERE delivery_id LIKE 'pg-during-%'") == 50


@pytest.mark.parametrize("server", ["web", "ingest"])
def test_web_workers_killed_at_random_under_a_retrying_sender(stack, figures, server):
    stack.start_web(workers=3, server=server)
    stack.start_worker(concurrency=4)
    stack.start_beat()  # a worker killed between commit and enqueue leaves the row to the re-drive
    stop = threading.Event()
    kills = []

    def killer():
        # One kill every 1.5 s for 45 s: a worker needs ~1-2 s to boot, so some are always up.
        rng = random.Random(7)
        until = time.monotonic() + 45
        while not stop.wait(1.5) and time.monotonic() < until:
            pids = stack.web_worker_pids()
            if pids:
                pid = rng.choice(pids)
                try:
                    os.kill(pid, signal.SIGKILL)
                    kills.append(pid)
                except ProcessLookupError:
                    pass

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        # Paced (8 senders x ~3/s): the 400 deliveries span ~15 s of kills on a fast machine too.
        results = _send_all(stack, _batch("webkill", 400), threads=8, retry_until_2xx=True, deadline=120, pause=0.3)
    finally:
        stop.set()
        thread.join(5)
    figures["web_workers_killed"] = len(kills)
    acknowledged = {msg_id for msg_id, status in results.items() if status is not None and 200 <= status < 300}
    stored = {row[0] for row in stack.sql("SELECT delivery_id FROM surveys_webhookdelivery")}
    figures["acknowledged"] = len(acknowledged)
    figures["stored"] = len(stored)
    assert len(kills) >= 5
    assert acknowledged == stored
    assert len(acknowledged) == 400
    waited = time.monotonic()
    wait_for(lambda: _all_processed(stack, 400), 200, 0.5, "all processed")
    figures["processed_seconds_after_last_ack"] = round(time.monotonic() - waited, 1)
    _assert_exactly_once(stack, "webkill", 400)


def test_request_id_reaches_the_worker_log(stack, pages):
    """A request that enqueues a task (an admin replaying a delivery from the console) hands its
    X-Request-ID to the worker: the task's log lines carry it. (Webhook deliveries are published
    in batches by a background thread, several requests per message: they are traced by the
    delivery id instead.)"""
    import re

    stack.start_web(workers=1)
    stack.start_worker(concurrency=1)
    stack.shell(
        "from accounts.models import User; "
        "User.objects.filter(username='ops').exists() or "
        "User.objects.create_user('ops', password='ops-password-for-faults', role='admin', is_staff=True)"
    )
    assert stack.post(response_body("rid-1", nps=9), "rid-1").status_code == 202
    wait_for(lambda: _all_processed(stack, 1), 60, 0.2, "processed")
    pk = stack.scalar("SELECT id FROM surveys_webhookdelivery WHERE delivery_id = 'rid-1'")
    session = requests.Session()
    session.get(f"{stack.url}/login/", timeout=10)
    login = session.post(f"{stack.url}/login/", data={"username": "ops", "password": "ops-password-for-faults",
                         "csrfmiddlewaretoken": session.cookies["csrftoken"]}, timeout=10, allow_redirects=False)
    assert login.status_code == 302
    replay = session.post(
        f"{stack.url}/surveys/deliveries/faults/{pk}/replay/", timeout=10, allow_redirects=False,
        headers={"X-CSRFToken": session.cookies["csrftoken"], "X-Request-ID": "trace-0123456789abcdef",
                 "Referer": f"{stack.url}/surveys/deliveries/faults/{pk}/"},
    )
    assert replay.status_code == 302 and replay.headers["X-Request-ID"] == "trace-0123456789abcdef"
    worker_log = [p for p in stack.logs if p.name.startswith("worker")][-1]

    def traced():
        lines = [line for line in worker_log.read_text().splitlines() if "trace-0123456789abcdef" in line]
        return [line for line in lines if re.search(r'"task_id": "[0-9a-f-]{36}"', line)]

    assert wait_for(traced, 30, 0.2, "worker log lines carrying the request id")


REPORT_API = "/api/v1/reports/scores-by-team/?date_from=2025-12-01&date_to=2026-12-31"
REPORT_PAGE = "/reports/scores/?date_from=2025-12-01&date_to=2026-12-31"


def _replica_scans(stack) -> int | None:
    """Scans of any table the standby ran (its own statistics; None while it is down). Only the
    reports read there, so these are theirs, whichever tables they read (the scores report reads
    the daily rollup, not the responses, since the rollups came)."""
    try:
        with psycopg.connect(stack.pair.replica_url, autocommit=True, connect_timeout=2) as conn:
            return conn.execute(
                "SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) FROM pg_stat_user_tables").fetchone()[0]
    except psycopg.OperationalError:
        return None


def _report_total(session, stack) -> tuple[int, int]:
    answer = session.get(f"{stack.url}{REPORT_API}", timeout=15)
    rows = answer.json()["rows"] if answer.status_code == 200 else []
    return answer.status_code, sum(row.get("nps_n") or 0 for row in rows if row.get("team") != "All teams")


def _reads_reach_the_replica(stack, session) -> bool:
    before = _replica_scans(stack)

    def moved():
        for _ in range(3):
            assert session.get(f"{stack.url}{REPORT_API}", timeout=15).status_code == 200
        return (_replica_scans(stack) or 0) > (before or 0)

    # The standby's statistics reach its views when a backend goes idle, at most every 10 s.
    return wait_for(moved, 60, 0.5, "report reads on the replica")


def test_replica_killed_mid_report_reads_fall_back_to_the_primary(stack, pages, figures):
    """Reports read from the standby while ingest runs; the standby is killed (`pg_ctl -m
    immediate`) under a stream of report requests: every report answers 200 from the primary,
    every delivery is stored and processed once, and once the standby is back and has caught up,
    the reports read from it again with the same figures."""
    stack.start_web(workers=2)
    stack.start_worker(concurrency=2)
    stack.start_beat()
    session = stack.signed_in("ops")
    assert _send_all(stack, _batch("rep-seed", 40)) == {f"rep-seed-{i}": 202 for i in range(40)}
    wait_for(lambda: _all_processed(stack, 40), 60, 0.25, "seed processed")
    _reads_reach_the_replica(stack, session)  # after the sign-in's read-your-writes window too

    statuses: list[int | None] = []
    stop = threading.Event()

    def reader(path: str):
        reader_session = requests.Session()
        reader_session.cookies.update(session.cookies)
        while not stop.is_set():
            try:
                statuses.append(reader_session.get(f"{stack.url}{path}", timeout=15).status_code)
            except requests.RequestException:
                statuses.append(None)

    readers = [threading.Thread(target=reader, args=(path,), daemon=True)
               for path in (REPORT_API, REPORT_API, REPORT_PAGE)]
    for thread in readers:
        thread.start()
    sent: dict = {}
    sender = threading.Thread(target=lambda: sent.update(
        _send_all(stack, _batch("rep-live", 200), threads=4, retry_until_2xx=True, deadline=120, pause=0.05)))
    sender.start()
    try:
        wait_for(lambda: len(statuses) >= 20, 60, 0.1, "reports under way")
        before_kill = len(statuses)
        stack.pair.kill_standby()
        killed_at = time.monotonic()
        wait_for(lambda: len(statuses) >= before_kill + 30, 90, 0.1, "reports after the kill")
    finally:
        stop.set()
        for thread in readers:
            thread.join(20)
        sender.join(130)
    figures["reports_before_kill"] = before_kill
    figures["reports_after_kill"] = len(statuses) - before_kill
    figures["report_statuses"] = sorted({str(s) for s in statuses})
    figures["fallbacks_logged"] = sum(path.read_text(errors="replace").count("answering from the primary")
                                      for path in stack.logs if path.name.startswith("web"))
    assert set(statuses) == {200}, "every report answered, none 5xx or unanswered"
    assert set(sent.values()) == {202}
    wait_for(lambda: _all_processed(stack, 240), 120, 0.5, "all processed")
    _assert_exactly_once(stack, "rep-live", 200)
    status, from_primary = _report_total(session, stack)
    assert status == 200 and from_primary > 0
    assert _replica_scans(stack) is None  # still down: that figure came from the primary

    stack.pair.start_standby()
    restarted = time.monotonic()
    primary_lsn = stack.scalar("SELECT pg_current_wal_lsn()::text")
    wait_for(lambda: _replica_replayed(stack, primary_lsn), 60, 0.25, "standby caught up")
    _reads_reach_the_replica(stack, session)
    figures["seconds_until_replica_used_again"] = round(time.monotonic() - restarted, 1)
    figures["seconds_killed"] = round(restarted - killed_at, 1)
    assert _report_total(session, stack) == (200, from_primary), "the replica's figures are the primary's"


def _replica_replayed(stack, lsn: str) -> bool:
    try:
        with psycopg.connect(stack.pair.replica_url, autocommit=True, connect_timeout=2) as conn:
            return conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]).fetchone()[0]
    except psycopg.OperationalError:
        return False
