"""Live updates: many open inboxes polling one web process, and webhook accepted -> "N new" in a
real browser (issue #19, item 1).

    DEBUG=1 .venv/bin/python -m bench.bench_live [--pollers 500] [--seconds 90] [--cases 20]
    (or `python -m bench live`; BENCH_LIVE_POLLERS / BENCH_LIVE_SECONDS / BENCH_LIVE_CASES)

What it does, in its own PostgreSQL database `closeloop_bench_live` and Redis db 13 (never the
test or dev ones):
- POLLERS agents in 10 teams, each signed in (a session row made directly, as a sign-in would),
  plus one watcher in the default team; one gunicorn web process with the production settings
  (config/gunicorn.py, `-w 1`: its threads) and one Celery worker process;
- POLLERS open inboxes, each a keep-alive connection asking /cases/live/ every 2 s (the interval of
  static/js/live.js) with its ticket and ETag, started at random offsets, for SECONDS: requests/s,
  answers by status, latency p50/p95/max, and the web process's CPU (user+system seconds per
  second, from /proc through psutil) and memory (RSS of master and worker, peak);
- at the same time, the watcher's inbox open in headless Chromium (Playwright); CASES detractor
  deliveries, one every ~1.5 s, each stored and published as the webhook door does after its
  checks (surveys.ingest.store_delivery + publish); for each, the time from accepted (the commit
  the 202 waits for) to the inbox's marker saying one more new case: p50 / p95 / max.

The run happens in a child process whose DATABASE_URL points at the bench database."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.machine import describe, write_figures

ROOT = Path(__file__).resolve().parent.parent
DB = "closeloop_bench_live"
PG = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_LIVE_REDIS_URL", "redis://127.0.0.1:6379/13")
DOC = ROOT / "docs" / "benchmarks_live.md"
POLL_SECONDS = 2.0  # static/js/live.js POLL_MS
TEAMS = 10
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _env(port: int = 0) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": f"{PG}/{DB}", "REDIS_URL": REDIS, "CELERY_BROKER_URL": REDIS, "DEBUG": "false",
        "SECRET_KEY": "bench-" + "x" * 50, "ALLOWED_HOSTS": "127.0.0.1,localhost", "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false", "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "config.settings",
        "CLOSELOOP_TESTING": "false", "DB_CONN_MAX_AGE": "600", "CACHE_KEY_PREFIX": "bench-live",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend", "WEB_CONCURRENCY": "1",
        "GUNICORN_ACCESS_LOG": "", "BENCH_LIVE_PORT": str(port),
        "STATIC_ROOT": os.path.join(tempfile.gettempdir(), "closeloop-bench-live-static"),
    })
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env


def _psql(sql: str) -> None:
    subprocess.run(["psql", f"{PG}/postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True,
                   capture_output=True, timeout=120)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- child ------------------------------------------------------------------------------------
def _setup(pollers: int) -> tuple[list[str], str, object]:
    """Teams, agents and their sessions; returns the pollers' session keys, the watcher's, the source."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from accounts.models import Membership, Team, User
    from surveys.models import WebhookSource

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)  # the pages' hashed static files (STATIC_ROOT)
    redis.Redis.from_url(REDIS).flushdb()
    teams = [Team.objects.create(name=f"Team {t}", slug=f"team-{t}", is_default=t == 0) for t in range(TEAMS)]

    def session_for(user) -> str:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        return store.session_key

    keys = []
    for i in range(pollers):
        user = User(username=f"agent{i}", email=f"agent{i}@example.com")
        user.set_unusable_password()
        user.save()
        Membership.objects.create(user=user, team=teams[i % TEAMS])
        keys.append(session_for(user))
    watcher = User(username="watcher", email="watcher@example.com")
    watcher.set_unusable_password()
    watcher.save()
    Membership.objects.create(user=watcher, team=teams[0])
    source = WebhookSource.objects.create(name="Bench", slug="bench", vendor="standard")
    return keys, session_for(watcher), source


