"""Every curl example of docs/settings.md, run through the API with the documented body; the
documented answer must be part of the real one (ids and untouched defaults are left out there)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from accounts.models import Team

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def _examples() -> list[tuple[str, str]]:
    return re.findall(r"^\$ (curl .+)\n(\{.*\})$", DOC.read_text(), flags=re.M)


def _contains(actual, documented) -> bool:
    if isinstance(documented, dict):
        return isinstance(actual, dict) and all(k in actual and _contains(actual[k], v) for k, v in documented.items())
    return actual == documented


def test_the_doc_has_its_examples():
    assert len(_examples()) == 7


def test_every_example_answers_as_documented(api_client, personas):
    Team.objects.all().delete()
    Team.objects.create(name="North", slug="north", is_default=True)  # the demo's default team
    api_client.force_authenticate(personas.adam)
    for command, expected in _examples():
        args = shlex.split(command)
        method = args[args.index("-X") + 1].lower()
        url = next(a for a in args if a.startswith("http://"))
        body = json.loads(args[args.index("-d") + 1])
        answer = getattr(api_client, method)(url.removeprefix("http://127.0.0.1:8000"), body, format="json")
        assert _contains(answer.json(), json.loads(expected)), (command, answer.status_code, answer.json())
