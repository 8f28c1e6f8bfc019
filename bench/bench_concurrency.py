"""Concurrency: agents, managers and webhooks at once through real HTTP, Closeloop beside
django-helpdesk driven the same way on the same data (issue #25, item 4).

    DEBUG=1 .venv/bin/python -m bench.bench_concurrency [--sides closeloop,helpdesk] [--seconds 120]
    (or `python -m bench concurrency`; sizes from the environment, below)

For each side, in its own PostgreSQL database (created, filled, dropped) on the same server:
- Closeloop: bench_inbox's builder fills BENCH_CONC_CASES cases (default 100,000, with as many
  responses and alerts, 200,000 customers) over BENCH_CONC_TEAMS teams (5) of agents
  (BENCH_CONC_AGENTS, 200, so 40 a team and 4,000 open cases in each team's inbox at the default
  size), plus BENCH_CONC_MANAGERS managers (20); each persona signed in with a session row.
  Then the Procfile's processes: `web` (gunicorn, config/gunicorn.py: BENCH_CONC_WORKERS
  processes of BENCH_CONC_THREADS threads, 2 x 8), `ingest` (gunicorn + uvicorn, one process)
  and a Celery `worker` turning the deliveries into responses, alerts and cases.
- django-helpdesk (pinned, bench.concurrency.helpdesk_side): installed into var/bench/, a minimal
  project, the same number of tickets, queues, staff, open tickets per queue and per agent,
  filled by SQL; gunicorn gthread with the same process and thread counts.
- First one agent alone (bench/concurrency/single.py): BENCH_CONC_SINGLE_ROUNDS rounds (60) of the
  inbox's first page, a page further down and a case page, on both sides, nothing else running.
- Then Locust (headless, bench/concurrency/locustfile.py) runs every agent and manager as a user with
  think time (BENCH_CONC_THINK seconds, 5-15) and webhook senders at BENCH_CONC_WEBHOOKS a second
  (100; Closeloop: HMAC-signed generic-preset deliveries to `ingest`; the peer: tickets through its
  REST API), spawning at BENCH_CONC_SPAWN_RATE users a second (20), then measuring for
  BENCH_CONC_SECONDS (120). Per page: requests, errors, p50 / p95 / p99; CPU seconds per request
  of the server processes from /proc/<pid>/stat; load average before and after.
The default run takes about 8 minutes on a 2-core machine."""

from __future__ import annotations

import argparse
import datetime
import os
from pathlib import Path

from bench.concurrency.helpdesk_side import VERSION as HELPDESK_VERSION
from bench.concurrency.run import Config, SideResult, run_side
from bench.machine import describe, write_figures

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks_concurrency.md"
PAGES = ["inbox: first page", "inbox: first page (data)", "inbox: page N", "inbox: page N (data)", "case page",
         "action: claim / start", "action: add note", "action: close with root cause",
         "reports: index", "reports: KPIs", "reports: root causes", "reports: overdue", "webhook"]
LABELS = {"closeloop": "Closeloop", "helpdesk": f"django-helpdesk {HELPDESK_VERSION}"}


def _ms(value: float) -> str:
    return f"{value:,.0f}"


def _cpu_lines(r: SideResult) -> list[str]:
    pages = sum(v["requests"] for k, v in r.pages.items() if k != "webhook")
    hooks = r.pages.get("webhook", {}).get("requests", 0)
    total_cpu = sum(r.cpu.values())
    parts = [f"{name} {seconds:.1f} s" for name, seconds in r.cpu.items()]
    line = (f"- {LABELS[r.side]}: {pages:,} page requests and {hooks:,} webhooks ({hooks / max(r.window, 1e-9):.0f} a second "
            f"of the {r.webhooks_target:g} offered) in {r.window:.0f} s; server CPU "
            f"{total_cpu:.1f} s ({', '.join(parts)}) = {1000 * total_cpu / max(pages + hooks, 1):.1f} ms per request")
    if r.side == "closeloop" and "web" in r.cpu:
        line += (f"; the web process alone {1000 * r.cpu['web'] / max(pages, 1):.1f} ms per page request, ingest "
                 f"{1000 * r.cpu.get('ingest', 0) / max(hooks, 1):.1f} ms and the worker "
                 f"{1000 * r.cpu.get('worker', 0) / max(hooks, 1):.1f} ms per webhook")
    line += (f". Load average {r.load_before[0]:.1f} before, {r.load_after[0]:.1f} after."
             if r.load_before else ".")
    return [line]


SINGLE_PAGES = ["inbox: first page", "inbox: first page (data)", "inbox: page N", "inbox: page N (data)", "case page"]


