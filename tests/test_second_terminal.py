"""manage.py in a second terminal: make run's database and Redis from var/run.env while it runs,
and a message saying what to do when nothing says which database to use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from config import runenv

ROOT = Path(__file__).resolve().parent.parent


def _manage(var: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "CLOSELOOP_TESTING"}
           and not k.startswith(("DJANGO", "PYTEST"))}
    env.update(CLOSELOOP_VAR_DIR=str(var), **extra)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_without_make_run_manage_py_says_what_to_do(tmp_path):
    result = _manage(tmp_path, "check")
    assert result.returncode == 2
    assert "`make run` is not running now." in result.stderr
    assert 'make manage ARGS="<command> ..."' in result.stderr
    assert "DEBUG=1 .venv/bin/python manage.py <command>" in result.stderr
    assert "SECRET_KEY" not in result.stderr.split("In production")[0]  # no traceback about it


def test_a_run_env_left_by_a_run_that_ended_is_not_used(tmp_path):
    (tmp_path / "run.env").write_text("DEBUG=true\nDATABASE_URL=sqlite:////nowhere.sqlite3\nCLOSELOOP_RUN_PID=999999999\n")
    result = _manage(tmp_path, "check")
    assert result.returncode == 2 and "is left from a run that ended" in result.stderr


def test_the_run_env_of_a_live_run_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    path = runenv.write(tmp_path, {"DEBUG": "true", "DATABASE_URL": "sqlite:////tmp/it's here.sqlite3",
                                   "REDIS_URL": "redis://127.0.0.1:6390/0"})
    assert "CLOSELOOP_RUN_PID=" in path.read_text()
    environ = {"CLOSELOOP_VAR_DIR": str(tmp_path), "REDIS_URL": "redis://elsewhere:6379/0"}
    assert runenv.for_manage(environ) is None
    assert environ["DATABASE_URL"] == "sqlite:////tmp/it's here.sqlite3"  # quoted and read back
    assert environ["DEBUG"] == "true" and environ["REDIS_URL"] == "redis://elsewhere:6379/0"
    runenv.remove(tmp_path)
    assert not path.exists()


def test_debug_or_a_configured_database_runs_the_command(tmp_path):
    result = _manage(tmp_path, "check", DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert result.returncode == 0, result.stderr
    assert "System check identified" in result.stdout