async def _poller(port: int, cookie: str, stop_at: float, out: dict) -> None:
    """One open inbox on a keep-alive connection (reopened when the server closes an idle one, as a
    browser does); the first answer hands over the ticket."""
    await asyncio.sleep(random.uniform(0, POLL_SECONDS))
    ticket, etag = "", ""
    reader = writer = None
    failures = 0
    while time.monotonic() < stop_at:
        started = time.monotonic()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            lines = ["GET /cases/live/?scope=teams HTTP/1.1", "Host: 127.0.0.1", f"Cookie: {cookie}"]
            if ticket:
                lines.append(f"X-Live-Ticket: {ticket}")
            if etag:
                lines.append(f"If-None-Match: {etag}")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            await writer.drain()
            status_line = await reader.readline()
            if not status_line:
                raise ConnectionResetError("closed by the server")
            status = int(status_line.split()[1])
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value.strip())
                elif name.lower() == "connection" and value.strip().lower() == "close":
                    close = True
            body = await reader.readexactly(length) if length else b""
        except (OSError, asyncio.IncompleteReadError, ValueError):
            out["reconnects"] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            failures += 1
            if failures > 1:  # not just an idle connection closed under the request: wait a cycle
                await asyncio.sleep(POLL_SECONDS)
            continue
        failures = 0
        out["latencies"].append(time.monotonic() - started)
        out["status"][status] = out["status"].get(status, 0) + 1
        if status == 200:
            answer = json.loads(body)
            etag = answer["token"]
            ticket = answer.get("ticket", ticket)
        if close:
            writer.close()
            reader = writer = None
        await asyncio.sleep(max(0.0, POLL_SECONDS - (time.monotonic() - started)))
    if writer is not None:
        writer.close()


def _pollers(port: int, cookies: list[str], seconds: float, out: dict) -> None:
    async def main():
        stop_at = time.monotonic() + seconds
        await asyncio.gather(*(_poller(port, c, stop_at, out) for c in cookies))

    asyncio.run(main())


def _tree(pid: int):
    import psutil

    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]


def _cpu(pid: int) -> float:
    return sum(p.cpu_times().user + p.cpu_times().system for p in _tree(pid))


def _rss_mb(pid: int) -> float:
    return sum(p.memory_info().rss for p in _tree(pid)) / 1e6


def _browser_latencies(port: int, session: str, source, cases: int) -> list[float]:
    from django.conf import settings
    from playwright.sync_api import sync_playwright

    from bench.bench_cases import _payload
    from surveys.ingest.publish import publish
    from surveys.ingest.store import store_delivery

    latencies = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        context = browser.new_context(bypass_csp=True)  # wait_for_function evaluates a string
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session,
                              "domain": "127.0.0.1", "path": "/"}])
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/cases/?view=team")
        page.wait_for_selector("[data-live]", state="attached")
        for k in range(1, cases + 1):
            pk, _delivery_id, _created = store_delivery(source, f"live-{k}", "application/json", {},
                                                        _payload(4 * k, "live"))  # a detractor: opens a case
            accepted = time.monotonic()
            publish(pk)
            page.wait_for_function(f"document.querySelector('[data-live]').dataset.livePending === '{k}'",
                                   timeout=30_000)
            latencies.append(time.monotonic() - accepted)
            time.sleep(random.uniform(1.0, 2.0))  # the next webhook arrives at some point of the poll cycle
        browser.close()
    return latencies


