"""The two gunicorn servers' settings as gunicorn itself reads them (`--print-config`): the web
server's processes and threads (config/gunicorn.py) and the ingest server's event loops
(config/gunicorn_ingest.py, which keeps the web server's logging and hooks); and the ingest
server stopping at once when its master is told to (Ctrl-C, SIGQUIT)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.demo_stack import free_port

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def _printed(config: str, app: str, **env: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in {"WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_CMD_ARGS", "INGEST_HOST", "INGEST_PORT"}}
    # --print-config loads the application too: DEBUG spares it production's required settings.
    out = subprocess.run([str(GUNICORN), "--print-config", "-c", config, app], cwd=ROOT,
                         env={**clean, "DEBUG": "1", **env},
                         capture_output=True, text=True, timeout=60, check=True).stdout
    settings = {}
    for line in out.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            settings[name.strip()] = value.strip()
    return settings


def test_the_web_server_runs_one_process_of_eight_threads_per_core():
    web = _printed("config/gunicorn.py", "config.wsgi:application")
    assert web["workers"] == str(os.cpu_count())
    assert web["threads"] == "8"
    assert web["worker_class"] == "config.gunicorn_worker.BufferedThreadWorker"
    assert web["bind"] == "['0.0.0.0:8000']"


def test_the_ingest_server_runs_one_event_loop_per_core_with_the_web_servers_logging_and_hooks():
    ingest = _printed("config/gunicorn_ingest.py", "config.asgi:application", INGEST_PORT="8101")
    assert ingest["workers"] == str(os.cpu_count())
    assert ingest["worker_class"] == "config.ingest_worker.IngestWorker"
    assert ingest["bind"] == "['0.0.0.0:8101']"
    assert ingest["logger_class"] == "config.gunicorn_logging.RedactingLogger"
    assert ingest["post_worker_init"] == "<post_worker_init()>"  # gc.freeze() after loading
    assert ingest["child_exit"] == "<child_exit()>"  # Prometheus' files of a dead worker


@pytest.mark.parametrize("config, app", [("config/gunicorn.py", "config.wsgi:application"),
                                         ("config/gunicorn_ingest.py", "config.asgi:application")])
def test_the_environment_sets_processes_and_threads(config, app):
    settings = _printed(config, app, WEB_CONCURRENCY="3", GUNICORN_THREADS="5")
    assert (settings["workers"], settings["threads"]) == ("3", "5")


def test_every_deployment_starts_the_ingest_server_with_its_own_settings():
    procfile = (ROOT / "Procfile").read_text()
    ingest_line = next(line for line in procfile.splitlines() if line.startswith("ingest:"))
    assert "gunicorn -c config/gunicorn_ingest.py " in ingest_line and " -k " not in ingest_line
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    kubernetes = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "ingest.yaml").read_text().split("\n---\n")[0])
    containers = kubernetes["spec"]["template"]["spec"]["containers"]
    for command in (compose["services"]["ingest"]["command"], containers[0]["command"]):
        assert command[:3] == ["gunicorn", "-c", "config/gunicorn_ingest.py"]
        assert "-k" not in command and "config.asgi:application" in command


@pytest.mark.timeout(120)
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGQUIT], ids=["ctrl-c", "sigquit"])
def test_the_ingest_server_stops_at_once_when_told_to_quit(tmp_path, stop):
    """gunicorn's quick shutdown (SIGINT from a terminal or honcho, SIGQUIT) sends its workers
    SIGQUIT; uvicorn's worker ignored it and was killed after the graceful timeout (10 s), logged
    as "was sent SIGKILL! Perhaps out of memory?". config.ingest_worker ends it."""
    port = free_port()
    log = tmp_path / "ingest.log"
    env = {**{k: v for k, v in os.environ.items() if k not in {"GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"}},
           "DEBUG": "1", "INGEST_HOST": "127.0.0.1", "INGEST_PORT": str(port), "WEB_CONCURRENCY": "2"}
    with log.open("w") as out:
        server = subprocess.Popen([str(GUNICORN), "-c", "config/gunicorn_ingest.py", "config.asgi:application"],
                                  cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    assert answer.status == 200
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-2000:]
                assert server.poll() is None, log.read_text()[-2000:]
                time.sleep(0.2)
        server.send_signal(stop)
        assert server.wait(timeout=5) == 0, log.read_text()[-2000:]  # graceful_timeout is 10 s
        assert "SIGKILL" not in log.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
