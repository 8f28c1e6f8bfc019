"""One side of bench_concurrency: database, set-up, servers, a bounded headless Locust run, the
servers' CPU from /proc, and Locust's per-page statistics (its CSV)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.concurrency import closeloop_side, helpdesk_side, single
from config.testenv import database_settings_sql

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


@dataclass
class Config:
    cases: int = 100_000
    teams: int = 5
    agents: int = 200
    managers: int = 20
    seconds: int = 120
    spawn_rate: float = 20.0
    webhooks: float = 100.0
    think: str = "5-15"
    manager_think: str = "10-30"
    workers: int = 2
    threads: int = 8
    customers: int = 200_000
    stop_timeout: int = 10  # seconds Locust lets users finish what they are doing at the end
    single_rounds: int = 60  # one agent alone before the crowd: rounds of every page (0: skip)
    # A migrated database to copy instead of migrating a new one (the smoke test: the test database).
    template: str = ""
    pg: str = field(default_factory=lambda: os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"))
    redis: str = field(default_factory=lambda: os.environ.get("BENCH_CONC_REDIS_URL", "redis://127.0.0.1:6379/11"))

    @classmethod
    def from_env(cls, **overrides) -> Config:
        env = os.environ.get
        config = cls(
            cases=int(env("BENCH_CONC_CASES", cls.cases)), teams=int(env("BENCH_CONC_TEAMS", cls.teams)),
            agents=int(env("BENCH_CONC_AGENTS", cls.agents)), managers=int(env("BENCH_CONC_MANAGERS", cls.managers)),
            seconds=int(env("BENCH_CONC_SECONDS", cls.seconds)),
            spawn_rate=float(env("BENCH_CONC_SPAWN_RATE", cls.spawn_rate)),
            webhooks=float(env("BENCH_CONC_WEBHOOKS", cls.webhooks)), think=env("BENCH_CONC_THINK", cls.think),
            manager_think=env("BENCH_CONC_MANAGER_THINK", cls.manager_think),
            workers=int(env("BENCH_CONC_WORKERS", cls.workers)), threads=int(env("BENCH_CONC_THREADS", cls.threads)),
            customers=int(env("BENCH_CONC_CUSTOMERS", cls.customers)),
            single_rounds=int(env("BENCH_CONC_SINGLE_ROUNDS", cls.single_rounds)),
        )
        for key, value in overrides.items():
            setattr(config, key, value)
        return config

    @property
    def per_team(self) -> int:
        return max(1, self.agents // self.teams)


@dataclass
class SideResult:
    side: str
    pages: dict = field(default_factory=dict)  # name -> {requests, failures, p50, p95, p99}
    cpu: dict = field(default_factory=dict)  # process -> CPU seconds over the measured window
    window: float = 0.0
    outcomes: dict = field(default_factory=dict)
    fill_seconds: float = 0.0
    open_per_team: int = 0
    load_before: tuple = ()
    load_after: tuple = ()
    failures: list = field(default_factory=list)  # Locust's failure lines (method, name, error, count)
    intake: dict = field(default_factory=dict)  # what the webhooks became by the end of the run
    webhooks_target: float = 0.0
    worker_timeouts: dict = field(default_factory=dict)  # server -> gunicorn "WORKER TIMEOUT" lines in its log
    single: dict = field(default_factory=dict)  # one agent alone: page -> {requests, failures, p50, p95, max}
    logs: str = ""  # where the servers' logs were kept (a run with server errors keeps them)


def _psql(pg: str, sql: str) -> None:
    subprocess.run(["psql", f"{pg}/postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True,
                   capture_output=True, timeout=120)


def _query(pg: str, db: str, sql: str) -> list[list[str]]:
    out = subprocess.run(["psql", f"{pg}/{db}", "-tA", "-F", "\t", "-c", sql], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def _intake(side: str, pg: str, db: str, cases: int) -> dict:
    """Closeloop: deliveries by status and cases opened during the run; the peer: tickets created."""
    if side == "closeloop":
        out = {f"deliveries {status}": int(n) for status, n in
               _query(pg, db, "SELECT status, count(*) FROM surveys_webhookdelivery GROUP BY status ORDER BY 1")}
        out["cases opened"] = int(_query(pg, db, f"SELECT count(*) FROM cases_case WHERE id > {cases}")[0][0])
        out["cases closed by agents"] = int(_query(
            pg, db, "SELECT count(*) FROM cases_case WHERE status = 'closed' "
                    "AND resolution = 'Refunded the delivery charge and apologised.'")[0][0])  # the locustfile's
        return out
    return {"tickets created": int(_query(pg, db, f"SELECT count(*) FROM helpdesk_ticket WHERE id > {cases}")[0][0]),
            "follow-ups written": int(_query(pg, db, "SELECT count(*) FROM helpdesk_followup")[0][0])}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_table() -> tuple[dict[int, int], dict[int, float]]:
    """Every process's parent and user + system CPU seconds, from /proc/<pid>/stat."""
    tick = os.sysconf("SC_CLK_TCK")
    parents, used = {}, {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        parents[int(pid)] = int(fields[1])
        used[int(pid)] = (int(fields[11]) + int(fields[12])) / tick
    return parents, used


def _tree(root_pid: int, parents: dict[int, int]) -> set[int]:
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        current = frontier.pop()
        for pid, parent in parents.items():
            if parent == current and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return tree


def _cpu_seconds(root_pid: int) -> float:
    """CPU of a process and all its descendants alive now (the processes of a run are
    long-lived: gunicorn and Celery workers are not replaced)."""
    parents, used = _proc_table()
    return sum(used.get(pid, 0.0) for pid in _tree(root_pid, parents))


def _wait_http(url: str, logs: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:  # noqa: BLE001 - not up yet
            if time.monotonic() > deadline:
                said = "\n".join(p.read_text()[-1500:] for p in sorted(logs.glob("*.log")))
                raise RuntimeError(f"{url} did not answer within {seconds:.0f} s:\n{said}") from None
            time.sleep(0.3)


def _stop(processes: list[subprocess.Popen]) -> None:
    """Quick shutdown (SIGQUIT: gunicorn, its ingest server's workers too (config.ingest_worker),
    and Celery stop at once; the measuring is over), then SIGKILL for whatever of their process
    trees is still there after a second."""
    parents, _used = _proc_table()
    trees = {proc.pid: _tree(proc.pid, parents) for proc in processes}
    for proc in processes:
        proc.send_signal(signal.SIGQUIT)
    deadline = time.monotonic() + 1
    for proc in processes:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for proc in processes:
        for pid in trees[proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=10)


def _locust(config: Config, side: str, host: str, personas: Path, workdir: Path,
            processes: dict[str, subprocess.Popen]) -> tuple[dict, float, list]:
    """The headless run; CPU of each server process tree from the end of the ramp (when Locust
    resets its statistics) to the end of the run."""
    senders = max(1, round(config.webhooks / 1.0))  # locustfile.SENDER_RATE a second each
    users = config.agents + config.managers + senders
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_CONC_SIDE": side, "BENCH_CONC_PERSONAS": str(personas),
           "BENCH_CONC_THINK": config.think, "BENCH_CONC_MANAGER_THINK": config.manager_think,
           "BENCH_CONC_WEBHOOKS": str(config.webhooks),
           "BENCH_CONC_OUTCOMES": str(workdir / f"{side}-outcomes.json")}
    ramp = users / config.spawn_rate
    proc = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", str(users), "-r",
         str(config.spawn_rate), "-t", f"{int(ramp + config.seconds)}s", "--host", host, "--csv",
         str(workdir / side), "--reset-stats", "--only-summary", "--stop-timeout", str(config.stop_timeout), "--loglevel", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(ramp + 1)
    before = {name: _cpu_seconds(p.pid) for name, p in processes.items()}
    started = time.monotonic()
    try:
        _out, err = proc.communicate(timeout=config.seconds + 120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    window = time.monotonic() - started
    cpu = {name: _cpu_seconds(p.pid) - before[name] for name, p in processes.items()}
    stats = workdir / f"{side}_stats.csv"
    if not stats.exists():
        raise RuntimeError(f"locust wrote no statistics (exit {proc.returncode}):\n{err[-3000:]}")
    pages = {}
    with stats.open() as f:
        for row in csv.DictReader(f):
            if row["Name"] == "Aggregated":
                continue
            pages[row["Name"]] = {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                                  "p50": float(row["50%"] or 0), "p95": float(row["95%"] or 0),
                                  "p99": float(row["99%"] or 0)}
    failures = []
    failures_csv = workdir / f"{side}_failures.csv"
    if failures_csv.exists():
        with failures_csv.open() as f:
            failures = [(r["Method"], r["Name"], r["Error"][:120], int(r["Occurrences"])) for r in csv.DictReader(f)]
    return {"pages": pages, "cpu": cpu, "failures": failures}, window, failures


def _keep_logs(side: str, workdir: Path, result: SideResult) -> str:
    """A run whose servers answered errors (or never got to measure) keeps their logs in
    var/bench/concurrency-logs/<side>/, so the traceback behind a 500 can be read afterwards."""
    server_errors = any(p["failures"] for p in result.pages.values()) or any(
        p["failures"] for p in result.single.values()) or not result.pages
    if not server_errors:
        return ""
    kept = ROOT / "var" / "bench" / "concurrency-logs" / side
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True, exist_ok=True)
    for log in workdir.glob("*.log"):
        shutil.copy2(log, kept / log.name)
    return str(kept.relative_to(ROOT))


def run_side(side: str, config: Config) -> SideResult:
    db = f"closeloop_bench_concurrency_{side}"
    result = SideResult(side=side, webhooks_target=config.webhooks)
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-concurrency-{side}-"))
    personas_path = workdir / "personas.json"
    _psql(config.pg, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    _psql(config.pg, f"CREATE DATABASE {db}" + (f' TEMPLATE "{config.template}"' if config.template else ""))
    if config.template:  # the copy has the tables, not the settings on the database (cases 0013's jit = off)
        for (setting,) in _query(config.pg, "postgres", database_settings_sql(config.template)):
            key, _, value = setting.partition("=")
            _psql(config.pg, f"ALTER DATABASE {db} SET {key} = '{value}'")
    processes: dict[str, subprocess.Popen] = {}
    try:
        port = _free_port()
        if side == "closeloop":
            env = closeloop_side.env(config.pg, db, config.redis)
            ingest_port = _free_port()
            # The servers boot (imports: seconds on a loaded machine) while the data is made; they
            # touch the database only when asked, after the set-up.
            web, ingest, worker = closeloop_side.start(env, port, ingest_port, config.workers, config.threads, workdir)
            processes = {"web": web, "ingest": ingest, "worker": worker}
            proc = subprocess.run([sys.executable, "-m", "bench.concurrency.closeloop_side", str(personas_path),
                                   str(config.cases), str(config.teams), str(config.per_team), str(config.managers),
                                   str(config.customers)],
                                  check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
            if proc.returncode != 0:
                raise RuntimeError(f"Closeloop set-up failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
            personas = json.loads(personas_path.read_text())
            personas["webhook"]["url"] = f"http://127.0.0.1:{ingest_port}{personas['webhook']['url']}"
            personas_path.write_text(json.dumps(personas))
            _wait_http(f"http://127.0.0.1:{port}/healthz", workdir)
            _wait_http(f"http://127.0.0.1:{ingest_port}/healthz", workdir)
        else:
            python = helpdesk_side.install()
            env = helpdesk_side.env(config.pg, db)
            helpdesk_side.write_project()
            processes = {"web": helpdesk_side.start(python, env, port, config.workers, config.threads, workdir)[0]}
            personas = helpdesk_side.setup(python, env, personas_path, config.cases, config.teams, config.per_team,
                                           config.managers)
            _wait_http(f"http://127.0.0.1:{port}/helpdesk/login/", workdir)
        result.fill_seconds = personas.get("fill_seconds", 0.0)
        result.open_per_team = personas.get("open_per_team", 0)
        if config.single_rounds:
            result.single = single.measure(side, f"http://127.0.0.1:{port}", personas, config.single_rounds)
        result.load_before = os.getloadavg()
        figures, result.window, result.failures = _locust(config, side, f"http://127.0.0.1:{port}", personas_path,
                                                          workdir, processes)
        result.load_after = os.getloadavg()
        try:
            result.intake = _intake(side, config.pg, db, config.cases)
        except (subprocess.SubprocessError, IndexError, ValueError) as exc:
            result.intake = {"not read": repr(exc)[:200]}
        result.pages, result.cpu = figures["pages"], figures["cpu"]
        outcomes = workdir / f"{side}-outcomes.json"
        result.outcomes = json.loads(outcomes.read_text()) if outcomes.exists() else {}
    finally:
        _stop(list(processes.values()))
        for log in sorted(workdir.glob("*.log")):
            timeouts = log.read_text(errors="replace").count("WORKER TIMEOUT")
            if timeouts:
                result.worker_timeouts[log.stem] = timeouts
        result.logs = _keep_logs(side, workdir, result)
        _psql(config.pg, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        shutil.rmtree(workdir, ignore_errors=True)
    return result
