"""docs/users.md runs: every ```sh block is executed with bash against a live server (as a CX
admin's token, with the shell variables the page names) and its output must match the ```json
block that follows it ("..." in the documented answer stands for any value: ids and times)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from django.core import mail

from accounts.models import Role, User
from tests.factories import api_key_for, make_personas

DOC = Path(__file__).resolve().parents[2] / "docs" / "users.md"
ANY = "..."
# The HTTP status of each example, in page order (the page says them in words).
STATUSES = [200, 201, 400, 200, 200, 400, 200]
# curl as the reader runs it, plus the status on a last line of its own (invisible on the page).
CURL_WITH_STATUS = "curl() { command curl -w '\\n%{http_code}' \"$@\"; }\n"


def examples() -> list[tuple[str, str]]:
    """(shell command, documented JSON answer) pairs, in page order."""
    text = DOC.read_text()
    pairs = re.findall(r"```sh\n(.*?)```\s*\n(?:[^`]*?\n)?```json\n(.*?)```", text, flags=re.S)
    return [(command.strip(), answer.strip()) for command, answer in pairs]


def matches(documented, actual) -> bool:
    if documented == ANY:
        return True
    if isinstance(documented, dict):
        return isinstance(actual, dict) and documented.keys() == actual.keys() and all(
            matches(documented[k], actual[k]) for k in documented)
    if isinstance(documented, list):
        return isinstance(actual, list) and len(documented) == len(actual) and all(
            matches(d, a) for d, a in zip(documented, actual))
    return documented == actual


def test_the_page_has_examples():
    assert len(examples()) >= 6


@pytest.mark.django_db(transaction=True)
def test_every_example_answers_as_documented(live_server):
    
    personas = make_personas()
    # Named as the demo's admin, whose answers the page shows.
    User.objects.filter(pk=personas.adam.pk).update(username="admin", email="admin@closeloop.example", first_name="Ada",
                                                    last_name="Admin", is_superuser=True)
    env = {**os.environ, "CLOSELOOP": live_server.url, "TEAM_ID": str(personas.north.pk),
           "TOKEN": api_key_for(personas.adam)}
    assert len(examples()) == len(STATUSES)
    for (command, answer), status in zip(examples(), STATUSES):
        result = subprocess.run(["bash", "-c", CURL_WITH_STATUS + command], env=env, capture_output=True,
                                text=True, timeout=30)
        assert result.returncode == 0, (command, result.stderr)
        body, _, code = result.stdout.rpartition("\n")
        assert int(code) == status, (command, result.stdout)
        actual = json.loads(body)
        assert matches(json.loads(answer), actual), f"{command}\n documented: {answer}\n actual: {result.stdout}"
        if isinstance(actual, dict) and actual.get("email") == "nora@example.com":
            env["USER_ID"] = str(actual["id"])
    nora = User.objects.get(email="nora@example.com")
    assert (nora.role, nora.is_active) == (Role.MANAGER, True)
    assert [m.to for m in mail.outbox] == [["nora@example.com"], ["nora@example.com"]]
