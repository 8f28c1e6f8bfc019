"""Webhook acceptance under gunicorn on PostgreSQL, against PostgreSQL's own commit ceiling.

Run: `python -m bench webhooks` (or `DEBUG=1 .venv/bin/python -m bench.bench_webhooks`).
Creates the database closeloop_bench_webhooks (BENCH_WEBHOOKS_DB names another; dropped at the end), starts the ingest server
(gunicorn with uvicorn workers, config.asgi) on loopback, drives it with wrk for 30 s at 16 and 64
connections (each request signed, with a unique delivery id from a Lua script), then at about half
the maximum rate; then the web server (gunicorn gthread, config.wsgi: Django's handler and the
Django view, one INSERT per request) for 30 s at 64 connections for comparison; and measures pgbench single-row (~1 KB) INSERT commits per second as the physical
ceiling. Bounded: about 5 minutes. During the ingest server's 64-connection run it also reads,
from /proc, the CPU time used by the server (master and workers), PostgreSQL, wrk and Redis, per
accepted request: where the machine's two cores go.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.machine import write_figures

ROOT = Path(__file__).resolve().parent.parent
DB = os.environ.get("BENCH_WEBHOOKS_DB", "closeloop_bench_webhooks")
PG = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SECRET = "bench-secret"
SLUG = "bench-generic"
DURATION = int(os.environ.get("BENCH_SECONDS", "30"))
BODY = json.dumps({
    "id": "bench", "nps": 4, "email": "bench@example.com",
    "comment": "The parcel arrived two days late and the box was damaged. " * 3,
}).encode()

LUA = r"""
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  counter = 0
  prefix = "%(run)s-" .. tid .. "-"
end
function request()
  counter = counter + 1
  return wrk.format("POST", "/webhooks/%(slug)s/", {
    ["Content-Type"] = "application/json",
    ["X-Signature"] = "%(signature)s",
    ["X-Delivery-Id"] = prefix .. counter,
  }, [==[%(body)s]==])
end
%(delay)s
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(["psql", f"{PG}/{db}", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True,
                   capture_output=True, timeout=60)


def _env() -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": f"{PG}/{DB}", "REDIS_URL": REDIS, "DEBUG": "false", "SECRET_KEY": "bench-" + "x" * 50,
        "CLOSELOOP_ENCRYPTION_KEYS": "YmVuY2gtYW5kLWZhdWx0cy1lbmNyeXB0aW9uLWtleSE=",
        "ALLOWED_HOSTS": "127.0.0.1,localhost", "SECURE_SSL_REDIRECT": "false", "SECURE_COOKIES": "false",
        "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "config.settings", "CLOSELOOP_TESTING": "false",
        "DB_CONN_MAX_AGE": "600", "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
    })
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env


def _wrk(port: int, connections: int, script: Path, seconds: int = DURATION) -> dict:
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", "--timeout", "5s",
         "-s", str(script), f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=seconds + 60,
    ).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    elapsed = float(re.search(r"requests in ([\d.]+)(m?s)", out).group(1))
    elapsed = elapsed / 1000 if re.search(r"requests in [\d.]+ms", out) else elapsed

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {"connections": connections, "requests": total, "non2xx": non2xx, "socket_errors": errors,
            "accepted_per_s": (total - non2xx) / elapsed, "p50_ms": pct(50), "p99_ms": pct(99), "raw": out}


def _pgbench(connections: int, seconds: int = DURATION) -> float:
    _psql("DROP TABLE IF EXISTS bench_rows; CREATE TABLE bench_rows (id bigserial PRIMARY KEY, "
          "payload text NOT NULL, created timestamptz NOT NULL DEFAULT now())", DB)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("INSERT INTO bench_rows (payload) VALUES (repeat('x', 1000));\n")
    out = subprocess.run(["pgbench", "-n", "-c", str(connections), "-j", "2", "-T", str(seconds), "-f", f.name,
                          f"{PG}/{DB}"], capture_output=True, text=True, timeout=seconds + 60).stdout
    os.unlink(f.name)
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def _cpu_snapshot(server_pid: int) -> dict:
    """CPU seconds so far: gunicorn's process tree, PostgreSQL, wrk, Redis, and the whole machine.
    wrk is counted once it has exited and been reaped (this process's children times): by then
    its /proc entry is gone."""
    tick = os.sysconf("SC_CLK_TCK")
    times = os.times()
    used = {"gunicorn": 0.0, "postgres": 0.0, "wrk": times.children_user + times.children_system, "redis": 0.0}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if server_pid in (int(pid), int(fields[1])):
            used["gunicorn"] += seconds
        elif name.startswith("postgres"):
            used["postgres"] += seconds
        elif name.startswith("redis"):
            used["redis"] += seconds
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    used["machine"] = (sum(values) - values[3] - values[4]) / tick  # all but idle and iowait
    used["capacity"] = sum(values) / tick
    return used