def _single_lines(config: Config, results: list[SideResult]) -> list[str]:
    """One agent alone, before the crowd (bench.concurrency.single), both sides in one table."""
    measured = [r for r in results if r.single]
    if not measured:
        return []
    lines = [
        f"One agent alone before the crowd (bench/concurrency/single.py): {config.single_rounds} rounds, each asking "
        "every page once in the same order on a kept-alive connection, after one warm-up round; page N is "
        "Closeloop's page 10 (by its own next links) and the peer's rows 451-500.",
        "",
        "| page | " + " | ".join(f"{LABELS[r.side]} p50 / p95 ms" for r in measured) + " |",
        "|---|" + "---:|" * len(measured),
    ]
    names = [n for n in SINGLE_PAGES if any(n in r.single for r in measured)]
    for name in names:
        cells = []
        for r in measured:
            p = r.single.get(name)
            cells.append(f"{_ms(p['p50'])} / {_ms(p['p95'])}" + (f" ({p['failures']} errors)" if p["failures"] else "")
                         if p else "-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def report(config: Config, results: list[SideResult], machine: str) -> str:
    sides = [r.side for r in results]
    names = [n for n in PAGES if any(n in r.pages for r in results)]
    names += sorted({n for r in results for n in r.pages} - set(names))
    head = "| page | " + " | ".join(f"{LABELS[s]} requests | errors | p50 / p95 / p99 ms" for s in sides) + " |"
    lines = [
        "## Concurrency: 200 agents, 20 managers and 100 webhooks a second, beside django-helpdesk"
        if (config.agents, config.managers, config.webhooks) == (200, 20, 100)
        else f"## Concurrency: {config.agents} agents, {config.managers} managers, {config.webhooks:g} webhooks a second",
        "",
        f"Run on {datetime.date.today().isoformat()}, {machine}. `python -m bench concurrency` "
        "(bench/bench_concurrency.py, bench/concurrency/): Locust, headless, through real HTTP on loopback. "
        f"Data per side: {config.cases:,} cases (tickets) in {config.teams} teams (queues), "
        f"{config.per_team * config.teams} agents ({config.per_team} a team), {config.managers} managers, about 80 % "
        "closed; open in one team's inbox: "
        + ", ".join(f"{LABELS[r.side]} {r.open_per_team:,} (filled in {r.fill_seconds:.0f} s)" for r in results) + ". "
        f"Servers: {config.workers} gunicorn processes x {config.threads} threads on each side "
        "(Closeloop also its `ingest` server and one Celery worker, as the Procfile runs them). "
        f"Each agent and manager is a user with think time ({config.think} s for agents) after "
        f"a ramp at {config.spawn_rate:g} users/s; measured for {config.seconds} s after the ramp. "
        "How the bench works and how to read it: [notes](benchmarks_concurrency.md).",
        "",
        *_single_lines(config, results),
        "Then the crowd:",
        "",
        head,
        "|---|" + "---:|---:|---:|" * len(sides),
    ]
    for name in names:
        cells = []
        for r in results:
            p = r.pages.get(name)
            cells.append(f"{p['requests']:,} | {p['failures']:,} | {_ms(p['p50'])} / {_ms(p['p95'])} / {_ms(p['p99'])}"
                         if p else "- | - | -")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "CPU of the server processes over the measured window (/proc/<pid>/stat of each process tree):", ""]
    for r in results:
        lines += _cpu_lines(r)
    lines.append("")
    for r in results:
        o = r.outcomes
        extra = f"{LABELS[r.side]}: {o.get('visits', 0):,} agent visits, {o.get('closed', 0):,} closed"
        if o.get("conflicts"):
            extra += f", {o['conflicts']:,} stale edits answered 409 (another agent had acted first; not errors)"
        if o.get("unexpected"):
            extra += ", unexpected: " + ", ".join(f"{k} ({v})" for k, v in o["unexpected"].items())
        if r.intake:
            extra += "; in the database at the end: " + ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}"
                                                                  for k, v in r.intake.items())
        if r.worker_timeouts:
            extra += ("; gunicorn replaced workers that missed their 30 s timeout (cutting the requests they held): "
                      + ", ".join(f"{name} {n}" for name, n in r.worker_timeouts.items()))
        lines.append(f"- {extra}.")
        for method, name, error, count in r.failures[:8]:
            lines.append(f"  - error: {method} {name}: {error} ({count:,})")
        if r.logs:
            lines.append(f"  - the servers' logs of this run were kept in `{r.logs}/`.")
    lines += [
        "",
        ("How the pages map on the peer: the inbox is its ticket list filtered to the agent's queue and its open "
         "statuses, whose rows come from a second request (`(data)`, as its page's datatables asks; 50 rows a "
         "page); claim / start is its `?take`; a note and a close are posts of its ticket update form (the close "
         "sets status Closed); the reports are its reports index, its queue-by-status and queue-by-priority "
         "reports, and its dashboard for overdue; webhooks are tickets created through its REST API with a token."),
        "",
    ]
    return "\n".join(lines)


def run(args=None) -> str:
    overrides = {}
    if getattr(args, "seconds", None):
        overrides["seconds"] = args.seconds
    config = Config.from_env(**overrides)
    sides = (getattr(args, "sides", None) or os.environ.get("BENCH_CONC_SIDES", "closeloop,helpdesk")).split(",")
    machine = describe(with_load=True) + " when the run started"
    results = []
    for side in sides:
        try:
            results.append(run_side(side, config))
        except Exception as exc:  # the peer may not install or start: said in the report
            if side == "closeloop":
                raise
            failed = SideResult(side=side, webhooks_target=config.webhooks)
            failed.failures = [("", "set-up", repr(exc)[:600], 1)]
            results.append(failed)
    text = report(config, results, machine)
    write_figures(DOC, text)
    print(text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_concurrency", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sides", help="closeloop,helpdesk (default both)")
    parser.add_argument("--seconds", type=int, help="measured seconds per side (default 120)")
    run(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
