"""The examples in docs/connect/ and docs/scales.md, executed: the command creates the source the
page shows, the shell snippet signs a delivery the webhook accepts, the mapping and the preview
table are what the code stores and shows, and the index links a guide for every vendor."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from alerts.defaults import default_rules_ensure
from cases.models import Case
from surveys.adapters import generic
from surveys.models import SurveyResponse, Vendor, WebhookDelivery, WebhookSource
from surveys.presets import PRESETS
from surveys.services import source_preview

ROOT = Path(__file__).resolve().parents[2]
GENERIC = (ROOT / "docs" / "connect" / "generic.md").read_text()


def _block(text: str, name: str) -> str:
    """The fenced block (or table) right after `<!-- example: name -->`."""
    after = text.split(f"<!-- example: {name} -->\n", 1)[1]
    if after.startswith("```"):
        return after.split("\n", 1)[1].split("```", 1)[0]
    return after.split("\n\n", 1)[0]


def _shell_block(name: str) -> str:
    return _block(GENERIC, name).replace("\\\n", " ")


@pytest.fixture
def helpdesk(db):
    out = StringIO()
    argv = shlex.split(_shell_block("cli"))
    assert argv[:3] == ["python", "manage.py", "add_webhook_source"]
    call_command(*argv[2:], stdout=out)
    return WebhookSource.objects.get(slug="helpdesk"), out.getvalue()


def _signed_delivery() -> tuple[str, str]:
    """BODY and SIG as the doc's shell lines compute them (everything but the curl)."""
    lines = [line for line in _shell_block("curl").splitlines() if not line.startswith("curl ")]
    script = "\n".join(lines + ['printf "%s\\n%s" "$BODY" "$SIG"'])
    output = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout
    body, signature = output.rsplit("\n", 1)
    return body, signature


def test_the_command_prints_what_the_doc_shows(helpdesk):
    source, printed = helpdesk
    shown = GENERIC.split("kept as a JSON object):\n\n```text\n", 1)[1].split("```", 1)[0]
    assert printed.replace("\x1b[32;1m", "").replace("\x1b[0m", "") == shown
    assert source.mapping == json.loads(_block(GENERIC, "mapping"))
    assert source.auth == {"mode": "hmac", "header": "X-Signature", "prefix": "sha256="}


def test_the_auth_table_is_the_adapters_list_of_options():
    rows = re.findall(r"^\| `(\w+)` \| (.+) \|$", GENERIC.split("## 2.", 1)[1].split("## 3.", 1)[0], re.M)
    assert [key for key, _ in rows] == list(generic.AUTH_OPTIONS)
    assert {key: what.replace("`", "") for key, what in rows} == generic.AUTH_OPTIONS


def test_the_signed_example_is_accepted_and_opens_a_case(helpdesk, client, django_capture_on_commit_callbacks):
    default_rules_ensure()
    source, _ = helpdesk
    body, signature = _signed_delivery()
    assert f"sha256={signature}" == generic.sign(source.auth, source.secret, body.encode())
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/webhooks/helpdesk/", data=body.encode(), content_type="application/json",
                             HTTP_X_SIGNATURE=f"sha256={signature}")
    assert (answer.status_code, answer.json()["status"]) == (202, "accepted")
    delivery = WebhookDelivery.objects.get(pk=answer.json()["id"])
    response = SurveyResponse.objects.get(pk=delivery.response_id)
    table = dict(re.findall(r"^\| ([^|]+?) \| ([^|]+?) \|$", _block(GENERIC, "preview"), re.M)[1:])
    assert response.external_id == table["Response id"] == "T-1042"
    assert f"{response.ces.normalize()} on {response.ces_scale_min}–{response.ces_scale_max}" == table["CES"]
    assert response.comment == table["Comment"] and response.customer.email == table["Customer"]
    assert response.touchpoint == "support"
    assert Case.objects.filter(responses=response).count() == 1
    wrong = client.post("/webhooks/helpdesk/", data=body.encode(), content_type="application/json",
                        HTTP_X_SIGNATURE="sha256=00")
    assert wrong.status_code == 401


def test_the_preview_table_is_what_the_preview_shows(helpdesk):
    source, _ = helpdesk
    body, _ = _signed_delivery()
    result = source_preview(vendor="generic", mapping=source.mapping, body=body.encode())["normalized"]
    table = dict(re.findall(r"^\| ([^|]+?) \| ([^|]+?) \|$", _block(GENERIC, "preview"), re.M)[1:])
    (score,) = result.scores
    assert (result.response_id, f"{score.value} on {score.scale_min}–{score.scale_max}", result.comment,
            result.customer.email) == (table["Response id"], table["CES"], table["Comment"], table["Customer"])


def test_the_binary_csat_example_in_scales_md_maps_words_to_0_and_1():
    text = (ROOT / "docs" / "scales.md").read_text()
    mapping = json.loads(text.split("```json\n", 1)[1].split("```", 1)[0])
    now = datetime(2025, 3, 1, tzinfo=UTC)
    for words, value in (("Bad, I'm unsatisfied", 0), ("Good, I'm satisfied", 1)):
        payload = {"id": "z1", "satisfaction": {"rating": words}}
        (score,) = generic.normalize(payload, mapping, now).scores
        assert (score.metric, score.value, score.scale_min, score.scale_max) == ("csat", value, 0, 1)


def test_the_index_links_a_guide_for_every_vendor_and_the_readme_links_the_index():
    index = (ROOT / "docs" / "connect" / "README.md").read_text()
    rows = re.findall(r"^\| [^|]+ \| `(\w+)` \| \[(\w+\.md)\]\((\w+\.md)\) \|$", index, re.M)
    assert [vendor for vendor, _, _ in rows] == ["typeform", "surveymonkey", "qualtrics", "delighted", "formbricks",
                                                 "standard", "tally", "jotform", "surveysparrow", "zendesk",
                                                 "intercom", "helpscout", "google_forms", "generic", "stripe"]
    assert sorted(v for v, _, _ in rows) == sorted(Vendor.values) == sorted(PRESETS)
    for vendor, text, target in rows:
        assert text == target == f"{vendor}.md" == PRESETS[vendor].docs.removeprefix("docs/connect/")
    assert "(docs/connect/README.md)" in (ROOT / "README.md").read_text()
    assert "(../scales.md)" in index
