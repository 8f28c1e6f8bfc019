"""What the preset tests share: posting a delivery through the Django view with the vendor's own
headers, processing what a source received, the alert rules the tests judge by, and running a
Connect page's curl example against a live server."""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal
from pathlib import Path

from alerts.models import Alert
from cases.models import Case
from surveys.models import SurveyResponse, WebhookDelivery
from surveys.services import deliveries_process
from tests.alerts.helpers import defaults_off, rule

DOCS = Path(__file__).resolve().parents[3] / "docs" / "connect"


def post(client, source, content_type: str, body: bytes, headers: dict, query: str = ""):
    """POST /webhooks/<slug>/ through the Django view, `headers` as the sender names them."""
    meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()
            if name.lower() != "content-type"}
    path = f"/webhooks/{source.slug}/" + (f"?{query}" if query else "")
    return client.generic("POST", path, data=body, content_type=content_type, **meta)


def process(source) -> dict[int, str]:
    """Process every delivery the source has waiting, as the worker would (one batch)."""
    pks = list(WebhookDelivery.objects.filter(source=source, status="pending").order_by("pk").values_list("pk", flat=True))
    return deliveries_process(delivery_pks=pks)


def judge_by_default_scales() -> None:
    """Only these rules: NPS 0-6, CSAT 1-2 of 5, CES 1-2 of 7 and of 5 (high = easiest) open a case."""
    defaults_off()
    rule(name="Detractor", metric="nps", threshold=Decimal("6"))
    rule(name="Unhappy", metric="csat", threshold=Decimal("2"), scale_min=1, scale_max=5)
    rule(name="High effort", metric="ces", threshold=Decimal("2"), scale_min=1, scale_max=7, ces_high_is_easy=True)
    rule(name="High effort 1-5", metric="ces", threshold=Decimal("2"), scale_min=1, scale_max=5, ces_high_is_easy=True)


def cases_of(response: SurveyResponse) -> int:
    return Case.objects.filter(case_responses__response=response).distinct().count()


def case_alerts(response: SurveyResponse) -> int:
    return Alert.objects.filter(response=response, action="open_case").count()


def curl_example(page: str) -> str:
    """The bash block under "## Try it" in docs/connect/<page>.md."""
    text = (DOCS / f"{page}.md").read_text()
    section = text.split("## Try it", 1)[1]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


def run_curl_example(page: str, url: str, secret: str) -> str:
    """Run the page's example with this URL and secret in place of its placeholders; its output."""
    script = curl_example(page)
    script = re.sub(r"^URL=.*$", f"URL='{url}'", script, count=1, flags=re.M)
    script = re.sub(r"^SECRET=.*$", f"SECRET='{secret}'", script, count=1, flags=re.M)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout
