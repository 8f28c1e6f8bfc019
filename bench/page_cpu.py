"""Python CPU per inbox page and case page, in-process, this checkout beside a baseline (issue #25
item 3): where each page's CPU goes, and whether a change made it cheaper.

    DEBUG=1 .venv/bin/python -m bench.page_cpu [--cases N] [--renders N] [--rounds N]
                                               [--baseline REV | --no-baseline] [--profile N] [--http SECONDS]
                                               [--keep | --reuse]

What it does:
- fills its own PostgreSQL database `closeloop_bench_page_cpu` (created, dropped afterwards unless
  --keep) with bench.bench_inbox's generator at --cases (default 60,000: the CPU of a page of 50
  rows does not depend on the table's size; the list query's time does, and bench_inbox measures
  that at 1,000,000), plus its agent with 5,000 open cases (heavy01) and, on that agent's first
  open case, 30 timeline events (bench.case_page);
- exports the baseline (default `main`) with `git archive` into a temporary directory, so both
  sides run against the same database with the same interpreter and packages;
- starts one long-lived child process per side; each requests every page through Django's test
  Client (middleware, session, view, templates: everything but the socket) as heavy01, with
  settings.DEBUG off (production rendering, no query log), WARMUP times; then, per page, the
  sides take turns batch by batch (--rounds batches of --renders renders each, which side goes
  first alternating), measuring time.process_time() (the process's CPU, so waiting for a core on a
  loaded machine is not counted) and wall time. Taking turns within seconds makes a drift in the
  machine's speed (tens of percent over minutes, seen on these virtual machines) fall on both
  sides: the change is the median of the paired batches' ratios. Then cProfile over PROFILED
  renders for the calls per request and the functions with the most own time;
- prints a Markdown report: per page, CPU p50 and mean per render on each side, the change, calls
  per request, and (with --profile N) the top N functions of this checkout.

With `--http SECONDS`, the same pages through real HTTP too: per side a gunicorn (one sync worker,
bench/page_cpu_gunicorn.py) on loopback over the same database, `wrk` with one connection and the
agent's session cookie for SECONDS per page, sides alternating per round; it reports requests per
second, wrk's latency p50/p99 and the worker's own CPU per request (utime + stime from /proc,
before and after), which is what one core serving pages spends on each.

Pages: the inbox as an agent lands on it ("My open"), "Team all" (50 rows), "Team all" with every
optional column (cases.columns; a baseline without the column chooser shows its usual columns and
takes the parameter for a filter, which opens its filter panel, so that row compares like with
unlike and says so), what a saved view opens (Team all with two priorities, newest first), and
the case page.
Bounded: 2 children of WARMUP + rounds x renders + PROFILED requests per page, and with --http
--rounds x 2 servers of SECONDS of one connection per page."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "closeloop_bench_page_cpu"
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
WARMUP = 5
PROFILED = 10
EVERY_COLUMN = "&".join(f"columns={key}" for key in (
    "case", "status", "score", "comment", "customer", "touchpoint", "value", "owner", "age", "sla", "due"))
PAGES = {
    "inbox, My open": "/cases/",
    "inbox, Team all": "/cases/?view=team",
    "inbox, Team all, every column": f"/cases/?view=team&{EVERY_COLUMN}",
    # What a saved view opens (its params: cases.saved_views.services.saved_view_query): filters
    # and a sort, so the list is built per request (no compiled first page).
    "inbox, a saved view (Team all: urgent and high, newest first)": "/cases/?priority=high&priority=urgent&sort=newest&view=team",
    "case page (30 events)": "/cases/{reference}/",
}
CHILD_TIMEOUT = 10 * 60


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql)


def _env() -> dict:
    return {
        **os.environ,
        "DATABASE_URL": ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME,
        # One key for both sides: the HTTP phase's session is signed once for both servers (each
        # tree would otherwise make a key of its own under its var/).
        "SECRET_KEY": "page-cpu-bench-only-" + "0123456789abcdef" * 3,
        "DEBUG": "true", "CLOSELOOP_ENCRYPTION_KEYS": "YmVuY2gtYW5kLWZhdWx0cy1lbmNyeXB0aW9uLWtleSE=",
        "CLOSELOOP_TESTING": "false", "CELERY_TASK_ALWAYS_EAGER": "true",
        "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }


# --- child: one side, one round -----------------------------------------------------------------


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def child(top: int) -> None:
    """Serves measurements over stdin/stdout (one JSON line each) until stdin closes: `measure
    PAGE N` renders PAGE (its name's index in PAGES) N times and answers the CPU and wall times of
    each; `profile` runs cProfile over PROFILED renders of every page and answers the calls per
    request, the `top` functions with the most own time, and each page's rows and size.

    Runs with the side's tree first on sys.path (PYTHONPATH), so `cases`, `config`... are that
    side's; only this function's own code comes from this checkout."""
    import cProfile
    import pstats

    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from accounts.models import User
    from cases.models import Case

    settings.DEBUG = False  # before the first template is loaded: production rendering, no query log
    agent = User.objects.get(username="heavy01")
    reference = (Case.objects.filter(assignee=agent).exclude(status=Case.Status.CLOSED)
                 .order_by("pk").values_list("reference", flat=True).first())
    client = Client()
    client.force_login(agent)
    urls = [url.format(reference=reference) for url in PAGES.values()]
    for url in urls:
        for _ in range(WARMUP):
            assert client.get(url).status_code == 200
    print(json.dumps("ready"), flush=True)
    for line in sys.stdin:
        command = line.split()
        if command[0] == "measure":
            url, cpu, wall = urls[int(command[1])], [], []
            for _ in range(int(command[2])):
                started, started_cpu = time.perf_counter(), time.process_time()
                response = client.get(url)
                cpu.append((time.process_time() - started_cpu) * 1000)
                wall.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            print(json.dumps({"cpu": cpu, "wall": wall}), flush=True)
        elif command[0] == "profile":
            results = {}
            for name, url in zip(PAGES, urls, strict=True):
                profiler = cProfile.Profile(time.process_time)  # CPU, as measured: no waits for a core or a socket
                profiler.enable()
                for _ in range(PROFILED):
                    response = client.get(url)
                profiler.disable()
                stats = pstats.Stats(profiler)
                rows = []
                for (filename, line_no, function), (_cc, _nc, own, cumulative, _callers) in stats.stats.items():
                    rows.append((own, cumulative, f"{Path(filename).name}:{line_no}({function})"))
                rows.sort(reverse=True)
                results[name] = {
                    "calls": stats.total_calls / PROFILED,
                    "top_own": [(where, own * 1000 / PROFILED, cumulative * 1000 / PROFILED) for own, cumulative, where in rows[:top]],
                    "rows": response.content.count(b'class="case-row'), "bytes": len(response.content),
                }
            print(json.dumps(results), flush=True)


# --- parent ---------------------------------------------------------------------------------------


def _fill(cases: int) -> float:
    """The bench_inbox generator into this bench's database, then the measured case's events."""
    started = time.monotonic()
    for module, extra in (("bench.bench_inbox", ["--child", "--fill-only", "--cases", str(cases)]),):
        proc = subprocess.run([sys.executable, "-m", module, *extra], cwd=ROOT, env=_env(), capture_output=True,
                              text=True, timeout=CHILD_TIMEOUT, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{module} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    code = ("import django; django.setup(); from bench.case_page import prepare; "
            "from bench.inbox_matrix import HEAVY_AGENT; print(prepare(HEAVY_AGENT))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=CHILD_TIMEOUT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"preparing the case failed:\n{proc.stderr[-2000:]}")
    return time.monotonic() - started


def _export(rev: str, into: Path) -> str:
    """`rev` as a plain tree in `into` (git archive: no checkout, the repository untouched)."""
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return commit


class _Side:
    """A child serving one side's measurements (child()), started in its tree."""

    def __init__(self, tree: Path, top: int):
        env = {**_env(), "PYTHONPATH": str(tree)}
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", "--profile", str(top)],
                                     cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.ask(None)

    def ask(self, command: str | None):
        if command is not None:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=CHILD_TIMEOUT)
            raise RuntimeError(f"page_cpu child failed:\n{self.proc.stderr.read()[-3000:]}")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=CHILD_TIMEOUT)


