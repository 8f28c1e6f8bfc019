"""docs/security.md runs: the API tokens examples (the command, then list, create, revoke with curl
against a live server) and the key-rotation command, as written on the page."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from accounts.models import ApiToken
from surveys.models import WebhookSource
from tests.factories import make_personas
from tests.surveys.payloads import make_source

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "docs" / "security.md").read_text()
CURL_WITH_STATUS = "curl() { command curl -w '\\n%{http_code}' \"$@\"; }\n"


def section_commands(heading: str) -> list[str]:
    section = TEXT.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


@pytest.mark.django_db(transaction=True)
def test_the_api_token_examples_run_as_written(live_server, capsys):
    personas = make_personas()
    command, *curls = section_commands("API tokens")
    args = shlex.split(command)
    assert args[:3] == [".venv/bin/python", "manage.py", "create_api_token"]
    call_command(*args[2:])
    key = capsys.readouterr().out.strip()
    made = ApiToken.objects.get(user=personas.alice)
    assert (made.name, made.read_only) == ("CRM sync", True)
    env = {**os.environ, "CLOSELOOP": live_server.url}
    # alice's read-only key lists; a read-write key creates and revokes.
    answers = []
    for curl, token in zip(curls, [key, "rw", "rw"]):
        if token == "rw":
            from accounts.services.tokens import token_create

            token = env.get("RW") or token_create(user=personas.alice, name="docs").key
            env["RW"] = token
        env["TOKEN"] = token
        result = subprocess.run(["bash", "-c", CURL_WITH_STATUS + curl], env=env, capture_output=True, text=True,
                                timeout=30)
        body, _, status = result.stdout.rpartition("\n")
        answers.append(int(status))
        if int(status) == 201:
            env["TOKEN_ID"] = str(json.loads(body)["id"])
    assert answers == [200, 201, 204]
    assert sorted(ApiToken.objects.values_list("name", flat=True)) == ["CRM sync", "docs"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_key_rotation_command_runs_as_written(settings):
    source = make_source("qualtrics", auth={"api_token": "rotate-me-1234"})
    old_key = settings.CLOSELOOP_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    [command] = section_commands("Encryption at rest")
    database = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(NEW_KEY=new_key, OLD_KEY=old_key, DEBUG="true", CLOSELOOP_TESTING="false",
               DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}")
    result = subprocess.run(["bash", "-c", command.replace(".venv/bin/python", shlex.quote(sys.executable))],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Encrypted the secrets of 1 sources" in result.stdout
    settings.CLOSELOOP_ENCRYPTION_KEYS = [new_key]  # the old key is no longer needed
    assert WebhookSource.objects.get(pk=source.pk).auth["api_token"] == "rotate-me-1234"
