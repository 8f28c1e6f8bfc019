"""Python CPU of one case page, in-process: function calls per request (cProfile, deterministic: the
same data gives the same count) and CPU time per request (time.process_time).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/closeloop_bench_inbox DEBUG=1 \\
        .venv/bin/python -m bench.case_page [--reference CL-...] [--profile N]

Runs against a kept inbox bench database (`python -m bench.bench_inbox --fill-only`): the case is
the first open case of the agent with 5,000 open cases (bench.inbox_matrix), given EVENTS timeline
events once (a claim, a contact attempt, notes), as the agent sees it. The customer has a handful
of earlier responses and cases (every generated customer does). Templates render as in production
(settings.DEBUG off after set-up: no template debug information, no query log); the request goes
through Django's test Client (middleware, session, view, templates: everything but the socket).
WARMUP requests first, then REQUESTS measured ones. `--profile N` prints the N functions with the
most cumulative time instead of the JSON figures."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

WARMUP = 5
REQUESTS = 10
EVENTS = 30


def prepare(username: str) -> str:
    """The measured case's reference: the agent's first open case, with EVENTS events (added once,
    directly as rows: bench data, like the rest of the fill)."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import User
    from cases.models import Case, CaseEvent

    agent = User.objects.get(username=username)
    case = Case.objects.filter(assignee=agent).exclude(status=Case.Status.CLOSED).order_by("pk").first()
    have = CaseEvent.objects.filter(case=case).count()
    if have < EVENTS:
        start = timezone.now() - timedelta(days=2)
        kinds = [CaseEvent.Kind.OPENED, CaseEvent.Kind.CLAIMED, CaseEvent.Kind.STATUS, CaseEvent.Kind.CONTACT]
        events = []
        for i in range(have, EVENTS):
            kind = kinds[i] if i < len(kinds) else CaseEvent.Kind.NOTE
            note = f"Called the customer, left a message ({i}).\nWill try again tomorrow." if kind in (
                CaseEvent.Kind.NOTE, CaseEvent.Kind.CONTACT) else ""
            data = {"channel": "phone", "outcome": "no_answer"} if kind == CaseEvent.Kind.CONTACT else {}
            events.append(CaseEvent(case=case, kind=kind, actor=agent, note=note, data=data, version=i + 1,
                                    created_at=start + timedelta(minutes=37 * i),
                                    from_value="new" if kind == CaseEvent.Kind.STATUS else "",
                                    to_value="in_progress" if kind == CaseEvent.Kind.STATUS else ""))
        CaseEvent.objects.bulk_create(events)
    return case.reference


def _client(username: str):
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def measure(username: str, reference: str) -> dict:
    import cProfile
    import pstats

    client = _client(username)
    url = f"/cases/{reference}/"
    for _ in range(WARMUP):
        assert client.get(url).status_code == 200
    cpu, calls = [], []
    for _ in range(REQUESTS):
        profiler = cProfile.Profile()
        started = time.process_time()
        profiler.enable()
        response = client.get(url)
        profiler.disable()
        cpu.append((time.process_time() - started) * 1000)
        calls.append(pstats.Stats(profiler).total_calls)
        assert response.status_code == 200
    # CPU without the profiler's own cost, the figure to compare with other pages
    plain = []
    for _ in range(REQUESTS):
        started = time.process_time()
        client.get(url)
        plain.append((time.process_time() - started) * 1000)
    return {
        "reference": reference,
        "calls_per_request": statistics.mean(calls),
        "calls_min": min(calls),
        "calls_max": max(calls),
        "cpu_ms_p50": statistics.median(plain),
        "cpu_ms_min": min(plain),
        "bytes": len(response.content),
        "events": response.content.count(b'class="event event-'),
    }


def profile(username: str, reference: str, top: int) -> None:
    import cProfile
    import pstats

    client = _client(username)
    url = f"/cases/{reference}/"
    for _ in range(WARMUP):
        client.get(url)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(REQUESTS):
        client.get(url)
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.case_page", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", help="measure this case instead (as the heavy agent)")
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions instead")
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.conf import settings

    from bench.inbox_matrix import HEAVY_AGENT

    settings.DEBUG = False  # before the first template is loaded: production rendering, no query log
    reference = args.reference or prepare(HEAVY_AGENT)
    if args.profile:
        profile(HEAVY_AGENT, reference, args.profile)
        return 0
    print(json.dumps(measure(HEAVY_AGENT, reference)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