def _measure(sides: dict[str, _Side], renders: int, rounds: int) -> dict:
    """Per page, `rounds` batches of `renders` renders on each side, the sides taking turns batch by
    batch (which side goes first alternates): both see the machine as it is within seconds of
    each other, so a drift in its speed (tens of percent over minutes on a shared virtual machine)
    falls on both. Each pair of batches gives a ratio of the sides' mean CPU per render."""
    names = list(sides)
    figures = {name: {page: {"cpu": [], "wall": [], "batches": []} for page in PAGES} for name in names}
    for round_ in range(rounds):
        for index, page in enumerate(PAGES):
            for name in (names if round_ % 2 == 0 else names[::-1]):
                answer = sides[name].ask(f"measure {index} {renders}")
                slot = figures[name][page]
                slot["cpu"] += answer["cpu"]
                slot["wall"] += answer["wall"]
                slot["batches"].append(statistics.mean(answer["cpu"]))
    return figures


# --- HTTP: gunicorn on loopback, wrk ----------------------------------------------------------------


def _session_cookie() -> tuple[str, dict[str, str]]:
    """A signed-in session of heavy01 stored in the bench database, and the pages' addresses."""
    code = ("import django, json; django.setup(); from django.test import Client; "
            "from accounts.models import User; from cases.models import Case; "
            "agent = User.objects.get(username='heavy01'); "
            "ref = Case.objects.filter(assignee=agent).exclude(status='closed').order_by('pk')"
            ".values_list('reference', flat=True).first(); "
            "c = Client(); c.force_login(agent); "
            "print(json.dumps([c.cookies['sessionid'].value, ref]))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=CHILD_TIMEOUT, check=True)
    session, reference = json.loads(proc.stdout.strip().splitlines()[-1])
    return session, {name: url.format(reference=reference) for name, url in PAGES.items()}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _worker_pid(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for task in Path(f"/proc/{master}/task").iterdir():
            children = (task / "children").read_text().split()
            if children:
                return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def _get(url: str, session: str) -> int:
    """The status of one GET, redirects not followed (a lost session would answer 302 to the sign-in page)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""),
                           headers={"Cookie": f"sessionid={session}"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _wrk(url: str, session: str, seconds: int) -> dict:
    proc = subprocess.run(["wrk", "-t1", "-c1", f"-d{seconds}s", "--latency", "-H", f"Cookie: sessionid={session}", url],
                          capture_output=True, text=True, timeout=seconds + 60, check=True)
    out = proc.stdout
    requests = int(out.split(" requests in ")[0].split()[-1])
    non_2xx = int(out.split("Non-2xx or 3xx responses:")[1].split()[0]) if "Non-2xx" in out else 0

    def latency(label: str) -> float:
        value = out.split(f"\n     {label}")[1].split()[0]
        for suffix, factor in (("ms", 1.0), ("us", 0.001), ("s", 1000.0)):
            if value.endswith(suffix):
                return float(value[: -len(suffix)]) * factor
        return float(value)

    return {"requests": requests, "non_2xx": non_2xx, "p50": latency("50%"), "p99": latency("99%")}


def _http_side(tree: Path, port: int, session: str, urls: dict[str, str], seconds: int) -> dict:
    env = {**_env(), "PYTHONPATH": str(tree), "PAGE_CPU_PORT": str(port)}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "bench" / "page_cpu_gunicorn.py"),
                               "config.wsgi:application"], cwd=tree, env=env)
    try:
        worker = _worker_pid(server.pid)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"{base}/healthz", session)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        results = {}
        for name, url in urls.items():
            for _ in range(WARMUP):
                assert _get(base + url, session) == 200
            cpu_before = _cpu_seconds(worker)
            figures = _wrk(base + url, session, seconds)
            cpu = _cpu_seconds(worker) - cpu_before
            figures.update(cpu_ms=cpu * 1000 / max(1, figures["requests"]), rate=figures["requests"] / seconds)
            results[name] = figures
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)


def http_report(figures: dict) -> str:
    lines = ["", (f"Through HTTP: gunicorn, one sync worker per side on loopback (bench/page_cpu_gunicorn.py), "
                  f"`wrk -t1 -c1 -d{figures['http_seconds']}s` per page per round with heavy01's session, "
                  f"{figures['rounds']} rounds alternating; CPU is the worker's own (utime + stime from /proc) "
                  f"divided by the requests wrk completed; load average {figures['http_load_before']:.1f} before, "
                  f"{figures['http_load_after']:.1f} after."), ""]
    sides = [("baseline", figures.get("baseline_rev", "")), ("this", "this checkout")]
    sides = [(key, label) for key, label in sides if key in figures["http"]]
    lines += ["| page | " + " | ".join(f"{label}: CPU per request | {label}: pages/s | {label}: p50 / p99"
                                          for _key, label in sides) + " | non-2xx |",
              "|---|" + "---:|---:|---:|" * len(sides) + "---:|"]
    for name in PAGES:
        cells, errors = [], 0
        for key, _label in sides:
            runs = figures["http"][key]
            cpu = statistics.median(run[name]["cpu_ms"] for run in runs)
            rate = statistics.median(run[name]["rate"] for run in runs)
            p50 = statistics.median(run[name]["p50"] for run in runs)
            p99 = max(run[name]["p99"] for run in runs)
            errors += sum(run[name]["non_2xx"] for run in runs)
            cells.append(f"{cpu:.1f} ms | {rate:.0f} | {p50:.1f} / {p99:.1f} ms")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {errors} |")
    return "\n".join(lines) + "\n"


def _merge(measured: dict, profiled: dict) -> dict:
    merged = {}
    for name in PAGES:
        cpu, run = measured[name]["cpu"], profiled[name]
        merged[name] = {"cpu_p50": statistics.median(cpu), "cpu_mean": statistics.mean(cpu),
                        "cpu_p95": _percentile(cpu, 95), "wall_p50": statistics.median(measured[name]["wall"]),
                        "batches": measured[name]["batches"], "calls": run["calls"], "rows": run["rows"],
                        "bytes": run["bytes"], "top_own": run["top_own"], "n": len(cpu)}
    return merged


def _current_commit() -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.strip()
    return commit + (" with uncommitted changes" if dirty else "")


def report(figures: dict) -> str:
    from bench.machine import describe

    this, base = figures["this"], figures.get("baseline")
    lines = [
        f"### Python CPU per page, in-process ({figures['date']})",
        "",
        (f"`DEBUG=1 .venv/bin/python -m bench.page_cpu --cases {figures['cases']} --renders {figures['renders']} "
        f"--rounds {figures['rounds']}`: {describe()}; load average {figures['load_before']:.1f} before, "
        f"{figures['load_after']:.1f} after. {figures['cases']:,} cases ({figures['fill_seconds']:.0f} s to fill), "
        f"agent heavy01 (5,000 open cases), {WARMUP} warm-ups per page, then per page {figures['rounds']} batches "
        f"of {figures['renders']} renders on each side, the sides taking turns batch by batch (one long-lived "
        f"process per side); CPU is the process's own (time.process_time), so time spent waiting for a core "
        f"is not in it."),
        "",
    ]
    if base:
        lines += [(f"This checkout: {figures['this_commit']}; baseline: `{figures['baseline_rev']}` "
                  f"({figures['baseline_commit']})."), "",
                  ("| page | baseline CPU p50 | this CPU p50 | this / baseline (paired batches: median, range of the middle half) "
                   "| baseline mean | this mean | calls per request (baseline / this) | rows |"),
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name in PAGES:
            b, t = base[name], this[name]
            note = " (the baseline has no columns: it takes the parameter for a filter)" if "every column" in name else ""
            ratios = [mine / theirs for mine, theirs in zip(t["batches"], b["batches"], strict=True)]
            lines.append(f"| {name}{note} | {b['cpu_p50']:.1f} ms | {t['cpu_p50']:.1f} ms | "
                         f"{statistics.median(ratios):.2f} ({_percentile(ratios, 25):.2f}-{_percentile(ratios, 75):.2f}) | "
                         f"{b['cpu_mean']:.1f} ms | {t['cpu_mean']:.1f} ms | {b['calls']:,.0f} / {t['calls']:,.0f} | {t['rows']} |")
    else:
        lines += [f"This checkout: {figures['this_commit']}.", "",
                  "| page | CPU p50 | CPU mean | CPU p95 | wall p50 | calls per request | rows |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for name in PAGES:
            t = this[name]
            lines.append(f"| {name} | {t['cpu_p50']:.1f} ms | {t['cpu_mean']:.1f} ms | {t['cpu_p95']:.1f} ms | "
                         f"{t['wall_p50']:.1f} ms | {t['calls']:,.0f} | {t['rows']} |")
    if figures["top"]:
        for name in PAGES:
            lines += ["", f"Most own time, {name} (this checkout, cProfile over {PROFILED} renders, per render):", "",
                      "| function | own | cumulative |", "|---|---:|---:|"]
            lines += [f"| `{where}` | {own:.2f} ms | {cumulative:.2f} ms |" for where, own, cumulative in this[name]["top_own"]]
    return "\n".join(lines) + "\n"


def run(args) -> str:
    reuse, keep = args.reuse, args.keep or args.reuse
    load_before = os.getloadavg()[0]
    fill_seconds = 0.0
    if not reuse:
        _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        _admin(f'CREATE DATABASE "{DB_NAME}"')
    try:
        if not reuse:
            fill_seconds = _fill(args.cases)
        with tempfile.TemporaryDirectory(prefix="page-cpu-baseline-") as tmp:
            baseline_commit = None if args.no_baseline else _export(args.baseline, Path(tmp))
            sides = {"this": _Side(ROOT, args.profile)}
            if baseline_commit:
                sides["baseline"] = _Side(Path(tmp), 0)
            try:
                measured = _measure(sides, args.renders, args.rounds)
                profiled = {name: side.ask("profile") for name, side in sides.items()}
            finally:
                for side in sides.values():
                    side.close()
            http_runs, http_load_before = {}, os.getloadavg()[0]
            if args.http:
                session, urls = _session_cookie()
                for _ in range(args.rounds):
                    if baseline_commit:
                        http_runs.setdefault("baseline", []).append(_http_side(Path(tmp), 18431, session, urls, args.http))
                    http_runs.setdefault("this", []).append(_http_side(ROOT, 18432, session, urls, args.http))
    finally:
        if not keep:
            _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
    figures = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"), "cases": args.cases,
        "renders": args.renders, "rounds": args.rounds, "fill_seconds": fill_seconds,
        "load_before": load_before, "load_after": os.getloadavg()[0], "this": _merge(measured["this"], profiled["this"]),
        "this_commit": _current_commit(), "top": args.profile,
    }
    if baseline_commit:
        figures.update(baseline=_merge(measured["baseline"], profiled["baseline"]), baseline_rev=args.baseline,
                       baseline_commit=baseline_commit)
    text = report(figures)
    if args.http:
        figures.update(http=http_runs, http_seconds=args.http, http_load_before=http_load_before,
                       http_load_after=os.getloadavg()[0])
        text += http_report(figures)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.page_cpu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=60_000)
    parser.add_argument("--renders", type=int, default=10, help="renders per page per batch")
    parser.add_argument("--rounds", type=int, default=12, help="batches per page and side, the sides taking turns")
    parser.add_argument("--baseline", default="main", help="the revision to compare with (git archive)")
    parser.add_argument("--no-baseline", action="store_true", help="measure this checkout only")
    parser.add_argument("--profile", type=int, default=0, help="list the N functions with the most own time")
    parser.add_argument("--http", type=int, default=0, metavar="SECONDS",
                        help="also through HTTP: gunicorn on loopback and wrk, SECONDS per page per round")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure again on a kept database (no refill)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.profile)
        return 0
    print(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
