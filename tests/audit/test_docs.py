"""docs/security.md "Audit trail" runs here against a live test server (tests/test_docs_examples.py
runs it on a fresh `make run`): the page's API token examples first, as a reader would have run
them, then the audit example, which must find the token they revoked, as documented."""

from __future__ import annotations

import json
import subprocess

import pytest

from accounts.services.tokens import token_create
from tests.factories import make_personas
from tests.security.test_security_docs import CURL_STATUS, EXPECT, ROOT, section_blocks, shell_env
from tests.test_docs_examples import matches

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _run(block: str, env: dict) -> tuple[str, str]:
    result = subprocess.run(["bash", "-c", CURL_STATUS + block], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    body, _, status = result.stdout.rstrip("\n").rpartition("\n")
    return status, body


def test_the_audit_example_answers_as_documented(live_server):
    personas = make_personas()
    personas.adam.username = "admin"
    personas.adam.save()
    env = shell_env(CLOSELOOP=live_server.url, TOKEN=token_create(user=personas.adam, name="docs").key)
    for block in section_blocks("API tokens"):
        if "manage.py" not in block:  # the command's token is not what the audit example reads
            _run(block, env)
    [block] = section_blocks("Audit trail")
    expected = EXPECT.search(block)
    status, body = _run(block, env)
    assert status == expected.group("status") == "200", body
    assert matches(json.loads(expected.group("rest")), json.loads(body)), body
