"""`make run`'s path as a test: the embedded stack starts, serves a login, prints its banner last
with routine logs in files under var/log/, lets a second terminal reach the same database and
Redis (`make manage`), and stops cleanly."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from tests.demo_stack import DEMO_PASSWORD, as_in_a_terminal, free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_embedded_stack_starts_serves_a_login_and_stops(demo_stack):
    """On the session's `make run` (tests/demo_stack.py), after the tests that use it have run
    (tests/organisation/test_browser_make_run.py, tests/test_docs_examples.py sort before this
    file): then Ctrl-C stops it, and this test checks that it stopped cleanly."""
    base, var, proc = demo_stack.base, demo_stack.var, demo_stack.proc
    run_log = var.parent / "run.log"
    assert proc.poll() is None, demo_stack.log()
    seen = {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
    try:
        assert len(seen) >= 4  # redis, web, worker, beat (and their children)
        session = requests.Session()
        page = session.get(f"{base}/login/", timeout=5)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        signed_in = session.post(
            f"{base}/login/", data={"username": "agent", "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{base}/login/"}, timeout=10,
        )
        assert signed_in.status_code == 200
        assert "Alex Agent" in signed_in.text
        output = _wait_for_banner(run_log)
        assert f"http://127.0.0.1:{demo_stack.port}/" in output and "agent" in output and "manager" in output
        # The banner is the last thing on the terminal; access lines and JSON logs are in files.
        assert output.rstrip().endswith("Press Ctrl-C to stop."), output[-2000:]
        assert '"GET /' not in output and '"level"' not in output, output[-2000:]
        assert f"Logs: {var / 'log'}/" in output and f"E-mails sent: {var / 'mail'}/" in output
        assert '"GET /login/' in (var / "log" / "web.log").read_text()
        assert (var / "log" / "worker.log").exists() and "Demo data loaded" in (var / "log" / "setup.log").read_text()

        # The second terminal: `make manage` without DEBUG or DATABASE_URL reaches this run's
        # SQLite file and its embedded Redis (from var/run.env).
        second = _second_terminal(var)
        assert second.returncode == 0, second.stdout + second.stderr
        database, broker, agent_exists, cached = second.stdout.split()[-4:]
        assert database == str(var / "closeloop.sqlite3") and agent_exists == "True" and cached == "42"
        assert f"Broker: {broker} (embedded)" in output
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    alive = _still_running(seen)
    deadline = time.monotonic() + 15  # children get a moment to exit after the parent
    while alive and time.monotonic() < deadline:
        psutil.wait_procs([psutil.Process(pid) for pid in alive if psutil.pid_exists(pid)], timeout=1)
        alive = _still_running(seen)
    assert alive == [], f"processes left running: {alive}"
    output = run_log.read_text(errors="replace")
    assert output.rstrip().endswith("Closeloop stopped."), output[-2000:]
    # Stopped: run.env is gone, and manage.py says what to do instead of a SECRET_KEY error.
    assert not (var / "run.env").exists()
    after = _second_terminal(var)
    assert after.returncode == 2 and "`make run` is not running now" in after.stderr, after.stderr


COMMAND = (
    "from django.conf import settings; from django.core.cache import cache; from accounts.models import User; "
    "cache.set('second-terminal', 42); "
    "print(settings.DATABASES['default']['NAME'], settings.CELERY_BROKER_URL, "
    "User.objects.filter(username='agent').exists(), cache.get('second-terminal'))"
)


def _second_terminal(var: Path) -> subprocess.CompletedProcess:
    """`make manage ARGS=...` as a person types it in another terminal (this venv's python, no install)."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "CELERY_TASK_ALWAYS_EAGER"}
           and not k.startswith(("DJANGO", "PYTEST"))}
    env["CLOSELOOP_VAR_DIR"] = str(var)
    return subprocess.run(
        ["make", "--no-print-directory", "manage", f"PY={sys.executable}", "RUNTIME=",
         f"ARGS=shell -c \"{COMMAND}\""],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def _wait_for_banner(log: Path, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        output = log.read_text(errors="replace")
        if "Press Ctrl-C to stop." in output:
            return output
        time.sleep(0.2)
    raise AssertionError(f"no banner in {seconds} s:\n{log.read_text(errors='replace')[-3000:]}")


def _still_running(pids) -> list[int]:
    running = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                running.append(pid)
        except psutil.NoSuchProcess:
            pass
    return running


@pytest.mark.slow
def test_ctrl_c_during_the_first_demo_load_keeps_no_half_demo(tmp_path):
    """Interrupted while the demo loads, nothing of it is kept: the next start loads it again
    (load_demo --once finds no admin; tests/test_demo_atomic.py loads it after such a stop)."""
    import sqlite3

    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "CELERY_TASK_ALWAYS_EAGER"}}
    env.update(CLOSELOOP_VAR_DIR=str(tmp_path / "var"), PORT=str(free_port()))
    log = open(tmp_path / "run.log", "w+b")
    proc = subprocess.Popen([sys.executable, "-m", "config.embedded"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=as_in_a_terminal)
    setup_log = tmp_path / "var" / "log" / "setup.log"
    try:
        deadline = time.monotonic() + 300
        # The demo's second stage prints its webhook sources: the people are saved by then.
        while time.monotonic() < deadline and "Webhook sources" not in (setup_log.read_text() if setup_log.exists() else ""):
            assert proc.poll() is None, (tmp_path / "run.log").read_text(errors="replace")[-3000:]
            time.sleep(0.1)
        assert "Demo data loaded" not in setup_log.read_text()
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            raise AssertionError("Ctrl-C did not stop `make run` in 60 s:\n"
                                 + (tmp_path / "run.log").read_text(errors="replace")[-2000:]
                                 + setup_log.read_text(errors="replace")[-2000:]) from None
        finally:
            log.close()
    output = (tmp_path / "run.log").read_text(errors="replace")
    assert "Closeloop stopped (interrupted while preparing" in output, output[-2000:]
    assert not (tmp_path / "var" / "run.env").exists()
    with sqlite3.connect(tmp_path / "var" / "closeloop.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM accounts_user").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM surveys_webhooksource").fetchone() == (0,)
