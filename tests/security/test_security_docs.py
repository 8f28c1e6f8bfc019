"""docs/security.md runs here too, quickly, against a live test server instead of `make run`
(tests/test_docs_examples.py runs every page's examples there): the API tokens examples in page
order, as written, with their stated answers, and the key-rotation command it marks not-run (it
would re-encrypt the demo's secrets under the running processes), with the keys filled in."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from accounts.models import ApiToken
from accounts.services.tokens import token_create
from surveys.models import WebhookSource
from tests.factories import make_personas
from tests.surveys.payloads import make_source

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "docs" / "security.md").read_text()
CURL_STATUS = ("curl() { if [ \"$BASH_SUBSHELL\" = 0 ]; then command curl \"$@\" -w '\\n%{http_code}';"
               " else command curl \"$@\"; fi; }\n")
EXPECT = re.compile(r"^# -> (?:exit (?P<exit>\d+)|(?P<status>\d{3}))(?: (?P<rest>.+))?$", re.M)


def section_blocks(heading: str) -> list[str]:
    section = TEXT.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def shell_env(**extra) -> dict:
    database = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO"))}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", DEBUG="true",
               CLOSELOOP_TESTING="false", CLOSELOOP_ENCRYPTION_KEYS=",".join(connection_keys()),
               DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
               **extra)
    return env


def connection_keys() -> list[str]:
    from django.conf import settings

    return list(settings.CLOSELOOP_ENCRYPTION_KEYS)


def test_the_api_token_examples_answer_as_documented(live_server):
    personas = make_personas()
    personas.adam.username = "admin"
    personas.adam.save()
    env = shell_env(CLOSELOOP=live_server.url, TOKEN=token_create(user=personas.adam, name="docs").key)
    blocks = section_blocks("API tokens")
    assert len(blocks) == 4
    for block in blocks:
        expected = EXPECT.search(block)
        result = subprocess.run(["bash", "-c", CURL_STATUS + block], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=120)
        if expected.group("exit") is not None:
            assert result.returncode == int(expected.group("exit")), result.stderr
            assert json.loads(expected.group("rest")) in result.stdout
            continue
        body, _, status = result.stdout.rstrip("\n").rpartition("\n")
        assert status == expected.group("status"), (block, result.stdout, result.stderr)
        if expected.group("rest"):
            documented, actual = json.loads(expected.group("rest")), json.loads(body)
            assert all(actual[k] == v or v == "..." for k, v in documented.items())
    # The command's read-only "CRM sync", the API's "Nightly export" (revoked: the first read-only one
    # listed is the newest), and the key the examples used.
    assert sorted(ApiToken.objects.values_list("name", "read_only")) == [("CRM sync", True), ("docs", False)]


def test_the_key_rotation_command_runs_with_its_keys_filled_in(settings):
    source = make_source("qualtrics", auth={"api_token": "rotate-me-1234"})
    new_key = Fernet.generate_key().decode()
    [block] = section_blocks("Encryption at rest")
    result = subprocess.run(["bash", "-c", block], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env=shell_env(NEW_KEY=new_key, OLD_KEY=settings.CLOSELOOP_ENCRYPTION_KEYS[0]))
    assert result.returncode == 0, result.stderr
    assert "Encrypted the secrets of 1 sources" in result.stdout
    settings.CLOSELOOP_ENCRYPTION_KEYS = [new_key]  # the old key is no longer needed
    assert WebhookSource.objects.get(pk=source.pk).auth["api_token"] == "rotate-me-1234"