def child(pollers: int, seconds: float, cases: int) -> dict:
    port = int(os.environ["BENCH_LIVE_PORT"])
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the ORM beside Playwright's loop, as in the tests
    keys, watcher, source = _setup(pollers)
    from django.conf import settings

    env = dict(os.environ)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application",
         "-b", f"127.0.0.1:{port}", "-w", "1", "--log-level", "warning", "--backlog", "2048"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-c", "1", "-P", "prefork",
         "-n", "benchlive@%h", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import urllib.request

        deadline = time.monotonic() + 60
        while True:  # the web process answers
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        out = {"latencies": [], "status": {}, "reconnects": 0}
        cookies = [f"{settings.SESSION_COOKIE_NAME}={k}" for k in keys]
        polling = threading.Thread(target=_pollers, args=(port, cookies, seconds, out))
        polling.start()
        time.sleep(POLL_SECONDS + 1)  # every poller has its ticket: the steady state from here
        cpu_before, at_before, served_before = _cpu(server.pid), time.monotonic(), len(out["latencies"])
        rss_peak = 0.0
        browser = {"latencies": [], "error": ""}

        def watch():
            try:
                browser["latencies"] = _browser_latencies(port, watcher, source, cases)
            except Exception as exc:  # noqa: BLE001 - reported with the figures
                browser["error"] = repr(exc)[:500]

        watching = threading.Thread(target=watch)
        watching.start()
        while polling.is_alive():
            rss_peak = max(rss_peak, _rss_mb(server.pid))
            polling.join(timeout=1.0)
            if time.monotonic() - at_before > seconds:
                break
        cpu_after, at_after, served_after = _cpu(server.pid), time.monotonic(), len(out["latencies"])
        polling.join()
        watching.join(timeout=120)
    finally:
        for proc in (server, worker):
            proc.terminate()
        for proc in (server, worker):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    lat = sorted(out["latencies"])
    span = max(at_after - at_before, 1e-6)
    e2e = sorted(browser["latencies"])
    return {
        "pollers": pollers, "seconds": seconds, "requests": len(lat), "status": out["status"], "reconnects": out["reconnects"],
        "rate": round((served_after - served_before) / span, 1),
        "p50_ms": round(statistics.median(lat) * 1000, 1) if lat else None,
        "p95_ms": round(lat[int(len(lat) * 0.95) - 1] * 1000, 1) if lat else None,
        "max_ms": round(lat[-1] * 1000, 1) if lat else None,
        "cpu": round((cpu_after - cpu_before) / span, 2), "rss_peak_mb": round(rss_peak, 1),
        "cases": len(e2e), "e2e_p50_s": round(statistics.median(e2e), 2) if e2e else None,
        "e2e_p95_s": round(e2e[max(0, int(len(e2e) * 0.95) - 1)], 2) if e2e else None,
        "e2e_max_s": round(e2e[-1], 2) if e2e else None, "e2e_error": browser["error"],
    }


# --- parent -----------------------------------------------------------------------------------
def report(r: dict, machine: str) -> str:
    return "\n".join([
        "## Live updates: open inboxes on one web process",
        "",
        f"Run on {time.strftime('%Y-%m-%d')}, {machine}. `python -m bench live` (bench/bench_live.py): "
        f"{r['pollers']} open inboxes polling `/cases/live/` every {POLL_SECONDS:.0f} s with their ticket and ETag, "
        f"for {r['seconds']:.0f} s, against one gunicorn web process (config/gunicorn.py, `-w 1`), while a "
        f"Celery worker turned {r['cases']} webhooks into cases watched in a real browser.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| polls answered per second | {r['rate']} |",
        f"| answers by status | {', '.join(f'{k}: {v}' for k, v in sorted(r['status'].items()))} |",
        f"| connections reopened (idle keep-alive closed by the server) | {r['reconnects']} |",
        f"| poll latency p50 / p95 / max | {r['p50_ms']} / {r['p95_ms']} / {r['max_ms']} ms |",
        f"| web process CPU (cores busy, master + worker) | {r['cpu']} |",
        f"| web process memory (RSS, master + worker, peak) | {r['rss_peak_mb']} MB |",
        f"| webhook accepted -> \"N new\" in the open inbox, p50 / p95 / max | "
        f"{r['e2e_p50_s']} / {r['e2e_p95_s']} / {r['e2e_max_s']} s (target p95 < 2 s) |",
        *([f"\nThe browser part failed: `{r['e2e_error']}`"] if r.get("e2e_error") else []),
        "",
    ])


def run(args=None) -> str:
    pollers = int(getattr(args, "pollers", None) or os.environ.get("BENCH_LIVE_POLLERS", "500"))
    seconds = float(getattr(args, "seconds", None) or os.environ.get("BENCH_LIVE_SECONDS", "90"))
    cases = int(getattr(args, "cases", None) or os.environ.get("BENCH_LIVE_CASES", "20"))
    machine = describe(with_load=True) + " when the run started"
    _psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    _psql(f"CREATE DATABASE {DB}")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.bench_live", "--child", "--pollers", str(pollers), "--seconds", str(seconds),
             "--cases", str(cases)],
            cwd=ROOT, env=_env(_free_port()), capture_output=True, text=True, timeout=seconds + 600)
        if proc.returncode != 0:
            raise RuntimeError(f"bench_live failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        _psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    text = report(result, machine)
    write_figures(DOC, text)
    print(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pollers", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--cases", type=int)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.pollers, args.seconds, args.cases)))
    else:
        run(args)


if __name__ == "__main__":
    main()
