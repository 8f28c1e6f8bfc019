"""A fresh `make run` for tests: the embedded stack (`python -m config.embedded`: SQLite, embedded
Redis, web + worker + beat, the default demo data) started in a temporary var/ directory on a free
port, and what a person reads off it: the address, the demo sources' secrets printed by the demo
loader (var/log/setup.log), an API token from `make manage ARGS="create_api_token admin"`.

tests/conftest.py offers it as the session fixture `demo_stack`: it starts once (about 45 s) for
every test that asks for it (tests/churn/test_sqlite.py, tests/test_docs_examples.py,
tests/organisation/test_browser_make_run.py; tests/test_make_run.py stops it)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
# Variables the test run sets for itself (the test database and Redis): `make run` has its own.
TEST_ONLY = {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "CELERY_TASK_ALWAYS_EAGER"}
DEMO_PASSWORD = "closeloop-demo"  # the default, as the banner and README say


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_in_a_terminal() -> None:
    """Popen's preexec_fn for a `make run` a test stops with Ctrl-C: SIGINT as a shell in a
    terminal hands it to a command (the default action, not blocked). A process inherits its
    parent's SIGINT disposition and signal mask, and a test worker's may have been left otherwise
    by a library an earlier test used: a run stopped that way in CI loaded the whole demo and
    started serving instead of stopping."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def clean_env(var: Path) -> dict[str, str]:
    """The environment of a person's terminal: none of the test run's settings, this run's var/."""
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY and not k.startswith(("DJANGO", "PYTEST"))}
    env["CLOSELOOP_VAR_DIR"] = str(var)
    return env


@dataclass
class DemoStack:
    base: str  # http://127.0.0.1:<port>
    var: Path
    proc: subprocess.Popen
    _token: str | None = field(default=None, repr=False)

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def log(self, lines: int = 60) -> str:
        """The end of the terminal output and of setup.log, for a failing assertion's message."""
        parts = []
        for path in (self.var.parent / "run.log", self.var / "log" / "setup.log", self.var / "log" / "web.log"):
            if path.exists():
                parts.append(f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(parts)

    def manage(self, args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """`make manage ARGS="..."` in a second terminal (this venv's python, no install step)."""
        return subprocess.run(
            ["make", "-s", "--no-print-directory", "manage", f"PY={sys.executable}", "RUNTIME=", f"ARGS={args}"],
            cwd=ROOT, env=clean_env(self.var), capture_output=True, text=True, timeout=timeout,
        )

    @property
    def token(self) -> str:
        """The demo admin's API token, as docs/operations.md tells a reader to get it."""
        if self._token is None:
            result = self.manage("create_api_token admin")
            assert result.returncode == 0, result.stdout + result.stderr
            self._token = result.stdout.strip().splitlines()[-1]
        return self._token

    def secrets(self) -> dict[str, str]:
        """slug -> secret of each demo source, from the list the demo loader prints in setup.log."""
        text = (self.var / "log" / "setup.log").read_text()
        return dict(re.findall(r"/webhooks/([\w-]+)/\s+secret: (\S+)", text))

    def stop(self) -> None:
        """Ctrl-C, as a person stops `make run`."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def start(directory: Path, *, seconds: float = 420) -> DemoStack:
    """Start `python -m config.embedded` with a fresh var/ under `directory`; return once /healthz
    answers 200 (the demo data is loaded before the web server starts)."""
    var = directory / "var"
    env = clean_env(var)
    port = free_port()
    env.update(PORT=str(port), DEMO_PASSWORD=DEMO_PASSWORD)
    with open(directory / "run.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "config.embedded"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=as_in_a_terminal)
    stack = DemoStack(base=f"http://127.0.0.1:{port}", var=var, proc=proc)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"`make run` stopped (rc={proc.returncode}):\n{stack.log()}")
        try:
            if requests.get(f"{stack.base}/healthz", timeout=5).status_code == 200:
                return stack
        except requests.RequestException:  # not listening yet
            pass
        time.sleep(0.5)
    stack.stop()
    raise AssertionError(f"`make run` did not answer /healthz in {seconds} s:\n{stack.log()}")