def _cpu_line(before: dict, after: dict, accepted: int) -> str:
    per = {k: 1000 * (after[k] - before[k]) / max(accepted, 1) for k in before if k != "capacity"}
    busy = (after["machine"] - before["machine"]) / max(after["capacity"] - before["capacity"], 1e-9)
    return (f"CPU per accepted request in the 64-connection run (from /proc): gunicorn {per['gunicorn']:.2f} ms, "
            f"PostgreSQL {per['postgres']:.2f} ms, wrk {per['wrk']:.2f} ms, Redis {per['redis']:.2f} ms; "
            f"the whole machine {per['machine']:.2f} ms ({busy:.0%} busy; the rest is other processes and the kernel).")


def _machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    mem = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.splitlines()[1].split()[1]
    return f"{os.cpu_count()} cores ({cpu}), {mem} RAM"


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _start(py: str, env: dict, port: int, app: str, worker_args: list[str],
           config: str = "config/gunicorn.py") -> subprocess.Popen:
    """gunicorn with the production settings (config/gunicorn.py for `web`, config/gunicorn_ingest.py
    for `ingest`), as the Procfile starts it."""
    server = subprocess.Popen(
        [py, "-m", "gunicorn", "-c", config, app, "-b", f"127.0.0.1:{port}", *worker_args,
         "--log-level", "warning", "--backlog", "2048"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return server


def _stop(server: subprocess.Popen | None) -> None:
    if server is None:
        return
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()


def run(args=None) -> str:
    load_start = _load()
    for tool in ("wrk", "pgbench", "psql"):
        if not shutil.which(tool):
            return f"## Webhook acceptance\n\nNot measured: `{tool}` is not installed (apt-get install -y wrk postgresql-client).\n"
    _psql(f"DROP DATABASE IF EXISTS {DB}")
    _psql(f"CREATE DATABASE {DB}")
    env = _env()
    py = sys.executable
    # The ingest server (Procfile `ingest`): one uvicorn event loop per core, group commit.
    workers = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 1)))
    # The web server (Procfile `web`: the Django view) for comparison: one process per core,
    # threads overlap the waits on PostgreSQL's commit (2 x 16, the shape of earlier runs).
    threads = int(os.environ.get("BENCH_THREADS", "16"))
    server = None
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    try:
        subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300)
        subprocess.run([py, "manage.py", "add_webhook_source", "--slug", SLUG, "--vendor", "generic",
                        "--secret", SECRET, "--rate-limit", "0", "--auth", "header=X-Signature",
                        "--auth", "delivery_id_header=X-Delivery-Id"],
                       cwd=ROOT, env=env, check=True, timeout=120, capture_output=True)
        signature = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()

        def script(run_id: str, delay_ms: float = 0) -> Path:
            path = workdir / f"{run_id}.lua"
            delay = f"function delay()\n  return {delay_ms:.2f}\nend" if delay_ms else ""
            path.write_text(LUA % {"run": run_id, "slug": SLUG, "signature": signature, "body": BODY.decode(),
                                   "delay": delay})
            return path

        port = _free_port()
        # As the Procfile's `ingest` line: no access log, no kept connections for Django's own threads.
        ingest_env = {**env, "GUNICORN_ACCESS_LOG": "", "DB_CONN_MAX_AGE": "0"}
        server = _start(py, ingest_env, port, "config.asgi:application", ["-w", str(workers)],
                        config="config/gunicorn_ingest.py")
        _wrk(port, 4, script("warmup"), seconds=3)
        # Each measured run starts with PostgreSQL's WAL checkpointed, so none pays for the checkpoint
        # of the run before it (after the 64-connection run one lands in the half-rate run's 30 s).
        _psql("CHECKPOINT")
        runs = [_wrk(port, 16, script("c16"))]
        _psql("CHECKPOINT")
        before = _cpu_snapshot(server.pid)
        runs.append(_wrk(port, 64, script("c64")))
        cpu = _cpu_line(before, _cpu_snapshot(server.pid), runs[-1]["requests"] - runs[-1]["non2xx"])
        best = max(r["accepted_per_s"] for r in runs)
        half_target = best / 2
        connections = 16
        # wrk waits `delay` after each answer on a connection, so the answer time adds to it: a
        # 5 s probe measures that extra time, and the run proper takes it off the delay.
        delay = connections * 1000 / half_target
        probe = _wrk(port, connections, script("probe", delay_ms=delay), seconds=5)
        extra = max(0.0, connections * 1000 / max(probe["accepted_per_s"], 1) - delay)
        _psql("CHECKPOINT")
        half = _wrk(port, connections, script("half", delay_ms=max(0.1, delay - extra)))
        _stop(server)
        port = _free_port()
        server = _start(py, env, port, "config.wsgi:application",
                        ["-w", str(workers), "--worker-class", "gthread", "--threads", str(threads)])
        _wrk(port, 4, script("wsgi-warmup"), seconds=3)
        web = _wrk(port, 64, script("wsgi-c64"))
        stored = subprocess.run(["psql", f"{PG}/{DB}", "-tA", "-c", "SELECT count(*) FROM surveys_webhookdelivery"],
                                capture_output=True, text=True).stdout.strip()
    finally:
        _stop(server)
        shutil.rmtree(workdir, ignore_errors=True)
    ceiling = _pgbench(16)
    ceiling64 = _pgbench(64)
    ceiling = max(ceiling, ceiling64)
    _psql(f"DROP DATABASE IF EXISTS {DB}")
    messages = "?"
    try:
        import redis

        client = redis.Redis.from_url(REDIS)
        messages = client.llen("ingest")  # no worker runs: every published message is still queued
        client.flushdb()  # the unconsumed bench tasks (own Redis db)
    except Exception:
        pass
    load_end = _load()
    ratio = best / ceiling if ceiling else 0
    lines = [
        "## Webhook acceptance (bench/bench_webhooks.py)",
        "",
        f"Date {datetime.date.today().isoformat()}; machine {_machine()}; PostgreSQL on the same machine. "
        f"The ingest server (Procfile `ingest`): gunicorn with {workers} uvicorn workers, `config.asgi` -> "
        f"surveys.ingest.asgi (checks in the event loop, group commit). For comparison, the web server "
        f"(Procfile `web`): gunicorn {workers} gthread workers x {threads} threads, `config.wsgi` (Django's "
        f"handler and middleware) -> the Django view, one autocommitted INSERT per request. wrk 2 threads, {DURATION} s per run; generic source, "
        f"HMAC-SHA256 over a {len(BODY)}-byte JSON body, unique X-Delivery-Id per request; each accepted "
        f"request is answered after the commit that holds its row; deliveries are published to Redis in "
        f"batches by a background thread (surveys.ingest.publish). Rows stored: {stored}, in {messages} Celery "
        f"messages. Load average (1/5/15 min) at the start {load_start}, at the end {load_end} (the machine is shared).",
        "",
        "| server | load | accepted/s | p50 | p99 | non-2xx | socket errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs + [half]:
        label = f"{r['connections']} connections" if r is not half else f"~half max rate ({half_target:.0f}/s target, 16 conn.)"
        lines.append(f"| ingest (ASGI) | {label} | {r['accepted_per_s']:.0f} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | "
                     f"{r['non2xx']} | {r['socket_errors']} |")
    lines.append(f"| web (Django view, WSGI) | 64 connections | {web['accepted_per_s']:.0f} | {web['p50_ms']:.1f} ms | "
                 f"{web['p99_ms']:.1f} ms | {web['non2xx']} | {web['socket_errors']} |")
    lines += [
        "",
        f"PostgreSQL ceiling (pgbench, one ~1 KB INSERT per transaction, 16 and 64 clients): **{ceiling:.0f} commits/s**.",
        f"Acceptance by the ingest server at its best load is **{ratio:.0%} of the ceiling** (target ≥ 40%, issue #25): "
        f"{'met' if ratio >= 0.40 else 'NOT met'}; the web server's is {web['accepted_per_s'] / ceiling:.0%}. "
        f"p99 at half the maximum rate: **{half['p99_ms']:.1f} ms** "
        f"(target < 10 ms on a quiet machine, issue #25): {'met' if half['p99_ms'] < 10 else 'NOT met'}.",
        "",
        cpu.replace("gunicorn", "the ingest server", 1),
    ]
    text = "\n".join(lines) + "\n"
    write_figures(ROOT / "docs" / "benchmarks_webhooks.md", text)
    return text


if __name__ == "__main__":
    print(run(None))
